//! Checks the `[model]` table (its layers and output head) into a [`ModelSpec`].

use toml::{Table, Value};

use super::check::Check;
use super::schema::{
    self, ACTIVATIONS, HEADS, LAYER_ACTIVATION, LAYER_CHANNELS, LAYER_EPSILON, LAYER_FUNCTION,
    LAYER_KERNEL_SIZE, LAYER_MOMENTUM, LAYER_PADDING, LAYER_RATE, LAYER_SIZE, LAYER_STRIDE,
    LAYER_TYPE, LAYER_TYPES, LAYER_UNITS, LayerType, MODEL_LAYERS, MODEL_OUTPUT, MODEL_THRESHOLD,
    Type,
};
use super::{LayerSpec, ModelSpec, OutputHead, OutputSpec, Padding};

const P: &str = "model";
const LAYER: &str = "model.layers[]";

pub(crate) fn check_model(c: &mut Check, t: &Table) -> Option<ModelSpec> {
    c.unknown_keys(t, P, &schema::key_names(P), "");
    let layers = c.defaulted(t, P, &MODEL_LAYERS, check_layers);
    let head = c.required(t, P, &MODEL_OUTPUT, |c, k, v| {
        c.choice(k, v, &MODEL_OUTPUT, &HEADS)
    });
    let threshold = c.defaulted(t, P, &MODEL_THRESHOLD, |c, k, v| {
        c.float(k, v, &MODEL_THRESHOLD)
    });
    if let (Some(head), Some(value)) = (head, t.get(MODEL_THRESHOLD.name))
        && head != OutputHead::Step
    {
        c.push(
            &MODEL_THRESHOLD.path(),
            Some(value),
            format!(
                "applies only to output = \"step\", not {}; remove it",
                head.name()
            ),
        );
    }
    Some(ModelSpec {
        layers: layers?,
        output: OutputSpec { head: head? },
        threshold: threshold?,
    })
}

fn check_layers(c: &mut Check, key: &str, value: &Value) -> Option<Vec<LayerSpec>> {
    let Value::Array(items) = value else {
        c.push(
            key,
            Some(value),
            format!(
                "must be an array of layer tables (e.g. {})",
                MODEL_LAYERS.example
            ),
        );
        return None;
    };
    let mut out = Some(Vec::new());
    for (i, item) in items.iter().enumerate() {
        let layer = check_layer(c, &format!("{key}[{i}]"), item);
        match (&mut out, layer) {
            (Some(list), Some(layer)) => list.push(layer),
            _ => out = None,
        }
    }
    out
}

