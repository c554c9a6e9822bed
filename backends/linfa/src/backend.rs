//! The nnbench backend: the estimator's network (`crate::network`) behind the harness's
//! [`Trainer`] boundary. The harness owns the loop, the initial weights and the learning rate
//! of each step; a step is this crate's forward/backward, the spec's penalties and clipping,
//! then the spec's optimizer (PyTorch forms, see [`OptimizerSpec`]) — not scikit-learn's
//! solvers, which the estimator uses.
//!
//! [`OptimizerSpec`]: nnbench_core::spec::OptimizerSpec

use ndarray::{Array2, ArrayD, ArrayView2, Zip};
use nnbench_core::capability::{CONV_LAYERS, LAYERS, OPTIMIZERS, REGULARIZERS};
use nnbench_core::rng::Rng;
use nnbench_core::spec::{
    Activation as SpecActivation, OptimizerKind, OutputHead, RegularizationSpec, RunSpec,
};
use nnbench_core::{
    Backend, BackendError, Batch, Capability, Category, Layer, Network, StepStats, Support,
    Trainer, TrainerSetup, Unsupported, Weights,
};

use crate::classifier::glorot;
use crate::network::{Activation, Dense, Gradients, Head, Mlp};

/// Version of linfa this crate is built against.
pub const LINFA_VERSION: &str = "0.8.1";

/// The linfa backend: [`MlpClassifier`](crate::MlpClassifier)'s network on ndarray.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinfaBackend;

const NO_SKLEARN: &str = "scikit-learn's MLPClassifier has no";
const NO_CONV: &str = "scikit-learn's MLPClassifier is a dense network on flat features: it has \
                       no convolution, pooling or image input";

fn activation(function: SpecActivation) -> Option<Activation> {
    match function {
        SpecActivation::Identity => Some(Activation::Identity),
        SpecActivation::Sigmoid => Some(Activation::Logistic),
        SpecActivation::Tanh => Some(Activation::Tanh),
        SpecActivation::Relu => Some(Activation::Relu),
        SpecActivation::LeakyRelu | SpecActivation::Elu | SpecActivation::Selu => None,
    }
}

impl Backend for LinfaBackend {
    fn name(&self) -> &'static str {
        "linfa"
    }

    /// One epoch of the estimator's own `fit` (Adam, stored order, no penalty).
    fn hand_written_epoch(
        &self,
        task: &nnbench_core::baseline::BaselineTask<'_>,
    ) -> Option<Result<f64, BackendError>> {
        // scikit-learn's network has no convolution: no hand-written CNN loop either.
        (task.model == nnbench_core::baseline::BaselineModel::Mlp)
            .then(|| crate::baseline::epoch(task))
    }

    /// The estimator's own `fit` of the tiny network (plain SGD, full batch).
    fn hand_written_tiny_steps(
        &self,
        task: &nnbench_core::baseline::TinyTask<'_>,
    ) -> Option<Result<f64, BackendError>> {
        Some(crate::baseline::tiny_steps(task))
    }

    fn framework_version(&self) -> String {
        format!(
            "linfa {LINFA_VERSION} (nnbench-linfa MlpClassifier on ndarray 0.16, single-threaded)"
        )
    }

    fn capabilities(&self) -> Vec<Capability> {
        let cap = Capability::new;
        let mut table: Vec<Capability> = LAYERS
            .iter()
            .map(|&name| match name {
                "dense" => cap(Category::Layer, name, Support::Framework),
                _ => cap(
                    Category::Layer,
                    name,
                    Support::Unsupported(format!("{NO_SKLEARN} {name} layer")),
                ),
            })
            .collect();
        table.extend(
            CONV_LAYERS
                .iter()
                .map(|&name| cap(Category::Layer, name, Support::Unsupported(NO_CONV.into()))),
        );
        table.extend(SpecActivation::ALL.iter().map(|&a| {
            let support = match activation(a) {
                Some(_) => Support::Framework,
                None => Support::Unsupported(format!(
                    "{NO_SKLEARN} {} activation (only identity, logistic, tanh, relu)",
                    a.name()
                )),
            };
            cap(Category::Activation, a.name(), support)
        }));
        table.extend(OutputHead::ALL.iter().map(|&head| {
            let support = match head {
                OutputHead::SoftmaxCrossEntropy | OutputHead::SigmoidBinaryCrossEntropy => {
                    Support::Framework
                }
                // scikit-learn's MLPRegressor output (identity, squared error), built here so
                // that the conformance suite's exact optimizer checks run on this backend.
                OutputHead::IdentityMse => Support::Adapter,
                // Rosenblatt's rule on ndarray (crate::perceptron); scikit-learn's network has
                // no step output.
                OutputHead::Step => Support::Adapter,
            };
            cap(Category::Head, head.name(), support)
        }));
        table.extend(OPTIMIZERS.iter().map(|&name| {
            let support = match name {
                "rmsprop" => Support::Adapter,
                _ => Support::Framework,
            };
            cap(Category::Optimizer, name, support)
        }));
        table.extend(REGULARIZERS.iter().map(|&name| {
            let support = match name {
                "l2" => Support::Framework,
                _ => Support::Adapter,
            };
            cap(Category::Regularizer, name, support)
        }));
        table.push(cap(Category::Init, "framework_default", Support::Framework));
        table
    }

    /// The optimizers follow the spec's formulas (not scikit-learn's, which the standalone
    /// estimator uses); nothing to report.
    fn formula_difference(&self, _run: &RunSpec) -> Option<String> {
        None
    }

    fn check(&self, run: &RunSpec) -> Result<(), Unsupported> {
        nnbench_core::capability::check(run, &self.capabilities())?;
        nnbench_core::capability::check_perceptron_rule(run, "linfa")
    }

    fn build(&self, setup: &TrainerSetup<'_>) -> Result<Box<dyn Trainer>, BackendError> {
        self.check(setup.run)?;
        if setup.network.head == OutputHead::Step {
            return Ok(Box::new(crate::perceptron::LinfaPerceptron::new(setup)?));
        }
        Ok(Box::new(LinfaTrainer::new(setup)?))
    }
}

