//! Scenario specifications: the typed, validated form of a `scenarios/*.toml` file.
//!
//! The types below are the contract between the harness and every backend: a backend reads a
//! [`RunSpec`] and either says which part it cannot express or builds a trainer for it. The
//! modules turn a file into them, each depending only on those listed before it:
//!
//! - [`problem`]: what is wrong with a scenario ([`ScenarioError`](problem::ScenarioError),
//!   [`Problem`](problem::Problem)) and how it is shown;
//! - [`shape`]: the shape of each layer's output, from the dataset's input shape;
//! - [`schema`]: the one table of every key (table, type, default, range or allowed values,
//!   meaning) that the checks, the key paths and the reference all read;
//! - `path`: key paths (`model.layers[*].units`), checked against the schema and set in raw
//!   tables;
//! - `check`: the checker helpers the section checks are written with;
//! - `check_dataset`, `check_model`, `check_init`, `check_optimizer`, `check_regularization`,
//!   `check_training`: one section each; `check_run`: the top level, the sections together and
//!   the rules across them;
//! - `sweep`: `[sweep]` axes and their expansion into variants, and `[quick]` assignments;
//!   [`quick`]: the caps of a quick run;
//! - `load`: the pipeline from text to [`Scenario`], re-exported by [`parse`];
//! - [`reference`](mod@reference): `docs/scenario-reference.md`, generated from the schema.
//!
//! No module of `spec` imports one listed after it (`core/tests/spec_layering.rs` holds that).

mod check;
mod check_dataset;
mod check_init;
mod check_model;
mod check_optimizer;
mod check_regularization;
mod check_run;
mod check_training;
mod load;
pub mod parse;
mod path;
pub mod problem;
pub mod quick;
pub mod reference;
pub mod schema;
pub mod shape;
mod sweep;

use serde::Serialize;

/// A whole scenario: its metadata and one [`RunSpec`] per variant of its sweep.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Where in the course this experiment comes from; `None` for a user's own scenario.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub course_section: Option<String>,
    /// `unit_time_limit`: seconds of wall time a unit may train before it ends as `timeout`
    /// (checked after every step). `None`: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_time_limit_s: Option<f64>,
    pub variants: Vec<Variant>,
}

/// One point of the sweep grid (a scenario without a sweep has a single variant named "base").
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    /// What differs from the other variants, short (`relu lr=1.0`), or `base` without a sweep.
    pub name: String,
    /// The sweep point in full: `key=label` for every axis, joined by `,`
    /// (`model.layers[*].activation=relu,optimizer.learning_rate=1.0`); empty without a sweep.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub assignment: String,
    pub run: RunSpec,
}

/// Everything needed to run one variant: identical for every backend that runs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSpec {
    pub dataset: DatasetSpec,
    pub model: ModelSpec,
    pub init: InitSpec,
    pub optimizer: OptimizerSpec,
    pub regularization: RegularizationSpec,
    pub training: TrainingSpec,
    pub backends: Vec<String>,
    /// Intra-op threads every backend is asked to use.
    pub threads: usize,
}

// ---------------------------------------------------------------------------------------
// Dataset
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetSpec {
    pub source: DatasetSource,
    /// Use only the first `train_size` examples of the training set (the validation split is
    /// then taken from the end of those). `None`: all of them.
    pub train_size: Option<usize>,
    /// Use only the first `test_size` test examples. `None`: all of them.
    pub test_size: Option<usize>,
    pub scaling: Scaling,
    /// Fraction of the training set held out for validation, in [0, 1).
    pub validation_fraction: f64,
    /// Image sets only: keep the examples of these classes, relabelled 0, 1, … in this order
    /// (e.g. `[3, 8]`: MNIST as the binary task "3 or 8"). `None`: every class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_classes: Option<Vec<u32>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum DatasetSource {
    Mnist,
    FashionMnist,
    /// Truth table of a two-input logic gate; the four rows are both train and test set.
    Logic {
        gate: LogicGate,
    },
    /// Gaussian blobs in `features` dimensions, generated from `seed`.
    Blobs(BlobsSpec),
    /// Examples written out in the scenario file; they are both train and test set.
    Rows(RowsSpec),
}

/// A dataset written out in the scenario: `inputs[i]` is of class `labels[i]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowsSpec {
    pub inputs: Vec<Vec<f32>>,
    pub labels: Vec<u32>,
    pub classes: usize,
}

