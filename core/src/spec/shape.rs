//! Shapes through a model: what each layer makes of its input's shape, from the dataset's
//! input (`[features]`, or `[channels, height, width]` for images) to the last hidden layer.
//! The scenario check reports the first layer that does not fit, before anything trains, and
//! [`Network`](crate::Network) takes its layer shapes from the same function.

use super::{LayerSpec, ModelSpec, Padding};

/// A layer whose input does not fit it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("layer {index} ({kind}) gets input shape {input:?}: {message}")]
pub struct ShapeError {
    /// Its index in `model.layers`.
    pub index: usize,
    /// Its `type`.
    pub kind: &'static str,
    pub input: Vec<usize>,
    pub message: String,
}

/// Output size along one axis of a window of `window` values, `stride` apart, over `size`
/// values padded with `padding` zeros on each side; `None` when the window does not fit.
pub fn window_output(size: usize, window: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = size + 2 * padding;
    (window >= 1 && stride >= 1 && padded >= window).then(|| (padded - window) / stride + 1)
}

/// The shape the first layer of `model` gets from examples of shape `input`: an image stays
/// one only for a model with convolution or pooling layers; any other model reads its values
/// as flat features (so the dense networks of MNIST need no flatten layer).
pub fn model_input(model: &ModelSpec, input: &[usize]) -> Vec<usize> {
    if model.layers.iter().any(LayerSpec::is_spatial) {
        input.to_vec()
    } else {
        vec![input.iter().product()]
    }
}

/// The output shape of every layer of `model.layers` for examples of shape `input` (see
/// [`model_input`]).
pub fn layer_shapes(model: &ModelSpec, input: &[usize]) -> Result<Vec<Vec<usize>>, ShapeError> {
    let mut shape = model_input(model, input);
    let mut out = Vec::with_capacity(model.layers.len());
    for (index, layer) in model.layers.iter().enumerate() {
        let input = shape.clone();
        let fail = |message: String| ShapeError {
            index,
            kind: layer.type_name(),
            input: input.clone(),
            message,
        };
        shape = match *layer {
            LayerSpec::Dense { units, .. } => {
                if shape.len() != 1 {
                    return Err(fail(
                        "a dense layer takes flat features; add a flatten layer before it".into(),
                    ));
                }
                vec![units]
            }
            LayerSpec::Residual { units, .. } => {
                if shape.len() != 1 {
                    return Err(fail(
                        "a residual block takes flat features; add a flatten layer before it"
                            .into(),
                    ));
                }
                if shape[0] != units {
                    return Err(fail(format!(
                        "a residual block adds its input to its output, so its input must be as \
                         wide as its {units} units, not {} (put a dense layer of {units} units \
                         before it)",
                        shape[0]
                    )));
                }
                vec![units]
            }
            LayerSpec::BatchNorm { .. } if shape.len() != 1 => {
                return Err(fail(
                    "batch_norm normalises flat features; put it after a flatten layer".into(),
                ));
            }
            LayerSpec::Activation { .. }
            | LayerSpec::Dropout { .. }
            | LayerSpec::BatchNorm { .. } => shape.clone(),
            LayerSpec::Flatten => vec![shape.iter().product()],
            LayerSpec::Conv2d {
                channels,
                kernel_size,
                stride,
                padding,
                ..
            } => {
                let [_, height, width] = image(&shape).ok_or_else(|| fail(not_image()))?;
                if padding == Padding::Same && kernel_size % 2 == 0 {
                    return Err(fail(format!(
                        "padding \"same\" needs an odd kernel_size, not {kernel_size}; give \
                         the padding as a number"
                    )));
                }
                let pad = padding.amount(kernel_size);
                let out = |size| window_output(size, kernel_size, stride, pad);
                match (out(height), out(width)) {
                    (Some(h), Some(w)) => vec![channels, h, w],
                    _ => {
                        return Err(fail(format!(
                            "too small for a {kernel_size}×{kernel_size} kernel with padding \
                             {pad} (the padded input is {}×{})",
                            height + 2 * pad,
                            width + 2 * pad
                        )));
                    }
                }
            }
            LayerSpec::MaxPool2d { size, stride } | LayerSpec::AvgPool2d { size, stride } => {
                let [channels, height, width] = image(&shape).ok_or_else(|| fail(not_image()))?;
                match (
                    window_output(height, size, stride, 0),
                    window_output(width, size, stride, 0),
                ) {
                    (Some(h), Some(w)) => vec![channels, h, w],
                    _ => {
                        return Err(fail(format!(
                            "too small for a {size}×{size} pooling window"
                        )));
                    }
                }
            }
        };
        if shape.contains(&0) {
            return Err(fail(format!("gives an empty output {shape:?}")));
        }
        out.push(shape.clone());
    }
    Ok(out)
}