fn check_layer(c: &mut Check, prefix: &str, value: &Value) -> Option<LayerSpec> {
    let example = MODEL_LAYERS
        .example
        .trim_start_matches('[')
        .trim_end_matches(']');
    let t = c.table(prefix, value, example)?;
    let kind = c.required(t, prefix, &LAYER_TYPE, |c, k, v| {
        c.choice(k, v, &LAYER_TYPE, &LAYER_TYPES)
    })?;
    let type_name = LAYER_TYPES
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("", |(name, _)| *name);
    let allowed = schema::key_names_for(LAYER, type_name);
    match kind {
        LayerType::Dense => {
            c.unknown_keys(t, prefix, &allowed, " for a dense layer");
            let units = c.required(t, prefix, &LAYER_UNITS, |c, k, v| {
                c.count(k, v, &LAYER_UNITS)
            });
            let activation = c.required(t, prefix, &LAYER_ACTIVATION, |c, k, v| {
                c.choice(k, v, &LAYER_ACTIVATION, &ACTIVATIONS)
            });
            Some(LayerSpec::Dense {
                units: units?,
                activation: activation?,
            })
        }
        LayerType::Residual => {
            c.unknown_keys(t, prefix, &allowed, " for a residual layer");
            let units = c.required(t, prefix, &LAYER_UNITS, |c, k, v| {
                c.count(k, v, &LAYER_UNITS)
            });
            let activation = c.required(t, prefix, &LAYER_ACTIVATION, |c, k, v| {
                c.choice(k, v, &LAYER_ACTIVATION, &ACTIVATIONS)
            });
            Some(LayerSpec::Residual {
                units: units?,
                activation: activation?,
            })
        }
        LayerType::Activation => {
            c.unknown_keys(t, prefix, &allowed, " for an activation layer");
            let function = c.required(t, prefix, &LAYER_FUNCTION, |c, k, v| {
                c.choice(k, v, &LAYER_FUNCTION, &ACTIVATIONS)
            });
            Some(LayerSpec::Activation {
                function: function?,
            })
        }
        LayerType::Dropout => {
            c.unknown_keys(t, prefix, &allowed, " for a dropout layer");
            let rate = c.required(t, prefix, &LAYER_RATE, |c, k, v| c.float(k, v, &LAYER_RATE));
            Some(LayerSpec::Dropout { rate: rate? })
        }
        LayerType::BatchNorm => {
            c.unknown_keys(t, prefix, &allowed, " for a batch_norm layer");
            let momentum = c.defaulted(t, prefix, &LAYER_MOMENTUM, |c, k, v| {
                c.float(k, v, &LAYER_MOMENTUM)
            });
            let epsilon = c.defaulted(t, prefix, &LAYER_EPSILON, |c, k, v| {
                c.float(k, v, &LAYER_EPSILON)
            });
            Some(LayerSpec::BatchNorm {
                momentum: momentum?,
                epsilon: epsilon?,
            })
        }
        LayerType::Conv2d => {
            c.unknown_keys(t, prefix, &allowed, " for a conv2d layer");
            let channels = c.required(t, prefix, &LAYER_CHANNELS, |c, k, v| {
                c.count(k, v, &LAYER_CHANNELS)
            });
            let kernel_size = c.required(t, prefix, &LAYER_KERNEL_SIZE, |c, k, v| {
                c.count(k, v, &LAYER_KERNEL_SIZE)
            });
            let stride = c.optional(t, prefix, &LAYER_STRIDE, |c, k, v| {
                c.count(k, v, &LAYER_STRIDE)
            });
            let padding = c.defaulted(t, prefix, &LAYER_PADDING, check_padding);
            let activation = c.required(t, prefix, &LAYER_ACTIVATION, |c, k, v| {
                c.choice(k, v, &LAYER_ACTIVATION, &ACTIVATIONS)
            });
            Some(LayerSpec::Conv2d {
                channels: channels?,
                kernel_size: kernel_size?,
                stride: stride?.unwrap_or(1),
                padding: padding?,
                activation: activation?,
            })
        }
        LayerType::MaxPool2d | LayerType::AvgPool2d => {
            c.unknown_keys(t, prefix, &allowed, &format!(" for a {type_name} layer"));
            let size = c.required(t, prefix, &LAYER_SIZE, |c, k, v| c.count(k, v, &LAYER_SIZE));
            let stride = c.optional(t, prefix, &LAYER_STRIDE, |c, k, v| {
                c.count(k, v, &LAYER_STRIDE)
            });
            let size = size?;
            let stride = stride?.unwrap_or(size);
            Some(if kind == LayerType::MaxPool2d {
                LayerSpec::MaxPool2d { size, stride }
            } else {
                LayerSpec::AvgPool2d { size, stride }
            })
        }
        LayerType::Flatten => {
            c.unknown_keys(t, prefix, &allowed, " for a flatten layer");
            Some(LayerSpec::Flatten)
        }
    }
}

fn check_padding(c: &mut Check, key: &str, value: &Value) -> Option<Padding> {
    let spec = &LAYER_PADDING;
    let Type::IntOrWord { min, .. } = spec.ty else {
        c.push(
            key,
            None,
            "internal error: padding is not an integer or a word",
        );
        return None;
    };
    match value {
        Value::Integer(n) if *n >= min => usize::try_from(*n).ok().map(Padding::Explicit),
        Value::String(text) if text == "valid" => Some(Padding::Valid),
        Value::String(text) if text == "same" => Some(Padding::Same),
        other => {
            c.push(key, Some(other), spec.ty.phrase_as_rule());
            None
        }
    }
}
