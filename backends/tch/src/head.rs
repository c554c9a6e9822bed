//! Output heads on top of the last dense layer: the loss to differentiate and the prediction,
//! all libtorch's own operations. Losses are means over the rows of the batch:
//! - softmax cross-entropy: `log_softmax` + `nll_loss` (mean) against the class indices;
//! - sigmoid binary cross-entropy: `binary_cross_entropy_with_logits` (mean; stable for any
//!   logit) against the 0/1 targets;
//! - identity MSE: `mse_loss` (mean over all elements) times `outputs / 2`, i.e. the mean over
//!   rows of Σ ½(z − t)².
//!
//! The `step` head (Rosenblatt's perceptron rule) is not a gradient of any loss, so this
//! backend does not offer it.

use nnbench_core::spec::OutputHead;
use nnbench_core::{BackendError, Batch};
use tch::{Device, Kind, Reduction, Tensor};

use crate::error::{OrFramework, framework_error};
use crate::model;

/// Mean batch loss of raw outputs `z` (`rows × outputs`) as a differentiable scalar.
pub fn loss(
    head: OutputHead,
    z: &Tensor,
    batch: &Batch<'_>,
    outputs: usize,
    device: Device,
) -> Result<Tensor, BackendError> {
    let rows = batch.rows;
    let targets = || -> Result<Tensor, BackendError> {
        let dims = [rows as i64, outputs as i64];
        model::from_host(&batch.targets[..rows * outputs], &dims, device)
    };
    match head {
        OutputHead::SoftmaxCrossEntropy => {
            let labels: Vec<i64> = batch.labels[..rows].iter().map(|&l| i64::from(l)).collect();
            let labels = model::on_device(Tensor::f_from_slice(&labels).or_framework()?, device)?;
            z.f_log_softmax(-1, Kind::Float)
                .and_then(|log_p| log_p.f_nll_loss(&labels, None::<Tensor>, Reduction::Mean, -100))
                .or_framework()
        }
        OutputHead::SigmoidBinaryCrossEntropy => z
            .f_binary_cross_entropy_with_logits(
                &targets()?,
                None::<Tensor>,
                None::<Tensor>,
                Reduction::Mean,
            )
            .or_framework(),
        OutputHead::IdentityMse => z
            .f_mse_loss(&targets()?, Reduction::Mean)
            .and_then(|mse| mse.f_mul_scalar(outputs as f64 / 2.0))
            .or_framework(),
        OutputHead::Step => Err(framework_error(STEP_UNSUPPORTED)),
    }
}

/// The head's predictions for raw outputs `z`: probabilities for softmax and sigmoid, `z`
/// itself for identity.
pub fn predict(head: OutputHead, z: &Tensor) -> Result<Tensor, BackendError> {
    match head {
        OutputHead::SoftmaxCrossEntropy => z.f_softmax(-1, Kind::Float).or_framework(),
        OutputHead::SigmoidBinaryCrossEntropy => z.f_sigmoid().or_framework(),
        OutputHead::IdentityMse => Ok(z.shallow_clone()),
        OutputHead::Step => Err(framework_error(STEP_UNSUPPORTED)),
    }
}

/// Why the autograd network has no step head (the perceptron has its own trainer).
pub const STEP_UNSUPPORTED: &str = "the perceptron rule is not a gradient step: it runs in \
    nnbench_tch::perceptron, not through autograd";
