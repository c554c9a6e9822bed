//! The network as burn modules: the trainable parameters live in [`Mlp`] (what burn's
//! optimizer steps), the order of operations in a list of [`Op`]s, and the batch-norm running
//! statistics in [`RunningStats`], kept by the adapter outside autodiff.
//!
//! Convolutions are `burn::nn::conv::Conv2d` (kernels `[out, in, kh, kw]`: the canonical
//! layout as is) and pooling `burn::nn::pool::{MaxPool2d, AvgPool2d}`, on NCHW tensors: a batch
//! enters as `rows × inputs` and is reshaped to `[rows, channels, height, width]` by the first
//! spatial layer, and back to rows by `flatten`.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation;
use burn::tensor::module::{batch_norm, batch_norm_train};
use burn::tensor::{Device, Tensor, TensorData};
use nnbench_core::network::Image;
use nnbench_core::spec::Activation;
use nnbench_core::weights::{Tensor as NamedTensor, Weights};
use nnbench_core::{BackendError, Layer, Network};

use crate::framework_error;

/// flex draws every random value (initial weights, dropout masks) from one process-wide
/// generator that `Device::seed` reseeds. A trainer holds this while it seeds and draws, so
/// that units run side by side (`nnbench scenario --jobs`) draw exactly what they draw one at
/// a time: another unit's draws never land in the middle of its sequence.
static FLEX_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds flex's generator for the caller (see [`FLEX_RNG`]).
pub fn flex_rng() -> std::sync::MutexGuard<'static, ()> {
    FLEX_RNG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Learned scale and shift of one batch-norm layer.
#[derive(Module, Debug)]
pub struct Norm {
    pub gamma: Param<Tensor<1>>,
    pub beta: Param<Tensor<1>>,
}

/// Every trainable parameter of the network, in layer order.
#[derive(Module, Debug)]
pub struct Mlp {
    pub dense: Vec<Linear>,
    pub norms: Vec<Norm>,
    pub convs: Vec<Conv2d>,
}

/// Running mean and variance of one batch-norm layer (plain flex tensors, no autodiff).
#[derive(Debug, Clone)]
pub struct RunningStats {
    pub mean: Tensor<1>,
    pub var: Tensor<1>,
}

/// One layer of the network, pointing into [`Mlp`] for its parameters.
#[derive(Debug)]
pub enum Op {
    Dense {
        /// Index into `Mlp::dense`.
        slot: usize,
        activation: Activation,
        /// A residual block: the input is added to the activation's output.
        residual: bool,
    },
    Activation(Activation),
    Dropout(Dropout),
    BatchNorm {
        /// Index into `Mlp::norms` and the running statistics.
        slot: usize,
        momentum: f64,
        epsilon: f64,
    },
    Conv {
        /// Index into `Mlp::convs`.
        slot: usize,
        input: Image,
        activation: Activation,
    },
    MaxPool {
        pool: MaxPool2d,
        input: Image,
    },
    AvgPool {
        pool: AvgPool2d,
        input: Image,
    },
    Flatten,
}

/// The value between two layers: rows of features, or a batch of images.
enum Value {
    Rows(Tensor<2>),
    Images(Tensor<4>),
}

impl Value {
    fn images(self, image: Image) -> Tensor<4> {
        match self {
            Value::Images(x) => x,
            Value::Rows(x) => {
                let rows = x.dims()[0];
                x.reshape([rows, image.channels, image.height, image.width])
            }
        }
    }

    fn rows(self) -> Tensor<2> {
        match self {
            Value::Rows(x) => x,
            Value::Images(x) => x.flatten(1, 3),
        }
    }
}

/// The network's structure and its batch-norm statistics (the parameters are in [`Mlp`]).
pub struct Model {
    pub ops: Vec<Op>,
    pub stats: Vec<RunningStats>,
    /// Index in `network.layers` of each op (the canonical tensor names use it).
    pub layer_of_op: Vec<usize>,
    /// The plain flex device, where predictions and statistics live.
    pub plain: Device,
}

