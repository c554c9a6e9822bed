//! Checks one variant's raw table: the top-level keys, each section (through the section
//! checks) and the rules that span sections, into a [`RunSpec`] and the scenario's metadata.

use toml::{Table, Value};

use super::check::Check;
use super::check_dataset::check_dataset;
use super::check_init::check_init;
use super::check_model::check_model;
use super::check_optimizer::check_optimizer;
use super::check_regularization::check_regularization;
use super::check_training::check_training;
use super::schema::INIT_FROM_FILE;
use super::schema::{
    self, BACKENDS, COURSE_SECTION, DATASET, DESCRIPTION, INIT, Key, MODEL, OPTIMIZER,
    REGULARIZATION, THREADS, TRAINING, Type, UNIT_TIME_LIMIT,
};
use super::{DatasetSource, InitFile, LayerSpec, OptimizerKind, OutputHead, RunSpec};
use crate::weights::Weights;

fn dataset_name(source: &DatasetSource) -> &'static str {
    match source {
        DatasetSource::Mnist => "mnist",
        DatasetSource::FashionMnist => "fashion_mnist",
        DatasetSource::Logic { gate } => match gate {
            super::LogicGate::And => "and",
            super::LogicGate::Or => "or",
            super::LogicGate::Xor => "xor",
            super::LogicGate::TruthTable(_) => "truth_table",
        },
        DatasetSource::Blobs(_) => "blobs",
        DatasetSource::Rows(_) => "rows",
    }
}

/// What one variant's table holds besides its run: description, course section and
/// `unit_time_limit`.
pub(crate) struct Meta {
    pub description: String,
    pub course_section: Option<String>,
    pub unit_time_limit_s: Option<f64>,
}

/// Checks one variant's raw table.
pub(crate) fn check_run(c: &mut Check, root: &Table) -> Option<(Meta, RunSpec)> {
    c.unknown_keys(root, "", &schema::key_names(""), "");

    let description = c.required(root, "", &DESCRIPTION, |c, k, v| {
        c.string(k, v).map(str::to_owned)
    });
    let course_section = c.optional(root, "", &COURSE_SECTION, |c, k, v| {
        c.string(k, v).map(str::to_owned)
    });
    let backends = c.required(root, "", &BACKENDS, check_backends);
    let threads = c.defaulted(root, "", &THREADS, |c, k, v| c.count(k, v, &THREADS));
    let time_limit = c.optional(root, "", &UNIT_TIME_LIMIT, |c, k, v| {
        c.float(k, v, &UNIT_TIME_LIMIT)
    });

    let empty = Table::new();
    let dataset = section(c, root, &DATASET, &empty).and_then(|t| check_dataset(c, t));
    let model = section(c, root, &MODEL, &empty).and_then(|t| check_model(c, t));
    let mut init = section(c, root, &INIT, &empty).and_then(|t| check_init(c, t));
    let optimizer = section(c, root, &OPTIMIZER, &empty).and_then(|t| check_optimizer(c, t));
    let regularization =
        section(c, root, &REGULARIZATION, &empty).and_then(|t| check_regularization(c, t));
    let training = section(c, root, &TRAINING, &empty).and_then(|t| check_training(c, t));

    // Rules across sections.
    if let (Some(dataset), Some(model)) = (&dataset, &model) {
        let head = model.output.head;
        let (classes, what) = match (&dataset.source, &dataset.keep_classes) {
            (DatasetSource::Mnist | DatasetSource::FashionMnist, Some(kept)) => (
                kept.len(),
                format!(
                    "dataset.keep_classes keeps {} classes; keep 2 or use",
                    kept.len()
                ),
            ),
            (DatasetSource::Mnist, None) => (10, "mnist has 10 classes; use".to_string()),
            (DatasetSource::FashionMnist, None) => {
                (10, "fashion_mnist has 10 classes; use".to_string())
            }
            (DatasetSource::Logic { .. }, _) => (2, String::new()),
            (DatasetSource::Rows(rows), _) => (
                rows.classes,
                format!(
                    "the rows have classes = {}; set dataset.classes = 2 or use",
                    rows.classes
                ),
            ),
            (DatasetSource::Blobs(blobs), _) => (
                blobs.classes,
                format!(
                    "blobs has classes = {}; set dataset.classes = 2 or use",
                    blobs.classes
                ),
            ),
        };
        if matches!(
            head,
            OutputHead::SigmoidBinaryCrossEntropy | OutputHead::Step
        ) && classes != 2
        {
            c.push(
                "model.output",
                Some(&Value::String(head.name().to_string())),
                format!("needs a 2-class dataset but {what} softmax_cross_entropy or identity_mse"),
            );
        }
        let shapes = super::shape::layer_shapes(model, &dataset.source.input_shape());
        if let Some(last) = shapes.as_ref().ok().and_then(|shapes| shapes.last())
            && last.len() != 1
        {
            c.push(
                "model.output",
                None,
                format!(
                    "the output layer is dense and takes flat features, but the last hidden \
                     layer gives shape {last:?}; add {{ type = \"flatten\" }} before it"
                ),
            );
        }
        if let Err(error) = &shapes {
            c.push(
                &format!("model.layers[{}]", error.index),
                None,
                format!(
                    "({}) does not fit its input: it gets shape {:?} from {}; {}",
                    error.kind,
                    error.input,
                    if error.index == 0 {
                        format!("dataset {}", dataset_name(&dataset.source))
                    } else {
                        format!("layer {}", error.index - 1)
                    },
                    error.message
                ),
            );
        }
        if let (Some(file), Ok(_)) = (
            init.as_mut().and_then(|init| init.from_file.as_mut()),
            &shapes,
        ) && let Ok(network) =
            crate::Network::shaped(model, &dataset.source.input_shape(), classes)
        {
            read_init_file(c, file, &network);
        }
        if head == OutputHead::Step && !model.layers.is_empty() {
            c.push(
                "model.layers",
                None,
                "the step head allows no hidden layers (it is a single threshold unit); remove them (layers = []) or use sigmoid_binary_cross_entropy",
            );
        }
    }
    if let (Some(model), Some(training)) = (&model, &training)
        && training.record_dead_units
        && model.layers.iter().any(LayerSpec::is_spatial)
    {
        c.push(
            "training.record_dead_units",
            None,
            "dead units are measured on dense layers only, not on a network with conv2d or \
             pooling layers; set it to false",
        );
    }
    if let Some(training) = &training
        && training.record_gradients
    {
        // The gradient is read off one plain SGD step, w_after = w_before − η·g: any other
        // update (momentum, a penalty, clipping, a second step) would mix something else in.
        let mut needs = Vec::new();
        if training.max_steps != Some(1) {
            needs.push("training.max_steps = 1".to_string());
        }
        if let Some(optimizer) = &optimizer
            && optimizer.kind != OptimizerKind::Sgd
        {
            needs.push(format!(
                "optimizer.kind = \"sgd\" (not {})",
                optimizer.kind.name()
            ));
        }
        if let Some(regularization) = &regularization
            && (regularization.l1 != 0.0
                || regularization.l2 != 0.0
                || regularization.clip_value.is_some()
                || regularization.clip_norm.is_some())
        {
            needs.push("no L1, L2 or clipping in [regularization]".to_string());
        }
        if !needs.is_empty() {
            c.push(
                "training.record_gradients",
                None,
                format!(
                    "reads each gradient off one plain SGD step, so it needs {}",
                    needs.join(" and ")
                ),
            );
        }
    }
    if let (Some(dataset), Some(training)) = (&dataset, &training)
        && training.early_stopping.is_some()
        && dataset.validation_fraction <= 0.0
    {
        c.push(
            "training.early_stopping",
            None,
            "needs a validation split; set dataset.validation_fraction (e.g. 0.1)",
        );
    }

    let run = RunSpec {
        dataset: dataset?,
        model: model?,
        init: init?,
        optimizer: optimizer?,
        regularization: regularization?,
        training: training?,
        backends: backends?,
        threads: threads?,
    };
    if !c.problems.is_empty() {
        return None;
    }
    let meta = Meta {
        description: description?,
        course_section: course_section?,
        unit_time_limit_s: time_limit?,
    };
    Some((meta, run))
}

