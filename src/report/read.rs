//! Reading a run folder's CSV files back. Columns are found by name, so files with extra
//! columns still read; a missing column, a malformed number or a broken line is a
//! [`ReadError`] naming the file, the line and the column, never a panic.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A run folder file that cannot be read: which file, where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadError {
    pub path: PathBuf,
    /// 1-based line in the file, when the problem is on one line.
    pub line: Option<u64>,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column `{column}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ReadError {}

/// One row of `epochs.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRow {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
    pub epoch: u64,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    pub epoch_s: f64,
}

/// One row of `units.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitRow {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
    pub status: String,
    pub epochs_run: u64,
    pub test_loss: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub epoch_s_median: Option<f64>,
    pub reason: String,
}

/// One row of `summary.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryLine {
    pub variant: String,
    pub backend: String,
    pub status: String,
    pub seeds: u64,
    pub test_accuracy: Option<f64>,
    pub test_accuracy_std: Option<f64>,
    pub final_train_loss: Option<f64>,
    pub epoch_s_median: Option<f64>,
    pub reason: String,
}

/// One row of a per-layer file: `grad_norms.csv` (the value is the layer's gradient norm) or
/// `dead_units.csv` (its share of dead units).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRow {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
    pub epoch: u64,
    pub layer: u64,
    pub value: f64,
}

/// One row of `boundary.csv`: the trained model's output at a grid point of a 2-D input space.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundaryRow {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
    pub x: f64,
    pub y: f64,
    pub p: f64,
}

/// One row of `points.csv`: a training or test example of a 2-D dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRow {
    pub variant: String,
    pub split: String,
    pub x: f64,
    pub y: f64,
    pub label: u64,
}

/// Everything the report and the plots are made from.
#[derive(Debug, Clone, Default)]
pub struct RunData {
    pub epochs: Vec<EpochRow>,
    pub units: Vec<UnitRow>,
    pub summary: Vec<SummaryLine>,
    pub grad_norms: Vec<LayerRow>,
    pub dead_units: Vec<LayerRow>,
    pub boundary: Vec<BoundaryRow>,
    pub points: Vec<PointRow>,
}

impl RunData {
    /// Reads a run folder: `epochs.csv`, `units.csv` and `summary.csv` must exist;
    /// `grad_norms.csv`, `dead_units.csv`, `boundary.csv` and `points.csv` are read when
    /// present.
    pub fn read(dir: &Path) -> Result<RunData, ReadError> {
        if !dir.is_dir() {
            return Err(ReadError {
                path: dir.to_path_buf(),
                line: None,
                column: None,
                message: "not a run folder (no such directory)".into(),
            });
        }
        Ok(RunData {
            epochs: read_rows(&dir.join("epochs.csv"), true, |r| {
                Ok(EpochRow {
                    variant: r.text("variant")?,
                    backend: r.text("backend")?,
                    seed: r.integer("seed")?,
                    epoch: r.integer("epoch")?,
                    train_loss: r.number("train_loss")?,
                    train_accuracy: r.number("train_accuracy")?,
                    val_loss: r.optional("val_loss")?,
                    val_accuracy: r.optional("val_accuracy")?,
                    epoch_s: r.number("epoch_s")?,
                })
            })?,
            units: read_summary_units(dir)?,
            summary: read_summary(&dir.join("summary.csv"))?,
            grad_norms: read_layer_rows(&dir.join("grad_norms.csv"), "grad_norm")?,
            dead_units: read_layer_rows(&dir.join("dead_units.csv"), "dead_fraction")?,
            boundary: read_rows(&dir.join("boundary.csv"), false, |r| {
                Ok(BoundaryRow {
                    variant: r.text("variant")?,
                    backend: r.text("backend")?,
                    seed: r.integer("seed")?,
                    x: r.number("x")?,
                    y: r.number("y")?,
                    p: r.number("p")?,
                })
            })?,
            points: read_rows(&dir.join("points.csv"), false, |r| {
                Ok(PointRow {
                    variant: r.text("variant")?,
                    split: r.text("split")?,
                    x: r.number("x")?,
                    y: r.number("y")?,
                    label: r.integer("label")?,
                })
            })?,
        })
    }
}

/// A per-layer file whose value column is `column`, when the file exists.
fn read_layer_rows(path: &Path, column: &str) -> Result<Vec<LayerRow>, ReadError> {
    read_rows(path, false, |r| {
        Ok(LayerRow {
            variant: r.text("variant")?,
            backend: r.text("backend")?,
            seed: r.integer("seed")?,
            epoch: r.integer("epoch")?,
            layer: r.integer("layer")?,
            value: r.number(column)?,
        })
    })
}

