//! The run folder: `results/<scenario>/<run-id>/` (or `--out DIR`), created fresh for every run
//! so an earlier run is never overwritten, and the CSV files inside it. Each unit's rows are
//! written and flushed as soon as the unit ends, so a crash loses at most the unit in progress.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nnbench_core::train::UnitOutcome;

use crate::summary::SummaryRow;

pub const EPOCHS_HEADER: [&str; 13] = [
    "variant",
    "backend",
    "seed",
    "epoch",
    "lr",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "step_loss",
    "epoch_s",
    "eval_s",
    "samples_per_s",
];

pub const UNITS_HEADER: [&str; 10] = [
    "variant",
    "backend",
    "seed",
    "status",
    "epochs_run",
    "stopped_early",
    "test_loss",
    "test_accuracy",
    "epoch_s_median",
    "reason",
];

pub const SUMMARY_HEADER: [&str; 10] = [
    "variant",
    "backend",
    "status",
    "seeds",
    "epochs_run",
    "test_accuracy",
    "test_accuracy_std",
    "final_train_loss",
    "epoch_s_median",
    "reason",
];

/// One finished unit: a variant trained by one backend from one seed.
#[derive(Debug, Clone)]
pub struct UnitRecord {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
    pub outcome: UnitOutcome,
}

/// Creates a new, empty run folder: `dir` itself when given (refused if it holds anything),
/// else `<root>/<scenario>/<run-id>` with a `-2`, `-3`… suffix if that id is taken.
pub fn create_run_dir(explicit: Option<&Path>, root: &Path, scenario: &str) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        if dir.exists() {
            let occupied = std::fs::read_dir(dir)
                .with_context(|| format!("reading {}", dir.display()))?
                .next()
                .is_some();
            if occupied {
                bail!(
                    "{} already holds files; results are never overwritten: \
                     choose an empty or new folder for --out",
                    dir.display()
                );
            }
            return Ok(dir.to_path_buf());
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        return Ok(dir.to_path_buf());
    }
    let parent = root.join(scenario);
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let id = crate::clock::run_id();
    for attempt in 1..1000 {
        let name = if attempt == 1 {
            id.clone()
        } else {
            format!("{id}-{attempt}")
        };
        let dir = parent.join(name);
        // create_dir, not create_dir_all: it fails when the folder exists, so two runs started
        // in the same second still get folders of their own.
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                return Err(error).with_context(|| format!("creating {}", dir.display()));
            }
        }
    }
    bail!(
        "could not find a free run folder under {}",
        parent.display()
    )
}

/// The CSV files of one run, appended to unit by unit. Each unit's rows are formatted in
/// memory and appended with one write per file (`epochs.csv`, `grad_norms.csv` and
/// `dead_units.csv` before `units.csv`), so a run killed at any moment leaves whole lines, and a unit counts as
/// finished only once its `units.csv` row is there (see `--resume`).
pub struct RunFiles {
    dir: PathBuf,
    epochs: csv::Writer<Vec<u8>>,
    units: csv::Writer<Vec<u8>>,
    grad_norms: LayerRows,
    dead_units: LayerRows,
    epochs_file: File,
    units_file: File,
}

/// A file of one value per (unit, epoch, layer), created when the first unit has values.
struct LayerRows {
    name: &'static str,
    header: &'static [&'static str; 6],
    rows: csv::Writer<Vec<u8>>,
    file: Option<File>,
}

impl LayerRows {
    /// The file `name` of `dir`, appended to when it is there already (a resumed run).
    fn open(
        dir: &Path,
        name: &'static str,
        header: &'static [&'static str; 6],
    ) -> Result<LayerRows> {
        let path = dir.join(name);
        let file = if path.exists() {
            Some(
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("opening {} to append", path.display()))?,
            )
        } else {
            None
        };
        Ok(LayerRows {
            name,
            header,
            rows: csv::Writer::from_writer(Vec::new()),
            file,
        })
    }

    fn push(&mut self, dir: &Path, unit: &UnitRecord, epoch: usize, values: &[f64]) -> Result<()> {
        if self.file.is_none() {
            self.file = Some(writer(&dir.join(self.name), self.header)?);
        }
        let (seed, epoch) = (unit.seed.to_string(), epoch.to_string());
        for (layer, value) in values.iter().enumerate() {
            self.rows.write_record([
                unit.variant.as_str(),
                unit.backend.as_str(),
                &seed,
                &epoch,
                &layer.to_string(),
                &number(*value),
            ])?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        match &mut self.file {
            Some(file) => append(&mut self.rows, file),
            None => Ok(()),
        }
    }
}

impl RunFiles {
    pub fn create(dir: &Path) -> Result<RunFiles> {
        Ok(RunFiles {
            dir: dir.to_path_buf(),
            epochs: csv::Writer::from_writer(Vec::new()),
            units: csv::Writer::from_writer(Vec::new()),
            grad_norms: LayerRows::open(dir, "grad_norms.csv", &crate::merge::GRAD_NORMS_HEADER)?,
            dead_units: LayerRows::open(dir, "dead_units.csv", &crate::merge::DEAD_UNITS_HEADER)?,
            epochs_file: writer(&dir.join("epochs.csv"), &EPOCHS_HEADER)?,
            units_file: writer(&dir.join("units.csv"), &UNITS_HEADER)?,
        })
    }

