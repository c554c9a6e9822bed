//! Hidden-layer activations on candle tensors.
//!
//! All come from candle (`relu`, `tanh`, `elu` on [`Tensor`], `sigmoid` and `leaky_relu` from
//! `candle_nn::ops`) except SELU, which the adapter writes as `scale · elu(x, α)` with candle's
//! ELU: `candle_nn::ops::selu` takes `exp` of positive inputs too, whose overflow turns the
//! gradient of large activations into NaN.

use candle_core::{Result, Tensor};
use nnbench_core::spec::Activation;

pub fn apply(function: Activation, x: &Tensor) -> Result<Tensor> {
    match function {
        Activation::Identity => Ok(x.clone()),
        Activation::Sigmoid => candle_nn::ops::sigmoid(x),
        Activation::Tanh => x.tanh(),
        Activation::Relu => x.relu(),
        Activation::LeakyRelu => {
            candle_nn::ops::leaky_relu(x, f64::from(Activation::LEAKY_RELU_SLOPE))
        }
        Activation::Elu => x.elu(f64::from(Activation::ELU_ALPHA)),
        Activation::Selu => {
            x.elu(f64::from(Activation::SELU_ALPHA))? * f64::from(Activation::SELU_SCALE)
        }
    }
}

/// Whether candle ships this activation itself (SELU is composed by the adapter).
pub fn is_framework(function: Activation) -> bool {
    function != Activation::Selu
}