fn read_summary_units(dir: &Path) -> Result<Vec<UnitRow>, ReadError> {
    read_rows(&dir.join("units.csv"), true, |r| {
        Ok(UnitRow {
            variant: r.text("variant")?,
            backend: r.text("backend")?,
            seed: r.integer("seed")?,
            status: r.text("status")?,
            epochs_run: r.integer("epochs_run")?,
            test_loss: r.optional("test_loss")?,
            test_accuracy: r.optional("test_accuracy")?,
            epoch_s_median: r.optional("epoch_s_median")?,
            reason: r.text("reason")?,
        })
    })
}

/// Reads `summary.csv` (also used by `nnbench compare`).
pub fn read_summary(path: &Path) -> Result<Vec<SummaryLine>, ReadError> {
    read_rows(path, true, |r| {
        Ok(SummaryLine {
            variant: r.text("variant")?,
            backend: r.text("backend")?,
            status: r.text("status")?,
            seeds: r.integer("seeds")?,
            test_accuracy: r.optional("test_accuracy")?,
            test_accuracy_std: r.optional("test_accuracy_std")?,
            final_train_loss: r.optional("final_train_loss")?,
            epoch_s_median: r.optional("epoch_s_median")?,
            reason: r.text("reason")?,
        })
    })
}

/// One CSV record with its header, for typed, located field access.
pub struct Record<'a> {
    path: &'a Path,
    line: u64,
    columns: &'a HashMap<String, usize>,
    record: &'a csv::StringRecord,
}

impl Record<'_> {
    fn error(&self, column: &str, message: String) -> ReadError {
        ReadError {
            path: self.path.to_path_buf(),
            line: Some(self.line),
            column: Some(column.to_string()),
            message,
        }
    }

    fn field(&self, column: &str) -> Result<&str, ReadError> {
        let index = *self.columns.get(column).ok_or_else(|| ReadError {
            path: self.path.to_path_buf(),
            line: Some(1),
            column: Some(column.to_string()),
            message: "missing from the header".into(),
        })?;
        self.record.get(index).ok_or_else(|| {
            self.error(
                column,
                format!(
                    "the line has {} fields, fewer than the header",
                    self.record.len()
                ),
            )
        })
    }

    pub fn text(&self, column: &str) -> Result<String, ReadError> {
        self.field(column).map(str::to_string)
    }

    pub fn integer(&self, column: &str) -> Result<u64, ReadError> {
        let text = self.field(column)?;
        text.trim()
            .parse()
            .map_err(|_| self.error(column, format!("`{text}` is not a non-negative integer")))
    }

    /// A number; `NaN` and `inf` are accepted (a diverged run writes them).
    pub fn number(&self, column: &str) -> Result<f64, ReadError> {
        let text = self.field(column)?;
        text.trim()
            .parse()
            .map_err(|_| self.error(column, format!("`{text}` is not a number")))
    }

    /// A number, or nothing for an empty field.
    pub fn optional(&self, column: &str) -> Result<Option<f64>, ReadError> {
        if self.field(column)?.trim().is_empty() {
            Ok(None)
        } else {
            self.number(column).map(Some)
        }
    }
}

/// Reads every row of `path` with `parse`. A missing optional file reads as no rows.
pub fn read_rows<T>(
    path: &Path,
    required: bool,
    mut parse: impl FnMut(&Record<'_>) -> Result<T, ReadError>,
) -> Result<Vec<T>, ReadError> {
    let whole = |message: String| ReadError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        message,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => {
            return Ok(Vec::new());
        }
        Err(error) => return Err(whole(error.to_string())),
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let header = reader
        .headers()
        .map_err(|error| whole(format!("reading the header: {error}")))?
        .clone();
    if header.is_empty() {
        return Err(whole("empty file: no header".into()));
    }
    let columns: HashMap<String, usize> = header
        .iter()
        .enumerate()
        .map(|(index, name)| (name.to_string(), index))
        .collect();
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map(|p| p.line());
                return Err(ReadError {
                    path: path.to_path_buf(),
                    line,
                    column: None,
                    message: error.to_string(),
                });
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        rows.push(parse(&Record {
            path,
            line,
            columns: &columns,
            record: &record,
        })?);
    }
    Ok(rows)
}
