//! The network as tch modules: `nn::Linear` layers (created by `nn::linear` in a
//! [`nn::VarStore`]), activations, dropout and `nn::BatchNorm` (created by
//! `nn::batch_norm1d`, run through libtorch's `batch_norm`, which follows the spec: batch
//! statistics with the biased variance for the output, running statistics updated with the
//! unbiased one and PyTorch's momentum convention).
//!
//! libtorch stores a linear layer's weight as `[out, in]`; the canonical layout is `[in, out]`,
//! so weights are transposed on load and on export. Dropout masks come from the harness's
//! seeded generator (libtorch's own `dropout` draws from the process-wide generator, which
//! units training side by side on other threads would share), so a seed fixes the masks.
//!
//! Convolutions are `nn::Conv2D` (created by `nn::conv2d`, kernels `[out, in, kh, kw]`: the
//! canonical layout as is) run through libtorch's `conv2d`; pooling is libtorch's
//! `max_pool2d` and `avg_pool2d`, on NCHW tensors: a batch enters as `rows × inputs` and is
//! viewed as `[rows, channels, height, width]` by the first spatial layer.
//!
//! Under `framework_default` the dense layers keep `nn::linear`'s own initialisation
//! (Kaiming-uniform weights with the ReLU gain, U(±√(6/fan_in)); biases U(±1/√fan_in)), drawn
//! after `tch::manual_seed(seed)`.

use std::sync::Mutex;

use nnbench_core::network::Image;
use nnbench_core::rng::Rng;
use nnbench_core::spec::Activation;
use nnbench_core::{BackendError, Layer, Network, Weights};
use tch::{Device, Kind, Tensor, nn};

use crate::activation;
use crate::error::{OrFramework, framework_error};

/// `tch::manual_seed` seeds the process-wide generator: builds that draw from it take turns.
static DEFAULT_INIT: Mutex<()> = Mutex::new(());

enum Node {
    Dense {
        linear: nn::Linear,
        activation: Activation,
        /// A residual block: the input is added to the activation's output.
        residual: bool,
    },
    Activation(Activation),
    Dropout {
        rate: f32,
    },
    BatchNorm {
        norm: nn::BatchNorm,
        momentum: f64,
        epsilon: f64,
    },
    Conv {
        conv: nn::Conv2D,
        input: Image,
        stride: i64,
        padding: i64,
        activation: Activation,
    },
    MaxPool {
        input: Image,
        size: i64,
        stride: i64,
    },
    AvgPool {
        input: Image,
        size: i64,
        stride: i64,
    },
    Flatten,
}

/// `x` as a batch of `image`s: a `rows × inputs` batch is viewed as NCHW.
fn as_images(x: Tensor, image: Image) -> Result<Tensor, BackendError> {
    if x.dim() == 4 {
        return Ok(x);
    }
    let shape = [
        -1,
        image.channels as i64,
        image.height as i64,
        image.width as i64,
    ];
    x.f_view(shape).or_framework()
}

pub struct Model {
    /// Owns every variable; the nodes hold shallow clones of them.
    _store: nn::VarStore,
    nodes: Vec<Node>,
    device: Device,
}

