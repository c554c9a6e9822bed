//! Decision boundaries of 2-D datasets: a grid over the input space that the runner asks each
//! trained network to predict ([`UnitRequest::probe`](nnbench_core::train::UnitRequest)), kept
//! in `boundary.csv` beside the dataset's examples in `points.csv`, so plots need only the
//! run folder.

use nnbench_core::data::Dataset;

use super::UnitRecord;
use super::schema::BoundaryRow;

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

    /// A unit's predictions on the grid as `boundary.csv` rows (none when it did not train).
    /// `p` is the probability of class 1 for a two-output softmax head, the output itself for
    /// a one-unit head (sigmoid probability, 0/1 step output), and the predicted class for
    /// more than two classes.
    pub fn rows(&self, unit: &UnitRecord) -> Vec<BoundaryRow> {
        let Some(outputs) = &unit.outcome.probe_outputs else {
            return Vec::new();
        };
        let points = self.inputs.len() / 2;
        if points == 0 || outputs.len() % points != 0 {
            return Vec::new();
        }
        let width = outputs.len() / points;
        self.inputs
            .chunks_exact(2)
            .zip(outputs.chunks_exact(width))
            .map(|(point, output)| BoundaryRow {
                variant: unit.variant.clone(),
                backend: unit.backend.clone(),
                seed: unit.seed,
                x: f64::from(point[0]),
                y: f64::from(point[1]),
                p: match width {
                    1 => f64::from(output[0]),
                    2 => f64::from(output[1]),
                    _ => nnbench_core::metrics::predicted_class(output) as f64,
                },
            })
            .collect()
    }
}
