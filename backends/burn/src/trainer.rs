//! One run on burn: forward through autodiff, burn's loss for the head, `backward`, the
//! adapter's penalties and clipping on burn's gradients, then burn's optimizer step.

use std::sync::Arc;

use burn::grad_clipping::GradientClipping;
use burn::module::{Module, ParamId};
use burn::nn::loss::{
    BinaryCrossEntropyLoss, BinaryCrossEntropyLossConfig, CrossEntropyLoss, CrossEntropyLossConfig,
    MseLoss, Reduction,
};
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, RmsPropConfig, SgdConfig};
use burn::tensor::activation;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nnbench_core::rng::Rng;
use nnbench_core::spec::{OptimizerKind, OutputHead, RegularizationSpec};
use nnbench_core::{BackendError, Batch, Network, StepStats, Trainer, TrainerSetup, Weights};

use crate::framework_error;
use crate::model::{Mlp, Model, tensor2, to_vec};

/// burn's loss for each head (the step head is refused before a trainer is built).
enum Head {
    SoftmaxCrossEntropy(CrossEntropyLoss),
    SigmoidBinaryCrossEntropy(BinaryCrossEntropyLoss),
    IdentityMse(MseLoss),
}

/// A parameter of the network, by rank (gradients are looked up by id and rank).
#[derive(Clone, Copy)]
enum ParamRef {
    Vector(ParamId),
    Matrix(ParamId),
    /// A convolution's kernels, `[out, in, kh, kw]`.
    Kernel(ParamId),
}

/// What clipping does to a gradient.
#[derive(Clone, Copy)]
enum GradOp {
    Clamp(f32),
    Scale(f32),
}

impl GradOp {
    fn apply<const D: usize>(self, g: Tensor<D>) -> Tensor<D> {
        match self {
            GradOp::Clamp(limit) => g.clamp(-limit, limit),
            GradOp::Scale(scale) => g.mul_scalar(scale),
        }
    }
}

pub struct BurnTrainer {
    network: Network,
    model: Model,
    /// `None` only while an optimizer step holds the parameters.
    mlp: Option<Mlp>,
    optimizer: ModuleOptimizer,
    head: Head,
    regularization: RegularizationSpec,
    /// Clipping by value done by the adapter (when clipping by norm follows it) rather than by
    /// burn's optimizer, which would clip after the norm.
    adapter_clip_value: bool,
    record_grad_norms: bool,
    /// The flex device with autodiff (training) and without (predictions).
    device: Device,
    plain: Device,
    /// Seeds of the dropout masks, one per step, derived from the run's seed.
    dropout_seeds: Rng,
    pool: Arc<rayon::ThreadPool>,
}

impl BurnTrainer {
    pub fn new(setup: &TrainerSetup<'_>) -> Result<BurnTrainer, BackendError> {
        let pool = nnbench_core::threads::rayon_pool(setup.threads)?;
        let plain = Device::flex();
        let device = plain.clone().autodiff();
        let network = setup.network.clone();
        let (model, mlp) =
            pool.install(|| Model::new(&network, setup.init, setup.seed, &device, &plain))?;
        let head = match network.head {
            OutputHead::SoftmaxCrossEntropy => {
                Head::SoftmaxCrossEntropy(CrossEntropyLossConfig::new().init(&device))
            }
            OutputHead::SigmoidBinaryCrossEntropy => Head::SigmoidBinaryCrossEntropy(
                BinaryCrossEntropyLossConfig::new()
                    .with_logits(true)
                    .init(&device),
            ),
            OutputHead::IdentityMse => Head::IdentityMse(MseLoss::new()),
            OutputHead::Step => {
                return Err(framework_error(
                    "the step head cannot be trained by burn's autodiff",
                ));
            }
        };
        let regularization = setup.run.regularization;
        let adapter_clip_value = regularization.clip_norm.is_some();
        let mut optimizer = optimizer(setup.run.optimizer.kind);
        if let (Some(limit), false) = (regularization.clip_value, adapter_clip_value) {
            optimizer = optimizer.with_grad_clipping(GradientClipping::Value(limit as f32));
        }
        Ok(BurnTrainer {
            network,
            model,
            mlp: Some(mlp),
            optimizer,
            head,
            regularization,
            adapter_clip_value,
            record_grad_norms: setup.run.training.record_grad_norms,
            device,
            plain,
            dropout_seeds: Rng::derive(setup.seed, "burn-dropout"),
            pool,
        })
    }

    fn step(&mut self, batch: &Batch<'_>, learning_rate: f32) -> Result<StepStats, BackendError> {
        let mlp = self
            .mlp
            .take()
            .ok_or_else(|| framework_error("the model was lost by an earlier failed step"))?;
        match self.gradients(&mlp, batch) {
            Ok((grads, loss, grad_norms)) => {
                let mlp = self.optimizer.step(f64::from(learning_rate), mlp, grads);
                self.mlp = Some(mlp);
                Ok(StepStats { loss, grad_norms })
            }
            Err(error) => {
                self.mlp = Some(mlp);
                Err(error)
            }
        }
    }

