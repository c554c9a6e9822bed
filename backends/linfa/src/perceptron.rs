//! Rosenblatt's perceptron on ndarray (linfa's arrays), in the course's form: `valeur = x·w + b`,
//! `prediction = valeur > seuil`, and on the rows it gets wrong `w ← w + η (vrai − prediction) x`,
//! `b ← b + η (vrai − prediction)`, averaged over the batch (a batch of one row is the course's
//! loop). No penalty, no other solver: those are refused before a trainer is built.

use ndarray::{Array2, ArrayView2, Axis};
use nnbench_core::weights::{Tensor as NamedTensor, Weights};
use nnbench_core::{BackendError, Batch, Network, StepStats, Trainer, TrainerSetup};

pub struct LinfaPerceptron {
    network: Network,
    /// `[inputs, 1]`: the canonical `[fan_in, fan_out]` layout.
    weight: Array2<f32>,
    /// `[1, 1]`, broadcast over the rows.
    bias: Array2<f32>,
    threshold: f32,
    record_grad_norms: bool,
}

fn framework_error(message: impl Into<String>) -> BackendError {
    BackendError::Framework {
        framework: "linfa",
        message: message.into(),
    }
}

fn view(data: &[f32], rows: usize, columns: usize) -> Result<ArrayView2<'_, f32>, BackendError> {
    ArrayView2::from_shape((rows, columns), &data[..rows * columns])
        .map_err(|error| framework_error(error.to_string()))
}

impl LinfaPerceptron {
    pub fn new(setup: &TrainerSetup<'_>) -> Result<LinfaPerceptron, BackendError> {
        let network = setup.network.clone();
        let inputs = network.inputs;
        let (weight, bias) = setup.perceptron_init()?;
        Ok(LinfaPerceptron {
            weight: view(&weight.data, inputs, 1)?.to_owned(),
            bias: view(&bias.data, 1, 1)?.to_owned(),
            threshold: setup.run.model.threshold as f32,
            record_grad_norms: setup.run.training.record_grad_norms,
            network,
        })
    }

    /// 1 where x·w + b > threshold, else 0: `rows × 1`.
    fn fire(&self, x: ArrayView2<'_, f32>) -> Array2<f32> {
        let threshold = self.threshold;
        (x.dot(&self.weight) + &self.bias).mapv(|v| if v > threshold { 1.0 } else { 0.0 })
    }
}

impl Trainer for LinfaPerceptron {
    fn train_batch(
        &mut self,
        batch: &Batch<'_>,
        learning_rate: f32,
    ) -> Result<StepStats, BackendError> {
        batch.check(&self.network).map_err(framework_error)?;
        let rows = batch.rows;
        let x = view(batch.inputs, rows, batch.features)?;
        let truth = view(batch.targets, rows, 1)?;
        let error = &truth - &self.fire(x);
        let loss = error.mapv(f32::abs).mean().unwrap_or(0.0);
        // The error per row over the batch size first, as the mean's gradient is.
        let error = error * (1.0 / rows as f32);
        let update = x.t().dot(&error);
        let grad_norms = self
            .record_grad_norms
            .then(|| vec![update.mapv(|u| u * u).sum().sqrt()]);
        self.weight.scaled_add(learning_rate, &update);
        self.bias
            .scaled_add(learning_rate, &error.sum_axis(Axis(0)).insert_axis(Axis(0)));
        Ok(StepStats { loss, grad_norms })
    }

    fn predict(&mut self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError> {
        let features = self.network.inputs;
        self.network
            .check_inputs(inputs.len(), rows, features)
            .map_err(framework_error)?;
        Ok(self
            .fire(view(inputs, rows, features)?)
            .into_iter()
            .collect())
    }

    fn weights(&self) -> Result<Weights, BackendError> {
        Ok(Weights {
            tensors: vec![
                NamedTensor {
                    name: "0.weight".into(),
                    shape: vec![self.network.inputs, 1],
                    data: self.weight.iter().copied().collect(),
                },
                NamedTensor {
                    name: "0.bias".into(),
                    shape: vec![1],
                    data: self.bias.iter().copied().collect(),
                },
            ],
        })
    }
}
