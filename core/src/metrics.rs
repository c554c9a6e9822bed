//! Metrics computed by the harness from a backend's predictions, so that every framework is
//! scored by the same code: loss per head and accuracy.

use crate::data::Split;
use crate::network::Network;
use crate::spec::OutputHead;

/// Probabilities are clamped away from 0 and 1 before taking logs, so a confidently wrong
/// prediction costs a large but finite loss (−ln 1e-7 ≈ 16), as in Keras and scikit-learn.
const PROBABILITY_FLOOR: f64 = 1e-7;

/// Loss and accuracy of a set of predictions.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Score {
    pub loss: f64,
    pub accuracy: f64,
}

/// Target rows for `labels` under `head`: one-hot for multi-unit heads, the label as 0/1 for
/// one-unit heads.
pub fn encode_targets(labels: &[u32], outputs: usize) -> Vec<f32> {
    let mut targets = vec![0.0f32; labels.len() * outputs];
    for (row, &label) in labels.iter().enumerate() {
        if outputs == 1 {
            targets[row] = if label == 0 { 0.0 } else { 1.0 };
        } else {
            targets[row * outputs + label as usize] = 1.0;
        }
    }
    targets
}

/// The class an output row predicts: the arg-max, or for a one-unit head (probability, 0/1
/// step output or regression onto 0/1) whether the output reaches one half.
pub fn predicted_class(row: &[f32]) -> u32 {
    if row.len() == 1 {
        return u32::from(row[0] >= 0.5);
    }
    let mut best = 0;
    for (index, &value) in row.iter().enumerate() {
        if value > row[best] {
            best = index;
        }
    }
    best as u32
}

/// Loss and accuracy of `outputs` (rows × network.outputs, after the head) against `labels`.
pub fn score(outputs: &[f32], labels: &[u32], network: &Network) -> Score {
    let width = network.outputs;
    let rows = labels.len();
    if rows == 0 {
        return Score {
            loss: 0.0,
            accuracy: 0.0,
        };
    }
    let mut loss = 0.0f64;
    let mut correct = 0usize;
    for (row, &label) in outputs.chunks_exact(width).zip(labels) {
        if predicted_class(row) == label {
            correct += 1;
        }
        loss += row_loss(row, label, network.head);
    }
    Score {
        loss: loss / rows as f64,
        accuracy: correct as f64 / rows as f64,
    }
}

fn row_loss(row: &[f32], label: u32, head: OutputHead) -> f64 {
    let clamp = |p: f32| f64::from(p).clamp(PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR);
    match head {
        OutputHead::SoftmaxCrossEntropy => -clamp(row[label as usize]).ln(),
        OutputHead::SigmoidBinaryCrossEntropy => {
            let p = clamp(row[0]);
            if label == 0 { -(1.0 - p).ln() } else { -p.ln() }
        }
        OutputHead::IdentityMse => {
            let mut sum = 0.0;
            for (unit, &value) in row.iter().enumerate() {
                let target = if row.len() == 1 {
                    f64::from(label.min(1))
                } else {
                    f64::from(u8::from(unit == label as usize))
                };
                sum += 0.5 * (f64::from(value) - target).powi(2);
            }
            sum
        }
        OutputHead::Step => {
            let predicted = u32::from(row[0] >= 0.5);
            f64::from(u8::from(predicted != label.min(1)))
        }
    }
}

/// Rows per `predict` call while evaluating, to bound memory on large splits.
pub const EVAL_CHUNK_ROWS: usize = 4096;

/// Scores `predict` over a whole split, in chunks.
pub fn evaluate<E>(
    split: &Split,
    features: usize,
    network: &Network,
    mut predict: impl FnMut(&[f32], usize) -> Result<Vec<f32>, E>,
) -> Result<Score, E> {
    let mut outputs = Vec::with_capacity(split.rows * network.outputs);
    let mut start = 0;
    while start < split.rows {
        let rows = EVAL_CHUNK_ROWS.min(split.rows - start);
        let inputs = &split.inputs[start * features..(start + rows) * features];
        outputs.extend(predict(inputs, rows)?);
        start += rows;
    }
    Ok(score(&outputs, &split.labels, network))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{ModelSpec, OutputSpec};

    fn network(head: OutputHead, classes: usize) -> Network {
        let model = ModelSpec {
            layers: vec![],
            output: OutputSpec { head },
            threshold: 0.0,
        };
        Network::new(&model, 2, classes)
    }

    #[test]
    fn cross_entropy_and_accuracy() {
        let net = network(OutputHead::SoftmaxCrossEntropy, 3);
        let outputs = [0.7, 0.2, 0.1, 0.1, 0.1, 0.8];
        let s = score(&outputs, &[0, 1], &net);
        let expected = (-(0.7f64).ln() - (0.1f64).ln()) / 2.0;
        assert!((s.loss - expected).abs() < 1e-6);
        assert_eq!(s.accuracy, 0.5);
    }

    #[test]
    fn binary_heads() {
        let net = network(OutputHead::SigmoidBinaryCrossEntropy, 2);
        let s = score(&[0.9, 0.2], &[1, 0], &net);
        assert!((s.loss - (-(0.9f64).ln() - (0.8f64).ln()) / 2.0).abs() < 1e-6);
        assert_eq!(s.accuracy, 1.0);
        let step = network(OutputHead::Step, 2);
        let s = score(&[1.0, 1.0, 0.0, 0.0], &[1, 0, 0, 1], &step);
        assert_eq!((s.loss, s.accuracy), (0.5, 0.5));
    }

    #[test]
    fn mse_is_half_squared_error_summed_over_outputs() {
        let net = network(OutputHead::IdentityMse, 3);
        let s = score(&[1.0, 0.0, 0.5], &[0], &net);
        assert!((s.loss - 0.125).abs() < 1e-9);
        assert_eq!(encode_targets(&[2, 0], 3), [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        assert_eq!(encode_targets(&[1, 0], 1), [1.0, 0.0]);
    }
}