    /// Forward, loss, backward, then penalties and clipping: the gradients the optimizer
    /// gets, the batch loss and the gradient norms.
    fn gradients(
        &mut self,
        mlp: &Mlp,
        batch: &Batch<'_>,
    ) -> Result<(GradientsParams, f32, Option<Vec<f32>>), BackendError> {
        // The masks are drawn in the forward pass, from flex's process-wide generator.
        let rng = self.model.has_dropout().then(|| {
            let rng = crate::model::flex_rng();
            self.device.seed(self.dropout_seeds.next_u64());
            rng
        });
        let (rows, features) = (batch.rows, batch.features);
        let x = tensor2(
            &batch.inputs[..rows * features],
            [rows, features],
            &self.device,
        );
        let z = self.model.forward(mlp, x, true);
        drop(rng);
        let loss = self.loss(z, batch)?;
        let value = loss
            .clone()
            .try_into_scalar::<f32>()
            .map_err(|error| framework_error(format!("reading the loss: {error:?}")))?;
        let mut grads = GradientsParams::from_grads(loss.backward(), mlp);
        let grad_norms = if self.record_grad_norms {
            Some(weight_grad_norms(mlp, &grads)?)
        } else {
            None
        };
        self.regularize(mlp, &mut grads)?;
        Ok((grads, value, grad_norms))
    }

    /// burn's loss of the head, as a mean over the rows of the batch.
    fn loss(&self, z: Tensor<2>, batch: &Batch<'_>) -> Result<Tensor<1>, BackendError> {
        let rows = batch.rows;
        let outputs = self.network.outputs;
        Ok(match &self.head {
            Head::SoftmaxCrossEntropy(loss) => {
                // In range: checked with the batch (`Batch::check`).
                let labels: Vec<i64> = batch.labels[..rows].iter().map(|&l| i64::from(l)).collect();
                let labels =
                    Tensor::<1, Int>::from_data(TensorData::new(labels, [rows]), &self.device);
                loss.forward(z, labels)
            }
            Head::SigmoidBinaryCrossEntropy(loss) => {
                let targets: Vec<i64> = batch.targets[..rows * outputs]
                    .iter()
                    .map(|&t| i64::from(t >= 0.5))
                    .collect();
                let targets = Tensor::<2, Int>::from_data(
                    TensorData::new(targets, [rows, outputs]),
                    &self.device,
                );
                loss.forward(z, targets)
            }
            Head::IdentityMse(loss) => {
                // Σ (z − t)² over the batch, times ½ / rows: the mean over rows of Σ ½(z − t)².
                let targets = tensor2(
                    &batch.targets[..rows * outputs],
                    [rows, outputs],
                    &self.device,
                );
                loss.forward(z, targets, Reduction::Sum)
                    .mul_scalar(0.5 / rows as f64)
            }
        })
    }

    /// The spec's order: g ← g + l2·w + l1·sign(w) on dense weights, then clipping by value,
    /// then by global norm. Clipping by value alone is left to burn's optimizer, which applies
    /// it to each gradient just before its update.
    fn regularize(&self, mlp: &Mlp, grads: &mut GradientsParams) -> Result<(), BackendError> {
        let reg = &self.regularization;
        let (l1, l2) = (reg.l1 as f32, reg.l2 as f32);
        if l1 != 0.0 || l2 != 0.0 {
            for linear in &mlp.dense {
                let id = linear.weight.id;
                let Some(mut grad) = grads.remove::<2>(id) else {
                    continue;
                };
                let weight = linear.weight.val().inner();
                if l2 != 0.0 {
                    grad = grad.add(weight.clone().mul_scalar(l2));
                }
                if l1 != 0.0 {
                    grad = grad.add(weight.sign().mul_scalar(l1));
                }
                grads.register(id, grad);
            }
        }
        let Some(max_norm) = reg.clip_norm else {
            return Ok(());
        };
        let params = all_params(mlp);
        if let (Some(limit), true) = (reg.clip_value, self.adapter_clip_value) {
            let limit = limit as f32;
            for &param in &params {
                map_grad(grads, param, GradOp::Clamp(limit));
            }
        }
        let mut squares: Option<Tensor<1>> = None;
        for &param in &params {
            let square = match param {
                ParamRef::Vector(id) => grads.get::<1>(id).map(|g| g.square().sum()),
                ParamRef::Matrix(id) => grads.get::<2>(id).map(|g| g.square().sum()),
                ParamRef::Kernel(id) => grads.get::<4>(id).map(|g| g.square().sum()),
            };
            if let Some(square) = square {
                squares = Some(match squares {
                    Some(total) => total.add(square),
                    None => square,
                });
            }
        }
        let Some(squares) = squares else {
            return Ok(());
        };
        let norm = f64::from(scalar(squares)?).sqrt();
        if norm > max_norm {
            let scale = (max_norm / norm) as f32;
            for &param in &params {
                map_grad(grads, param, GradOp::Scale(scale));
            }
        }
        Ok(())
    }