/// Reads `init.from_file` (relative to the scenario's folder) and checks it against the
/// network: every problem names the file, the tensor, and the expected and found shapes.
fn read_init_file(c: &mut Check, file: &mut InitFile, network: &crate::Network) {
    let key = INIT_FROM_FILE.path();
    let value = Value::String(file.path.clone());
    let path = c.dir.join(&file.path);
    let shown = path.display().to_string();
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) => {
            c.push(&key, Some(&value), format!("cannot read {shown}: {error}"));
            return;
        }
    };
    match Weights::from_safetensors(&bytes).map_err(|message| vec![message]) {
        Ok(found) => match found.fitted_to(network) {
            Ok(weights) => file.weights = weights,
            Err(problems) => {
                for problem in problems {
                    c.push(&key, Some(&value), format!("{shown}: {problem}"));
                }
            }
        },
        Err(problems) => {
            for problem in problems {
                c.push(&key, Some(&value), format!("{shown}: {problem}"));
            }
        }
    }
}

/// A section table: required ones report their absence, optional ones (whose default is the
/// empty table) read as `empty`.
fn section<'t>(c: &mut Check, root: &'t Table, spec: &Key, empty: &'t Table) -> Option<&'t Table> {
    match root.get(spec.name) {
        Some(value) => {
            let example = match spec.hint {
                schema::Hint::Text(text) => text.trim_start_matches("add ").to_string(),
                _ => format!("[{}]", spec.name),
            };
            c.table(spec.name, value, &example)
        }
        None if spec.default == schema::DefaultValue::Required => {
            c.push(spec.name, None, format!("missing; {}", spec.missing_hint()));
            None
        }
        None => Some(empty),
    }
}

fn check_backends(c: &mut Check, key: &str, value: &Value) -> Option<Vec<String>> {
    let Type::ChoiceList { what, options } = BACKENDS.ty else {
        c.push(key, None, "internal error: backends is not a list of names");
        return None;
    };
    let known = options.join(", ");
    let items = match value {
        Value::Array(items) if !items.is_empty() => items,
        other => {
            c.push(
                key,
                Some(other),
                format!("must be a non-empty array of {what} names; expected some of {known}"),
            );
            return None;
        }
    };
    let mut out = Some(Vec::new());
    for (i, item) in items.iter().enumerate() {
        let here = format!("{key}[{i}]");
        let name = match item {
            Value::String(name) if options.contains(&name.as_str()) => name,
            Value::String(_) => {
                c.push(
                    &here,
                    Some(item),
                    format!("unknown {what}; expected one of {known}"),
                );
                out = None;
                continue;
            }
            other => {
                c.push(
                    &here,
                    Some(other),
                    format!("must be a string; expected one of {known}"),
                );
                out = None;
                continue;
            }
        };
        if items.iter().take(i).any(|earlier| earlier == item) {
            c.push(
                &here,
                Some(item),
                format!("listed twice; list each {what} once"),
            );
            out = None;
            continue;
        }
        if let Some(list) = &mut out {
            list.push(name.clone());
        }
    }
    out
}
