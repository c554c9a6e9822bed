//! Dead units: the share of each hidden dense layer's (or residual block's) units whose
//! pre-activation is ≤ 0 for every row of a sample of the training split. Behind a ReLU such a unit outputs 0 and gets a
//! zero gradient for every input, so nothing brings it back (the course's "zone morte");
//! behind a leaky ReLU it is in its negative zone everywhere but still learns through the
//! slope.
//!
//! The harness computes it from each backend's exported weights with one forward pass of its
//! own, the same code for every backend: no backend reports its own activations.

use crate::network::{Layer, Network};
use crate::weights::Weights;

/// Rows of the training split the fractions are measured on (the first ones, in file order).
pub const SAMPLE_ROWS: usize = 2000;

/// For each hidden dense layer (input side first; the output layer is left out), the
/// fraction of its units that are dead on `rows` rows of `inputs`. Dropout is the identity
/// and batch norm uses its running statistics, as in evaluation mode.
pub fn fractions(
    network: &Network,
    weights: &Weights,
    inputs: &[f32],
    rows: usize,
) -> Result<Vec<f64>, String> {
    let last_dense = network
        .layers
        .iter()
        .rposition(|layer| matches!(layer, Layer::Dense { .. }));
    let width = network.inputs;
    if inputs.len() < rows * width {
        return Err(format!(
            "{} input values for {rows} rows of {width} features",
            inputs.len()
        ));
    }
    let mut x = inputs[..rows * width].to_vec();
    let mut dead = Vec::new();
    for (index, layer) in network.layers.iter().enumerate() {
        match *layer {
            Layer::Dense { .. } | Layer::Residual { .. } => {
                let (fan_in, fan_out, activation) =
                    layer.dense_like().expect("a dense layer or residual block");
                let w = &weights
                    .expect(&format!("{index}.weight"), &[fan_in, fan_out])?
                    .data;
                let b = &weights.expect(&format!("{index}.bias"), &[fan_out])?.data;
                let mut z = Vec::with_capacity(rows * fan_out);
                for row in x.chunks_exact(fan_in) {
                    let start = z.len();
                    z.extend_from_slice(b);
                    let out = &mut z[start..];
                    for (&value, w_row) in row.iter().zip(w.chunks_exact(fan_out)) {
                        if value != 0.0 {
                            out.iter_mut()
                                .zip(w_row)
                                .for_each(|(o, &w)| *o += value * w);
                        }
                    }
                }
                if Some(index) != last_dense {
                    let alive = (0..fan_out)
                        .filter(|&unit| z.chunks_exact(fan_out).any(|pre| pre[unit] > 0.0));
                    let dead_units = fan_out - alive.count();
                    dead.push(dead_units as f64 / fan_out.max(1) as f64);
                }
                z.iter_mut().for_each(|v| *v = activation.apply(*v));
                if matches!(layer, Layer::Residual { .. }) {
                    z.iter_mut().zip(&x).for_each(|(z, x)| *z += x);
                }
                x = z;
            }
            Layer::Activation { function, .. } => {
                x.iter_mut().for_each(|v| *v = function.apply(*v));
            }
            Layer::Dropout { .. } | Layer::Flatten { .. } => {}
            Layer::Conv2d { .. } | Layer::MaxPool2d { .. } | Layer::AvgPool2d { .. } => {
                return Err(
                    "dead units are measured on dense networks, not convolutional ones".into(),
                );
            }
            Layer::BatchNorm {
                features, epsilon, ..
            } => {
                let get = |kind: &str| {
                    weights
                        .expect(&format!("{index}.{kind}"), &[features])
                        .map(|t| t.data.as_slice())
                };
                let (gamma, beta) = (get("gamma")?, get("beta")?);
                let (mean, var) = (get("running_mean")?, get("running_var")?);
                for row in x.chunks_exact_mut(features.max(1)) {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = (*v - mean[j]) / (var[j] + epsilon).sqrt() * gamma[j] + beta[j];
                    }
                }
            }
        }
    }
    Ok(dead)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Activation, LayerSpec, ModelSpec, OutputHead, OutputSpec};
    use crate::weights::Tensor;

    fn network(activation: Activation, batch_norm: bool) -> Network {
        let mut layers = vec![LayerSpec::Dense {
            units: 3,
            activation,
        }];
        if batch_norm {
            layers.push(LayerSpec::BatchNorm {
                momentum: 0.1,
                epsilon: 1e-5,
            });
        }
        let model = ModelSpec {
            layers,
            output: OutputSpec {
                head: OutputHead::SoftmaxCrossEntropy,
            },
            threshold: 0.0,
        };
        Network::new(&model, 2, 2)
    }

    fn tensor(name: &str, shape: Vec<usize>, data: Vec<f32>) -> Tensor {
        Tensor {
            name: name.into(),
            shape,
            data,
        }
    }

    /// Unit 0 is positive somewhere, unit 1 never (its bias sinks it), unit 2 only at the
    /// second row.
    fn weights(output_layer: usize) -> Weights {
        Weights {
            tensors: vec![
                tensor("0.weight", vec![2, 3], vec![1.0, 0.0, 0.0, 0.0, 1.0, 1.0]),
                tensor("0.bias", vec![3], vec![0.0, -10.0, -0.5]),
                tensor(&format!("{output_layer}.weight"), vec![3, 2], vec![0.0; 6]),
                tensor(&format!("{output_layer}.bias"), vec![2], vec![0.0; 2]),
            ],
        }
    }

    #[test]
    fn a_unit_is_dead_when_no_row_makes_it_positive() {
        let inputs = [1.0, 0.0, 0.0, 1.0];
        let net = network(Activation::Relu, false);
        assert_eq!(
            fractions(&net, &weights(1), &inputs, 2).unwrap(),
            vec![1.0 / 3.0]
        );
        // Only the first row: unit 2 never fires either.
        assert_eq!(
            fractions(&net, &weights(1), &inputs, 1).unwrap(),
            vec![2.0 / 3.0]
        );
        // The measure is on the pre-activation: the same for leaky relu.
        let leaky = network(Activation::LeakyRelu, false);
        assert_eq!(
            fractions(&leaky, &weights(1), &inputs, 2).unwrap(),
            vec![1.0 / 3.0]
        );
    }

    #[test]
    fn batch_norm_statistics_are_read_and_a_missing_tensor_is_named() {
        let net = network(Activation::Relu, true);
        let mut with_norm = weights(2);
        for (kind, value) in [
            ("gamma", 1.0),
            ("beta", 0.0),
            ("running_mean", 0.0),
            ("running_var", 1.0),
        ] {
            with_norm
                .tensors
                .push(tensor(&format!("1.{kind}"), vec![3], vec![value; 3]));
        }
        let inputs = [1.0, 0.0, 0.0, 1.0];
        assert_eq!(
            fractions(&net, &with_norm, &inputs, 2).unwrap(),
            vec![1.0 / 3.0]
        );
        let error = fractions(&net, &weights(2), &inputs, 2).unwrap_err();
        assert!(error.contains("1.gamma"), "{error}");
    }
}
