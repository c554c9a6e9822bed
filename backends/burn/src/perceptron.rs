//! Rosenblatt's perceptron on burn tensors: the rule is not the gradient of a loss (the step
//! function's derivative is zero), so it runs on plain flex tensors without autodiff, as the
//! course writes it: `valeur = x·w + b`, `prediction = valeur > seuil`, and on the rows it gets
//! wrong `w ← w + η (vrai − prediction) x`, `b ← b + η (vrai − prediction)`, averaged over the
//! batch (a batch of one row is the course's loop).

use std::sync::Arc;

use burn::tensor::{Device, Tensor};
use nnbench_core::weights::{Tensor as NamedTensor, Weights};
use nnbench_core::{BackendError, Batch, Network, StepStats, Trainer, TrainerSetup};

use crate::framework_error;
use crate::model::{tensor2, to_vec};

pub struct BurnPerceptron {
    network: Network,
    /// `[inputs, 1]`: the canonical `[fan_in, fan_out]` layout.
    weight: Tensor<2>,
    /// `[1, 1]`, broadcast over the rows.
    bias: Tensor<2>,
    threshold: f32,
    record_grad_norms: bool,
    device: Device,
    pool: Arc<rayon::ThreadPool>,
}

impl BurnPerceptron {
    pub fn new(setup: &TrainerSetup<'_>) -> Result<BurnPerceptron, BackendError> {
        let network = setup.network.clone();
        let inputs = network.inputs;
        let (weight, bias) = setup.perceptron_init()?;
        let device = Device::flex();
        Ok(BurnPerceptron {
            weight: tensor2(&weight.data, [inputs, 1], &device),
            bias: tensor2(&bias.data, [1, 1], &device),
            threshold: setup.run.model.threshold as f32,
            record_grad_norms: setup.run.training.record_grad_norms,
            device,
            pool: nnbench_core::threads::rayon_pool(setup.threads)?,
            network,
        })
    }

    /// 1 where x·w + b > threshold, else 0: `rows × 1`.
    fn fire(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.weight.clone())
            .add(self.bias.clone())
            .greater_elem(self.threshold)
            .float()
    }

    fn step(&mut self, batch: &Batch<'_>, learning_rate: f32) -> Result<StepStats, BackendError> {
        let (rows, features) = (batch.rows, batch.features);
        let x = tensor2(
            &batch.inputs[..rows * features],
            [rows, features],
            &self.device,
        );
        let truth = tensor2(&batch.targets[..rows], [rows, 1], &self.device);
        let error = truth.sub(self.fire(x.clone()));
        let loss = to_vec(error.clone().abs().mean())?[0];
        // The error per row over the batch size first, as the mean's gradient is.
        let error = error.mul_scalar(1.0 / rows as f32);
        let update = x.transpose().matmul(error.clone());
        let grad_norms = if self.record_grad_norms {
            Some(vec![to_vec(update.clone().square().sum())?[0].sqrt()])
        } else {
            None
        };
        self.weight = self.weight.clone().add(update.mul_scalar(learning_rate));
        self.bias = self
            .bias
            .clone()
            .add(error.sum_dim(0).mul_scalar(learning_rate));
        Ok(StepStats { loss, grad_norms })
    }
}

impl Trainer for BurnPerceptron {
    fn train_batch(
        &mut self,
        batch: &Batch<'_>,
        learning_rate: f32,
    ) -> Result<StepStats, BackendError> {
        batch.check(&self.network).map_err(framework_error)?;
        let pool = Arc::clone(&self.pool);
        pool.install(|| self.step(batch, learning_rate))
    }

    fn predict(&mut self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError> {
        let features = self.network.inputs;
        self.network
            .check_inputs(inputs.len(), rows, features)
            .map_err(framework_error)?;
        let x = tensor2(&inputs[..rows * features], [rows, features], &self.device);
        let pool = Arc::clone(&self.pool);
        pool.install(|| to_vec(self.fire(x)))
    }

    fn weights(&self) -> Result<Weights, BackendError> {
        let inputs = self.network.inputs;
        Ok(Weights {
            tensors: vec![
                NamedTensor {
                    name: "0.weight".into(),
                    shape: vec![inputs, 1],
                    data: to_vec(self.weight.clone())?,
                },
                NamedTensor {
                    name: "0.bias".into(),
                    shape: vec![1],
                    data: to_vec(self.bias.clone())?,
                },
            ],
        })
    }
}