impl Model {
    /// Builds the model with weights from `init`, or burn's own initialisation (after seeding
    /// the device with `seed`) when `init` is `None`.
    pub fn new(
        network: &Network,
        init: Option<&Weights>,
        seed: u64,
        device: &Device,
        plain: &Device,
    ) -> Result<(Model, Mlp), BackendError> {
        // burn's layers draw initial values even when `init` then replaces them.
        let _rng = flex_rng();
        if init.is_none() {
            device.seed(seed);
        }
        let mut ops = Vec::with_capacity(network.layers.len());
        let mut dense = Vec::new();
        let mut norms = Vec::new();
        let mut convs = Vec::new();
        let mut stats = Vec::new();
        let mut layer_of_op = Vec::new();
        for (index, layer) in network.layers.iter().enumerate() {
            let op = match *layer {
                Layer::Dense { .. } | Layer::Residual { .. } => {
                    let (fan_in, fan_out, activation) =
                        layer.dense_like().expect("a dense layer or residual block");
                    let linear = match init {
                        Some(weights) => {
                            let w =
                                expect(weights, &format!("{index}.weight"), &[fan_in, fan_out])?;
                            let b = expect(weights, &format!("{index}.bias"), &[fan_out])?;
                            Linear {
                                weight: Param::from_tensor(tensor2(w, [fan_in, fan_out], device)),
                                bias: Some(Param::from_tensor(tensor1(b, device))),
                            }
                        }
                        None => {
                            let linear = LinearConfig::new(fan_in, fan_out).init(device);
                            // Parameters are initialised lazily: draw them now, in layer
                            // order, so the seed alone fixes them.
                            let _ = linear.weight.val();
                            if let Some(bias) = &linear.bias {
                                let _ = bias.val();
                            }
                            linear
                        }
                    };
                    dense.push(linear);
                    Op::Dense {
                        slot: dense.len() - 1,
                        activation,
                        residual: matches!(layer, Layer::Residual { .. }),
                    }
                }
                Layer::Activation { function, .. } => Op::Activation(function),
                Layer::Dropout { rate, .. } => {
                    let rate = f64::from(rate);
                    if !(0.0..1.0).contains(&rate) {
                        return Err(framework_error(format!(
                            "dropout rate {rate} is outside [0, 1)"
                        )));
                    }
                    Op::Dropout(DropoutConfig::new(rate).init())
                }
                Layer::BatchNorm {
                    features,
                    momentum,
                    epsilon,
                } => {
                    let (momentum, epsilon) = (f64::from(momentum), f64::from(epsilon));
                    if !((0.0..=1.0).contains(&momentum) && epsilon > 0.0 && epsilon.is_finite()) {
                        return Err(framework_error(format!(
                            "batch norm needs momentum in [0, 1] and epsilon > 0, got {momentum} and {epsilon}"
                        )));
                    }
                    let shape = [features];
                    let (gamma, beta, mean, var) = match init {
                        Some(weights) => {
                            let get =
                                |kind: &str| expect(weights, &format!("{index}.{kind}"), &shape);
                            (
                                tensor1(get("gamma")?, device),
                                tensor1(get("beta")?, device),
                                tensor1(get("running_mean")?, plain),
                                tensor1(get("running_var")?, plain),
                            )
                        }
                        None => (
                            Tensor::ones(shape, device),
                            Tensor::zeros(shape, device),
                            Tensor::zeros(shape, plain),
                            Tensor::ones(shape, plain),
                        ),
                    };
                    norms.push(Norm {
                        gamma: Param::from_tensor(gamma),
                        beta: Param::from_tensor(beta),
                    });
                    stats.push(RunningStats { mean, var });
                    Op::BatchNorm {
                        slot: norms.len() - 1,
                        momentum,
                        epsilon,
                    }
                }
                Layer::Conv2d {
                    input,
                    output,
                    kernel_size: k,
                    stride,
                    padding,
                    activation,
                } => {
                    let config = Conv2dConfig::new([input.channels, output.channels], [k, k])
                        .with_stride([stride, stride])
                        .with_padding(PaddingConfig2d::Explicit(
                            padding, padding, padding, padding,
                        ));
                    let mut conv = config.init(device);
                    match init {
                        Some(weights) => {
                            let shape = [output.channels, input.channels, k, k];
                            let w = expect(weights, &format!("{index}.weight"), &shape)?;
                            let b = expect(weights, &format!("{index}.bias"), &[output.channels])?;
                            conv.weight = Param::from_tensor(Tensor::from_data(
                                TensorData::new(w.to_vec(), shape),
                                device,
                            ));
                            conv.bias = Some(Param::from_tensor(tensor1(b, device)));
                        }
                        None => {
                            // Drawn now, in layer order, so the seed alone fixes them.
                            let _ = conv.weight.val();
                            if let Some(bias) = &conv.bias {
                                let _ = bias.val();
                            }
                        }
                    }
                    convs.push(conv);
                    Op::Conv {
                        slot: convs.len() - 1,
                        input,
                        activation,
                    }
                }
                Layer::MaxPool2d {
                    input,
                    size,
                    stride,
                    ..
                } => Op::MaxPool {
                    pool: MaxPool2dConfig::new([size, size])
                        .with_strides([stride, stride])
                        .init(),
                    input,
                },
                Layer::AvgPool2d {
                    input,
                    size,
                    stride,
                    ..
                } => Op::AvgPool {
                    pool: AvgPool2dConfig::new([size, size])
                        .with_strides([stride, stride])
                        .init(),
                    input,
                },
                Layer::Flatten { .. } => Op::Flatten,
            };
            ops.push(op);
            layer_of_op.push(index);
        }
        let model = Model {
            ops,
            stats,
            layer_of_op,
            plain: plain.clone(),
        };
        Ok((
            model,
            Mlp {
                dense,
                norms,
                convs,
            },
        ))
    }

