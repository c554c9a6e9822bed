//! Output heads on top of the last dense layer: the loss to differentiate and the prediction.
//!
//! Losses are means over the rows of the batch, as the harness defines them:
//! - softmax cross-entropy: candle's `loss::cross_entropy` (log-softmax + NLL) against the
//!   class indices;
//! - sigmoid binary cross-entropy: built by the adapter from candle's elementwise operations as
//!   `z·(½ − t) + ½|z| + ln(1 + e^−|z|)`, which is `−t·ln σ(z) − (1−t)·ln(1−σ(z))` written so
//!   that no exponential overflows and no logarithm sees 0: finite for any `z`. candle's
//!   `binary_cross_entropy_with_logit` takes `ln σ(z)` directly, which is `ln 0` (NaN loss) as
//!   soon as σ(z) rounds to 1 in f32. The usual stable form, `max(z, 0) − z·t + ln(1 + e^−|z|)`,
//!   differentiates to `−t` at `z = 0` (`max`'s and `abs`'s slopes there do not cancel), where
//!   an all-zero init starts; here the two `|z|` terms' slopes cancel whichever sign candle's
//!   `abs` gives 0, so the gradient is `½ − t`, as it should be.
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
            let half_minus_t = targets()?.affine(-1.0, 0.5).or_framework()?;
            let magnitude = z.abs().or_framework()?;
            let tail = magnitude
                .neg()
                .and_then(|t| t.exp())
                .and_then(|t| t.affine(1.0, 1.0))
                .and_then(|t| t.log())
                .or_framework()?;
            (z * half_minus_t)
                .and_then(|linear| linear + magnitude.affine(0.5, 0.0)?)
                .and_then(|sum| sum + tail)
                .and_then(|per_output| per_output.sum_all())
                .and_then(|total| total.affine(1.0 / rows as f64, 0.0))
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

#[cfg(test)]
mod tests {
    use candle_core::Var;

    use super::*;

    /// The binary cross-entropy's value and gradient against their closed forms, at the points
    /// where a naive formula breaks: `z = 0` (an all-zero init) and logits far past f32's σ.
    #[test]
    fn binary_cross_entropy_is_exact_and_finite_from_zero_to_huge_logits() {
        let logits = [0.0f32, 0.0, 3.0, -3.0, 40.0, -40.0, 200.0, -200.0];
        let targets = [1.0f32, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0];
        let rows = logits.len();
        let z = Var::from_slice(&logits, (rows, 1), &Device::Cpu).unwrap();
        let batch = Batch {
            inputs: &[],
            rows,
            features: 0,
            labels: &[0; 8],
            targets: &targets,
        };
        let loss = loss(
            OutputHead::SigmoidBinaryCrossEntropy,
            z.as_tensor(),
            &batch,
            1,
            &Device::Cpu,
        )
        .unwrap();
        let gradient: Vec<f32> = loss
            .backward()
            .unwrap()
            .get(z.as_tensor())
            .expect("a gradient for the logits")
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();

        let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
        let expected_loss: f64 = logits
            .iter()
            .zip(&targets)
            .map(|(&z, &t)| {
                let (z, t) = (f64::from(z), f64::from(t));
                z.max(0.0) - z * t + (-z.abs()).exp().ln_1p()
            })
            .sum::<f64>()
            / rows as f64;
        let measured = f64::from(loss.to_scalar::<f32>().unwrap());
        assert!(
            (measured - expected_loss).abs() < 1e-5 * expected_loss,
            "{measured} != {expected_loss}"
        );
        for ((&z, &t), &g) in logits.iter().zip(&targets).zip(&gradient) {
            let expected = (sigmoid(f64::from(z)) - f64::from(t)) / rows as f64;
            assert!(
                (f64::from(g) - expected).abs() < 1e-7,
                "at z = {z}, t = {t}: {g} != {expected}"
            );
        }
    }
}
