//! The loop a tch user writes for mnist_adam's model and mnist_cnn's LeNet-5 (tch's MNIST
//! examples' style: `nn::seq`, `nn::conv2d`, `max_pool2d_default`, `nn::adam`,
//! `backward_step`), with nothing of nnbench in between: the reference side of
//! `nnbench bench`'s harness-overhead ratio (see [`nnbench_core::baseline`]).

use std::time::Instant;

use nnbench_core::BackendError;
use nnbench_core::baseline::{BaselineModel, BaselineTask, TinyTask};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Tensor};

use crate::error::OrFramework;
use crate::threads;

pub fn epoch(task: &BaselineTask<'_>) -> Result<f64, BackendError> {
    threads::apply(task.threads);
    tch::manual_seed(task.seed as i64);
    let store = nn::VarStore::new(Device::Cpu);
    let root = store.root();
    let (features, hidden, classes) = (
        task.features as i64,
        task.hidden as i64,
        task.classes as i64,
    );
    let model = match task.model {
        BaselineModel::Mlp => nn::seq()
            .add(nn::linear(
                &root / "hidden",
                features,
                hidden,
                Default::default(),
            ))
            .add_fn(|x| x.relu())
            .add(nn::linear(
                &root / "output",
                hidden,
                classes,
                Default::default(),
            )),
        BaselineModel::LeNet => {
            let same = nn::ConvConfig {
                padding: 2,
                ..Default::default()
            };
            nn::seq()
                .add_fn(|x| x.view([-1, 1, 28, 28]))
                .add(nn::conv2d(&root / "conv1", 1, 6, 5, same))
                .add_fn(|x| x.relu().max_pool2d_default(2))
                .add(nn::conv2d(&root / "conv2", 6, 16, 5, Default::default()))
                .add_fn(|x| x.relu().max_pool2d_default(2).flatten(1, -1))
                .add(nn::linear(&root / "fc1", 400, 120, Default::default()))
                .add_fn(|x| x.relu())
                .add(nn::linear(&root / "fc2", 120, 84, Default::default()))
                .add_fn(|x| x.relu())
                .add(nn::linear(&root / "fc3", 84, classes, Default::default()))
        }
    };
    let mut optimizer = nn::Adam::default()
        .beta1(0.9)
        .beta2(0.999)
        .eps(1e-8)
        .build(&store, task.learning_rate)
        .or_framework()?;
    let started = Instant::now();
    task.for_each_shuffled_batch(|inputs, labels| {
        let rows = labels.len() as i64;
        let x = Tensor::f_from_slice(inputs)
            .and_then(|x| x.f_view([rows, features]))
            .or_framework()?;
        let labels: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
        let y = Tensor::f_from_slice(&labels).or_framework()?;
        let loss = model.forward(&x).cross_entropy_for_logits(&y);
        let _ = loss.f_double_value(&[]).or_framework()?;
        optimizer.backward_step(&loss);
        Ok::<(), BackendError>(())
    })?;
    Ok(started.elapsed().as_secs_f64())
}

/// The tiny network of `nnbench bench`'s `xor_step` workload, in the same style: `nn::seq`,
/// tanh, `binary_cross_entropy_with_logits`, `nn::Sgd` and `backward_step`, the batch made
/// into tensors once.
pub fn tiny_steps(task: &TinyTask<'_>) -> Result<f64, BackendError> {
    threads::apply(task.threads);
    tch::manual_seed(task.seed as i64);
    let store = nn::VarStore::new(Device::Cpu);
    let root = store.root();
    let (features, hidden) = (task.features as i64, task.hidden as i64);
    let model = nn::seq()
        .add(nn::linear(
            &root / "hidden",
            features,
            hidden,
            Default::default(),
        ))
        .add_fn(|x| x.tanh())
        .add(nn::linear(&root / "output", hidden, 1, Default::default()));
    let mut optimizer = nn::Sgd::default()
        .build(&store, task.learning_rate)
        .or_framework()?;
    let rows = task.rows() as i64;
    let x = Tensor::f_from_slice(task.inputs)
        .and_then(|x| x.f_view([rows, features]))
        .or_framework()?;
    let y = Tensor::f_from_slice(task.targets)
        .and_then(|y| y.f_view([rows, 1]))
        .or_framework()?;
    let started = Instant::now();
    for _ in 0..task.steps {
        let loss = model
            .forward(&x)
            .binary_cross_entropy_with_logits::<Tensor>(&y, None, None, tch::Reduction::Mean);
        let _ = loss.f_double_value(&[]).or_framework()?;
        optimizer.backward_step(&loss);
    }
    Ok(started.elapsed().as_secs_f64())
}
