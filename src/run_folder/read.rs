//! Reading a run folder back, for `--resume`, `nnbench merge`, `report` and `compare`.
//!
//! Columns are found by name (a file with extra columns still reads); a missing column, a
//! malformed value or a broken line is a [`RunFolderError`] naming the file, the line and the
//! column, never a panic. A last line without its newline is what a run killed in the middle
//! of a write leaves behind: it is dropped, and the unit it belonged to counts as not
//! finished. Rows of units without a `units.csv` row (unfinished) are left out of every file.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use nnbench_core::metrics::Score;
use nnbench_core::train::{EpochRecord, UnitOutcome};

use super::schema::{
    BoundaryRow, DeadUnitsRow, EpochRow, GradNormRow, GradientRow, PointRow, SummaryRow, Table,
    UnitRow, UnitTable, columns,
};
use super::{ENVIRONMENT_FILE, RESOLVED_FILE, RUN_FILE, RunFolderError, SCENARIO_FILE, UnitRecord};
use crate::args::Shard;
use crate::shard::{self, UnitKey};

/// A run folder as found on disk: finished units only.
#[derive(Debug, Clone)]
pub struct RunFolder {
    pub dir: PathBuf,
    /// `scenario.toml`, when present.
    pub source_text: Option<String>,
    /// `scenario.resolved.json`, when present.
    pub resolved: Option<serde_json::Value>,
    /// `environment.json` as written, when present.
    pub environment: Option<String>,
    /// The shard this folder ran (`run.json`), if any.
    pub shard: Option<Shard>,
    /// One row per finished unit (a unit found twice keeps its first row).
    pub units: Vec<UnitRow>,
    /// Units found more than once in `units.csv`.
    pub repeated: Vec<UnitKey>,
    pub epochs: Vec<EpochRow>,
    /// `None` when the file is absent (here and below).
    pub grad_norms: Option<Vec<GradNormRow>>,
    pub dead_units: Option<Vec<DeadUnitsRow>>,
    pub gradients: Option<Vec<GradientRow>>,
    pub boundary: Option<Vec<BoundaryRow>>,
    pub points: Option<Vec<PointRow>>,
    /// `summary.csv`: absent in a run that was killed before its end.
    pub summary: Option<Vec<SummaryRow>>,
}

impl RunFolder {
    /// Reads the run folder `dir`: `units.csv` and `epochs.csv` must be there; the other files
    /// are read when present.
    pub fn read(dir: &Path) -> Result<RunFolder, RunFolderError> {
        if !dir.is_dir() {
            return Err(RunFolderError::in_file(
                dir,
                "not a folder: give the run folder nnbench printed (`results: ...`)",
            ));
        }
        let text = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        let resolved = match std::fs::read(dir.join(RESOLVED_FILE)) {
            Ok(bytes) => Some(json(&dir.join(RESOLVED_FILE), &bytes)?),
            Err(_) => None,
        };
        let shard = match std::fs::read(dir.join(RUN_FILE)) {
            Ok(bytes) => {
                let path = dir.join(RUN_FILE);
                match json(&path, &bytes)?.get("shard").and_then(|s| s.as_str()) {
                    Some(text) => Some(text.parse::<Shard>().map_err(|message| {
                        RunFolderError::in_file(&path, format!("shard {message}"))
                    })?),
                    None => None,
                }
            }
            Err(_) => None,
        };
        let mut units = Vec::new();
        let mut seen = HashSet::new();
        let mut repeated = Vec::new();
        for row in read_table::<UnitRow>(dir, true)?.unwrap_or_default() {
            if seen.insert(row.key()) {
                units.push(row);
            } else {
                repeated.push(row.key());
            }
        }
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            source_text: text(SCENARIO_FILE),
            resolved,
            environment: text(ENVIRONMENT_FILE),
            shard,
            epochs: finished_only(&seen, read_table::<EpochRow>(dir, true)?).unwrap_or_default(),
            grad_norms: finished_only(&seen, read_table::<GradNormRow>(dir, false)?),
            dead_units: finished_only(&seen, read_table::<DeadUnitsRow>(dir, false)?),
            gradients: finished_only(&seen, read_table::<GradientRow>(dir, false)?),
            boundary: finished_only(&seen, read_table::<BoundaryRow>(dir, false)?),
            points: read_table::<PointRow>(dir, false)?,
            summary: read_table::<SummaryRow>(dir, false)?,
            units,
            repeated,
        })
    }

    /// The resolved scenario, which resume and merge need to know the run's units.
    pub fn resolved(&self) -> Result<&serde_json::Value, RunFolderError> {
        let path = self.dir.join(RESOLVED_FILE);
        let resolved = self.resolved.as_ref().ok_or_else(|| {
            RunFolderError::in_file(&path, "missing; is this a run folder nnbench wrote?")
        })?;
        if shard::units_from_resolved(resolved).is_none() {
            return Err(RunFolderError::in_file(
                &path,
                "not a resolved scenario written by nnbench",
            ));
        }
        Ok(resolved)
    }

    /// `summary.csv`, which a finished run always has.
    pub fn summary(&self) -> Result<&[SummaryRow], RunFolderError> {
        self.summary.as_deref().ok_or_else(|| {
            RunFolderError::in_file(
                &self.dir.join(SummaryRow::FILE),
                "missing: the run did not finish; resume it (--resume) first",
            )
        })
    }

    pub fn finished(&self) -> HashSet<UnitKey> {
        self.units.iter().map(UnitTable::key).collect()
    }

    /// The finished units, rebuilt for the summary (gradient norms and dead units left out).
    pub fn records(&self) -> Result<Vec<UnitRecord>, RunFolderError> {
        let mut by_unit: HashMap<UnitKey, Vec<&EpochRow>> = HashMap::new();
        for row in &self.epochs {
            by_unit.entry(row.key()).or_default().push(row);
        }
        let origin = self.dir.join(UnitRow::FILE);
        self.units
            .iter()
            .map(|unit| {
                let epochs = by_unit.get(&unit.key()).map_or(&[][..], Vec::as_slice);
                unit_record(unit, epochs, &origin)
            })
            .collect()
    }
}

