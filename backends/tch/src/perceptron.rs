//! Rosenblatt's perceptron on libtorch tensors: the rule is not the gradient of a loss (the
//! step function's derivative is zero), so it runs without autograd, as the course writes it:
//! `valeur = x·w + b`, `prediction = valeur > seuil`, and on the rows it gets wrong
//! `w ← w + η (vrai − prediction) x`, `b ← b + η (vrai − prediction)`, averaged over the batch
//! (a batch of one row is the course's loop).

use nnbench_core::weights::{Tensor as NamedTensor, Weights};
use nnbench_core::{BackendError, Batch, Network, StepStats, Trainer, TrainerSetup};
use tch::{Device, Kind, Tensor};

use crate::error::{OrFramework, framework_error};
use crate::model::to_vec;
use crate::threads;

pub struct TchPerceptron {
    network: Network,
    threads: usize,
    /// `[inputs, 1]`: the canonical `[fan_in, fan_out]` layout.
    weight: Tensor,
    /// `[1, 1]`, broadcast over the rows.
    bias: Tensor,
    threshold: f64,
    record_grad_norms: bool,
}

fn matrix(data: &[f32], rows: usize, columns: usize) -> Result<Tensor, BackendError> {
    crate::model::from_host(data, &[rows as i64, columns as i64], Device::Cpu)
}

impl TchPerceptron {
    pub fn new(setup: &TrainerSetup<'_>) -> Result<TchPerceptron, BackendError> {
        let network = setup.network.clone();
        let inputs = network.inputs;
        let (weight, bias) = setup.perceptron_init()?;
        threads::apply(setup.threads);
        Ok(TchPerceptron {
            weight: matrix(&weight.data, inputs, 1)?,
            bias: matrix(&bias.data, 1, 1)?,
            threshold: f64::from(setup.run.model.threshold as f32),
            record_grad_norms: setup.run.training.record_grad_norms,
            threads: setup.threads,
            network,
        })
    }

    /// 1 where x·w + b > threshold, else 0: `rows × 1`.
    fn fire(&self, x: &Tensor) -> Result<Tensor, tch::TchError> {
        x.f_matmul(&self.weight)?
            .f_add(&self.bias)?
            .f_gt(self.threshold)?
            .f_to_kind(Kind::Float)
    }

    fn step(&mut self, batch: &Batch<'_>, learning_rate: f32) -> Result<StepStats, BackendError> {
        let rows = batch.rows;
        let x = matrix(&batch.inputs[..rows * batch.features], rows, batch.features)?;
        let truth = matrix(&batch.targets[..rows], rows, 1)?;
        let error = truth.f_sub(&self.fire(&x).or_framework()?).or_framework()?;
        let loss = error
            .f_abs()
            .and_then(|e| e.f_mean(Kind::Float))
            .and_then(|e| e.f_double_value(&[]))
            .or_framework()? as f32;
        // The error per row over the batch size first, as the mean's gradient is.
        let error = error
            .f_mul_scalar(f64::from(1.0 / rows as f32))
            .or_framework()?;
        let update = x.f_tr().and_then(|t| t.f_matmul(&error)).or_framework()?;
        let grad_norms = if self.record_grad_norms {
            let norm = update
                .f_square()
                .and_then(|u| u.f_sum(Kind::Float))
                .and_then(|s| s.f_double_value(&[]))
                .or_framework()?;
            Some(vec![(norm as f32).sqrt()])
        } else {
            None
        };
        let rate = f64::from(learning_rate);
        self.weight = update
            .f_mul_scalar(rate)
            .and_then(|u| self.weight.f_add(&u))
            .or_framework()?;
        self.bias = error
            .f_sum_dim_intlist(Some(&[0i64][..]), true, Kind::Float)
            .and_then(|e| e.f_mul_scalar(rate))
            .and_then(|e| self.bias.f_add(&e))
            .or_framework()?;
        Ok(StepStats { loss, grad_norms })
    }
}

impl Trainer for TchPerceptron {
    fn train_batch(
        &mut self,
        batch: &Batch<'_>,
        learning_rate: f32,
    ) -> Result<StepStats, BackendError> {
        batch.check(&self.network).map_err(framework_error)?;
        threads::apply(self.threads);
        tch::no_grad(|| self.step(batch, learning_rate))
    }

    fn predict(&mut self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError> {
        let features = self.network.inputs;
        self.network
            .check_inputs(inputs.len(), rows, features)
            .map_err(framework_error)?;
        threads::apply(self.threads);
        let x = matrix(&inputs[..rows * features], rows, features)?;
        to_vec(&self.fire(&x).or_framework()?)
    }

    fn weights(&self) -> Result<Weights, BackendError> {
        Ok(Weights {
            tensors: vec![
                NamedTensor {
                    name: "0.weight".into(),
                    shape: vec![self.network.inputs, 1],
                    data: to_vec(&self.weight)?,
                },
                NamedTensor {
                    name: "0.bias".into(),
                    shape: vec![1],
                    data: to_vec(&self.bias)?,
                },
            ],
        })
    }
}