    pub fn has_dropout(&self) -> bool {
        self.ops.iter().any(|op| matches!(op, Op::Dropout(_)))
    }

    /// The raw output of the last dense layer (before the head). In training mode dropout is
    /// active and batch norm uses (and updates) the batch statistics; otherwise dropout is the
    /// identity and batch norm uses the running statistics.
    pub fn forward(&mut self, mlp: &Mlp, x: Tensor<2>, training: bool) -> Tensor<2> {
        let mut value = Value::Rows(x);
        for op in &self.ops {
            let x = match op {
                Op::Conv {
                    slot,
                    input,
                    activation,
                } => {
                    let z = mlp.convs[*slot].forward(value.images(*input));
                    value = Value::Images(activate(z, *activation));
                    continue;
                }
                Op::MaxPool { pool, input } => {
                    value = Value::Images(pool.forward(value.images(*input)));
                    continue;
                }
                Op::AvgPool { pool, input } => {
                    value = Value::Images(pool.forward(value.images(*input)));
                    continue;
                }
                Op::Activation(function) if matches!(value, Value::Images(_)) => {
                    value = Value::Images(activate(value.images(IMAGE_UNUSED), *function));
                    continue;
                }
                Op::Dropout(dropout) if training && matches!(value, Value::Images(_)) => {
                    value = Value::Images(dropout.forward(value.images(IMAGE_UNUSED)));
                    continue;
                }
                Op::Flatten => {
                    value = Value::Rows(value.rows());
                    continue;
                }
                _ => value.rows(),
            };
            value = Value::Rows(match op {
                Op::Dense {
                    slot,
                    activation,
                    residual: false,
                } => activate(mlp.dense[*slot].forward(x), *activation),
                Op::Dense {
                    slot,
                    activation,
                    residual: true,
                } => activate(mlp.dense[*slot].forward(x.clone()), *activation).add(x),
                Op::Activation(function) => activate(x, *function),
                Op::Dropout(dropout) if training => dropout.forward(x),
                Op::Dropout(_) => x,
                Op::BatchNorm {
                    slot,
                    momentum,
                    epsilon,
                } => {
                    let norm = &mlp.norms[*slot];
                    let stats = &mut self.stats[*slot];
                    if training {
                        let rows = x.dims()[0];
                        let out = batch_norm_train(x, norm.gamma.val(), norm.beta.val(), *epsilon);
                        // PyTorch's convention: the running variance takes the unbiased batch
                        // variance (burn's BatchNorm module would feed it the biased one).
                        let unbiased = if rows > 1 {
                            rows as f64 / (rows - 1) as f64
                        } else {
                            1.0
                        };
                        let mean = out.mean.inner();
                        let var = out.variance.inner();
                        stats.mean = stats
                            .mean
                            .clone()
                            .mul_scalar(1.0 - momentum)
                            .add(mean.mul_scalar(*momentum));
                        stats.var = stats
                            .var
                            .clone()
                            .mul_scalar(1.0 - momentum)
                            .add(var.mul_scalar(momentum * unbiased));
                        out.output
                    } else {
                        let device = x.device();
                        batch_norm(
                            x,
                            norm.gamma.val(),
                            norm.beta.val(),
                            stats.mean.clone().to_device(&device),
                            stats.var.clone().to_device(&device),
                            *epsilon,
                        )
                    }
                }
                Op::Conv { .. } | Op::MaxPool { .. } | Op::AvgPool { .. } | Op::Flatten => x,
            });
        }
        value.rows()
    }

