//! The loop a candle user writes for mnist_adam's model and mnist_cnn's LeNet-5 (candle-nn's
//! MNIST example style: its `Mlp` and `ConvNet`),
//! with nothing of nnbench in between: the reference side of `nnbench bench`'s
//! harness-overhead ratio (see [`nnbench_core::baseline`]).

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Conv2d, Linear, Module, Optimizer, ParamsAdamW, SGD, VarBuilder, VarMap};
use nnbench_core::BackendError;
use nnbench_core::baseline::{BaselineModel, BaselineTask, TinyTask};

use crate::error::OrFramework;

struct Classifier {
    hidden: Linear,
    output: Linear,
}

impl Module for Classifier {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.output.forward(&self.hidden.forward(x)?.relu()?)
    }
}

struct LeNet {
    conv1: Conv2d,
    conv2: Conv2d,
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
}

impl LeNet {
    fn new(classes: usize, vb: VarBuilder) -> candle_core::Result<LeNet> {
        let same = candle_nn::Conv2dConfig {
            padding: 2,
            ..Default::default()
        };
        Ok(LeNet {
            conv1: candle_nn::conv2d(1, 6, 5, same, vb.pp("conv1"))?,
            conv2: candle_nn::conv2d(6, 16, 5, Default::default(), vb.pp("conv2"))?,
            fc1: candle_nn::linear(400, 120, vb.pp("fc1"))?,
            fc2: candle_nn::linear(120, 84, vb.pp("fc2"))?,
            fc3: candle_nn::linear(84, classes, vb.pp("fc3"))?,
        })
    }
}

impl Module for LeNet {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let rows = x.dim(0)?;
        let x = x.reshape((rows, 1, 28, 28))?;
        let x = self.conv1.forward(&x)?.relu()?.max_pool2d(2)?;
        let x = self.conv2.forward(&x)?.relu()?.max_pool2d(2)?;
        let x = x.flatten_from(1)?;
        let x = self.fc1.forward(&x)?.relu()?;
        self.fc3.forward(&self.fc2.forward(&x)?.relu()?)
    }
}

pub fn epoch(task: &BaselineTask<'_>) -> Result<f64, BackendError> {
    let pool = crate::threads::pool(task.threads)?;
    pool.install(|| run(task).or_framework())
}

fn run(task: &BaselineTask<'_>) -> candle_core::Result<f64> {
    let device = Device::Cpu;
    let varmap = VarMap::new();
    let builder = VarBuilder::from_varmap(&varmap, DType::F32, &device);
    let model: Box<dyn Module> = match task.model {
        BaselineModel::Mlp => Box::new(Classifier {
            hidden: candle_nn::linear(task.features, task.hidden, builder.pp("hidden"))?,
            output: candle_nn::linear(task.hidden, task.classes, builder.pp("output"))?,
        }),
        BaselineModel::LeNet => Box::new(LeNet::new(task.classes, builder)?),
    };
    let params = ParamsAdamW {
        lr: task.learning_rate,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    let mut optimizer = AdamW::new(varmap.all_vars(), params)?;
    let started = Instant::now();
    task.for_each_shuffled_batch(|inputs, labels| {
        let rows = labels.len();
        let x = Tensor::from_slice(inputs, (rows, task.features), &device)?;
        let y = Tensor::from_slice(labels, rows, &device)?;
        let loss = candle_nn::loss::cross_entropy(&model.forward(&x)?, &y)?;
        let _ = loss.to_scalar::<f32>()?;
        optimizer.backward_step(&loss)
    })?;
    Ok(started.elapsed().as_secs_f64())
}

/// The tiny network of `nnbench bench`'s `xor_step` workload, in the same style: two
/// `Linear`s, tanh, candle's `binary_cross_entropy_with_logit` and `SGD::backward_step`, the
/// batch made into tensors once.
pub fn tiny_steps(task: &TinyTask<'_>) -> Result<f64, BackendError> {
    let pool = crate::threads::pool(task.threads)?;
    pool.install(|| run_tiny(task).or_framework())
}

fn run_tiny(task: &TinyTask<'_>) -> candle_core::Result<f64> {
    let device = Device::Cpu;
    let varmap = VarMap::new();
    let builder = VarBuilder::from_varmap(&varmap, DType::F32, &device);
    let hidden = candle_nn::linear(task.features, task.hidden, builder.pp("hidden"))?;
    let output = candle_nn::linear(task.hidden, 1, builder.pp("output"))?;
    let mut optimizer = SGD::new(varmap.all_vars(), task.learning_rate)?;
    let rows = task.rows();
    let x = Tensor::from_slice(task.inputs, (rows, task.features), &device)?;
    let y = Tensor::from_slice(task.targets, (rows, 1), &device)?;
    let started = Instant::now();
    for _ in 0..task.steps {
        let logits = output.forward(&hidden.forward(&x)?.tanh()?)?;
        let loss = candle_nn::loss::binary_cross_entropy_with_logit(&logits, &y)?;
        let _ = loss.to_scalar::<f32>()?;
        optimizer.backward_step(&loss)?;
    }
    Ok(started.elapsed().as_secs_f64())
}
