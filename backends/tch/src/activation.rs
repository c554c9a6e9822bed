//! Hidden-layer activations: every one is libtorch's own operation (`relu`, `sigmoid`,
//! `tanh`, `leaky_relu` with PyTorch's default slope 0.01, `elu` with α 1, `selu` with the
//! constants of Klambauer et al.), which are exactly the spec's constants.

use nnbench_core::spec::Activation;
use tch::{TchError, Tensor};

pub fn apply(function: Activation, x: &Tensor) -> Result<Tensor, TchError> {
    match function {
        Activation::Identity => Ok(x.shallow_clone()),
        Activation::Sigmoid => x.f_sigmoid(),
        Activation::Tanh => x.f_tanh(),
        Activation::Relu => x.f_relu(),
        Activation::LeakyRelu => x.f_leaky_relu(),
        Activation::Elu => x.f_elu(),
        Activation::Selu => x.f_selu(),
    }
}