impl DatasetSource {
    /// The shape of one example: `[channels, height, width]` for the image sets (MNIST and
    /// Fashion-MNIST: `[1, 28, 28]`, rows stored channel first), `[features]` otherwise.
    pub fn input_shape(&self) -> Vec<usize> {
        match self {
            DatasetSource::Mnist | DatasetSource::FashionMnist => vec![1, 28, 28],
            DatasetSource::Logic { .. } => vec![2],
            DatasetSource::Blobs(blobs) => vec![blobs.features],
            DatasetSource::Rows(rows) => vec![rows.inputs.first().map_or(0, Vec::len)],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogicGate {
    And,
    Or,
    Xor,
    /// Any two-input truth table: the outputs (0 or 1) for the rows (0,0) (0,1) (1,0) (1,1).
    TruthTable([u8; 4]),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlobsSpec {
    pub classes: usize,
    pub features: usize,
    /// Training examples per class.
    pub train_per_class: usize,
    /// Test examples per class.
    pub test_per_class: usize,
    /// Distance between neighbouring class centres.
    pub separation: f64,
    /// Standard deviation of each blob.
    pub spread: f64,
    /// Seed of the generator: the data stays the same whatever the training seeds are.
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// Values as stored (pixels 0..=255).
    None,
    /// Pixels divided by 255, into [0, 1].
    Unit,
    /// Each feature centred and divided by its standard deviation on the training set.
    Standard,
}

// ---------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSpec {
    /// Hidden layers, in order from the input.
    pub layers: Vec<LayerSpec>,
    pub output: OutputSpec,
    /// The `step` head's threshold: it outputs 1 when w·x + b > threshold (0 for other heads).
    /// Left out of the resolved scenario when 0, so that run folders written before the key
    /// existed still resume.
    #[serde(skip_serializing_if = "is_zero")]
    pub threshold: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn is_false(x: &bool) -> bool {
    !*x
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerSpec {
    /// A fully connected layer followed by its activation.
    Dense {
        units: usize,
        activation: Activation,
    },
    /// A residual dense block: `y = x + f(x·W + b)`, its input as wide as its `units` (the
    /// skip connection adds the input unchanged), so the gradient reaches earlier layers
    /// through the identity as well as through `f'`.
    Residual {
        units: usize,
        activation: Activation,
    },
    /// An activation on its own (e.g. after a batch-norm layer).
    Activation { function: Activation },
    /// Inverted dropout: zeroes each unit with probability `rate` while training and scales
    /// the others by 1/(1-rate); identity at evaluation.
    Dropout { rate: f64 },
    /// Batch normalisation over the batch dimension with a learned scale and shift.
    /// Running statistics: `running = (1 - momentum) * running + momentum * batch`
    /// (PyTorch's convention), with the unbiased batch variance.
    BatchNorm { momentum: f64, epsilon: f64 },
    /// A 2-D convolution over an image `[channels, height, width]` followed by its
    /// activation: `channels` output channels, square `kernel_size` kernels, the same
    /// `stride` along both axes, and zero `padding`.
    Conv2d {
        channels: usize,
        kernel_size: usize,
        stride: usize,
        padding: Padding,
        activation: Activation,
    },
    /// The largest value of each `size × size` window, windows `stride` apart.
    MaxPool2d { size: usize, stride: usize },
    /// The mean of each `size × size` window, windows `stride` apart.
    AvgPool2d { size: usize, stride: usize },
    /// An image `[channels, height, width]` as one row of `channels·height·width` features,
    /// channel first (the NCHW order).
    Flatten,
}

impl LayerSpec {
    /// The `type` name of the layer in a scenario file.
    pub const fn type_name(&self) -> &'static str {
        match self {
            LayerSpec::Dense { .. } => "dense",
            LayerSpec::Residual { .. } => "residual",
            LayerSpec::Activation { .. } => "activation",
            LayerSpec::Dropout { .. } => "dropout",
            LayerSpec::BatchNorm { .. } => "batch_norm",
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::MaxPool2d { .. } => "max_pool2d",
            LayerSpec::AvgPool2d { .. } => "avg_pool2d",
            LayerSpec::Flatten => "flatten",
        }
    }

    /// True for the layers that need an image input (convolution and pooling).
    pub const fn is_spatial(&self) -> bool {
        matches!(
            self,
            LayerSpec::Conv2d { .. } | LayerSpec::MaxPool2d { .. } | LayerSpec::AvgPool2d { .. }
        )
    }
}

/// Zero padding of a convolution, on each side of both axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// None: the output shrinks by `kernel_size − 1`.
    Valid,
    /// `(kernel_size − 1) / 2` (odd kernels only), so that with stride 1 the output keeps the
    /// input's height and width.
    Same,
    /// This many zeros.
    Explicit(usize),
}

impl Padding {
    /// Zeros on each side for a `kernel_size` kernel (`same` assumes an odd kernel, which the
    /// scenario check enforces).
    pub const fn amount(self, kernel_size: usize) -> usize {
        match self {
            Padding::Valid => 0,
            Padding::Same => kernel_size.saturating_sub(1) / 2,
            Padding::Explicit(n) => n,
        }
    }
}

impl Serialize for Padding {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Padding::Valid => serializer.serialize_str("valid"),
            Padding::Same => serializer.serialize_str("same"),
            Padding::Explicit(n) => serializer.serialize_u64(*n as u64),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Identity,
    Sigmoid,
    Tanh,
    Relu,
    /// Negative slope 0.01.
    LeakyRelu,
    /// alpha 1.
    Elu,
    /// The self-normalising constants of Klambauer et al.
    Selu,
}

impl Activation {
    pub const ALL: [Activation; 7] = [
        Activation::Identity,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Elu,
        Activation::Selu,
    ];
    pub const LEAKY_RELU_SLOPE: f32 = 0.01;
    pub const ELU_ALPHA: f32 = 1.0;
    pub const SELU_ALPHA: f32 = 1.673_263_2;
    pub const SELU_SCALE: f32 = 1.050_701;

    /// `f(x)`: the one definition of each function (the native backend computes with it; the
    /// harness with it measures dead units from exported weights).
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Identity => x,
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu => {
                if x > 0.0 {
                    x
                } else {
                    Self::LEAKY_RELU_SLOPE * x
                }
            }
            Activation::Elu => {
                if x > 0.0 {
                    x
                } else {
                    Self::ELU_ALPHA * x.exp_m1()
                }
            }
            Activation::Selu => {
                Self::SELU_SCALE
                    * if x > 0.0 {
                        x
                    } else {
                        Self::SELU_ALPHA * x.exp_m1()
                    }
            }
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Elu => "elu",
            Activation::Selu => "selu",
        }
    }
}

/// The logistic function, without overflow for large |x|.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The output layer: a dense layer whose width follows from the dataset and the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutputSpec {
    pub head: OutputHead,
}