    fn predict_inner(&mut self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError> {
        let mlp = self
            .mlp
            .as_ref()
            .ok_or_else(|| framework_error("the model was lost by an earlier failed step"))?
            .valid();
        let features = self.network.inputs;
        let x = tensor2(&inputs[..rows * features], [rows, features], &self.plain);
        let z = self.model.forward(&mlp, x, false);
        let out = match self.head {
            Head::SoftmaxCrossEntropy(_) => activation::softmax(z, 1),
            Head::SigmoidBinaryCrossEntropy(_) => activation::sigmoid(z),
            Head::IdentityMse(_) => z,
        };
        to_vec(out)
    }
}

impl Trainer for BurnTrainer {
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
        self.network
            .check_inputs(inputs.len(), rows, self.network.inputs)
            .map_err(framework_error)?;
        let pool = Arc::clone(&self.pool);
        pool.install(|| self.predict_inner(inputs, rows))
    }

    fn weights(&self) -> Result<Weights, BackendError> {
        let mlp = self
            .mlp
            .as_ref()
            .ok_or_else(|| framework_error("the model was lost by an earlier failed step"))?;
        self.model.export(mlp)
    }
}

/// burn's optimizer with every constant taken from the scenario (burn's own defaults differ:
/// ε 1e-5, RMSprop momentum 0.9, momentum dampening 0.1).
fn optimizer(kind: OptimizerKind) -> ModuleOptimizer {
    match kind {
        OptimizerKind::Sgd => SgdConfig::new().init(),
        OptimizerKind::Momentum { momentum, nesterov } => SgdConfig::new()
            .with_momentum(Some(
                MomentumConfig::new()
                    .with_momentum(momentum)
                    .with_dampening(0.0)
                    .with_nesterov(nesterov),
            ))
            .init(),
        OptimizerKind::Rmsprop { alpha, epsilon } => RmsPropConfig::new()
            .with_alpha(alpha as f32)
            .with_epsilon(epsilon as f32)
            .with_momentum(0.0)
            .with_centered(false)
            .init(),
        OptimizerKind::Adam {
            beta1,
            beta2,
            epsilon,
        } => AdamConfig::new()
            .with_beta_1(beta1 as f32)
            .with_beta_2(beta2 as f32)
            .with_epsilon(epsilon as f32)
            .init(),
    }
}

/// Every trainable parameter: conv kernels and biases, dense weights and biases, batch-norm
/// scales and shifts.
fn all_params(mlp: &Mlp) -> Vec<ParamRef> {
    let mut params = Vec::new();
    for conv in &mlp.convs {
        params.push(ParamRef::Kernel(conv.weight.id));
        if let Some(bias) = &conv.bias {
            params.push(ParamRef::Vector(bias.id));
        }
    }
    for linear in &mlp.dense {
        params.push(ParamRef::Matrix(linear.weight.id));
        if let Some(bias) = &linear.bias {
            params.push(ParamRef::Vector(bias.id));
        }
    }
    for norm in &mlp.norms {
        params.push(ParamRef::Vector(norm.gamma.id));
        params.push(ParamRef::Vector(norm.beta.id));
    }
    params
}

/// Replaces the gradient of `param` (if it has one) by `f` of it.
fn map_grad(grads: &mut GradientsParams, param: ParamRef, op: GradOp) {
    match param {
        ParamRef::Vector(id) => {
            if let Some(grad) = grads.remove::<1>(id) {
                grads.register(id, op.apply(grad));
            }
        }
        ParamRef::Matrix(id) => {
            if let Some(grad) = grads.remove::<2>(id) {
                grads.register(id, op.apply(grad));
            }
        }
        ParamRef::Kernel(id) => {
            if let Some(grad) = grads.remove::<4>(id) {
                grads.register(id, op.apply(grad));
            }
        }
    }
}

/// L2 norm of each dense layer's weight gradient, input side first.
fn weight_grad_norms(mlp: &Mlp, grads: &GradientsParams) -> Result<Vec<f32>, BackendError> {
    mlp.dense
        .iter()
        .map(|linear| match grads.get::<2>(linear.weight.id) {
            Some(grad) => Ok(scalar(grad.square().sum())?.sqrt()),
            None => Ok(0.0),
        })
        .collect()
}

fn scalar(tensor: Tensor<1>) -> Result<f32, BackendError> {
    tensor
        .try_into_scalar::<f32>()
        .map_err(|error| framework_error(format!("reading a scalar: {error:?}")))
}
