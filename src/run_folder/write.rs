//! The one writer of a run folder's CSV files: whole tables replaced atomically
//! ([`write_table`]), and the per-unit files appended unit by unit ([`RunWriter`]).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nnbench_core::data::Dataset;

use super::boundary::Probe;
use super::schema::{
    DeadUnitsRow, EpochRow, GradNormRow, GradientRow, PointRow, SummaryRow, Table, UnitRow, columns,
};
use super::{UnitRecord, write_file};
use crate::stats;

/// `rows` as the CSV text of `R`'s file, header first.
pub fn table_bytes<'r, R: Table + 'r>(rows: impl IntoIterator<Item = &'r R>) -> Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer.write_record(columns::<R>())?;
    for row in rows {
        writer.serialize(row)?;
    }
    writer
        .into_inner()
        .map_err(|error| anyhow::anyhow!("formatting {}: {}", R::FILE, error.error()))
}

/// Writes `R`'s whole file in `dir` (through a temporary file: see [`write_file`]).
pub fn write_table<'r, R: Table + 'r>(
    dir: &Path,
    rows: impl IntoIterator<Item = &'r R>,
) -> Result<()> {
    write_file(dir, R::FILE, &table_bytes(rows)?)
}

/// One per-unit file, appended to: rows are formatted in memory and moved to the end of the
/// file in one write of whole lines. The file (with its header) is created by the first
/// flush that has rows, unless it must exist from the start.
struct Appender {
    path: PathBuf,
    header: &'static [&'static str],
    file: Option<File>,
    rows: csv::Writer<Vec<u8>>,
}

fn buffer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new())
}

impl Appender {
    /// `R`'s file in `dir`, appended to when it is there already (a resumed run), else
    /// created (with its header) now when `eager`, or at the first rows.
    fn open<R: Table>(dir: &Path, eager: bool) -> Result<Appender> {
        let path = dir.join(R::FILE);
        let mut appender = Appender {
            header: columns::<R>(),
            file: None,
            rows: buffer(),
            path,
        };
        if appender.path.exists() {
            appender.file = Some(
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(&appender.path)
                    .with_context(|| format!("opening {} to append", appender.path.display()))?,
            );
        } else if eager {
            appender.create()?;
        }
        Ok(appender)
    }

    fn create(&mut self) -> Result<()> {
        let mut line = buffer();
        line.write_record(self.header)?;
        let mut file = File::create(&self.path)
            .with_context(|| format!("creating {}", self.path.display()))?;
        file.write_all(&into_bytes(line)?)
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.file = Some(file);
        Ok(())
    }