/// Output activation and loss, which always go together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputHead {
    /// One unit per class, softmax, cross-entropy against the class index.
    SoftmaxCrossEntropy,
    /// One unit (two classes only), logistic sigmoid, binary cross-entropy against 0/1.
    SigmoidBinaryCrossEntropy,
    /// Identity output, mean squared error against 0/1 (one unit for two classes, one-hot
    /// otherwise). The loss is the mean over examples of the sum over outputs of ½(y − ŷ)².
    IdentityMse,
    /// Rosenblatt's threshold unit: one unit (two classes only), output 1 if w·x + b >
    /// [`ModelSpec::threshold`] else 0 (the course's `valeur > seuil`), trained by the
    /// perceptron rule, which changes weights only on misclassified examples. Its loss is the
    /// error rate.
    Step,
}

impl OutputHead {
    pub const ALL: [OutputHead; 4] = [
        OutputHead::SoftmaxCrossEntropy,
        OutputHead::SigmoidBinaryCrossEntropy,
        OutputHead::IdentityMse,
        OutputHead::Step,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            OutputHead::SoftmaxCrossEntropy => "softmax_cross_entropy",
            OutputHead::SigmoidBinaryCrossEntropy => "sigmoid_binary_cross_entropy",
            OutputHead::IdentityMse => "identity_mse",
            OutputHead::Step => "step",
        }
    }

    /// Output units for a dataset with `classes` classes.
    pub fn units(self, classes: usize) -> usize {
        match self {
            OutputHead::SoftmaxCrossEntropy => classes,
            OutputHead::SigmoidBinaryCrossEntropy | OutputHead::Step => 1,
            OutputHead::IdentityMse if classes == 2 => 1,
            OutputHead::IdentityMse => classes,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Initial weights
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InitSpec {
    pub weights: InitScheme,
    /// Biases: `zeros` or any of the fixed-scale schemes (`uniform`, `normal`).
    pub biases: InitScheme,
    /// Weights read from a file instead of drawn (`init.from_file`), checked against the
    /// network when the scenario is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_file: Option<InitFile>,
}

/// The initial weights of `init.from_file`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InitFile {
    /// As the scenario writes it.
    pub path: String,
    #[serde(skip)]
    pub weights: crate::weights::Weights,
}

/// How the harness draws initial weights (fan-based schemes use the layer's fan in / out).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum InitScheme {
    /// U(±√(6/(fan_in+fan_out))).
    GlorotUniform,
    /// N(0, 2/(fan_in+fan_out)).
    GlorotNormal,
    /// U(±√(6/fan_in)).
    HeUniform,
    /// N(0, 2/fan_in).
    HeNormal,
    /// U(±√(3/fan_in)).
    LecunUniform,
    /// N(0, 1/fan_in).
    LecunNormal,
    Zeros,
    /// U(±limit).
    Uniform {
        limit: f64,
    },
    /// N(0, std²).
    Normal {
        std: f64,
    },
    /// Each framework's own default initialisation (results then start from different points).
    FrameworkDefault,
}