fn unsupported(category: &'static str, feature: &str, reason: &str) -> BackendError {
    BackendError::Unsupported(Unsupported {
        category,
        feature: feature.to_string(),
        reason: reason.to_string(),
    })
}

/// The spec's optimizers, on the same parameter arrays as scikit-learn's.
#[derive(Debug, Clone)]
struct SpecOptimizer {
    kind: OptimizerKind,
    /// Steps taken.
    t: i32,
    first: Vec<ArrayD<f32>>,
    second: Vec<ArrayD<f32>>,
}

impl SpecOptimizer {
    fn step(&mut self, mlp: &mut Mlp<f32>, grads: &Gradients<f32>, lr: f32) {
        if self.first.is_empty() {
            let zeros = grads
                .arrays()
                .iter()
                .map(|g| ArrayD::zeros(g.raw_dim()))
                .collect();
            self.first = zeros;
            self.second = self.first.clone();
        }
        self.t += 1;
        let t = self.t;
        let kind = self.kind;
        for (((p, g), s1), s2) in mlp
            .params_mut()
            .into_iter()
            .zip(grads.arrays())
            .zip(&mut self.first)
            .zip(&mut self.second)
        {
            let zip = Zip::from(p).and(&g).and(s1).and(s2);
            match kind {
                OptimizerKind::Sgd => zip.for_each(|p, &g, _, _| *p -= lr * g),
                OptimizerKind::Momentum { momentum, nesterov } => {
                    let mu = momentum as f32;
                    zip.for_each(|p, &g, v, _| {
                        *v = mu * *v + g;
                        *p -= lr * if nesterov { g + mu * *v } else { *v };
                    });
                }
                OptimizerKind::Rmsprop { alpha, epsilon } => {
                    let (alpha, eps) = (alpha as f32, epsilon as f32);
                    zip.for_each(|p, &g, s, _| {
                        *s = alpha * *s + (1.0 - alpha) * g * g;
                        *p -= lr * g / (s.sqrt() + eps);
                    });
                }
                OptimizerKind::Adam {
                    beta1,
                    beta2,
                    epsilon,
                } => {
                    let (b1, b2, eps) = (beta1 as f32, beta2 as f32, epsilon as f32);
                    let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
                    zip.for_each(|p, &g, m, v| {
                        *m = b1 * *m + (1.0 - b1) * g;
                        *v = b2 * *v + (1.0 - b2) * g * g;
                        *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                    });
                }
            }
        }
    }
}