    /// Appends to the files of an existing run (`--resume`), whose headers are already written
    /// and whose last lines are complete.
    pub fn append(dir: &Path) -> Result<RunFiles> {
        let open = |name: &str| {
            let path = dir.join(name);
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .with_context(|| format!("opening {} to append", path.display()))
        };
        Ok(RunFiles {
            dir: dir.to_path_buf(),
            epochs: csv::Writer::from_writer(Vec::new()),
            units: csv::Writer::from_writer(Vec::new()),
            grad_norms: LayerRows::open(dir, "grad_norms.csv", &crate::merge::GRAD_NORMS_HEADER)?,
            dead_units: LayerRows::open(dir, "dead_units.csv", &crate::merge::DEAD_UNITS_HEADER)?,
            epochs_file: open("epochs.csv")?,
            units_file: open("units.csv")?,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends a finished unit's rows to every file and flushes them.
    pub fn record(&mut self, unit: &UnitRecord) -> Result<()> {
        let seed = unit.seed.to_string();
        for epoch in &unit.outcome.epochs {
            self.epochs.write_record([
                unit.variant.as_str(),
                unit.backend.as_str(),
                &seed,
                &epoch.epoch.to_string(),
                &number(epoch.lr),
                &number(epoch.train_loss),
                &number(epoch.train_accuracy),
                &optional(epoch.val_loss),
                &optional(epoch.val_accuracy),
                &number(epoch.step_loss),
                &number(epoch.epoch_s),
                &number(epoch.eval_s),
                &number(epoch.samples_per_s),
            ])?;
            if let Some(norms) = &epoch.grad_norms {
                self.grad_norms.push(&self.dir, unit, epoch.epoch, norms)?;
            }
            if let Some(fractions) = &epoch.dead_units {
                self.dead_units
                    .push(&self.dir, unit, epoch.epoch, fractions)?;
            }
        }
        let outcome = &unit.outcome;
        let epoch_times: Vec<f64> = outcome.epochs.iter().map(|e| e.epoch_s).collect();
        self.units.write_record([
            unit.variant.as_str(),
            unit.backend.as_str(),
            &seed,
            outcome.status.name(),
            &outcome.epochs.len().to_string(),
            &outcome.stopped_early.to_string(),
            &optional(outcome.test.map(|t| t.loss)),
            &optional(outcome.test.map(|t| t.accuracy)),
            &optional(crate::summary::median(&epoch_times)),
            outcome.reason.as_deref().unwrap_or(""),
        ])?;
        // One write per file of whole lines; the unit's units.csv row goes last.
        append(&mut self.epochs, &mut self.epochs_file)?;
        self.grad_norms.flush()?;
        self.dead_units.flush()?;
        append(&mut self.units, &mut self.units_file)?;
        Ok(())
    }
}

/// Writes `summary.csv` (whole, through a temporary file: see [`write_file`]).
pub fn write_summary(dir: &Path, rows: &[SummaryRow]) -> Result<()> {
    let mut file = csv::Writer::from_writer(Vec::new());
    file.write_record(SUMMARY_HEADER)?;
    for row in rows {
        file.write_record([
            row.variant.as_str(),
            row.backend.as_str(),
            row.status.name(),
            &row.seeds.to_string(),
            &number(row.epochs_run),
            &optional(row.test_accuracy),
            &optional(row.test_accuracy_std),
            &optional(row.final_train_loss),
            &optional(row.epoch_s_median),
            row.reason.as_deref().unwrap_or(""),
        ])?;
    }
    let text = String::from_utf8(into_bytes(file)?)?;
    write_file(dir, "summary.csv", &text)
}

/// Writes `name` in the run folder: into `.name.tmp` first, then renamed over `name`, so a
/// reader (or a run killed meanwhile) sees the old file or the new one, never half of one.
pub fn write_file(dir: &Path, name: &str, contents: &str) -> Result<()> {
    let path = dir.join(name);
    let temporary = dir.join(format!(".{name}.tmp"));
    let mut file =
        File::create(&temporary).with_context(|| format!("creating {}", temporary.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", temporary.display()))?;
    drop(file);
    std::fs::rename(&temporary, &path).with_context(|| format!("writing {}", path.display()))
}

/// Creates `path` holding just the CSV header line.
fn writer(path: &Path, header: &[&str]) -> Result<File> {
    let mut line = csv::Writer::from_writer(Vec::new());
    line.write_record(header)?;
    let mut file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(&into_bytes(line)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(file)
}

/// The text a CSV writer formatted in memory.
pub fn into_bytes(writer: csv::Writer<Vec<u8>>) -> Result<Vec<u8>> {
    writer
        .into_inner()
        .map_err(|error| anyhow::anyhow!("formatting CSV: {}", error.error()))
}

/// Moves the rows formatted in `rows` to the end of `file` in one write, and empties `rows`.
fn append(rows: &mut csv::Writer<Vec<u8>>, file: &mut File) -> Result<()> {
    let bytes = into_bytes(std::mem::replace(
        rows,
        csv::Writer::from_writer(Vec::new()),
    ))?;
    if !bytes.is_empty() {
        file.write_all(&bytes)?;
        file.flush()?;
    }
    Ok(())
}

/// Shortest text that reads back as the same `f64`.
fn number(value: f64) -> String {
    value.to_string()
}

fn optional(value: Option<f64>) -> String {
    value.map(number).unwrap_or_default()
}
