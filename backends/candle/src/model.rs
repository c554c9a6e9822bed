//! The network as candle modules: `candle_nn::Linear` layers over [`Var`]s the adapter keeps
//! (to hand them to the optimizer and to export them), activations, dropout and
//! `candle_nn::BatchNorm`.
//!
//! Candle stores a linear layer's weight as `[out, in]`; the canonical layout is `[in, out]`,
//! so weights are transposed on load and on export. Dropout masks come from the harness's
//! seeded generator (candle's own `ops::dropout` draws from an unseeded one), so a seed fixes
//! the masks.
//!
//! Convolutions are `candle_nn::Conv2d` (kernels `[out, in, kh, kw]`: the canonical layout as
//! is); pooling over non-overlapping windows is written with candle's reshape and reductions
//! (see `tiled_pool`: candle's own pooling ops have wrong backward passes), overlapping
//! windows use its `max_pool2d_with_stride` and `avg_pool2d_with_stride`; all on NCHW tensors: a batch enters as `rows × inputs` and is reshaped to `[rows, channels, height,
//! width]` by the first spatial layer.
//!
//! Under `framework_default` the dense layers come from `candle_nn::linear` (Kaiming-normal
//! weights, U(±1/√fan_in) biases), drawn from candle's CPU generator, which cannot be seeded
//! (`Device::set_seed` fails on the CPU): those runs differ from one execution to the next.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{BatchNorm, Conv2d, Conv2dConfig, Linear, Module, ModuleT, VarBuilder, VarMap};
use nnbench_core::network::Image;
use nnbench_core::rng::Rng;
use nnbench_core::spec::Activation;
use nnbench_core::{BackendError, Layer, Network, Weights};

use crate::activation;
use crate::error::OrFramework;

enum Node {
    Dense {
        linear: Linear,
        /// `[out, in]`, the tensor inside `linear`.
        weight: Var,
        bias: Var,
        activation: Activation,
        /// A residual block: the input is added to the activation's output.
        residual: bool,
    },
    Activation(Activation),
    Dropout {
        rate: f32,
    },
    BatchNorm {
        norm: BatchNorm,
        gamma: Var,
        beta: Var,
        momentum: f64,
    },
    Conv {
        conv: Conv2d,
        /// `[out, in, kh, kw]`, the tensor inside `conv`.
        weight: Var,
        bias: Var,
        input: Image,
        activation: Activation,
    },
    MaxPool {
        input: Image,
        size: usize,
        stride: usize,
    },
    AvgPool {
        input: Image,
        size: usize,
        stride: usize,
    },
    Flatten,
}

/// `x` as a batch of `image`s: a `rows × inputs` batch is reshaped to NCHW.
fn as_images(x: Tensor, image: Image) -> Result<Tensor, BackendError> {
    if x.rank() == 4 {
        return Ok(x);
    }
    let rows = x.dim(0).or_framework()?;
    x.reshape((rows, image.channels, image.height, image.width))
        .or_framework()
}

pub struct Model {
    nodes: Vec<Node>,
    device: Device,
}

