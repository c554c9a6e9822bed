//! Network parameters in the one canonical layout every backend loads and exports.
//!
//! Tensors are named after the index of their layer in [`Network::layers`]:
//! - dense layer `i`: `"{i}.weight"`, shape `[fan_in, fan_out]`, row-major (so `y = x · W + b`),
//!   and `"{i}.bias"`, shape `[fan_out]`; a residual block likewise, with `fan_in = fan_out`
//!   (its `y = x + f(x · W + b)`);
//! - conv2d layer `i`: `"{i}.weight"`, shape `[out_channels, in_channels, kh, kw]`, row-major
//!   (PyTorch's layout), and `"{i}.bias"`, shape `[out_channels]`;
//! - batch-norm layer `i`: `"{i}.gamma"`, `"{i}.beta"` (trainable) and `"{i}.running_mean"`,
//!   `"{i}.running_var"` (statistics), each of shape `[features]`.
//!
//! Frameworks that store a linear layer as `[out, in]` (candle, libtorch) transpose on load and
//! export.

use serde::Serialize;

use crate::network::{Layer, Network};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Weights {
    pub tensors: Vec<Tensor>,
}

impl Weights {
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|tensor| tensor.name == name)
    }

    /// The tensor named `name` with exactly `shape`, or a message saying what is wrong.
    pub fn expect(&self, name: &str, shape: &[usize]) -> Result<&Tensor, String> {
        let tensor = self
            .get(name)
            .ok_or_else(|| format!("missing tensor {name}"))?;
        if tensor.shape != shape || tensor.data.len() != shape.iter().product::<usize>() {
            return Err(format!(
                "tensor {name} has shape {:?} ({} values), expected {shape:?}",
                tensor.shape,
                tensor.data.len()
            ));
        }
        Ok(tensor)
    }

    /// Largest absolute difference between same-named tensors, and the largest difference of
    /// a whole tensor relative to the reference tensor's size, `‖self − other‖₂ / ‖other‖₂`
    /// (`other` is the reference). Measured against each tensor's norm, not each weight, so a
    /// weight near zero that differs by 2e-6 does not read as a 14 % difference. Tensors
    /// present on one side only are ignored.
    pub fn max_difference(&self, other: &Weights) -> (f32, f32) {
        let mut absolute = 0.0f32;
        let mut relative = 0.0f64;
        for tensor in &self.tensors {
            let Some(theirs) = other.get(&tensor.name) else {
                continue;
            };
            let (mut difference, mut size) = (0.0f64, 0.0f64);
            for (&a, &b) in tensor.data.iter().zip(&theirs.data) {
                absolute = absolute.max((a - b).abs());
                difference += f64::from(a - b).powi(2);
                size += f64::from(b).powi(2);
            }
            if difference > 0.0 {
                relative = relative.max((difference / size.max(1e-24)).sqrt());
            }
        }
        (absolute, relative as f32)
    }

    /// Zero-filled tensors of the right shapes (running variances filled with 1).
    pub fn zeros_for(network: &Network) -> Weights {
        let mut tensors = Vec::new();
        for (index, layer) in network.layers.iter().enumerate() {
            match *layer {
                Layer::Dense {
                    fan_in, fan_out, ..
                }
                | Layer::Residual {
                    width: fan_in @ fan_out,
                    ..
                } => {
                    tensors.push(tensor(index, "weight", &[fan_in, fan_out], 0.0));
                    tensors.push(tensor(index, "bias", &[fan_out], 0.0));
                }
                Layer::BatchNorm { features, .. } => {
                    tensors.push(tensor(index, "gamma", &[features], 1.0));
                    tensors.push(tensor(index, "beta", &[features], 0.0));
                    tensors.push(tensor(index, "running_mean", &[features], 0.0));
                    tensors.push(tensor(index, "running_var", &[features], 1.0));
                }
                Layer::Conv2d {
                    input,
                    output,
                    kernel_size: k,
                    ..
                } => {
                    let shape = [output.channels, input.channels, k, k];
                    tensors.push(tensor(index, "weight", &shape, 0.0));
                    tensors.push(tensor(index, "bias", &[output.channels], 0.0));
                }
                Layer::Activation { .. }
                | Layer::Dropout { .. }
                | Layer::MaxPool2d { .. }
                | Layer::AvgPool2d { .. }
                | Layer::Flatten { .. } => {}
            }
        }
        Weights { tensors }
    }
}

impl Weights {
    /// The f32 tensors of a safetensors file (`bytes`), in the file's order.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Weights, String> {
        let file = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|error| format!("not a safetensors file: {error}"))?;
        let mut tensors = Vec::new();
        for (name, view) in file.iter() {
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(format!(
                    "tensor {name} is {:?}; nnbench reads F32 tensors",
                    view.dtype()
                ));
            }
            let data = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            tensors.push(Tensor {
                name: name.to_string(),
                shape: view.shape().to_vec(),
                data,
            });
        }
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Weights { tensors })
    }

    /// `self` in the order and shapes of `network`'s tensors, or every mismatch: a missing
    /// tensor, one of another shape (expected and found), one the network does not have.
    pub fn fitted_to(&self, network: &Network) -> Result<Weights, Vec<String>> {
        let expected = Weights::zeros_for(network);
        let mut problems = Vec::new();
        let mut tensors = Vec::new();
        for want in &expected.tensors {
            match self.expect(&want.name, &want.shape) {
                Ok(found) => tensors.push(found.clone()),
                Err(_) if self.get(&want.name).is_none() => problems.push(format!(
                    "tensor {} is missing (expected shape {:?})",
                    want.name, want.shape
                )),
                Err(message) => problems.push(message),
            }
        }
        for tensor in &self.tensors {
            if expected.get(&tensor.name).is_none() {
                problems.push(format!(
                    "tensor {} (shape {:?}) is no tensor of this network (it has {})",
                    tensor.name,
                    tensor.shape,
                    expected
                        .tensors
                        .iter()
                        .map(|t| format!("{} {:?}", t.name, t.shape))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if problems.is_empty() {
            Ok(Weights { tensors })
        } else {
            Err(problems)
        }
    }
}

fn tensor(layer: usize, kind: &str, shape: &[usize], fill: f32) -> Tensor {
    Tensor {
        name: format!("{layer}.{kind}"),
        shape: shape.to_vec(),
        data: vec![fill; shape.iter().product()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(data: Vec<f32>) -> Weights {
        Weights {
            tensors: vec![Tensor {
                name: "0.weight".into(),
                shape: vec![data.len()],
                data,
            }],
        }
    }

    #[test]
    fn the_relative_difference_is_against_the_tensor_not_each_weight() {
        // A weight near zero that moved by 2e-6 in a tensor of norm 1: a 2e-6 difference,
        // not the 14 % a per-weight ratio would read.
        let reference = weights(vec![0.6, 0.8, 1.4e-5]);
        let other = weights(vec![0.6, 0.8, 1.6e-5]);
        let (absolute, relative) = other.max_difference(&reference);
        assert!((absolute - 2e-6).abs() < 1e-9, "{absolute}");
        assert!((relative - 2e-6).abs() < 1e-8, "{relative}");
        assert_eq!(reference.max_difference(&reference), (0.0, 0.0));
    }
}