fn json(path: &Path, bytes: &[u8]) -> Result<serde_json::Value, RunFolderError> {
    serde_json::from_slice(bytes).map_err(|error| RunFolderError {
        line: Some(error.line() as u64),
        ..RunFolderError::in_file(path, format!("not valid JSON ({error})"))
    })
}

fn finished_only<R: UnitTable>(
    finished: &HashSet<UnitKey>,
    rows: Option<Vec<R>>,
) -> Option<Vec<R>> {
    rows.map(|rows| {
        rows.into_iter()
            .filter(|row| finished.contains(&row.key()))
            .collect()
    })
}

/// Reads the file of `R` in `dir`: `None` when it is absent and not `required`.
pub fn read_table<R: Table>(dir: &Path, required: bool) -> Result<Option<Vec<R>>, RunFolderError> {
    let path = dir.join(R::FILE);
    match std::fs::read(&path) {
        Ok(bytes) => parse_table(&bytes, &path).map(Some),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(error) => Err(RunFolderError::in_file(
            &path,
            format!("cannot be read ({error}); is this a run folder nnbench wrote?"),
        )),
    }
}

/// Parses the text of `R`'s file; `path` names it in errors.
pub fn parse_table<R: Table>(bytes: &[u8], path: &Path) -> Result<Vec<R>, RunFolderError> {
    let complete = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(last) => &bytes[..=last],
        None => &[][..],
    };
    let at = |line: Option<u64>, column: Option<&str>, message: String| RunFolderError {
        line,
        column: column.map(str::to_string),
        ..RunFolderError::in_file(path, message)
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(complete);
    let header = match reader.headers() {
        Ok(header) if !header.is_empty() => header.clone(),
        Ok(_) => {
            return Err(at(
                None,
                None,
                "no header line (the file is empty or was cut short before its first line): \
                 start a new run"
                    .into(),
            ));
        }
        Err(error) => {
            return Err(at(
                Some(1),
                None,
                format!("the header is not valid CSV ({error})"),
            ));
        }
    };
    let expected = columns::<R>();
    if let Some(missing) = expected
        .iter()
        .filter(|c| !R::ADDED.contains(c))
        .find(|c| !header.iter().any(|h| h == **c))
    {
        return Err(at(
            Some(1),
            Some(missing),
            format!(
                "the header is `{}`, expected `{}`: this is not a file nnbench wrote (or one \
                 from another version)",
                shorten(&header.iter().collect::<Vec<_>>().join(",")),
                expected.join(",")
            ),
        ));
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map(|p| p.line());
                let message = match error.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!(
                        "the line has {len} cells where the header has {expected_len}; the file \
                         is damaged: restore it or start a new run"
                    ),
                    _ => format!(
                        "not valid CSV ({error}); the file is damaged: restore it or start a new run"
                    ),
                };
                return Err(at(line, None, message));
            }
        }
        let line = record.position().map(|p| p.line());
        match record.deserialize::<R>(Some(&header)) {
            Ok(row) => rows.push(row),
            Err(error) => {
                let field = match error.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => err.field(),
                    _ => None,
                };
                let column = field.and_then(|i| header.get(i as usize));
                let message = match (column, field.and_then(|i| record.get(i as usize))) {
                    (Some(_), Some(value)) => {
                        let detail = match error.kind() {
                            csv::ErrorKind::Deserialize { err, .. } => err.to_string(),
                            _ => error.to_string(),
                        };
                        format!("`{}` does not read ({detail})", shorten(value))
                    }
                    _ => error.to_string(),
                };
                return Err(at(line, column, message));
            }
        }
    }
    Ok(rows)
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 80 {
        text.to_string()
    } else {
        let head: String = text.chars().take(77).collect();
        format!("{head}...")
    }
}

