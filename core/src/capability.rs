//! Capability tables: for each feature a scenario can use, whether a backend runs it with its
//! framework's own implementation, with one the adapter built on the framework's tensors, or
//! not at all. `nnbench backends` prints them; [`check`] turns them into the reason a run is
//! reported `unsupported`.

use std::fmt;

use serde::Serialize;

use crate::spec::{InitScheme, LayerSpec, RunSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Layer,
    Activation,
    Head,
    Optimizer,
    Regularizer,
    Init,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Layer => "layer",
            Category::Activation => "activation",
            Category::Head => "head",
            Category::Optimizer => "optimizer",
            Category::Regularizer => "regularizer",
            Category::Init => "init",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    /// The framework's own implementation.
    Framework,
    /// Built by the adapter on the framework's tensors.
    Adapter,
    /// Not available; the text says why.
    Unsupported(String),
}

impl fmt::Display for Support {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Support::Framework => f.write_str("framework"),
            Support::Adapter => f.write_str("adapter"),
            Support::Unsupported(_) => f.write_str("unsupported"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capability {
    pub category: Category,
    pub name: &'static str,
    pub support: Support,
}

impl Capability {
    pub fn new(category: Category, name: &'static str, support: Support) -> Capability {
        Capability {
            category,
            name,
            support,
        }
    }
}

/// Why a backend cannot run a scenario.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{category} `{feature}` is not supported: {reason}")]
pub struct Unsupported {
    pub category: &'static str,
    pub feature: String,
    pub reason: String,
}

/// Every (category, feature) a run uses, in a stable order.
pub fn features_used(run: &RunSpec) -> Vec<(Category, &'static str)> {
    let mut used = vec![(Category::Layer, "dense")];
    for layer in &run.model.layers {
        match layer {
            LayerSpec::Dense { activation, .. } => {
                used.push((Category::Activation, activation.name()))
            }
            LayerSpec::Residual { activation, .. } => {
                used.push((Category::Layer, "residual"));
                used.push((Category::Activation, activation.name()));
            }
            LayerSpec::Activation { function } => {
                used.push((Category::Activation, function.name()))
            }
            LayerSpec::Dropout { .. } => used.push((Category::Layer, "dropout")),
            LayerSpec::BatchNorm { .. } => used.push((Category::Layer, "batch_norm")),
            LayerSpec::Conv2d { activation, .. } => {
                used.push((Category::Layer, "conv2d"));
                used.push((Category::Activation, activation.name()));
            }
            LayerSpec::MaxPool2d { .. } => used.push((Category::Layer, "max_pool2d")),
            LayerSpec::AvgPool2d { .. } => used.push((Category::Layer, "avg_pool2d")),
            LayerSpec::Flatten => used.push((Category::Layer, "flatten")),
        }
    }
    used.push((Category::Head, run.model.output.head.name()));
    used.push((Category::Optimizer, run.optimizer.kind.name()));
    let reg = &run.regularization;
    for (active, name) in [
        (reg.l1 != 0.0, "l1"),
        (reg.l2 != 0.0, "l2"),
        (reg.clip_value.is_some(), "clip_value"),
        (reg.clip_norm.is_some(), "clip_norm"),
    ] {
        if active {
            used.push((Category::Regularizer, name));
        }
    }
    if run.init.weights == InitScheme::FrameworkDefault {
        used.push((Category::Init, "framework_default"));
    }
    let mut seen = std::collections::HashSet::new();
    used.retain(|feature| seen.insert(*feature));
    used
}

/// `Ok` when every feature `run` uses is in `capabilities` and not unsupported.
pub fn check(run: &RunSpec, capabilities: &[Capability]) -> Result<(), Unsupported> {
    for (category, feature) in features_used(run) {
        let found = capabilities
            .iter()
            .find(|cap| cap.category == category && cap.name == feature);
        let reason = match found.map(|cap| &cap.support) {
            Some(Support::Framework | Support::Adapter) => continue,
            Some(Support::Unsupported(reason)) => reason.clone(),
            None => "not in this backend's capability table".to_string(),
        };
        return Err(Unsupported {
            category: category.name(),
            feature: feature.to_string(),
            reason,
        });
    }
    Ok(())
}

/// The limits of the perceptron rule as an adapter writes it on its framework's tensors
/// (w ← w + η·(y − ŷ)·x, b ← b + η·(y − ŷ), averaged over the batch): the rule itself, with
/// the harness's initial weights. A run with the `step` head that asks for more (another
/// optimizer, a penalty or clipping on the rule's update, the framework's own init) is
/// unsupported there, with this reason; only the native reference runs such variations.
pub fn check_perceptron_rule(run: &RunSpec, framework: &str) -> Result<(), Unsupported> {
    if run.model.output.head != crate::spec::OutputHead::Step {
        return Ok(());
    }
    let unsupported = |category: Category, feature: &str, what: &str| Unsupported {
        category: category.name(),
        feature: feature.to_string(),
        reason: format!(
            "{framework}'s perceptron is Rosenblatt's rule written on its tensors (plain sgd \
             from the harness's init); {what} on the rule's update is only in native"
        ),
    };
    if run.optimizer.kind != crate::spec::OptimizerKind::Sgd {
        return Err(unsupported(
            Category::Optimizer,
            run.optimizer.kind.name(),
            "an optimizer",
        ));
    }
    let reg = &run.regularization;
    for (active, name) in [
        (reg.l1 != 0.0, "l1"),
        (reg.l2 != 0.0, "l2"),
        (reg.clip_value.is_some(), "clip_value"),
        (reg.clip_norm.is_some(), "clip_norm"),
    ] {
        if active {
            return Err(unsupported(Category::Regularizer, name, "a regularizer"));
        }
    }
    if run.init.weights == InitScheme::FrameworkDefault {
        return Err(unsupported(
            Category::Init,
            "framework_default",
            "the framework's own init",
        ));
    }
    Ok(())
}

/// Names of the optimizers in [`OptimizerKind`](crate::spec::OptimizerKind), for capability
/// tables.
pub const OPTIMIZERS: [&str; 5] = ["sgd", "momentum", "nesterov", "rmsprop", "adam"];
/// Names of the regularizers, for capability tables.
pub const REGULARIZERS: [&str; 4] = ["l1", "l2", "clip_value", "clip_norm"];
/// Names of the layer kinds of dense networks, for capability tables.
pub const LAYERS: [&str; 4] = ["dense", "residual", "dropout", "batch_norm"];
/// Names of the layer kinds of convolutional networks, for capability tables.
pub const CONV_LAYERS: [&str; 4] = ["conv2d", "max_pool2d", "avg_pool2d", "flatten"];