// ---------------------------------------------------------------------------------------
// Optimizer and regularization
// ---------------------------------------------------------------------------------------

/// The optimizer with every constant spelled out. Formulas (g: gradient after regularization
/// and clipping, η: the step's learning rate, t: step count from 1):
/// - sgd: w ← w − η g
/// - momentum: v ← μ v + g; w ← w − η v (nesterov: w ← w − η (g + μ v)); PyTorch's form
/// - rmsprop: s ← α s + (1−α) g²; w ← w − η g / (√s + ε)
/// - adam: m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²; w ← w − η m̂ / (√v̂ + ε) with
///   m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ)
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OptimizerSpec {
    /// The initial learning rate; the schedule derives each step's rate from it.
    pub learning_rate: f64,
    pub kind: OptimizerKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OptimizerKind {
    Sgd,
    Momentum {
        momentum: f64,
        nesterov: bool,
    },
    Rmsprop {
        alpha: f64,
        epsilon: f64,
    },
    Adam {
        beta1: f64,
        beta2: f64,
        epsilon: f64,
    },
}

impl OptimizerKind {
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Momentum {
                nesterov: false, ..
            } => "momentum",
            OptimizerKind::Momentum { nesterov: true, .. } => "nesterov",
            OptimizerKind::Rmsprop { .. } => "rmsprop",
            OptimizerKind::Adam { .. } => "adam",
        }
    }
}

/// Penalties apply to dense weights only (not biases, not batch-norm parameters) and are added
/// to the gradient before clipping: g ← g + l2·w + l1·sign(w), i.e. the loss gains
/// ½·l2·‖w‖² + l1·‖w‖₁ (coupled, not decoupled weight decay).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RegularizationSpec {
    pub l1: f64,
    pub l2: f64,
    /// Clamp every gradient element into [−c, c].
    pub clip_value: Option<f64>,
    /// Rescale all gradients together when their global L2 norm exceeds c.
    pub clip_norm: Option<f64>,
}

// ---------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingSpec {
    pub epochs: usize,
    pub batch: BatchSize,
    pub shuffle: bool,
    /// One run per seed; a seed fixes the initial weights, batch order and dropout masks.
    pub seeds: Vec<u64>,
    pub schedule: Schedule,
    pub early_stopping: Option<EarlyStopping>,
    /// Record per-layer gradient norms (mean over the epoch's steps).
    pub record_grad_norms: bool,
    /// Record each hidden dense layer's share of dead units after every epoch
    /// ([`crate::dead_units`]).
    pub record_dead_units: bool,
    /// Stop after this many training steps in all. (Keys added after run folders exist are
    /// left out at their defaults, so that an older run's resolved scenario still matches.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<usize>,
    /// Record each parameter's gradient of the (single) step, from the weights before and
    /// after it.
    #[serde(skip_serializing_if = "is_false")]
    pub record_gradients: bool,
    /// Stop as `diverged` when the training loss exceeds this (NaN and ∞ always do).
    pub divergence_loss: f64,
    /// Standard deviation of the Gaussian noise the harness adds to each training batch's
    /// inputs (fresh at every step, seeded, the same for every backend; never at evaluation).
    /// 0: none.
    #[serde(skip_serializing_if = "is_zero")]
    pub input_noise: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchSize {
    Full,
    Size(usize),
}

impl BatchSize {
    pub fn rows(self, examples: usize) -> usize {
        match self {
            BatchSize::Full => examples,
            BatchSize::Size(n) => n.min(examples),
        }
    }
}

/// The learning rate of each step, derived from `optimizer.learning_rate` (η₀) by the harness.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    Constant,
    /// η = η₀ · gamma^⌊epoch / step_epochs⌋ (epoch counted from 0).
    Step {
        step_epochs: usize,
        gamma: f64,
    },
    /// η = η₀ / tᵖ with t the number of examples seen so far, plus one (scikit-learn's).
    InvScaling {
        power_t: f64,
    },
    /// η divided by `factor` once `patience` epochs in a row fail to lower the training loss
    /// by at least `tol`; the count then starts again (scikit-learn's `adaptive` is factor 5).
    Adaptive {
        factor: f64,
        patience: usize,
        tol: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EarlyStopping {
    pub monitor: Monitor,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Smallest change that counts as an improvement.
    pub min_delta: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    ValLoss,
    ValAccuracy,
}