/// The spec's regularization: `g ← g + l2·w + l1·sign(w)` on weights, then clipping by value,
/// then by global norm.
fn regularize(mlp: &Mlp<f32>, grads: &mut Gradients<f32>, reg: &RegularizationSpec) {
    let (l1, l2) = (reg.l1 as f32, reg.l2 as f32);
    if l1 != 0.0 || l2 != 0.0 {
        for (g, layer) in grads.weights.iter_mut().zip(&mlp.layers) {
            Zip::from(g).and(&layer.weight).for_each(|g, &w| {
                let sign = if w > 0.0 {
                    1.0
                } else if w < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                *g += l2 * w + l1 * sign;
            });
        }
    }
    if let Some(c) = reg.clip_value {
        let c = c as f32;
        for mut g in grads.arrays_mut() {
            g.mapv_inplace(|v| v.clamp(-c, c));
        }
    }
    if let Some(c) = reg.clip_norm {
        let norm = grads
            .arrays()
            .iter()
            .flat_map(|g| {
                g.iter()
                    .map(|&v| f64::from(v) * f64::from(v))
                    .collect::<Vec<_>>()
            })
            .sum::<f64>()
            .sqrt();
        if norm > c {
            let scale = (c / norm) as f32;
            for mut g in grads.arrays_mut() {
                g.mapv_inplace(|v| v * scale);
            }
        }
    }
}

/// One run on the linfa backend.
pub struct LinfaTrainer {
    network: Network,
    mlp: Mlp<f32>,
    /// Index in `network.layers` of each dense layer of `mlp`.
    dense_index: Vec<usize>,
    optimizer: SpecOptimizer,
    regularization: RegularizationSpec,
    record_grad_norms: bool,
}

impl LinfaTrainer {
    pub fn new(setup: &TrainerSetup<'_>) -> Result<LinfaTrainer, BackendError> {
        let network = setup.network.clone();
        let head = match network.head {
            OutputHead::SoftmaxCrossEntropy => Head::Softmax,
            OutputHead::SigmoidBinaryCrossEntropy => Head::Logistic,
            OutputHead::IdentityMse => Head::Identity,
            OutputHead::Step => {
                return Err(unsupported(
                    "head",
                    "step",
                    "the perceptron rule is not a gradient",
                ));
            }
        };
        // scikit-learn draws every layer's bound from its one `activation`: the first hidden
        // activation here.
        let logistic = network.layers.iter().find_map(|layer| match layer {
            Layer::Dense { activation, .. }
            | Layer::Activation {
                function: activation,
                ..
            } => Some(*activation == SpecActivation::Sigmoid),
            _ => None,
        });
        let mut rng = Rng::derive(setup.seed, "linfa framework_default init");
        let mut layers: Vec<Dense<f32>> = Vec::new();
        let mut dense_index = Vec::new();
        for (index, layer) in network.layers.iter().enumerate() {
            match *layer {
                Layer::Dense {
                    fan_in,
                    fan_out,
                    activation: function,
                } => {
                    let mut dense = match setup.init {
                        Some(weights) => load(weights, index, fan_in, fan_out)?,
                        None => glorot(fan_in, fan_out, logistic.unwrap_or(false), &mut rng),
                    };
                    push_activation(&mut dense, function)?;
                    layers.push(dense);
                    dense_index.push(index);
                }
                Layer::Activation { function, .. } => match layers.last_mut() {
                    Some(dense) => push_activation(dense, function)?,
                    None => {
                        return Err(unsupported(
                            "layer",
                            "activation",
                            "an activation before the first dense layer",
                        ));
                    }
                },
                Layer::Residual { .. } => {
                    return Err(unsupported(
                        "layer",
                        "residual",
                        &format!("{NO_SKLEARN} residual (skip-connection) layer"),
                    ));
                }
                Layer::Dropout { .. } => {
                    return Err(unsupported(
                        "layer",
                        "dropout",
                        &format!("{NO_SKLEARN} dropout"),
                    ));
                }
                Layer::BatchNorm { .. } => {
                    return Err(unsupported(
                        "layer",
                        "batch_norm",
                        &format!("{NO_SKLEARN} batch normalisation"),
                    ));
                }
                Layer::Conv2d { .. } => return Err(unsupported("layer", "conv2d", NO_CONV)),
                Layer::MaxPool2d { .. } => return Err(unsupported("layer", "max_pool2d", NO_CONV)),
                Layer::AvgPool2d { .. } => return Err(unsupported("layer", "avg_pool2d", NO_CONV)),
                Layer::Flatten { .. } => return Err(unsupported("layer", "flatten", NO_CONV)),
            }
        }
        let kind = setup.run.optimizer.kind;
        Ok(LinfaTrainer {
            network,
            mlp: Mlp { layers, head },
            dense_index,
            optimizer: SpecOptimizer {
                kind,
                t: 0,
                first: Vec::new(),
                second: Vec::new(),
            },
            regularization: setup.run.regularization,
            record_grad_norms: setup.run.training.record_grad_norms,
        })
    }