fn image(shape: &[usize]) -> Option<[usize; 3]> {
    <[usize; 3]>::try_from(shape).ok()
}

fn not_image() -> String {
    "needs an image [channels, height, width] (the image datasets keep that shape until a \
     flatten layer)"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::super::{Activation, OutputHead, OutputSpec};
    use super::*;

    fn model(layers: Vec<LayerSpec>) -> ModelSpec {
        ModelSpec {
            layers,
            output: OutputSpec {
                head: OutputHead::SoftmaxCrossEntropy,
            },
            threshold: 0.0,
        }
    }

    fn conv(channels: usize, padding: Padding) -> LayerSpec {
        LayerSpec::Conv2d {
            channels,
            kernel_size: 5,
            stride: 1,
            padding,
            activation: Activation::Relu,
        }
    }

    #[test]
    fn lenet_shapes() {
        let pool = LayerSpec::MaxPool2d { size: 2, stride: 2 };
        let lenet = model(vec![
            conv(6, Padding::Same),
            pool.clone(),
            conv(16, Padding::Valid),
            pool,
            LayerSpec::Flatten,
            LayerSpec::Dense {
                units: 120,
                activation: Activation::Relu,
            },
        ]);
        let shapes = layer_shapes(&lenet, &[1, 28, 28]).unwrap();
        assert_eq!(shapes[0], [6, 28, 28]);
        assert_eq!(shapes[1], [6, 14, 14]);
        assert_eq!(shapes[2], [16, 10, 10]);
        assert_eq!(shapes[3], [16, 5, 5]);
        assert_eq!(shapes[4], [400]);
        assert_eq!(shapes[5], [120]);
    }

    #[test]
    fn images_are_flat_for_dense_networks_and_same_needs_an_odd_kernel() {
        let dense = model(vec![LayerSpec::Dense {
            units: 8,
            activation: Activation::Relu,
        }]);
        assert_eq!(layer_shapes(&dense, &[1, 28, 28]).unwrap(), [[8]]);
        let even = model(vec![LayerSpec::Conv2d {
            channels: 2,
            kernel_size: 4,
            stride: 1,
            padding: Padding::Same,
            activation: Activation::Relu,
        }]);
        let error = layer_shapes(&even, &[1, 28, 28]).unwrap_err();
        assert!(error.message.contains("odd kernel_size"), "{error}");
    }

    #[test]
    fn a_residual_block_needs_an_input_as_wide_as_its_units() {
        let residual = |units| LayerSpec::Residual {
            units,
            activation: Activation::Sigmoid,
        };
        let dense = LayerSpec::Dense {
            units: 16,
            activation: Activation::Sigmoid,
        };
        let fits = model(vec![dense.clone(), residual(16), residual(16)]);
        assert_eq!(layer_shapes(&fits, &[4]).unwrap(), [[16], [16], [16]]);
        let error = layer_shapes(&model(vec![dense, residual(8)]), &[4]).unwrap_err();
        assert_eq!((error.index, error.kind), (1, "residual"));
        let text = error.to_string();
        assert!(text.contains("layer 1 (residual)"), "{text}");
        assert!(text.contains("[16]") && text.contains("8 units"), "{text}");
        // An image reads as flat features in a network without convolution.
        assert_eq!(
            layer_shapes(&model(vec![residual(4)]), &[1, 2, 2]).unwrap(),
            [[4]]
        );
    }

    #[test]
    fn a_stack_that_shrinks_below_its_kernel_names_the_layer_and_shapes() {
        let pool = LayerSpec::MaxPool2d { size: 2, stride: 2 };
        let deep = model(vec![
            conv(6, Padding::Valid),
            pool.clone(),
            conv(16, Padding::Valid),
            pool,
            conv(32, Padding::Valid),
        ]);
        let error = layer_shapes(&deep, &[1, 28, 28]).unwrap_err();
        assert_eq!(error.index, 4);
        assert_eq!(error.input, [16, 4, 4]);
        let text = error.to_string();
        assert!(text.contains("layer 4 (conv2d)"), "{text}");
        assert!(text.contains("[16, 4, 4]"), "{text}");
    }
}
