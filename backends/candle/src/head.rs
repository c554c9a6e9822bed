//! Output heads on top of the last dense layer: the loss to differentiate and the prediction.
//!
//! Losses are means over the rows of the batch, as the harness defines them:
//! - softmax cross-entropy: candle's `loss::cross_entropy` (log-softmax + NLL) against the
//!   class indices;
//! - sigmoid binary cross-entropy: built by the adapter as the cross-entropy of the two logits
//!   `[0, z]` (candle's `log_softmax`), which is exactly `−t·ln σ(z) − (1−t)·ln(1−σ(z))` and
//!   stays finite for any `z`; candle's `binary_cross_entropy_with_logit` takes `ln σ(z)`
//!   directly, which is `ln 0` (NaN loss) as soon as σ(z) rounds to 1 in f32;
//! - identity MSE: candle's `loss::mse` (mean over all elements) times `outputs / 2`, i.e. the
//!   mean over rows of Σ ½(z − t)².
//!
//! The `step` head (Rosenblatt's perceptron rule) is not a gradient of any loss, so this
//! backend does not offer it.

use candle_core::{D, Device, Tensor};
use nnbench_core::spec::OutputHead;
use nnbench_core::{BackendError, Batch};

use crate::error::{OrFramework, framework_error};

/// Mean batch loss of raw outputs `z` (`rows × outputs`) as a differentiable scalar.
pub fn loss(
    head: OutputHead,
    z: &Tensor,
    batch: &Batch<'_>,
    outputs: usize,
    device: &Device,
) -> Result<Tensor, BackendError> {
    let rows = batch.rows;
    let targets = || {
        Tensor::from_slice(&batch.targets[..rows * outputs], (rows, outputs), device).or_framework()
    };
    match head {
        OutputHead::SoftmaxCrossEntropy => {
            let labels = Tensor::from_slice(&batch.labels[..rows], rows, device).or_framework()?;
            candle_nn::loss::cross_entropy(z, &labels).or_framework()
        }
        OutputHead::SigmoidBinaryCrossEntropy => {
            let t = targets()?;
            let logits = Tensor::cat(&[&z.zeros_like().or_framework()?, z], 1).or_framework()?;
            let log_p = candle_nn::ops::log_softmax(&logits, D::Minus1).or_framework()?;
            let one_minus_t = t.affine(-1.0, 1.0).or_framework()?;
            let t2 = Tensor::cat(&[&one_minus_t, &t], 1).or_framework()?;
            (log_p * t2)
                .and_then(|product| product.sum_all())
                .and_then(|total| total.affine(-1.0 / rows as f64, 0.0))
                .or_framework()
        }
        OutputHead::IdentityMse => {
            let t = targets()?;
            candle_nn::loss::mse(z, &t)
                .and_then(|mse| mse.affine(outputs as f64 / 2.0, 0.0))
                .or_framework()
        }
        OutputHead::Step => Err(framework_error(STEP_UNSUPPORTED)),
    }
}

/// The head's predictions for raw outputs `z`: probabilities for softmax and sigmoid, `z`
/// itself for identity.
pub fn predict(head: OutputHead, z: &Tensor) -> Result<Tensor, BackendError> {
    match head {
        OutputHead::SoftmaxCrossEntropy => candle_nn::ops::softmax(z, D::Minus1).or_framework(),
        OutputHead::SigmoidBinaryCrossEntropy => candle_nn::ops::sigmoid(z).or_framework(),
        OutputHead::IdentityMse => Ok(z.clone()),
        OutputHead::Step => Err(framework_error(STEP_UNSUPPORTED)),
    }
}

/// Why the autograd network has no step head (the perceptron has its own trainer).
pub const STEP_UNSUPPORTED: &str = "the perceptron rule is not a gradient step: it runs in \
    nnbench_candle::perceptron, not through autograd";
