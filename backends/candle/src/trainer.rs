//! One training run on candle: forward, loss, `backward()`, gradient changes and the
//! optimizer step, on the thread count the scenario asks for.
//!
//! Threads: see [`crate::threads`].

use candle_core::{Device, Tensor};
use nnbench_core::rng::Rng;
use nnbench_core::spec::{OutputHead, RegularizationSpec};
use nnbench_core::{BackendError, Batch, Network, StepStats, Trainer, TrainerSetup, Weights};

use crate::error::{OrFramework, framework_error};
use crate::head;
use crate::model::Model;
use crate::optimizer::AnyOptimizer;
use crate::regularization;
use crate::threads;

pub struct CandleTrainer {
    /// The pool every step and prediction runs in.
    pool: std::sync::Arc<rayon::ThreadPool>,
    state: State,
}

/// Everything but the pool, so that a step can borrow it mutably inside `pool.install`.
struct State {
    network: Network,
    device: Device,
    model: Model,
    optimizer: AnyOptimizer,
    regularization: RegularizationSpec,
    record_grad_norms: bool,
    dropout_rng: Rng,
}

impl CandleTrainer {
    pub fn new(setup: &TrainerSetup<'_>) -> Result<CandleTrainer, BackendError> {
        if setup.network.head == OutputHead::Step {
            return Err(framework_error(head::STEP_UNSUPPORTED));
        }
        let pool = threads::pool(setup.threads)?;
        let device = select_device()?;
        let model = pool.install(|| Model::new(setup.network, setup.init, &device))?;
        let optimizer = AnyOptimizer::new(
            setup.run.optimizer.kind,
            model.parameters(),
            setup.run.optimizer.learning_rate,
        )
        .or_framework()?;
        let state = State {
            network: setup.network.clone(),
            device,
            model,
            optimizer,
            regularization: setup.run.regularization,
            record_grad_norms: setup.run.training.record_grad_norms,
            dropout_rng: Rng::derive(setup.seed, "dropout"),
        };
        Ok(CandleTrainer { pool, state })
    }
}

impl State {
    fn inputs(&self, inputs: &[f32], rows: usize) -> Result<Tensor, BackendError> {
        let features = self.network.inputs;
        Tensor::from_slice(&inputs[..rows * features], (rows, features), &self.device)
            .or_framework()
    }

    fn step(&mut self, batch: &Batch<'_>, learning_rate: f32) -> Result<StepStats, BackendError> {
        let x = self.inputs(batch.inputs, batch.rows)?;
        let z = self.model.forward(&x, Some(&mut self.dropout_rng))?;
        let outputs = self.network.outputs;
        let loss = head::loss(self.network.head, &z, batch, outputs, &self.device)?;
        let loss_value = loss.to_scalar::<f32>().or_framework()?;
        let mut grads = loss.backward().or_framework()?;
        let dense_weights = self.model.dense_weights();
        let grad_norms = if self.record_grad_norms {
            Some(regularization::gradient_norms(&grads, &dense_weights).or_framework()?)
        } else {
            None
        };
        let parameters = self.model.parameters();
        regularization::apply(
            &self.regularization,
            &mut grads,
            &dense_weights,
            &parameters,
        )
        .or_framework()?;
        self.optimizer
            .step(&grads, f64::from(learning_rate))
            .or_framework()?;
        Ok(StepStats {
            loss: loss_value,
            grad_norms,
        })
    }

    fn predict(&self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError> {
        // candle's convolution unfolds its input k² times over: predict a large set in
        // slices so that the buffer stays a few tens of MB.
        let slice = if self.network.is_convolutional() {
            PREDICT_ROWS
        } else {
            rows.max(1)
        };
        let features = self.network.inputs;
        let mut out = Vec::with_capacity(rows * self.network.outputs);
        for start in (0..rows).step_by(slice) {
            let n = slice.min(rows - start);
            let x = self.inputs(&inputs[start * features..], n)?;
            let z = self.model.forward(&x, None)?;
            let y = head::predict(self.network.head, &z)?;
            out.extend(
                y.flatten_all()
                    .and_then(|y| y.to_vec1::<f32>())
                    .or_framework()?,
            );
        }
        Ok(out)
    }
}

/// Rows per forward pass when a convolutional network predicts.
const PREDICT_ROWS: usize = 512;

/// The CPU, or the first CUDA device when built with the `cuda` feature and one is present.
fn select_device() -> Result<Device, BackendError> {
    if cfg!(feature = "cuda") {
        Device::cuda_if_available(0).or_framework()
    } else {
        Ok(Device::Cpu)
    }
}

impl Trainer for CandleTrainer {
    fn train_batch(
        &mut self,
        batch: &Batch<'_>,
        learning_rate: f32,
    ) -> Result<StepStats, BackendError> {
        batch.check(&self.state.network).map_err(framework_error)?;
        let state = &mut self.state;
        self.pool.install(|| state.step(batch, learning_rate))
    }

    fn predict(&mut self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError> {
        let network = &self.state.network;
        network
            .check_inputs(inputs.len(), rows, network.inputs)
            .map_err(framework_error)?;
        let state = &self.state;
        self.pool.install(|| state.predict(inputs, rows))
    }

    fn weights(&self) -> Result<Weights, BackendError> {
        self.state.model.weights()
    }
}
