//! One training run on tch: forward, loss, `backward()`, gradient changes and libtorch's
//! optimizer step, on the thread count the scenario asks for (see [`crate::threads`]).

use nnbench_core::rng::Rng;
use nnbench_core::spec::{OutputHead, RegularizationSpec};
use nnbench_core::{BackendError, Batch, Network, StepStats, Trainer, TrainerSetup, Weights};
use tch::{Device, Tensor};

use crate::error::{OrFramework, framework_error};
use crate::head;
use crate::model::{self, Model};
use crate::optimizer::Optimizer;
use crate::regularization;
use crate::threads;

pub struct TchTrainer {
    network: Network,
    device: Device,
    threads: usize,
    model: Model,
    /// Shallow clones of every trainable parameter, and of the dense weights among them.
    parameters: Vec<Tensor>,
    dense_weights: Vec<Tensor>,
    optimizer: Optimizer,
    regularization: RegularizationSpec,
    record_grad_norms: bool,
    dropout_rng: Rng,
}

impl TchTrainer {
    pub fn new(setup: &TrainerSetup<'_>) -> Result<TchTrainer, BackendError> {
        if setup.network.head == OutputHead::Step {
            return Err(framework_error(head::STEP_UNSUPPORTED));
        }
        threads::apply(setup.threads);
        let device = Device::Cpu;
        let model = Model::new(setup.network, setup.init, setup.seed, device)?;
        let parameters = model.parameters();
        let dense_weights = model.dense_weights();
        let optimizer = Optimizer::new(
            setup.run.optimizer.kind,
            &parameters,
            setup.run.optimizer.learning_rate,
        )
        .or_framework()?;
        Ok(TchTrainer {
            network: setup.network.clone(),
            device,
            threads: setup.threads,
            model,
            parameters,
            dense_weights,
            optimizer,
            regularization: setup.run.regularization,
            record_grad_norms: setup.run.training.record_grad_norms,
            dropout_rng: Rng::derive(setup.seed, "dropout"),
        })
    }

    fn inputs(&self, inputs: &[f32], rows: usize) -> Result<Tensor, BackendError> {
        let features = self.network.inputs;
        let dims = [rows as i64, features as i64];
        model::from_host(&inputs[..rows * features], &dims, self.device)
    }

    fn step(&mut self, batch: &Batch<'_>, learning_rate: f32) -> Result<StepStats, BackendError> {
        let x = self.inputs(batch.inputs, batch.rows)?;
        self.optimizer.zero_grad().or_framework()?;
        let z = self.model.forward(&x, Some(&mut self.dropout_rng))?;
        let outputs = self.network.outputs;
        let loss = head::loss(self.network.head, &z, batch, outputs, self.device)?;
        loss.f_backward().or_framework()?;
        let loss_value = loss.f_double_value(&[]).or_framework()? as f32;
        let grad_norms = if self.record_grad_norms {
            Some(regularization::gradient_norms(&self.dense_weights).or_framework()?)
        } else {
            None
        };
        regularization::apply(&self.regularization, &self.dense_weights, &self.parameters)
            .or_framework()?;
        self.optimizer
            .step(f64::from(learning_rate))
            .or_framework()?;
        Ok(StepStats {
            loss: loss_value,
            grad_norms,
        })
    }
}

impl Trainer for TchTrainer {
    fn train_batch(
        &mut self,
        batch: &Batch<'_>,
        learning_rate: f32,
    ) -> Result<StepStats, BackendError> {
        batch.check(&self.network).map_err(framework_error)?;
        threads::apply(self.threads);
        self.step(batch, learning_rate)
    }

    fn predict(&mut self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError> {
        self.network
            .check_inputs(inputs.len(), rows, self.network.inputs)
            .map_err(framework_error)?;
        threads::apply(self.threads);
        tch::no_grad(|| {
            let x = self.inputs(inputs, rows)?;
            let z = self.model.forward(&x, None)?;
            model::to_vec(&head::predict(self.network.head, &z)?)
        })
    }

    fn weights(&self) -> Result<Weights, BackendError> {
        self.model.weights()
    }
}
