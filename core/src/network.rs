//! The resolved network: a scenario's model with the input and output widths filled in from
//! the dataset, as the flat list of layers every backend builds.

use serde::Serialize;

use crate::spec::shape::{ShapeError, layer_shapes, model_input};
use crate::spec::{Activation, LayerSpec, ModelSpec, OutputHead};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    /// Values per example (the product of `input_shape`).
    pub inputs: usize,
    /// The shape of one example: `[features]`, or `[channels, height, width]` for an image
    /// (rows then hold each channel's pixels row by row: NCHW). A network without convolution
    /// or pooling reads an image as flat features.
    pub input_shape: Vec<usize>,
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
    /// A residual dense block, `y = x + activation(x·W + b)`: its weights are a `[width,
    /// width]` dense layer's, in the same place of the canonical layout.
    Residual {
        width: usize,
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
    /// Convolution then activation; `padding` zeros on each side.
    Conv2d {
        input: Image,
        output: Image,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        activation: Activation,
    },
    MaxPool2d {
        input: Image,
        output: Image,
        size: usize,
        stride: usize,
    },
    AvgPool2d {
        input: Image,
        output: Image,
        size: usize,
        stride: usize,
    },
    /// The identity on the values: only the shape changes, to `[width]`.
    Flatten {
        width: usize,
    },
}

/// The shape of an image: channels, height, width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Image {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl Image {
    fn from_shape(shape: &[usize]) -> Option<Image> {
        match *shape {
            [channels, height, width] => Some(Image {
                channels,
                height,
                width,
            }),
            _ => None,
        }
    }

    /// Values in one image.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Pixels in one channel.
    pub fn area(&self) -> usize {
        self.height * self.width
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Layer {
    /// `(fan_in, fan_out, activation)` of a layer whose weights are a dense layer's: a dense
    /// layer or a residual block (square, `fan_in == fan_out`).
    pub fn dense_like(&self) -> Option<(usize, usize, Activation)> {
        match *self {
            Layer::Dense {
                fan_in,
                fan_out,
                activation,
            } => Some((fan_in, fan_out, activation)),
            Layer::Residual { width, activation } => Some((width, width, activation)),
            _ => None,
        }
    }

    /// Width of this layer's output.
    pub fn width(&self) -> usize {
        match *self {
            Layer::Dense { fan_out, .. } => fan_out,
            Layer::Residual { width, .. } => width,
            Layer::Activation { width, .. } | Layer::Dropout { width, .. } => width,
            Layer::BatchNorm { features, .. } => features,
            Layer::Conv2d { output, .. }
            | Layer::MaxPool2d { output, .. }
            | Layer::AvgPool2d { output, .. } => output.len(),
            Layer::Flatten { width } => width,
        }
    }
}

impl Network {
    /// The network of `model` for flat inputs of `inputs` features.
    ///
    /// # Panics
    /// When `model` has layers that need an image input (conv2d, pooling); build those with
    /// [`Network::shaped`]. Scenario checks make sure a scenario never gets here with one.
    pub fn new(model: &ModelSpec, inputs: usize, classes: usize) -> Network {
        Network::shaped(model, &[inputs], classes)
            .unwrap_or_else(|error| panic!("Network::new takes flat inputs: {error}"))
    }

    /// The network of `model` for examples of shape `input_shape` (`[features]` or
    /// `[channels, height, width]`); the error names the first layer whose input does not
    /// fit (the scenario check reports the same before anything trains).
    pub fn shaped(
        model: &ModelSpec,
        input_shape: &[usize],
        classes: usize,
    ) -> Result<Network, ShapeError> {
        let shapes = layer_shapes(model, input_shape)?;
        let mut layers = Vec::with_capacity(model.layers.len() + 1);
        let mut shape = model_input(model, input_shape);
        for (spec, out) in model.layers.iter().zip(shapes) {
            let width: usize = shape.iter().product();
            // `layer_shapes` accepted the stack, so spatial layers have image shapes here.
            let image = |s: &[usize]| {
                Image::from_shape(s).unwrap_or(Image {
                    channels: 0,
                    height: 0,
                    width: 0,
                })
            };
            let layer = match *spec {
                LayerSpec::Dense { units, activation } => Layer::Dense {
                    fan_in: width,
                    fan_out: units,
                    activation,
                },
                LayerSpec::Residual { units, activation } => Layer::Residual {
                    width: units,
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
                LayerSpec::Conv2d {
                    kernel_size,
                    stride,
                    padding,
                    activation,
                    ..
                } => Layer::Conv2d {
                    input: image(&shape),
                    output: image(&out),
                    kernel_size,
                    stride,
                    padding: padding.amount(kernel_size),
                    activation,
                },
                LayerSpec::MaxPool2d { size, stride } => Layer::MaxPool2d {
                    input: image(&shape),
                    output: image(&out),
                    size,
                    stride,
                },
                LayerSpec::AvgPool2d { size, stride } => Layer::AvgPool2d {
                    input: image(&shape),
                    output: image(&out),
                    size,
                    stride,
                },
                LayerSpec::Flatten => Layer::Flatten { width },
            };
            layers.push(layer);
            shape = out;
        }
        let outputs = model.output.head.units(classes);
        let width: usize = shape.iter().product();
        if shape.len() != 1 {
            return Err(ShapeError {
                index: model.layers.len(),
                kind: "output",
                input: shape,
                message: "the output layer is dense and takes flat features; end the hidden \
                          layers with a flatten layer"
                    .to_string(),
            });
        }
        layers.push(Layer::Dense {
            fan_in: width,
            fan_out: outputs,
            activation: Activation::Identity,
        });
        Ok(Network {
            inputs: input_shape.iter().product(),
            input_shape: input_shape.to_vec(),
            outputs,
            layers,
            head: model.output.head,
        })
    }

    /// The network of `run` on data of `features` values per example: the dataset's own
    /// shape ([`DatasetSource::input_shape`](crate::spec::DatasetSource::input_shape)) when it
    /// has that many values, flat otherwise (hand-made test data).
    pub fn for_run(
        run: &crate::spec::RunSpec,
        features: usize,
        classes: usize,
    ) -> Result<Network, ShapeError> {
        let shape = run.dataset.source.input_shape();
        if shape.iter().product::<usize>() == features {
            Network::shaped(&run.model, &shape, classes)
        } else {
            Network::shaped(&run.model, &[features], classes)
        }
    }

    /// True when the network has convolution or pooling layers.
    pub fn is_convolutional(&self) -> bool {
        self.layers.iter().any(|layer| {
            matches!(
                layer,
                Layer::Conv2d { .. } | Layer::MaxPool2d { .. } | Layer::AvgPool2d { .. }
            )
        })
    }

    /// Indices (into `layers`) of the dense layers and residual blocks, input side first: the
    /// order of per-layer gradient norms.
    pub fn dense_layers(&self) -> impl Iterator<Item = usize> + '_ {
        self.layers
            .iter()
            .enumerate()
            .filter(|(_, layer)| layer.dense_like().is_some())
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
                Layer::Residual { width, .. } => width * width + width,
                Layer::BatchNorm { features, .. } => 2 * features,
                Layer::Conv2d {
                    input,
                    output,
                    kernel_size,
                    ..
                } => output.channels * (input.channels * kernel_size * kernel_size + 1),
                _ => 0,
            })
            .sum()
    }
}
