//! Decision boundaries of 2-D datasets: a grid over the input space that the runner asks each
//! trained network to predict ([`UnitRequest::probe`](nnbench_core::train::UnitRequest)), and
//! the files that keep it: `boundary.csv` (variant, backend, seed, x, y, p) and `points.csv`
//! (variant, split, x, y, label: the dataset's examples), so plots need only the run folder.
//!
//! `p` is the probability of class 1 for a two-output softmax head, the output itself for a
//! one-unit head (sigmoid probability, 0/1 step output), and the predicted class for more
//! than two classes.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};
use nnbench_core::data::Dataset;

use crate::results::UnitRecord;

/// Grid points per axis.
pub const GRID: usize = 41;

/// The grid a 2-D dataset's networks are probed on.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// `GRID × GRID` rows of (x, y), x varying fastest.
    pub inputs: Vec<f32>,
}

impl Probe {
    /// A grid over the dataset's examples with a margin, for datasets of 2 features only.
    pub fn for_dataset(dataset: &Dataset) -> Option<Probe> {
        if dataset.features != 2 {
            return None;
        }
        let mut bounds = [(f32::INFINITY, f32::NEG_INFINITY); 2];
        for split in [&dataset.train, &dataset.test] {
            for pair in split.inputs.chunks_exact(2) {
                for (axis, &value) in pair.iter().enumerate() {
                    if value.is_finite() {
                        bounds[axis].0 = bounds[axis].0.min(value);
                        bounds[axis].1 = bounds[axis].1.max(value);
                    }
                }
            }
        }
        let axes = bounds.map(|(lo, hi)| {
            let (lo, hi) = if lo <= hi { (lo, hi) } else { (0.0, 1.0) };
            let margin = ((hi - lo) * 0.15).max(0.25);
            (lo - margin, hi + margin)
        });
        let at = |(lo, hi): (f32, f32), i: usize| lo + (hi - lo) * i as f32 / (GRID - 1) as f32;
        let mut inputs = Vec::with_capacity(GRID * GRID * 2);
        for row in 0..GRID {
            for column in 0..GRID {
                inputs.push(at(axes[0], column));
                inputs.push(at(axes[1], row));
            }
        }
        Some(Probe { inputs })
    }
}

/// `boundary.csv` and `points.csv`, created when the first 2-D unit or dataset is written.
/// A resumed run appends to its `boundary.csv` and keeps its `points.csv` as it is.
pub struct BoundaryFiles {
    boundary: Option<csv::Writer<File>>,
    points: Option<csv::Writer<File>>,
    /// `points.csv` was there before: a resumed run, whose examples are written already.
    points_existed: bool,
}

/// Opens `path` to append rows, writing `header` first when the file is new.
fn open(path: &Path, header: &[&str]) -> Result<csv::Writer<File>> {
    let existed = path.exists();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut writer = csv::Writer::from_writer(file);
    if !existed {
        writer.write_record(header)?;
    }
    Ok(writer)
}

impl BoundaryFiles {
    pub fn new(dir: &Path) -> BoundaryFiles {
        BoundaryFiles {
            boundary: None,
            points: None,
            points_existed: dir.join("points.csv").exists(),
        }
    }

    /// Writes a variant's training and test examples (call once per variant).
    pub fn points(&mut self, dir: &Path, variant: &str, dataset: &Dataset) -> Result<()> {
        if dataset.features != 2 || self.points_existed {
            return Ok(());
        }
        if self.points.is_none() {
            self.points = Some(open(
                &dir.join("points.csv"),
                &["variant", "split", "x", "y", "label"],
            )?);
        }
        let file = self.points.as_mut().expect("opened above");
        for (name, split) in [("train", &dataset.train), ("test", &dataset.test)] {
            for (pair, label) in split.inputs.chunks_exact(2).zip(&split.labels) {
                file.write_record([
                    variant,
                    name,
                    &pair[0].to_string(),
                    &pair[1].to_string(),
                    &label.to_string(),
                ])?;
            }
        }
        file.flush()?;
        Ok(())
    }

    /// Writes a unit's predictions on the probe grid, when it has them.
    pub fn record(&mut self, dir: &Path, unit: &UnitRecord, probe: &Probe) -> Result<()> {
        let Some(outputs) = &unit.outcome.probe_outputs else {
            return Ok(());
        };
        let rows = probe.inputs.len() / 2;
        if rows == 0 || outputs.len() % rows != 0 {
            return Ok(());
        }
        let width = outputs.len() / rows;
        if self.boundary.is_none() {
            self.boundary = Some(open(
                &dir.join("boundary.csv"),
                &["variant", "backend", "seed", "x", "y", "p"],
            )?);
        }
        let file = self.boundary.as_mut().expect("opened above");
        let seed = unit.seed.to_string();
        for (point, output) in probe
            .inputs
            .chunks_exact(2)
            .zip(outputs.chunks_exact(width))
        {
            let p = match width {
                1 => output[0],
                2 => output[1],
                _ => nnbench_core::metrics::predicted_class(output) as f32,
            };
            file.write_record([
                unit.variant.as_str(),
                unit.backend.as_str(),
                &seed,
                &point[0].to_string(),
                &point[1].to_string(),
                &p.to_string(),
            ])?;
        }
        file.flush()?;
        Ok(())
    }
}
