//! The resolved network: a scenario's model with the input and output widths filled in from
//! the dataset, as the flat list of layers every backend builds.

use serde::Serialize;

use crate::spec::{Activation, LayerSpec, ModelSpec, OutputHead};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    pub inputs: usize,
    /// Output units of the head (see [`OutputHead::units`]).
    pub outputs: usize,
    /// All layers in order; the last one is the output dense layer, with `Identity`
    /// activation: the head (softmax, sigmoid, step) is applied on top of it.
    pub layers: Vec<Layer>,
    pub head: OutputHead,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Layer {
    Dense {
        fan_in: usize,
        fan_out: usize,
        activation: Activation,
    },
    Activation {
        function: Activation,
        width: usize,
    },
    Dropout {
        rate: f32,
        width: usize,
    },
    BatchNorm {
        features: usize,
        momentum: f32,
        epsilon: f32,
    },
}

impl Layer {
    /// Width of this layer's output.
    pub fn width(&self) -> usize {
        match *self {
            Layer::Dense { fan_out, .. } => fan_out,
            Layer::Activation { width, .. } | Layer::Dropout { width, .. } => width,
            Layer::BatchNorm { features, .. } => features,
        }
    }
}

impl Network {
    pub fn new(model: &ModelSpec, inputs: usize, classes: usize) -> Network {
        let mut layers = Vec::with_capacity(model.layers.len() + 1);
        let mut width = inputs;
        for spec in &model.layers {
            let layer = match *spec {
                LayerSpec::Dense { units, activation } => Layer::Dense {
                    fan_in: width,
                    fan_out: units,
                    activation,
                },
                LayerSpec::Activation { function } => Layer::Activation { function, width },
                LayerSpec::Dropout { rate } => Layer::Dropout {
                    rate: rate as f32,
                    width,
                },
                LayerSpec::BatchNorm { momentum, epsilon } => Layer::BatchNorm {
                    features: width,
                    momentum: momentum as f32,
                    epsilon: epsilon as f32,
                },
            };
            width = layer.width();
            layers.push(layer);
        }
        let outputs = model.output.head.units(classes);
        layers.push(Layer::Dense {
            fan_in: width,
            fan_out: outputs,
            activation: Activation::Identity,
        });
        Network {
            inputs,
            outputs,
            layers,
            head: model.output.head,
        }
    }

    /// Indices (into `layers`) of the dense layers, input side first: the order of
    /// per-layer gradient norms.
    pub fn dense_layers(&self) -> impl Iterator<Item = usize> + '_ {
        self.layers
            .iter()
            .enumerate()
            .filter(|(_, layer)| matches!(layer, Layer::Dense { .. }))
            .map(|(index, _)| index)
    }

    /// Why `values` input values are not `rows` rows of `features` this network can take: the
    /// check every adapter makes before it builds a tensor, so that a bad batch is an error
    /// and never a framework's panic.
    pub fn check_inputs(&self, values: usize, rows: usize, features: usize) -> Result<(), String> {
        if features != self.inputs || rows == 0 || values < rows * features {
            return Err(format!(
                "a batch of {rows} rows × {features} features ({values} values) does not fit a \
                 network with {} inputs",
                self.inputs
            ));
        }
        Ok(())
    }

    /// Trainable parameter count (batch-norm running statistics excluded).
    pub fn parameter_count(&self) -> usize {
        self.layers
            .iter()
            .map(|layer| match *layer {
                Layer::Dense {
                    fan_in, fan_out, ..
                } => fan_in * fan_out + fan_out,
                Layer::BatchNorm { features, .. } => 2 * features,
                _ => 0,
            })
            .sum()
    }
}