/// Rebuilds a unit as the run recorded it from its `units.csv` row and its `epochs.csv` rows
/// (in order), after checking they agree.
pub fn unit_record(
    unit: &UnitRow,
    epochs: &[&EpochRow],
    origin: &Path,
) -> Result<UnitRecord, RunFolderError> {
    if epochs.len() as u64 != unit.epochs_run {
        return Err(RunFolderError::in_file(
            origin,
            format!(
                "{}: units.csv says {} epochs but epochs.csv holds {}; the files disagree: \
                 restore them or start a new run",
                unit.key(),
                unit.epochs_run,
                epochs.len()
            ),
        ));
    }
    let records = epochs
        .iter()
        .map(|e| EpochRecord {
            epoch: e.epoch as usize,
            lr: e.lr,
            train_loss: e.train_loss,
            train_accuracy: e.train_accuracy,
            val_loss: e.val_loss,
            val_accuracy: e.val_accuracy,
            step_loss: e.step_loss,
            epoch_s: e.epoch_s,
            eval_s: e.eval_s,
            samples_per_s: e.samples_per_s,
            grad_norms: None,
            dead_units: None,
        })
        .collect();
    let test = match (unit.test_loss, unit.test_accuracy) {
        (Some(loss), Some(accuracy)) => Some(Score { loss, accuracy }),
        _ => None,
    };
    // Built from `without_training` so that fields added later keep their defaults.
    let mut outcome = UnitOutcome::without_training(unit.status, String::new());
    outcome.reason = (!unit.reason.is_empty()).then(|| unit.reason.clone());
    outcome.epochs = records;
    outcome.test = test;
    outcome.stopped_early = unit.stopped_early;
    Ok(UnitRecord {
        variant: unit.variant.clone(),
        backend: unit.backend.clone(),
        seed: unit.seed,
        jobs: unit.jobs,
        outcome,
    })
}

/// The first place two resolved scenarios differ: `(key, old, new)`, the key dotted like a
/// scenario key (`variants[0].run.training.epochs`).
pub fn first_difference(
    old: &serde_json::Value,
    new: &serde_json::Value,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    let child = |path: &str, key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    fn walk(
        old: &Value,
        new: &Value,
        path: &str,
        child: &dyn Fn(&str, &str) -> String,
    ) -> Option<(String, String, String)> {
        match (old, new) {
            (Value::Object(a), Value::Object(b)) => {
                for (key, value) in a {
                    match b.get(key) {
                        Some(other) => {
                            if let Some(found) = walk(value, other, &child(path, key), child) {
                                return Some(found);
                            }
                        }
                        None => {
                            return Some((child(path, key), value.to_string(), "(absent)".into()));
                        }
                    }
                }
                b.iter()
                    .find(|(key, _)| !a.contains_key(*key))
                    .map(|(key, value)| (child(path, key), "(absent)".into(), value.to_string()))
            }
            (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
                .iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| walk(x, y, &format!("{path}[{i}]"), child)),
            _ if old == new => None,
            _ => Some((
                if path.is_empty() {
                    "(the whole scenario)".to_string()
                } else {
                    path.to_string()
                },
                shorten(&old.to_string()),
                shorten(&new.to_string()),
            )),
        }
    }
    walk(old, new, "", &child)
}