    fn check_inputs(
        &self,
        inputs: &[f32],
        rows: usize,
        features: usize,
    ) -> Result<(), BackendError> {
        if features != self.network.inputs || inputs.len() != rows * features {
            return Err(BackendError::WeightsMismatch(format!(
                "{} values for {rows} rows of {features} features; the network takes {} features",
                inputs.len(),
                self.network.inputs
            )));
        }
        Ok(())
    }
}

fn push_activation(dense: &mut Dense<f32>, function: SpecActivation) -> Result<(), BackendError> {
    match activation(function) {
        Some(Activation::Identity) => Ok(()),
        Some(a) => {
            dense.activations.push(a);
            Ok(())
        }
        None => Err(unsupported(
            "activation",
            function.name(),
            &format!("{NO_SKLEARN} {} activation", function.name()),
        )),
    }
}

fn load(
    weights: &Weights,
    index: usize,
    fan_in: usize,
    fan_out: usize,
) -> Result<Dense<f32>, BackendError> {
    let w = weights
        .expect(&format!("{index}.weight"), &[fan_in, fan_out])
        .map_err(BackendError::WeightsMismatch)?;
    let b = weights
        .expect(&format!("{index}.bias"), &[fan_out])
        .map_err(BackendError::WeightsMismatch)?;
    let weight = Array2::from_shape_vec((fan_in, fan_out), w.data.clone())
        .map_err(|e| BackendError::WeightsMismatch(e.to_string()))?;
    Ok(Dense {
        weight,
        bias: b.data.clone().into(),
        activations: Vec::new(),
    })
}

fn framework_error(message: String) -> BackendError {
    BackendError::Framework {
        framework: "linfa",
        message,
    }
}

impl Trainer for LinfaTrainer {
    fn train_batch(
        &mut self,
        batch: &Batch<'_>,
        learning_rate: f32,
    ) -> Result<StepStats, BackendError> {
        self.check_inputs(batch.inputs, batch.rows, batch.features)?;
        let outputs = self.network.outputs;
        let classes = if outputs == 1 { 2 } else { outputs };
        if batch.labels.len() != batch.rows || batch.targets.len() != batch.rows * outputs {
            return Err(framework_error(format!(
                "{} labels and {} targets for {} rows of {outputs} outputs",
                batch.labels.len(),
                batch.targets.len(),
                batch.rows
            )));
        }
        if let Some(label) = batch.labels.iter().find(|&&l| l as usize >= classes) {
            return Err(framework_error(format!(
                "label {label} out of range for {classes} classes"
            )));
        }
        let x = ArrayView2::from_shape((batch.rows, batch.features), batch.inputs)
            .map_err(|e| framework_error(e.to_string()))?;
        let targets = ArrayView2::from_shape((batch.rows, outputs), batch.targets)
            .map_err(|e| framework_error(e.to_string()))?;
        let (loss, mut grads) = self.mlp.loss_and_gradients(x, targets);
        let grad_norms = self.record_grad_norms.then(|| {
            grads
                .weights
                .iter()
                .map(|g| g.iter().map(|v| v * v).sum::<f32>().sqrt())
                .collect()
        });
        regularize(&self.mlp, &mut grads, &self.regularization);
        self.optimizer.step(&mut self.mlp, &grads, learning_rate);
        Ok(StepStats { loss, grad_norms })
    }

    fn predict(&mut self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError> {
        let features = self.network.inputs;
        self.check_inputs(inputs, rows, features)?;
        let x = ArrayView2::from_shape((rows, features), inputs)
            .map_err(|e| framework_error(e.to_string()))?;
        let out = self.mlp.predict(x);
        Ok(out.iter().copied().collect())
    }

    fn weights(&self) -> Result<Weights, BackendError> {
        let mut weights = Weights::zeros_for(&self.network);
        for (layer, &index) in self.mlp.layers.iter().zip(&self.dense_index) {
            for tensor in &mut weights.tensors {
                if tensor.name == format!("{index}.weight") {
                    tensor.data = layer.weight.iter().copied().collect();
                } else if tensor.name == format!("{index}.bias") {
                    tensor.data = layer.bias.to_vec();
                }
            }
        }
        Ok(weights)
    }
}
