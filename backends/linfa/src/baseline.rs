//! The loop a linfa user writes for mnist_adam's model: one `fit` of the estimator with one
//! epoch, shuffled by the estimator as scikit-learn's `fit` does, without nnbench in between — the reference side of `nnbench bench`'s
//! harness-overhead ratio (see [`nnbench_core::baseline`]).

use std::time::Instant;

use linfa::prelude::*;
use ndarray::{Array1, Array2};
use nnbench_core::BackendError;
use nnbench_core::baseline::{BaselineTask, TinyTask};

use crate::{Activation, MlpClassifier, Solver};

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

/// The tiny network of `nnbench bench`'s `xor_step` workload: one `fit` of the estimator
/// (tanh, plain SGD, the whole set as its one batch per epoch, stored order), each of its
/// epochs one step. The seconds are scaled to `task.steps` should its stopping rule end the
/// fit sooner.
pub fn tiny_steps(task: &TinyTask<'_>) -> Result<f64, BackendError> {
    let error = |message: String| BackendError::Framework {
        framework: "linfa",
        message,
    };
    let rows = task.rows();
    let x = Array2::from_shape_vec((rows, task.features), task.inputs.to_vec())
        .map_err(|e| error(e.to_string()))?;
    let y: Array1<usize> = task.targets.iter().map(|&t| t as usize).collect();
    let dataset = Dataset::new(x, y);
    let params = MlpClassifier::<f32>::params()
        .hidden_layer_sizes([task.hidden])
        .activation(Activation::Tanh)
        .solver(Solver::Sgd)
        .learning_rate_init(task.learning_rate as f32)
        .momentum(0.0)
        .nesterovs_momentum(false)
        .alpha(0.0)
        .batch_size(rows)
        .shuffle(false)
        .tol(0.0)
        .n_iter_no_change(task.steps.max(1))
        .max_iter(task.steps.max(1))
        .random_state(task.seed);
    let started = Instant::now();
    let model = params.fit(&dataset).map_err(|e| error(e.to_string()))?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(seconds * task.steps as f64 / model.n_iter().max(1) as f64)
}
