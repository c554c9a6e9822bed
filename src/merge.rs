//! Reading a run folder back (for `--resume` and `nnbench merge`), and merging the folders of
//! several shards into one run.
//!
//! The reader never panics: a damaged file is a [`RunFolderError`] naming the file, the line
//! and what is wrong (exit code 5). A last line without its newline is what a run killed in the
//! middle of a write leaves behind; it is dropped, and the unit it belonged to counts as not
//! finished.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use nnbench_core::metrics::Score;
use nnbench_core::train::{EpochRecord, Status, UnitOutcome};

use crate::results::{self, EPOCHS_HEADER, UNITS_HEADER, UnitRecord};
use crate::shard::{self, Shard, UnitKey};
use crate::summary;

/// The columns of `grad_norms.csv`.
pub const GRAD_NORMS_HEADER: [&str; 6] =
    ["variant", "backend", "seed", "epoch", "layer", "grad_norm"];

/// The columns of `dead_units.csv` (a per-unit file that resume and merge carry like any
/// other whose header starts `variant,backend,seed`).
pub const DEAD_UNITS_HEADER: [&str; 6] = [
    "variant",
    "backend",
    "seed",
    "epoch",
    "layer",
    "dead_fraction",
];

/// A run folder that cannot be resumed or merged (exit code 5): the message names the folder
/// or file, what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFolderError(pub String);

impl fmt::Display for RunFolderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunFolderError {}

fn fail<T>(message: impl Into<String>) -> Result<T, RunFolderError> {
    Err(RunFolderError(message.into()))
}

/// One data row of a CSV file: the unit it belongs to and its cells as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub key: UnitKey,
    pub cells: Vec<String>,
}

/// Parses one of nnbench's CSV files: the header must be `header`, every row must have as many
/// cells and start with `variant,backend,seed`. A last line without its newline (a torn write)
/// is dropped. `origin` names the file in errors.
pub fn parse_csv(bytes: &[u8], header: &[&str], origin: &str) -> Result<Vec<Row>, RunFolderError> {
    parse_any(bytes, Some(header), origin).map(|(_, rows)| rows)
}

/// Parses a CSV file of per-unit rows whatever its other columns: its header must start with
/// `variant,backend,seed`. Returns the header and the rows.
pub fn parse_unit_csv(
    bytes: &[u8],
    origin: &str,
) -> Result<(Vec<String>, Vec<Row>), RunFolderError> {
    parse_any(bytes, None, origin)
}

fn parse_any(
    bytes: &[u8],
    expected: Option<&[&str]>,
    origin: &str,
) -> Result<(Vec<String>, Vec<Row>), RunFolderError> {
    let complete = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(last) => &bytes[..=last],
        None => &[][..],
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(complete);
    let mut rows = Vec::new();
    let mut seen_header = false;
    let mut header: Vec<String> = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(index + 1, |p| p.line() as usize);
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                return fail(format!(
                    "{origin}: line {line} is not valid CSV ({error}); the file is damaged: \
                     restore it or start a new run"
                ));
            }
        };
        if !seen_header {
            let matches = match expected {
                Some(expected) => record.iter().eq(expected.iter().copied()),
                None => record.iter().take(3).eq(["variant", "backend", "seed"]),
            };
            if !matches {
                let wanted =
                    expected.map_or("variant,backend,seed,...".to_string(), |e| e.join(","));
                return fail(format!(
                    "{origin}: the header is `{}`, expected `{wanted}`: this is not a file \
                     nnbench wrote (or one from another version)",
                    shorten(&record.iter().collect::<Vec<_>>().join(",")),
                ));
            }
            header = record.iter().map(str::to_string).collect();
            seen_header = true;
            continue;
        }
        if record.len() != header.len() {
            return fail(format!(
                "{origin}: line {line} has {} cells where the header has {}; the file is \
                 damaged: restore it or start a new run",
                record.len(),
                header.len()
            ));
        }
        let seed = match record[2].parse::<u64>() {
            Ok(seed) => seed,
            Err(_) => {
                return fail(format!(
                    "{origin}: line {line}: seed `{}` is not a non-negative integer",
                    shorten(&record[2])
                ));
            }
        };
        rows.push(Row {
            key: UnitKey {
                variant: record[0].to_string(),
                backend: record[1].to_string(),
                seed,
            },
            cells: record.iter().map(str::to_string).collect(),
        });
    }
    if !seen_header {
        return fail(format!(
            "{origin}: no header line (the file is empty or was cut short before its first \
             line): start a new run"
        ));
    }
    Ok((header, rows))
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 80 {
        text.to_string()
    } else {
        let head: String = text.chars().take(77).collect();
        format!("{head}...")
    }
}