    fn push(&mut self, row: &impl serde::Serialize) -> Result<()> {
        self.rows.serialize(row)?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let bytes = into_bytes(std::mem::replace(&mut self.rows, buffer()))?;
        if bytes.is_empty() {
            return Ok(());
        }
        if self.file.is_none() {
            self.create()?;
        }
        let file = self.file.as_mut().expect("created above");
        file.write_all(&bytes)
            .and_then(|()| file.flush())
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

fn into_bytes(writer: csv::Writer<Vec<u8>>) -> Result<Vec<u8>> {
    writer
        .into_inner()
        .map_err(|error| anyhow::anyhow!("formatting CSV: {}", error.error()))
}

/// The per-unit files of one run, appended to unit by unit. A unit's rows go to `epochs.csv`,
/// `grad_norms.csv`, `dead_units.csv`, `gradients.csv` and `boundary.csv` before its `units.csv` row, so a unit
/// counts as finished (see `--resume`) only once all of its rows are there.
pub struct RunWriter {
    dir: PathBuf,
    epochs: Appender,
    grad_norms: Appender,
    dead_units: Appender,
    gradients: Appender,
    boundary: Appender,
    points: Appender,
    /// `points.csv` was there before: a resumed run, whose examples are written already.
    points_existed: bool,
    units: Appender,
}

impl RunWriter {
    /// Starts the files of a new run in `dir`, or appends to those of a resumed one (whose
    /// last lines are complete: see [`super::read`]).
    pub fn open(dir: &Path) -> Result<RunWriter> {
        Ok(RunWriter {
            dir: dir.to_path_buf(),
            epochs: Appender::open::<EpochRow>(dir, true)?,
            grad_norms: Appender::open::<GradNormRow>(dir, false)?,
            dead_units: Appender::open::<DeadUnitsRow>(dir, false)?,
            gradients: Appender::open::<GradientRow>(dir, false)?,
            boundary: Appender::open::<super::BoundaryRow>(dir, false)?,
            points_existed: dir.join(PointRow::FILE).exists(),
            points: Appender::open::<PointRow>(dir, false)?,
            units: Appender::open::<UnitRow>(dir, true)?,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a 2-D variant's training and test examples (once per variant).
    pub fn points(&mut self, variant: &str, dataset: &Dataset) -> Result<()> {
        if dataset.features != 2 || self.points_existed {
            return Ok(());
        }
        for (split_name, split) in [("train", &dataset.train), ("test", &dataset.test)] {
            for (pair, &label) in split.inputs.chunks_exact(2).zip(&split.labels) {
                self.points.push(&PointRow {
                    variant: variant.to_string(),
                    split: split_name.to_string(),
                    x: f64::from(pair[0]),
                    y: f64::from(pair[1]),
                    label,
                })?;
            }
        }
        self.points.flush()
    }

    /// Appends a finished unit's rows to every file and flushes them; `probe` is the grid its
    /// network was probed on, for a 2-D dataset.
    pub fn record(&mut self, unit: &UnitRecord, probe: Option<&Probe>) -> Result<()> {
        let (variant, backend, seed) = (&unit.variant, &unit.backend, unit.seed);
        let outcome = &unit.outcome;
        for epoch in &outcome.epochs {
            self.epochs.push(&EpochRow {
                variant: variant.clone(),
                backend: backend.clone(),
                seed,
                epoch: epoch.epoch as u64,
                lr: epoch.lr,
                train_loss: epoch.train_loss,
                train_accuracy: epoch.train_accuracy,
                val_loss: epoch.val_loss,
                val_accuracy: epoch.val_accuracy,
                step_loss: epoch.step_loss,
                epoch_s: epoch.epoch_s,
                eval_s: epoch.eval_s,
                samples_per_s: epoch.samples_per_s,
                jobs: unit.jobs,
            })?;
            for (layer, &grad_norm) in epoch.grad_norms.iter().flatten().enumerate() {
                self.grad_norms.push(&GradNormRow {
                    variant: variant.clone(),
                    backend: backend.clone(),
                    seed,
                    epoch: epoch.epoch as u64,
                    layer: layer as u64,
                    grad_norm,
                })?;
            }
            for (layer, &dead_fraction) in epoch.dead_units.iter().flatten().enumerate() {
                self.dead_units.push(&DeadUnitsRow {
                    variant: variant.clone(),
                    backend: backend.clone(),
                    seed,
                    epoch: epoch.epoch as u64,
                    layer: layer as u64,
                    dead_fraction,
                })?;
            }
        }
        for tensor in outcome.gradients.iter().flat_map(|g| &g.tensors) {
            let (layer, kind) = tensor
                .name
                .split_once('.')
                .unwrap_or(("0", tensor.name.as_str()));
            for (index, &gradient) in tensor.data.iter().enumerate() {
                self.gradients.push(&GradientRow {
                    variant: variant.clone(),
                    backend: backend.clone(),
                    seed,
                    layer: layer.parse().unwrap_or_default(),
                    tensor: kind.to_string(),
                    index: index as u64,
                    gradient: f64::from(gradient),
                })?;
            }
        }
        if let Some(probe) = probe {
            for row in probe.rows(unit) {
                self.boundary.push(&row)?;
            }
        }
        let epoch_times: Vec<f64> = outcome.epochs.iter().map(|e| e.epoch_s).collect();
        self.units.push(&UnitRow {
            variant: variant.clone(),
            backend: backend.clone(),
            seed,
            status: outcome.status,
            epochs_run: outcome.epochs.len() as u64,
            stopped_early: outcome.stopped_early,
            test_loss: outcome.test.map(|t| t.loss),
            test_accuracy: outcome.test.map(|t| t.accuracy),
            epoch_s_median: stats::median(&epoch_times),
            jobs: unit.jobs,
            reason: outcome.reason.clone().unwrap_or_default(),
        })?;
        // One write per file of whole lines; the unit's units.csv row goes last.
        self.epochs.flush()?;
        self.grad_norms.flush()?;
        self.dead_units.flush()?;
        self.gradients.flush()?;
        self.boundary.flush()?;
        self.units.flush()
    }

    /// Writes `summary.csv` whole.
    pub fn summary(&self, rows: &[SummaryRow]) -> Result<()> {
        write_table(&self.dir, rows)
    }
}