impl Model {
    /// Builds the network of `network` holding `init` (canonical layout), or tch's own
    /// initialisation (`nn::linear`, seeded with `seed`) when `init` is `None`.
    pub fn new(
        network: &Network,
        init: Option<&Weights>,
        seed: u64,
        device: Device,
    ) -> Result<Model, BackendError> {
        let store = nn::VarStore::new(device);
        let root = store.root();
        // Held while the layers draw their default initial values.
        let _seeded = match init {
            None => {
                let guard = DEFAULT_INIT
                    .lock()
                    .map_err(|_| framework_error("the default-init lock is poisoned"))?;
                tch::manual_seed(seed as i64);
                Some(guard)
            }
            Some(_) => None,
        };
        let mut nodes = Vec::with_capacity(network.layers.len());
        for (index, layer) in network.layers.iter().enumerate() {
            let path = &root / index;
            let load = |target: &mut Tensor,
                        kind: &str,
                        shape: &[usize],
                        transpose: bool|
             -> Result<(), BackendError> {
                let Some(weights) = init else { return Ok(()) };
                let tensor = weights
                    .expect(&format!("{index}.{kind}"), shape)
                    .map_err(BackendError::WeightsMismatch)?;
                let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
                let mut value = from_host(&tensor.data, &dims, device)?;
                if transpose {
                    value = value.f_tr().or_framework()?;
                }
                tch::no_grad(|| target.f_copy_(&value)).or_framework()
            };
            nodes.push(match *layer {
                Layer::Dense { .. } | Layer::Residual { .. } => {
                    let (fan_in, fan_out, activation) =
                        layer.dense_like().expect("a dense layer or residual block");
                    let mut linear = nn::linear(
                        &path,
                        fan_in as i64,
                        fan_out as i64,
                        nn::LinearConfig::default(),
                    );
                    load(&mut linear.ws, "weight", &[fan_in, fan_out], true)?;
                    let bias = linear
                        .bs
                        .as_mut()
                        .ok_or_else(|| framework_error("nn::linear made no bias"))?;
                    load(bias, "bias", &[fan_out], false)?;
                    Node::Dense {
                        linear,
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
                    let config = nn::BatchNormConfig {
                        momentum: f64::from(momentum),
                        eps: f64::from(epsilon),
                        ..Default::default()
                    };
                    let mut norm = nn::batch_norm1d(&path, features as i64, config);
                    let (gamma, beta) = match (norm.ws.as_mut(), norm.bs.as_mut()) {
                        (Some(gamma), Some(beta)) => (gamma, beta),
                        _ => return Err(framework_error("nn::batch_norm1d made no scale")),
                    };
                    load(gamma, "gamma", &[features], false)?;
                    load(beta, "beta", &[features], false)?;
                    load(&mut norm.running_mean, "running_mean", &[features], false)?;
                    load(&mut norm.running_var, "running_var", &[features], false)?;
                    Node::BatchNorm {
                        norm,
                        momentum: f64::from(momentum),
                        epsilon: f64::from(epsilon),
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
                    let config = nn::ConvConfig {
                        stride: stride as i64,
                        padding: padding as i64,
                        ..Default::default()
                    };
                    let mut conv = nn::conv2d(
                        &path,
                        input.channels as i64,
                        output.channels as i64,
                        kernel_size as i64,
                        config,
                    );
                    let shape = [output.channels, input.channels, kernel_size, kernel_size];
                    load(&mut conv.ws, "weight", &shape, false)?;
                    let bias = conv
                        .bs
                        .as_mut()
                        .ok_or_else(|| framework_error("nn::conv2d made no bias"))?;
                    load(bias, "bias", &[output.channels], false)?;
                    Node::Conv {
                        conv,
                        input,
                        stride: stride as i64,
                        padding: padding as i64,
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
                    size: size as i64,
                    stride: stride as i64,
                },
                Layer::AvgPool2d {
                    input,
                    size,
                    stride,
                    ..
                } => Node::AvgPool {
                    input,
                    size: size as i64,
                    stride: stride as i64,
                },
                Layer::Flatten { .. } => Node::Flatten,
            });
        }
        Ok(Model {
            _store: store,
            nodes,
            device,
        })
    }

    /// Every trainable parameter (batch-norm running statistics excluded), in layer order.
    pub fn parameters(&self) -> Vec<Tensor> {
        let mut vars = Vec::new();
        for node in &self.nodes {
            let (ws, bs) = match node {
                Node::Dense { linear, .. } => (Some(&linear.ws), linear.bs.as_ref()),
                Node::BatchNorm { norm, .. } => (norm.ws.as_ref(), norm.bs.as_ref()),
                Node::Conv { conv, .. } => (Some(&conv.ws), conv.bs.as_ref()),
                _ => (None, None),
            };
            vars.extend(ws.into_iter().chain(bs).map(Tensor::shallow_clone));
        }
        vars
    }

    /// The dense weights (`[out, in]`), input side first: where L1/L2 apply and whose
    /// gradient norms are recorded.
    pub fn dense_weights(&self) -> Vec<Tensor> {
        self.nodes
            .iter()
            .filter_map(|node| match node {
                Node::Dense { linear, .. } => Some(linear.ws.shallow_clone()),
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
        let mut x = x.shallow_clone();
        for node in &self.nodes {
            x = match node {
                Node::Dense {
                    linear,
                    activation,
                    residual,
                } => {
                    let z = x.f_linear(&linear.ws, linear.bs.as_ref()).or_framework()?;
                    let y = activation::apply(*activation, &z).or_framework()?;
                    if *residual {
                        y.f_add(&x).or_framework()?
                    } else {
                        y
                    }
                }
                Node::Activation(function) => activation::apply(*function, &x).or_framework()?,
                Node::Conv {
                    conv,
                    input,
                    stride,
                    padding,
                    activation,
                } => {
                    let z = as_images(x, *input)?
                        .f_conv2d(
                            &conv.ws,
                            conv.bs.as_ref(),
                            [*stride, *stride],
                            [*padding, *padding],
                            [1, 1],
                            1,
                        )
                        .or_framework()?;
                    activation::apply(*activation, &z).or_framework()?
                }
                Node::MaxPool {
                    input,
                    size,
                    stride,
                } => as_images(x, *input)?
                    .f_max_pool2d([*size, *size], [*stride, *stride], [0, 0], [1, 1], false)
                    .or_framework()?,
                Node::AvgPool {
                    input,
                    size,
                    stride,
                } => as_images(x, *input)?
                    .f_avg_pool2d(
                        [*size, *size],
                        [*stride, *stride],
                        [0, 0],
                        false,
                        true,
                        None,
                    )
                    .or_framework()?,
                Node::Flatten => x.f_flatten(1, -1).or_framework()?,
                Node::Dropout { rate } => match dropout.as_deref_mut() {
                    Some(rng) if *rate > 0.0 => {
                        let keep = 1.0 / (1.0 - *rate);
                        let rate = f64::from(*rate);
                        let mask: Vec<f32> = (0..x.numel())
                            .map(|_| if rng.uniform() < rate { 0.0 } else { keep })
                            .collect();
                        let mask = from_host(&mask, &x.size(), self.device)?;
                        x.f_mul(&mask).or_framework()?
                    }
                    _ => x,
                },
                Node::BatchNorm {
                    norm,
                    momentum,
                    epsilon,
                } => {
                    let rows = x.size().first().copied().unwrap_or(0);
                    // One row has no unbiased variance (libtorch divides by n − 1 = 0): keep
                    // the native convention, where the batch variance 0 enters as is.
                    let decayed = if training && rows == 1 {
                        Some(
                            norm.running_var
                                .f_mul_scalar(1.0 - momentum)
                                .or_framework()?,
                        )
                    } else {
                        None
                    };
                    let out = x
                        .f_batch_norm(
                            norm.ws.as_ref(),
                            norm.bs.as_ref(),
                            Some(&norm.running_mean),
                            Some(&norm.running_var),
                            training,
                            *momentum,
                            *epsilon,
                            false,
                        )
                        .or_framework()?;
                    if let Some(decayed) = decayed {
                        let mut running = norm.running_var.shallow_clone();
                        tch::no_grad(|| running.f_copy_(&decayed)).or_framework()?;
                    }
                    out
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
                    shape: tensor.size().iter().map(|&d| d as usize).collect(),
                    data: to_vec(tensor)?,
                });
                Ok(())
            };
            match node {
                Node::Dense { linear, .. } => {
                    let canonical = linear
                        .ws
                        .f_tr()
                        .and_then(|t| t.f_contiguous())
                        .or_framework()?;
                    push("weight", &canonical)?;
                    if let Some(bias) = &linear.bs {
                        push("bias", bias)?;
                    }
                }
                Node::BatchNorm { norm, .. } => {
                    if let (Some(gamma), Some(beta)) = (&norm.ws, &norm.bs) {
                        push("gamma", gamma)?;
                        push("beta", beta)?;
                    }
                    push("running_mean", &norm.running_mean)?;
                    push("running_var", &norm.running_var)?;
                }
                Node::Conv { conv, .. } => {
                    push("weight", &conv.ws)?;
                    if let Some(bias) = &conv.bs {
                        push("bias", bias)?;
                    }
                }
                _ => {}
            }
        }
        Ok(Weights { tensors })
    }
}

/// `data` from the host as a tensor of shape `dims` on `device`. A tensor made from a slice is
/// on the CPU already: asking libtorch to move it there anyway is one more dispatched call per
/// tensor, and the step makes two or three.
pub fn from_host(data: &[f32], dims: &[i64], device: Device) -> Result<Tensor, BackendError> {
    // libtorch copies as many bytes as `dims` hold, whatever the slice's length.
    let values: i64 = dims.iter().product();
    if usize::try_from(values).ok() != Some(data.len()) {
        return Err(framework_error(format!(
            "{} values for a tensor of shape {dims:?}",
            data.len()
        )));
    }
    // One call that makes the tensor in its shape (from_slice + view is two).
    let tensor =
        Tensor::f_from_data_size(bytemuck::cast_slice(data), dims, Kind::Float).or_framework()?;
    on_device(tensor, device)
}

/// `tensor` (on the CPU) on `device`, without a call into libtorch when that is the CPU.
pub fn on_device(tensor: Tensor, device: Device) -> Result<Tensor, BackendError> {
    match device {
        Device::Cpu => Ok(tensor),
        _ => tensor.f_to_device(device).or_framework(),
    }
}

/// The values of `tensor`, row-major, as `f32` on the host.
pub fn to_vec(tensor: &Tensor) -> Result<Vec<f32>, BackendError> {
    let flat = tensor
        .f_detach()
        .and_then(|t| t.f_to_device(Device::Cpu))
        .and_then(|t| t.f_to_kind(Kind::Float))
        .and_then(|t| t.f_contiguous())
        .and_then(|t| t.f_flatten(0, -1))
        .or_framework()?;
    Vec::<f32>::try_from(&flat).or_framework()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_tensor_has_its_shape_and_values_or_says_why_not() {
        let tensor = from_host(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], Device::Cpu).unwrap();
        assert_eq!(tensor.size(), [2, 3]);
        assert_eq!(to_vec(&tensor).unwrap(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let error = from_host(&[1.0, 2.0, 3.0], &[2, 2], Device::Cpu).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("3 values for a tensor of shape [2, 2]"),
            "{error}"
        );
    }
}