fn number(cell: &str, what: &str, origin: &str) -> Result<f64, RunFolderError> {
    cell.parse::<f64>().or_else(|_| {
        fail(format!(
            "{origin}: {what} `{}` is not a number",
            shorten(cell)
        ))
    })
}

fn optional(cell: &str, what: &str, origin: &str) -> Result<Option<f64>, RunFolderError> {
    if cell.is_empty() {
        Ok(None)
    } else {
        number(cell, what, origin).map(Some)
    }
}

/// Checks a `units.csv` row and the `epochs.csv` rows of the same unit, and rebuilds the unit
/// as the run recorded it (enough for the summary; gradient norms are left out).
pub fn unit_record(
    unit: &Row,
    epochs: &[&Row],
    origin: &str,
) -> Result<UnitRecord, RunFolderError> {
    let c = &unit.cells;
    let at = format!("{origin} ({})", unit.key);
    let Some(status) = Status::parse(&c[3]) else {
        return fail(format!("{at}: unknown status `{}`", shorten(&c[3])));
    };
    let Ok(epochs_run) = c[4].parse::<usize>() else {
        return fail(format!(
            "{at}: epochs_run `{}` is not an integer",
            shorten(&c[4])
        ));
    };
    let stopped_early = match c[5].as_str() {
        "true" => true,
        "false" => false,
        other => {
            return fail(format!(
                "{at}: stopped_early `{}` is not true or false",
                shorten(other)
            ));
        }
    };
    let test_loss = optional(&c[6], "test_loss", &at)?;
    let test_accuracy = optional(&c[7], "test_accuracy", &at)?;
    optional(&c[8], "epoch_s_median", &at)?;
    if epochs.len() != epochs_run {
        return fail(format!(
            "{at}: units.csv says {epochs_run} epochs but epochs.csv holds {}; the files \
             disagree: restore them or start a new run",
            epochs.len()
        ));
    }
    let mut records = Vec::with_capacity(epochs.len());
    for row in epochs {
        let e = &row.cells;
        let Ok(epoch) = e[3].parse::<usize>() else {
            return fail(format!(
                "{at}: epoch `{}` is not an integer",
                shorten(&e[3])
            ));
        };
        records.push(EpochRecord {
            epoch,
            lr: number(&e[4], "lr", &at)?,
            train_loss: number(&e[5], "train_loss", &at)?,
            train_accuracy: number(&e[6], "train_accuracy", &at)?,
            val_loss: optional(&e[7], "val_loss", &at)?,
            val_accuracy: optional(&e[8], "val_accuracy", &at)?,
            step_loss: number(&e[9], "step_loss", &at)?,
            epoch_s: number(&e[10], "epoch_s", &at)?,
            eval_s: number(&e[11], "eval_s", &at)?,
            samples_per_s: number(&e[12], "samples_per_s", &at)?,
            grad_norms: None,
            dead_units: None,
        });
    }
    let test = match (test_loss, test_accuracy) {
        (Some(loss), Some(accuracy)) => Some(Score { loss, accuracy }),
        _ => None,
    };
    // Built from `without_training` so that fields added later keep their defaults.
    let mut outcome = UnitOutcome::without_training(status, String::new());
    outcome.reason = (!c[9].is_empty()).then(|| c[9].clone());
    outcome.epochs = records;
    outcome.test = test;
    outcome.stopped_early = stopped_early;
    Ok(UnitRecord {
        variant: unit.key.variant.clone(),
        backend: unit.key.backend.clone(),
        seed: unit.key.seed,
        outcome,
    })
}

/// A run folder as found on disk: finished units only.
#[derive(Debug)]
pub struct RunFolder {
    pub dir: PathBuf,
    pub source_text: String,
    pub resolved: serde_json::Value,
    pub environment: Option<String>,
    /// The shard this folder ran (`run.json`), if any.
    pub shard: Option<Shard>,
    /// `units.csv`, one row per finished unit (a unit found twice keeps its first row).
    pub units: Vec<Row>,
    /// `epochs.csv` rows of the finished units.
    pub epochs: Vec<Row>,
    /// `grad_norms.csv` rows of the finished units, when the file exists.
    pub grad_norms: Option<Vec<Row>>,
    /// Units found more than once in `units.csv`.
    pub repeated: Vec<UnitKey>,
    /// Other per-unit CSV files (a header starting `variant,backend,seed`, e.g. the report's
    /// `boundary.csv`): name, header, rows of the finished units.
    pub unit_files: Vec<(String, Vec<String>, Vec<Row>)>,
    /// Other CSV files, the same for every shard (e.g. `points.csv`): name and content.
    pub shared_files: Vec<(String, Vec<u8>)>,
}

