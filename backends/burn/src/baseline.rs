//! The loop a burn user writes for mnist_adam's model and mnist_cnn's LeNet-5 (burn's MNIST
//! example style: `Conv2d`, `MaxPool2d`, `Linear` modules), with nothing of nnbench in between:
//! the reference side of `nnbench bench`'s harness-overhead ratio (see
//! [`nnbench_core::baseline`]).

use std::time::Instant;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::{BinaryCrossEntropyLossConfig, CrossEntropyLossConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::optim::{AdamConfig, GradientsParams, SgdConfig};
use burn::tensor::activation::{relu, tanh};
use burn::tensor::{Device, Int, Tensor, TensorData};
use nnbench_core::BackendError;
use nnbench_core::baseline::{BaselineModel, BaselineTask, TinyTask};

#[derive(Module, Debug)]
struct Classifier {
    hidden: Linear,
    output: Linear,
}

impl Classifier {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output.forward(relu(self.hidden.forward(x)))
    }
}

#[derive(Module, Debug)]
struct LeNet {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
}

impl LeNet {
    fn new(classes: usize, device: &Device) -> LeNet {
        LeNet {
            conv1: Conv2dConfig::new([1, 6], [5, 5])
                .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
                .init(device),
            conv2: Conv2dConfig::new([6, 16], [5, 5]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: LinearConfig::new(400, 120).init(device),
            fc2: LinearConfig::new(120, 84).init(device),
            fc3: LinearConfig::new(84, classes).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let rows = x.dims()[0];
        let x = x.reshape([rows, 1, 28, 28]);
        let x = self.pool.forward(relu(self.conv1.forward(x)));
        let x = self.pool.forward(relu(self.conv2.forward(x)));
        let x = relu(self.fc1.forward(x.flatten(1, 3)));
        self.fc3.forward(relu(self.fc2.forward(x)))
    }
}

/// The model a task asks for.
// One model is built per timed epoch: the variants' sizes do not matter, and burn's `Module`
// derive does not see through a `Box`.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
enum Model {
    Mlp(Classifier),
    LeNet(LeNet),
}

impl Model {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Model::Mlp(model) => model.forward(x),
            Model::LeNet(model) => model.forward(x),
        }
    }
}

pub fn epoch(task: &BaselineTask<'_>) -> Result<f64, BackendError> {
    let threads = task.threads.max(1);
    let pool = nnbench_core::threads::rayon_pool(threads)?;
    Ok(pool.install(|| {
        let device = Device::flex().autodiff();
        device.seed(task.seed);
        let mut model = Some(match task.model {
            BaselineModel::Mlp => Model::Mlp(Classifier {
                hidden: LinearConfig::new(task.features, task.hidden).init(&device),
                output: LinearConfig::new(task.hidden, task.classes).init(&device),
            }),
            BaselineModel::LeNet => Model::LeNet(LeNet::new(task.classes, &device)),
        });
        let mut optimizer = AdamConfig::new()
            .with_beta_1(0.9)
            .with_beta_2(0.999)
            .with_epsilon(1e-8)
            .init();
        let loss_function = CrossEntropyLossConfig::new().init(&device);
        let started = Instant::now();
        let _ = task.for_each_shuffled_batch(|inputs, labels| {
            let rows = labels.len();
            let x = Tensor::<2>::from_data(
                TensorData::new(inputs.to_vec(), [rows, task.features]),
                &device,
            );
            let labels: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
            let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [rows]), &device);
            // Taken out and put back: burn's optimizer consumes the module.
            let current = model.take().expect("put back after every step");
            let loss = loss_function.forward(current.forward(x), y);
            let _ = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &current);
            model = Some(optimizer.step(task.learning_rate, current, grads));
            Ok::<(), std::convert::Infallible>(())
        });
        started.elapsed().as_secs_f64()
    }))
}

/// The tiny network of `nnbench bench`'s `xor_step` workload, in the same style: two
/// `Linear`s, tanh, burn's `BinaryCrossEntropyLoss` on logits and its `Sgd`, the batch made
/// into tensors once.
pub fn tiny_steps(task: &TinyTask<'_>) -> Result<f64, BackendError> {
    let pool = nnbench_core::threads::rayon_pool(task.threads.max(1))?;
    Ok(pool.install(|| {
        let device = Device::flex().autodiff();
        device.seed(task.seed);
        let mut model = Some(Classifier {
            hidden: LinearConfig::new(task.features, task.hidden).init(&device),
            output: LinearConfig::new(task.hidden, 1).init(&device),
        });
        let mut optimizer = SgdConfig::new().init();
        let loss_function = BinaryCrossEntropyLossConfig::new()
            .with_logits(true)
            .init(&device);
        let rows = task.rows();
        let x = Tensor::<2>::from_data(
            TensorData::new(task.inputs.to_vec(), [rows, task.features]),
            &device,
        );
        let targets: Vec<i64> = task.targets.iter().map(|&t| t as i64).collect();
        let y = Tensor::<1, Int>::from_data(TensorData::new(targets, [rows]), &device);
        let started = Instant::now();
        for _ in 0..task.steps {
            let current = model.take().expect("put back after every step");
            let logits = current
                .output
                .forward(tanh(current.hidden.forward(x.clone())))
                .reshape([rows]);
            let loss = loss_function.forward(logits, y.clone());
            let _ = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &current);
            model = Some(optimizer.step(task.learning_rate, current, grads));
        }
        started.elapsed().as_secs_f64()
    }))
}
