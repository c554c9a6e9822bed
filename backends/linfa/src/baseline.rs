//! The loop a linfa user writes for mnist_adam's model: one `fit` of the estimator with one
//! epoch, shuffled by the estimator as scikit-learn's `fit` does, without nnbench in between — the reference side of `nnbench bench`'s
//! harness-overhead ratio (see [`nnbench_core::baseline`]).

use std::time::Instant;

use linfa::prelude::*;
use ndarray::{Array1, Array2};
use nnbench_core::BackendError;
use nnbench_core::baseline::BaselineTask;

use crate::{MlpClassifier, Solver};

pub fn epoch(task: &BaselineTask<'_>) -> Result<f64, BackendError> {
    let error = |message: String| BackendError::Framework {
        framework: "linfa",
        message,
    };
    // Full batches only, as the task asks.
    let rows = task.rows() / task.batch_size.max(1) * task.batch_size.max(1);
    let inputs = task.inputs[..rows * task.features].to_vec();
    let x =
        Array2::from_shape_vec((rows, task.features), inputs).map_err(|e| error(e.to_string()))?;
    let y: Array1<usize> = task.labels[..rows].iter().map(|&l| l as usize).collect();
    let dataset = Dataset::new(x, y);
    let params = MlpClassifier::<f32>::params()
        .hidden_layer_sizes([task.hidden])
        .solver(Solver::Adam)
        .learning_rate_init(task.learning_rate as f32)
        .alpha(0.0)
        .batch_size(task.batch_size)
        .shuffle(true)
        .max_iter(1)
        .random_state(task.seed);
    let started = Instant::now();
    params.fit(&dataset).map_err(|e| error(e.to_string()))?;
    Ok(started.elapsed().as_secs_f64())
}