impl Model {
    /// Builds the network of `network` holding `init` (canonical layout), or candle's own
    /// initialisation (`candle_nn::linear`) when `init` is `None`.
    pub fn new(
        network: &Network,
        init: Option<&Weights>,
        device: &Device,
    ) -> Result<Model, BackendError> {
        let varmap = VarMap::new();
        let builder = VarBuilder::from_varmap(&varmap, DType::F32, device);
        let mut nodes = Vec::with_capacity(network.layers.len());
        for (index, layer) in network.layers.iter().enumerate() {
            let expect = |kind: &str, shape: &[usize]| -> Result<Tensor, BackendError> {
                let weights = init.ok_or_else(|| {
                    BackendError::WeightsMismatch(format!("no initial value for {index}.{kind}"))
                })?;
                let tensor = weights
                    .expect(&format!("{index}.{kind}"), shape)
                    .map_err(BackendError::WeightsMismatch)?;
                Tensor::from_slice(&tensor.data, shape, device).or_framework()
            };
            nodes.push(match *layer {
                Layer::Dense { .. } | Layer::Residual { .. } => {
                    let (fan_in, fan_out, activation) =
                        layer.dense_like().expect("a dense layer or residual block");
                    let (weight, bias) = match init {
                        Some(_) => {
                            let w = expect("weight", &[fan_in, fan_out])?;
                            let w = w.t().and_then(|t| t.contiguous()).or_framework()?;
                            let b = expect("bias", &[fan_out])?;
                            (
                                Var::from_tensor(&w).or_framework()?,
                                Var::from_tensor(&b).or_framework()?,
                            )
                        }
                        None => {
                            let linear = candle_nn::linear(fan_in, fan_out, builder.pp(index))
                                .or_framework()?;
                            let weight = Var::from_tensor(linear.weight()).or_framework()?;
                            let bias = match linear.bias() {
                                Some(bias) => Var::from_tensor(bias).or_framework()?,
                                None => Var::zeros(fan_out, DType::F32, device).or_framework()?,
                            };
                            (weight, bias)
                        }
                    };
                    let linear =
                        Linear::new(weight.as_tensor().clone(), Some(bias.as_tensor().clone()));
                    Node::Dense {
                        linear,
                        weight,
                        bias,
                        activation,
                        residual: matches!(layer, Layer::Residual { .. }),
                    }
                }
                Layer::Activation { function, .. } => Node::Activation(function),
                Layer::Dropout { rate, .. } => Node::Dropout { rate },
                Layer::BatchNorm {
                    features,
                    momentum,
                    epsilon,
                } => {
                    let (gamma, beta, mean, var) = match init {
                        Some(_) => (
                            expect("gamma", &[features])?,
                            expect("beta", &[features])?,
                            expect("running_mean", &[features])?,
                            expect("running_var", &[features])?,
                        ),
                        None => {
                            let ones = || Tensor::ones(features, DType::F32, device).or_framework();
                            let zeros =
                                || Tensor::zeros(features, DType::F32, device).or_framework();
                            (ones()?, zeros()?, zeros()?, ones()?)
                        }
                    };
                    let gamma = Var::from_tensor(&gamma).or_framework()?;
                    let beta = Var::from_tensor(&beta).or_framework()?;
                    let momentum = f64::from(momentum);
                    let norm = BatchNorm::new_with_momentum(
                        features,
                        mean,
                        var,
                        gamma.as_tensor().clone(),
                        beta.as_tensor().clone(),
                        f64::from(epsilon),
                        momentum,
                    )
                    .or_framework()?;
                    Node::BatchNorm {
                        norm,
                        gamma,
                        beta,
                        momentum,
                    }
                }
                Layer::Conv2d {
                    input,
                    output,
                    kernel_size,
                    stride,
                    padding,
                    activation,
                } => {
                    let config = Conv2dConfig {
                        padding,
                        stride,
                        dilation: 1,
                        groups: 1,
                        cudnn_fwd_algo: None,
                    };
                    let (out, k) = (output.channels, kernel_size);
                    let (weight, bias) = match init {
                        Some(_) => {
                            let w = expect("weight", &[out, input.channels, k, k])?;
                            let b = expect("bias", &[out])?;
                            (
                                Var::from_tensor(&w).or_framework()?,
                                Var::from_tensor(&b).or_framework()?,
                            )
                        }
                        None => {
                            let conv = candle_nn::conv2d(
                                input.channels,
                                out,
                                k,
                                config,
                                builder.pp(index),
                            )
                            .or_framework()?;
                            let weight = Var::from_tensor(conv.weight()).or_framework()?;
                            let bias = match conv.bias() {
                                Some(bias) => Var::from_tensor(bias).or_framework()?,
                                None => Var::zeros(out, DType::F32, device).or_framework()?,
                            };
                            (weight, bias)
                        }
                    };
                    let conv = Conv2d::new(
                        weight.as_tensor().clone(),
                        Some(bias.as_tensor().clone()),
                        config,
                    );
                    Node::Conv {
                        conv,
                        weight,
                        bias,
                        input,
                        activation,
                    }
                }
                Layer::MaxPool2d {
                    input,
                    size,
                    stride,
                    ..
                } => Node::MaxPool {
                    input,
                    size,
                    stride,
                },
                Layer::AvgPool2d {
                    input,
                    size,
                    stride,
                    ..
                } => Node::AvgPool {
                    input,
                    size,
                    stride,
                },
                Layer::Flatten { .. } => Node::Flatten,
            });
        }
        Ok(Model {
            nodes,
            device: device.clone(),
        })
    }

    /// Every trainable parameter (batch-norm running statistics excluded), in layer order.
    pub fn parameters(&self) -> Vec<Var> {
        let mut vars = Vec::new();
        for node in &self.nodes {
            match node {
                Node::Dense { weight, bias, .. } => vars.extend([weight.clone(), bias.clone()]),
                Node::BatchNorm { gamma, beta, .. } => vars.extend([gamma.clone(), beta.clone()]),
                Node::Conv { weight, bias, .. } => vars.extend([weight.clone(), bias.clone()]),
                _ => {}
            }
        }
        vars
    }

    /// The dense weights, input side first: where L1/L2 apply and whose gradient norms are
    /// recorded.
    pub fn dense_weights(&self) -> Vec<Var> {
        self.nodes
            .iter()
            .filter_map(|node| match node {
                Node::Dense { weight, .. } => Some(weight.clone()),
                _ => None,
            })
            .collect()
    }