impl RunFolder {
    /// The finished units, rebuilt for the summary.
    pub fn records(&self) -> Result<Vec<UnitRecord>, RunFolderError> {
        let mut by_unit: HashMap<&UnitKey, Vec<&Row>> = HashMap::new();
        for row in &self.epochs {
            by_unit.entry(&row.key).or_default().push(row);
        }
        let origin = self.dir.display().to_string();
        self.units
            .iter()
            .map(|unit| {
                let epochs = by_unit.get(&unit.key).map_or(&[][..], Vec::as_slice);
                unit_record(unit, epochs, &origin)
            })
            .collect()
    }

    pub fn finished(&self) -> HashSet<UnitKey> {
        self.units.iter().map(|row| row.key.clone()).collect()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, RunFolderError> {
    std::fs::read(path).or_else(|error| {
        fail(format!(
            "cannot read {}: {error}; is this a run folder nnbench wrote?",
            path.display()
        ))
    })
}

/// Reads a run folder; rows of units that did not finish (no `units.csv` row) are left out.
pub fn read_run(dir: &Path) -> Result<RunFolder, RunFolderError> {
    if !dir.is_dir() {
        return fail(format!(
            "{} is not a folder: give the run folder nnbench printed (`results: ...`)",
            dir.display()
        ));
    }
    let source_text = String::from_utf8_lossy(&read(&dir.join("scenario.toml"))?).into_owned();
    let resolved_path = dir.join("scenario.resolved.json");
    let resolved: serde_json::Value =
        serde_json::from_slice(&read(&resolved_path)?).or_else(|error| {
            fail(format!(
                "{}: not valid JSON ({error})",
                resolved_path.display()
            ))
        })?;
    if shard::units_from_resolved(&resolved).is_none() {
        return fail(format!(
            "{}: not a resolved scenario written by nnbench",
            resolved_path.display()
        ));
    }
    let environment = std::fs::read_to_string(dir.join("environment.json")).ok();
    let shard = match std::fs::read(dir.join("run.json")) {
        Ok(bytes) => {
            let value: serde_json::Value = serde_json::from_slice(&bytes).or_else(|error| {
                fail(format!(
                    "{}: not valid JSON ({error})",
                    dir.join("run.json").display()
                ))
            })?;
            match value.get("shard").and_then(|s| s.as_str()) {
                Some(text) => Some(text.parse::<Shard>().map_err(|message| {
                    RunFolderError(format!(
                        "{}: shard {message}",
                        dir.join("run.json").display()
                    ))
                })?),
                None => None,
            }
        }
        Err(_) => None,
    };
    let units_path = dir.join("units.csv");
    let all_units = parse_csv(
        &read(&units_path)?,
        &UNITS_HEADER,
        &units_path.display().to_string(),
    )?;
    let mut units = Vec::new();
    let mut seen = HashSet::new();
    let mut repeated = Vec::new();
    for row in all_units {
        if seen.insert(row.key.clone()) {
            units.push(row);
        } else {
            repeated.push(row.key);
        }
    }
    let epochs_path = dir.join("epochs.csv");
    let epochs = parse_csv(
        &read(&epochs_path)?,
        &EPOCHS_HEADER,
        &epochs_path.display().to_string(),
    )?
    .into_iter()
    .filter(|row| seen.contains(&row.key))
    .collect();
    let grad_path = dir.join("grad_norms.csv");
    let grad_norms = if grad_path.exists() {
        Some(
            parse_csv(
                &read(&grad_path)?,
                &GRAD_NORMS_HEADER,
                &grad_path.display().to_string(),
            )?
            .into_iter()
            .filter(|row| seen.contains(&row.key))
            .collect(),
        )
    } else {
        None
    };
    let (unit_files, shared_files) = other_csv_files(dir, &seen)?;
    Ok(RunFolder {
        dir: dir.to_path_buf(),
        source_text,
        resolved,
        environment,
        shard,
        units,
        epochs,
        grad_norms,
        repeated,
        unit_files,
        shared_files,
    })
}

/// The files nnbench itself reads and writes as CSV; any other `*.csv` of a run folder comes
/// from elsewhere (the report) and is carried along by resume and merge.
const OWN_CSV: [&str; 4] = ["units.csv", "epochs.csv", "grad_norms.csv", "summary.csv"];

#[allow(clippy::type_complexity)]
fn other_csv_files(
    dir: &Path,
    finished: &HashSet<UnitKey>,
) -> Result<(Vec<(String, Vec<String>, Vec<Row>)>, Vec<(String, Vec<u8>)>), RunFolderError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".csv") && !OWN_CSV.contains(&name.as_str()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let (mut per_unit, mut shared) = (Vec::new(), Vec::new());
    for name in names {
        let path = dir.join(&name);
        let bytes = read(&path)?;
        let starts_with_unit = bytes.starts_with(b"variant,backend,seed,");
        if starts_with_unit {
            let (header, rows) = parse_unit_csv(&bytes, &path.display().to_string())?;
            let rows = rows
                .into_iter()
                .filter(|r| finished.contains(&r.key))
                .collect();
            per_unit.push((name, header, rows));
        } else {
            shared.push((name, bytes));
        }
    }
    Ok((per_unit, shared))
}

/// The first place two resolved scenarios differ: `(key, old, new)`, the key dotted like a
/// scenario key (`variants[0].run.training.epochs`).
pub fn first_difference(
    old: &serde_json::Value,
    new: &serde_json::Value,
) -> Option<(String, String, String)> {
    fn walk(
        old: &serde_json::Value,
        new: &serde_json::Value,
        path: &str,
    ) -> Option<(String, String, String)> {
        use serde_json::Value;
        let name = |path: &str| {
            if path.is_empty() {
                "(the whole scenario)".to_string()
            } else {
                path.to_string()
            }
        };
        match (old, new) {
            (Value::Object(a), Value::Object(b)) => {
                for (key, value) in a {
                    let child = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    match b.get(key) {
                        Some(other) => {
                            if let Some(found) = walk(value, other, &child) {
                                return Some(found);
                            }
                        }
                        None => return Some((child, value.to_string(), "(absent)".into())),
                    }
                }
                b.iter()
                    .find(|(key, _)| !a.contains_key(*key))
                    .map(|(key, value)| {
                        let child = if path.is_empty() {
                            key.clone()
                        } else {
                            format!("{path}.{key}")
                        };
                        (child, "(absent)".into(), value.to_string())
                    })
            }
            (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
                .iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| walk(x, y, &format!("{path}[{i}]"))),
            _ if old == new => None,
            _ => Some((
                name(path),
                shorten(&old.to_string()),
                shorten(&new.to_string()),
            )),
        }
    }
    walk(old, new, "")
}

/// Merges shard folders into `out` (new or empty): checks they ran the same scenario and no
/// unit twice, then writes `epochs.csv`, `units.csv`, `summary.csv` (and `grad_norms.csv`) in
/// the stable unit order, with the scenario and environment files of the first folder.
/// Returns the number of units merged and those of the scenario that no folder holds.
pub fn merge(out: &Path, inputs: &[PathBuf]) -> anyhow::Result<(usize, Vec<UnitKey>)> {
    let Some(first) = inputs.first() else {
        return Err(RunFolderError(
            "nothing to merge: give the output folder and at least one shard folder \
             (nnbench merge OUT DIR...)"
                .into(),
        )
        .into());
    };
    let folders: Vec<RunFolder> = inputs
        .iter()
        .map(|dir| read_run(dir))
        .collect::<Result<_, _>>()?;
    let reference = &folders[0];
    for folder in &folders[1..] {
        if let Some((key, old, new)) = first_difference(&reference.resolved, &folder.resolved) {
            return Err(RunFolderError(format!(
                "{} and {} ran different scenarios: {key} is {old} in the first and {new} in \
                 the second; merge only shards of one scenario run with the same options",
                first.display(),
                folder.dir.display()
            ))
            .into());
        }
    }
    let mut owner: HashMap<&UnitKey, &Path> = HashMap::new();
    for folder in &folders {
        if let Some(key) = folder.repeated.first() {
            return Err(RunFolderError(format!(
                "{}: unit {key} appears twice in units.csv",
                folder.dir.display()
            ))
            .into());
        }
        for row in &folder.units {
            if let Some(previous) = owner.insert(&row.key, &folder.dir) {
                return Err(RunFolderError(format!(
                    "unit {} is in both {} and {}: each unit must come from one shard \
                     (were the same --shard given twice, or a folder listed twice?)",
                    row.key,
                    previous.display(),
                    folder.dir.display()
                ))
                .into());
            }
        }
    }
    let order = shard::units_from_resolved(&reference.resolved).unwrap_or_default();
    let position: HashMap<&UnitKey, usize> =
        order.iter().enumerate().map(|(i, k)| (k, i)).collect();
    for key in owner.keys() {
        if !position.contains_key(key) {
            return Err(RunFolderError(format!(
                "unit {key} is not a unit of the scenario in {}: the folder is damaged",
                first.display()
            ))
            .into());
        }
    }
    let rank = |row: &Row| position.get(&row.key).copied().unwrap_or(usize::MAX);
    let collect = |pick: &dyn Fn(&RunFolder) -> Option<&Vec<Row>>| {
        let mut rows: Vec<&Row> = folders.iter().filter_map(pick).flatten().collect();
        rows.sort_by_key(|row| rank(row)); // stable: epochs keep their order within a unit
        rows
    };
    let units = collect(&|f| Some(&f.units));
    let epochs = collect(&|f| Some(&f.epochs));
    let any_grad = folders.iter().any(|f| f.grad_norms.is_some());
    let grad_norms = collect(&|f| f.grad_norms.as_ref());

    let mut records = Vec::new();
    for folder in &folders {
        records.extend(folder.records()?);
    }
    records.sort_by_key(|r| {
        position
            .get(&UnitKey {
                variant: r.variant.clone(),
                backend: r.backend.clone(),
                seed: r.seed,
            })
            .copied()
            .unwrap_or(usize::MAX)
    });
    let summary_rows = summary::summarize(&records);

    let dir = results::create_run_dir(Some(out), Path::new("results"), "merged")?;
    results::write_file(&dir, "scenario.toml", &reference.source_text)?;
    results::write_file(
        &dir,
        "scenario.resolved.json",
        &serde_json::to_string_pretty(&reference.resolved)?,
    )?;
    if let Some(environment) = &reference.environment {
        results::write_file(&dir, "environment.json", environment)?;
    }
    let sources: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    results::write_file(
        &dir,
        "run.json",
        &serde_json::to_string_pretty(&serde_json::json!({ "merged_from": sources }))?,
    )?;
    results::write_file(&dir, "units.csv", &csv_text(&UNITS_HEADER, &units)?)?;
    results::write_file(&dir, "epochs.csv", &csv_text(&EPOCHS_HEADER, &epochs)?)?;
    if any_grad {
        results::write_file(
            &dir,
            "grad_norms.csv",
            &csv_text(&GRAD_NORMS_HEADER, &grad_norms)?,
        )?;
    }
    for (name, bytes) in &reference.shared_files {
        results::write_file(&dir, name, &String::from_utf8_lossy(bytes))?;
    }
    let mut unit_files: Vec<(&str, &Vec<String>)> = Vec::new();
    for folder in &folders {
        for (name, header, _) in &folder.unit_files {
            if !unit_files.iter().any(|(known, _)| *known == name.as_str()) {
                unit_files.push((name.as_str(), header));
            }
        }
    }
    for (name, header) in unit_files {
        let mut rows: Vec<&Row> = folders
            .iter()
            .flat_map(|f| f.unit_files.iter().filter(|(n, _, _)| n == name))
            .flat_map(|(_, _, rows)| rows)
            .collect();
        rows.sort_by_key(|row| rank(row));
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        results::write_file(&dir, name, &csv_text(&header, &rows)?)?;
    }
    results::write_summary(&dir, &summary_rows)?;
    // The full report and plots, as a run makes them; the CSV files stand without them.
    if let Err(error) = crate::report::generate(&dir) {
        eprintln!("warning: could not write the report and plots: {error:#}");
    }
    let missing: Vec<UnitKey> = order
        .into_iter()
        .filter(|key| !owner.contains_key(key))
        .collect();
    Ok((units.len(), missing))
}

/// `header` and `rows` as CSV text.
pub fn csv_text(header: &[&str], rows: &[&Row]) -> anyhow::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(&row.cells)?;
    }
    Ok(String::from_utf8(results::into_bytes(writer)?)?)
}