    /// The parameters and statistics in the canonical layout.
    pub fn export(&self, mlp: &Mlp) -> Result<Weights, BackendError> {
        let mut tensors = Vec::new();
        for (op, &index) in self.ops.iter().zip(&self.layer_of_op) {
            match op {
                Op::Dense { slot, .. } => {
                    let linear = &mlp.dense[*slot];
                    let weight = linear.weight.val().inner();
                    let [fan_in, fan_out] = weight.dims();
                    tensors.push(named(index, "weight", vec![fan_in, fan_out], weight)?);
                    let bias = match &linear.bias {
                        Some(bias) => bias.val().inner(),
                        None => Tensor::zeros([fan_out], &self.plain),
                    };
                    tensors.push(named(index, "bias", vec![fan_out], bias)?);
                }
                Op::BatchNorm { slot, .. } => {
                    let norm = &mlp.norms[*slot];
                    let stats = &self.stats[*slot];
                    for (kind, tensor) in [
                        ("gamma", norm.gamma.val().inner()),
                        ("beta", norm.beta.val().inner()),
                        ("running_mean", stats.mean.clone()),
                        ("running_var", stats.var.clone()),
                    ] {
                        let shape = vec![tensor.dims()[0]];
                        tensors.push(named(index, kind, shape, tensor)?);
                    }
                }
                Op::Conv { slot, .. } => {
                    let conv = &mlp.convs[*slot];
                    let weight = conv.weight.val().inner();
                    let shape = weight.dims().to_vec();
                    let out = shape[0];
                    tensors.push(named(index, "weight", shape, weight)?);
                    let bias = match &conv.bias {
                        Some(bias) => bias.val().inner(),
                        None => Tensor::zeros([out], &self.plain),
                    };
                    tensors.push(named(index, "bias", vec![out], bias)?);
                }
                _ => {}
            }
        }
        Ok(Weights { tensors })
    }
}

/// Stands for the shape of a value already held as images (never used to reshape).
const IMAGE_UNUSED: Image = Image {
    channels: 0,
    height: 0,
    width: 0,
};

/// burn's activation functions (leaky ReLU slope 0.01, ELU α = 1, SELU's fixed constants).
fn activate<const D: usize>(x: Tensor<D>, function: Activation) -> Tensor<D> {
    match function {
        Activation::Identity => x,
        Activation::Sigmoid => activation::sigmoid(x),
        Activation::Tanh => activation::tanh(x),
        Activation::Relu => activation::relu(x),
        Activation::LeakyRelu => activation::leaky_relu(x, f64::from(Activation::LEAKY_RELU_SLOPE)),
        Activation::Elu => activation::elu(x, f64::from(Activation::ELU_ALPHA)),
        Activation::Selu => activation::selu(x),
    }
}

fn named<const D: usize>(
    layer: usize,
    kind: &str,
    shape: Vec<usize>,
    tensor: Tensor<D>,
) -> Result<NamedTensor, BackendError> {
    Ok(NamedTensor {
        name: format!("{layer}.{kind}"),
        shape,
        data: to_vec(tensor)?,
    })
}

fn expect<'a>(
    weights: &'a Weights,
    name: &str,
    shape: &[usize],
) -> Result<&'a [f32], BackendError> {
    weights
        .expect(name, shape)
        .map(|tensor| tensor.data.as_slice())
        .map_err(BackendError::WeightsMismatch)
}

pub fn tensor1(data: &[f32], device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(data.to_vec(), [data.len()]), device)
}

pub fn tensor2(data: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(data.to_vec(), shape), device)
}

/// The values of `tensor` as `f32`, row-major.
pub fn to_vec<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, BackendError> {
    let data = tensor
        .try_into_data()
        .map_err(|error| framework_error(format!("reading a tensor: {error:?}")))?;
    data.try_into_vec_as::<f32>()
        .map_err(|error| framework_error(format!("reading a tensor: {error:?}")))
}
