//! Output heads: the function applied on top of the last dense layer, its loss, and the
//! gradient of the mean batch loss with respect to the last layer's output.
//!
//! Losses are means over the rows of the batch, as the harness defines them
//! ([`OutputHead`]); gradients are therefore divided by the row count.

use nnbench_core::spec::OutputHead;

use crate::activation::sigmoid;

/// Turns raw outputs `z` (`rows × width`) into the head's predictions, in place; `threshold`
/// is the step unit's.
pub fn predict(head: OutputHead, z: &mut [f32], width: usize, threshold: f32) {
    match head {
        OutputHead::SoftmaxCrossEntropy => z.chunks_exact_mut(width).for_each(softmax),
        OutputHead::SigmoidBinaryCrossEntropy => z.iter_mut().for_each(|v| *v = sigmoid(*v)),
        OutputHead::IdentityMse => {}
        OutputHead::Step => z.iter_mut().for_each(|v| *v = step(*v, threshold)),
    }
}

/// The course's `prediction = 1 si valeur > seuil sinon 0`.
fn step(z: f32, threshold: f32) -> f32 {
    if z > threshold { 1.0 } else { 0.0 }
}

fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    row.iter_mut().for_each(|v| *v /= sum);
}

/// Mean loss over the batch; `z` is replaced by d(loss)/dz.
///
/// The step unit's "gradient" is the perceptron rule: −(y − ŷ) on misclassified rows and 0
/// elsewhere, so that a gradient step w ← w − η·xᵀ·dz is Rosenblatt's w ← w + η (y − ŷ) x.
pub fn loss_and_gradient(
    head: OutputHead,
    z: &mut [f32],
    targets: &[f32],
    width: usize,
    threshold: f32,
) -> f32 {
    let rows = z.len() / width.max(1);
    let scale = 1.0 / rows.max(1) as f32;
    let total: f64 = z
        .chunks_exact_mut(width.max(1))
        .zip(targets.chunks_exact(width.max(1)))
        .map(|(row, target)| row_loss_and_gradient(head, row, target, threshold, scale))
        .sum();
    mean_loss(total, rows)
}

/// The mean of the rows' losses summed in row order (as [`loss_and_gradient`] sums them).
pub fn mean_loss(total: f64, rows: usize) -> f32 {
    (total / rows.max(1) as f64) as f32
}

/// One row's loss; `z` (one row of raw outputs) is replaced by its part of the gradient of
/// the batch's mean loss, `scale` being 1 / the batch's rows.
pub fn row_loss_and_gradient(
    head: OutputHead,
    z: &mut [f32],
    target: &[f32],
    threshold: f32,
    scale: f32,
) -> f64 {
    let mut total = 0.0f64;
    match head {
        OutputHead::SoftmaxCrossEntropy => {
            let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let log_sum = z.iter().map(|&v| (v - max).exp()).sum::<f32>().ln() + max;
            for (v, &t) in z.iter_mut().zip(target) {
                let log_p = *v - log_sum;
                total -= f64::from(t * log_p);
                *v = (log_p.exp() - t) * scale;
            }
        }
        OutputHead::SigmoidBinaryCrossEntropy => {
            for (v, &t) in z.iter_mut().zip(target) {
                // max(z, 0) − z·t + ln(1 + e^−|z|): the loss without overflow for any z.
                total += f64::from(v.max(0.0) - *v * t + (-v.abs()).exp().ln_1p());
                *v = (sigmoid(*v) - t) * scale;
            }
        }
        OutputHead::IdentityMse => {
            for (v, &t) in z.iter_mut().zip(target) {
                let error = *v - t;
                total += f64::from(0.5 * error * error);
                *v = error * scale;
            }
        }
        OutputHead::Step => {
            for (v, &t) in z.iter_mut().zip(target) {
                let error = t - step(*v, threshold);
                total += f64::from(error.abs());
                *v = -error * scale;
            }
        }
    }
    total
}