    /// Raw output of the last dense layer for `x` (`rows × inputs`). `dropout` is the mask
    /// generator in training mode, `None` in evaluation mode.
    pub fn forward(
        &self,
        x: &Tensor,
        mut dropout: Option<&mut Rng>,
    ) -> Result<Tensor, BackendError> {
        let training = dropout.is_some();
        let mut x = x.clone();
        for node in &self.nodes {
            x = match node {
                Node::Dense {
                    linear,
                    activation,
                    residual,
                    ..
                } => {
                    let z = linear.forward(&x).or_framework()?;
                    let y = activation::apply(*activation, &z).or_framework()?;
                    if *residual {
                        (y + &x).or_framework()?
                    } else {
                        y
                    }
                }
                Node::Activation(function) => activation::apply(*function, &x).or_framework()?,
                Node::Conv {
                    conv,
                    input,
                    activation,
                    ..
                } => {
                    let z = conv.forward(&as_images(x, *input)?).or_framework()?;
                    activation::apply(*activation, &z).or_framework()?
                }
                Node::MaxPool {
                    input,
                    size,
                    stride,
                } => {
                    let images = as_images(x, *input)?;
                    if size == stride {
                        tiled_pool(&images, *size, Pool::Max).or_framework()?
                    } else {
                        images
                            .max_pool2d_with_stride(*size, *stride)
                            .or_framework()?
                    }
                }
                Node::AvgPool {
                    input,
                    size,
                    stride,
                } => {
                    let images = as_images(x, *input)?;
                    if size == stride {
                        tiled_pool(&images, *size, Pool::Mean).or_framework()?
                    } else {
                        images
                            .avg_pool2d_with_stride(*size, *stride)
                            .or_framework()?
                    }
                }
                Node::Flatten => x.flatten_from(1).or_framework()?,
                Node::Dropout { rate } => match dropout.as_deref_mut() {
                    Some(rng) if *rate > 0.0 => {
                        let keep = 1.0 / (1.0 - *rate);
                        let rate = f64::from(*rate);
                        let mask: Vec<f32> = (0..x.elem_count())
                            .map(|_| if rng.uniform() < rate { 0.0 } else { keep })
                            .collect();
                        let mask =
                            Tensor::from_vec(mask, x.shape(), &self.device).or_framework()?;
                        (x * mask).or_framework()?
                    }
                    _ => x,
                },
                Node::BatchNorm { norm, momentum, .. } => {
                    let rows = x.dim(0).or_framework()?;
                    if training && rows == 1 {
                        // One row has no unbiased variance (candle divides by n − 1 = 0): keep
                        // the native convention, where the batch variance 0 enters as is.
                        let before = norm.running_var().copy().or_framework()?;
                        let out = norm.forward_t(&x, true).or_framework()?;
                        let decayed = before.affine(1.0 - momentum, 0.0).or_framework()?;
                        norm.running_var()
                            .slice_set(&decayed, 0, 0)
                            .or_framework()?;
                        out
                    } else {
                        norm.forward_t(&x, training).or_framework()?
                    }
                }
            };
        }
        Ok(x)
    }

    /// The parameters in the canonical layout.
    pub fn weights(&self) -> Result<Weights, BackendError> {
        let mut tensors = Vec::new();
        for (index, node) in self.nodes.iter().enumerate() {
            let mut push = |kind: &str, tensor: &Tensor| -> Result<(), BackendError> {
                tensors.push(nnbench_core::Tensor {
                    name: format!("{index}.{kind}"),
                    shape: tensor.dims().to_vec(),
                    data: tensor
                        .flatten_all()
                        .and_then(|t| t.to_vec1())
                        .or_framework()?,
                });
                Ok(())
            };
            match node {
                Node::Dense { weight, bias, .. } => {
                    let canonical = weight.as_tensor().t().and_then(|t| t.contiguous());
                    push("weight", &canonical.or_framework()?)?;
                    push("bias", bias.as_tensor())?;
                }
                Node::BatchNorm {
                    norm, gamma, beta, ..
                } => {
                    push("gamma", gamma.as_tensor())?;
                    push("beta", beta.as_tensor())?;
                    push("running_mean", norm.running_mean())?;
                    push("running_var", norm.running_var())?;
                }
                Node::Conv { weight, bias, .. } => {
                    push("weight", weight.as_tensor())?;
                    push("bias", bias.as_tensor())?;
                }
                _ => {}
            }
        }
        Ok(Weights { tensors })
    }
}

#[derive(Debug, Clone, Copy)]
enum Pool {
    Max,
    Mean,
}

/// Pooling over non-overlapping `size × size` windows written with candle's reshape and
/// reductions, whose backward passes are right, instead of `max_pool2d`/`avg_pool2d`, whose
/// backward passes in candle 0.11 are not: max pooling's multiplies the gradient by the
/// share of maxima in the window (¼ for a single maximum of a 2×2 window) instead of handing
/// it to the maximum, and average pooling's spreads it over the rows and columns that no
/// window covers when the size does not divide the image (measured: a 100-step CNN drifted
/// from native by 0.6 in the weights; with this, as burn and tch, by 1e-7).
fn tiled_pool(images: &Tensor, size: usize, pool: Pool) -> candle_core::Result<Tensor> {
    let (n, c, h, w) = images.dims4()?;
    let (oh, ow) = (h / size, w / size);
    let tiles = images
        .narrow(2, 0, oh * size)?
        .narrow(3, 0, ow * size)?
        .contiguous()?
        .reshape((n, c, oh, size, ow, size))?;
    match pool {
        Pool::Max => tiles.max(5)?.max(3),
        Pool::Mean => tiles.mean(5)?.mean(3),
    }
}
