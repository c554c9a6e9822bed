//! Rosenblatt's perceptron on candle tensors: the rule is not the gradient of a loss (the step
//! function's derivative is zero), so it runs on plain tensors without autograd, as the course
//! writes it: `valeur = x·w + b`, `prediction = valeur > seuil`, and on the rows it gets wrong
//! `w ← w + η (vrai − prediction) x`, `b ← b + η (vrai − prediction)`, averaged over the batch
//! (a batch of one row is the course's loop).

use candle_core::{DType, Device, Tensor};
use nnbench_core::weights::{Tensor as NamedTensor, Weights};
use nnbench_core::{BackendError, Batch, Network, StepStats, Trainer, TrainerSetup};

use crate::error::{OrFramework, framework_error};
use crate::threads;

pub struct CandlePerceptron {
    pool: std::sync::Arc<rayon::ThreadPool>,
    network: Network,
    /// `[inputs, 1]`: the canonical `[fan_in, fan_out]` layout.
    weight: Tensor,
    /// `[1, 1]`, broadcast over the rows.
    bias: Tensor,
    threshold: f32,
    record_grad_norms: bool,
    device: Device,
}

impl CandlePerceptron {
    pub fn new(setup: &TrainerSetup<'_>) -> Result<CandlePerceptron, BackendError> {
        let network = setup.network.clone();
        let inputs = network.inputs;
        let (weight, bias) = setup.perceptron_init()?;
        let device = crate::trainer::select_device()?;
        Ok(CandlePerceptron {
            pool: threads::pool(setup.threads)?,
            weight: Tensor::from_slice(&weight.data, (inputs, 1), &device).or_framework()?,
            bias: Tensor::from_slice(&bias.data, (1, 1), &device).or_framework()?,
            threshold: setup.run.model.threshold as f32,
            record_grad_norms: setup.run.training.record_grad_norms,
            device,
            network,
        })
    }

    fn inputs(&self, inputs: &[f32], rows: usize) -> Result<Tensor, BackendError> {
        let features = self.network.inputs;
        Tensor::from_slice(&inputs[..rows * features], (rows, features), &self.device)
            .or_framework()
    }

    /// 1 where x·w + b > threshold, else 0: `rows × 1`.
    fn fire(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.matmul(&self.weight)?
            .broadcast_add(&self.bias)?
            .gt(self.threshold)?
            .to_dtype(DType::F32)
    }

    fn step(&mut self, batch: &Batch<'_>, learning_rate: f32) -> candle_core::Result<StepStats> {
        let rows = batch.rows;
        let x = Tensor::from_slice(
            &batch.inputs[..rows * batch.features],
            (rows, batch.features),
            &self.device,
        )?;
        let truth = Tensor::from_slice(&batch.targets[..rows], (rows, 1), &self.device)?;
        let error = (truth - self.fire(&x)?)?;
        let loss = error.abs()?.mean_all()?.to_scalar::<f32>()?;
        // The error per row over the batch size first, as the mean's gradient is.
        let error = (error * f64::from(1.0 / rows as f32))?;
        let update = x.t()?.matmul(&error)?;
        let grad_norms = if self.record_grad_norms {
            Some(vec![update.sqr()?.sum_all()?.to_scalar::<f32>()?.sqrt()])
        } else {
            None
        };
        let rate = f64::from(learning_rate);
        self.weight = (&self.weight + (update * rate)?)?;
        self.bias = (&self.bias + (error.sum_keepdim(0)? * rate)?)?;
        Ok(StepStats { loss, grad_norms })
    }
}

impl Trainer for CandlePerceptron {
    fn train_batch(
        &mut self,
        batch: &Batch<'_>,
        learning_rate: f32,
    ) -> Result<StepStats, BackendError> {
        batch.check(&self.network).map_err(framework_error)?;
        let pool = std::sync::Arc::clone(&self.pool);
        pool.install(|| self.step(batch, learning_rate))
            .or_framework()
    }

    fn predict(&mut self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError> {
        self.network
            .check_inputs(inputs.len(), rows, self.network.inputs)
            .map_err(framework_error)?;
        let x = self.inputs(inputs, rows)?;
        self.pool
            .install(|| self.fire(&x)?.flatten_all()?.to_vec1())
            .or_framework()
    }

    fn weights(&self) -> Result<Weights, BackendError> {
        let inputs = self.network.inputs;
        let read = |t: &Tensor| t.flatten_all().and_then(|t| t.to_vec1::<f32>());
        Ok(Weights {
            tensors: vec![
                NamedTensor {
                    name: "0.weight".into(),
                    shape: vec![inputs, 1],
                    data: read(&self.weight).or_framework()?,
                },
                NamedTensor {
                    name: "0.bias".into(),
                    shape: vec![1],
                    data: read(&self.bias).or_framework()?,
                },
            ],
        })
    }
}
