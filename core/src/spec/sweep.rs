//! Sweep expansion and the raw-table edits that come before validation.
//!
//! Everything here works on the raw TOML table of a scenario: key paths such as
//! `model.layers[*].activation` are parsed ([`parse_path`]), checked against the scenario's
//! schema ([`check_path`]) and used to replace nodes ([`set_path`]). A `[sweep]` table becomes a
//! list of [`Axis`] values whose cartesian product ([`expand`]) gives one raw table per variant;
//! `quick` runs are capped by [`apply_quick_caps`].

use toml::{Table, Value};

use super::parse::{Problem, render};

/// Sweeps larger than this are refused (a typo in a sweep should not hang the harness).
pub(crate) const MAX_VARIANTS: usize = 10_000;

/// Keys of the top level of a scenario (besides `sweep` and `quick`).
pub(crate) const TOP_KEYS: &[&str] = &[
    "description",
    "course_section",
    "backends",
    "threads",
    "unit_time_limit",
    "dataset",
    "model",
    "init",
    "optimizer",
    "regularization",
    "training",
];
pub(crate) const DATASET_KEYS: &[&str] = &[
    "name",
    "train_size",
    "test_size",
    "scaling",
    "validation_fraction",
    "classes",
    "features",
    "train_per_class",
    "test_per_class",
    "separation",
    "spread",
    "seed",
];
pub(crate) const MODEL_KEYS: &[&str] = &["layers", "output"];
pub(crate) const LAYER_KEYS: &[&str] = &[
    "type",
    "units",
    "activation",
    "function",
    "rate",
    "momentum",
    "epsilon",
];
pub(crate) const INIT_KEYS: &[&str] = &["weights", "biases"];
pub(crate) const INIT_TABLE_KEYS: &[&str] = &["scheme", "limit", "std"];
pub(crate) const OPTIMIZER_KEYS: &[&str] = &[
    "kind",
    "learning_rate",
    "momentum",
    "nesterov",
    "alpha",
    "beta1",
    "beta2",
    "epsilon",
];
pub(crate) const REGULARIZATION_KEYS: &[&str] = &["l1", "l2", "clip_value", "clip_norm"];
pub(crate) const TRAINING_KEYS: &[&str] = &[
    "epochs",
    "batch_size",
    "shuffle",
    "seeds",
    "schedule",
    "early_stopping",
    "record_grad_norms",
    "record_dead_units",
    "divergence_loss",
];
pub(crate) const SCHEDULE_KEYS: &[&str] = &[
    "kind",
    "step_epochs",
    "gamma",
    "power_t",
    "factor",
    "patience",
    "tol",
];
pub(crate) const EARLY_STOPPING_KEYS: &[&str] = &["monitor", "patience", "min_delta"];

/// The keys a node of the schema may hold (`None`: the node is a leaf). Array elements are
/// written `name[]`.
fn schema_children(node: &str) -> Option<&'static [&'static str]> {
    Some(match node {
        "" => TOP_KEYS,
        "dataset" => DATASET_KEYS,
        "model" => MODEL_KEYS,
        "model.layers[]" => LAYER_KEYS,
        "init" => INIT_KEYS,
        "init.weights" | "init.biases" => INIT_TABLE_KEYS,
        "optimizer" => OPTIMIZER_KEYS,
        "regularization" => REGULARIZATION_KEYS,
        "training" => TRAINING_KEYS,
        "training.schedule" => SCHEDULE_KEYS,
        "training.early_stopping" => EARLY_STOPPING_KEYS,
        _ => return None,
    })
}

fn is_array_node(node: &str) -> bool {
    matches!(node, "backends" | "training.seeds" | "model.layers")
}

/// Which element(s) of an array a path segment selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selector {
    At(usize),
    All,
}

/// One segment of a key path: `name`, `name[3]` or `name[*]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub name: String,
    pub index: Option<Selector>,
}

const PATH_EXAMPLE: &str = "e.g. training.epochs or model.layers[0].units";

/// Splits a dotted key path into segments.
pub(crate) fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let malformed = |why: &str| format!("malformed key path ({why}; {PATH_EXAMPLE})");
    if path.is_empty() {
        return Err(malformed("it is empty"));
    }
    let mut segments = Vec::new();
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            None => (part, None),
            Some((name, rest)) => {
                let Some(inner) = rest.strip_suffix(']') else {
                    return Err(malformed("an index must end the segment, as in layers[0]"));
                };
                let selector = if inner == "*" {
                    Selector::All
                } else {
                    match inner.parse::<usize>() {
                        Ok(i) if inner.bytes().all(|b| b.is_ascii_digit()) => Selector::At(i),
                        _ => return Err(malformed("an index is a number or *")),
                    }
                };
                (name, Some(selector))
            }
        };
        if name.is_empty() {
            return Err(malformed("empty segment"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(malformed("segments are made of letters, digits, _ and -"));
        }
        segments.push(Segment {
            name: name.to_string(),
            index,
        });
    }
    Ok(segments)
}

/// Checks that a path names something the scenario schema has.
pub(crate) fn check_path(segments: &[Segment]) -> Result<(), String> {
    let mut node = String::new();
    for segment in segments {
        let Some(children) = schema_children(&node) else {
            return Err(format!(
                "{} has no keys under it",
                node.trim_end_matches("[]")
            ));
        };
        if !children.contains(&segment.name.as_str()) {
            let known = children.join(", ");
            return Err(if node.is_empty() {
                format!(
                    "`{}` is not a scenario key; expected one of {known}",
                    segment.name
                )
            } else {
                format!(
                    "{} has no key `{}`; expected one of {known}",
                    node.replace("[]", "[i]"),
                    segment.name
                )
            });
        }
        if !node.is_empty() {
            node.push('.');
        }
        node.push_str(&segment.name);
        if segment.index.is_some() {
            if !is_array_node(&node) {
                return Err(format!("{node} is not an array and cannot be indexed"));
            }
            node.push_str("[]");
        }
    }
    Ok(())
}

/// Parses and checks a path in one go.
pub(crate) fn resolve_path(path: &str) -> Result<Vec<Segment>, String> {
    let segments = parse_path(path)?;
    check_path(&segments)?;
    Ok(segments)
}

/// Replaces the node at `segments` by `value`, creating missing tables on the way.
pub(crate) fn set_path(
    table: &mut Table,
    segments: &[Segment],
    value: &Value,
) -> Result<(), String> {
    set_in(table, segments, value, "")
}

fn set_in(
    table: &mut Table,
    segments: &[Segment],
    value: &Value,
    above: &str,
) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        return Err("empty key path".to_string());
    };
    let here = if above.is_empty() {
        first.name.clone()
    } else {
        format!("{above}.{}", first.name)
    };
    match first.index {
        None if rest.is_empty() => {
            table.insert(first.name.clone(), value.clone());
            Ok(())
        }
        None => {
            let entry = table
                .entry(first.name.clone())
                .or_insert_with(|| Value::Table(Table::new()));
            match entry {
                Value::Table(inner) => set_in(inner, rest, value, &here),
                other => Err(format!(
                    "cannot set a key inside {here} = {}: it is not a table",
                    render(other)
                )),
            }
        }
        Some(selector) => {
            let items = match table.get_mut(&first.name) {
                Some(Value::Array(items)) => items,
                Some(other) => {
                    return Err(format!(
                        "cannot index {here} = {}: it is not an array",
                        render(other)
                    ));
                }
                None => return Err(format!("cannot index {here}: it is not set")),
            };
            let len = items.len();
            let targets: Vec<(usize, &mut Value)> = match selector {
                Selector::All => items.iter_mut().enumerate().collect(),
                Selector::At(i) => match items.get_mut(i) {
                    Some(item) => vec![(i, item)],
                    None => {
                        return Err(format!(
                            "{here}[{i}] does not exist: {here} has {len} element(s)"
                        ));
                    }
                },
            };
            for (i, item) in targets {
                if rest.is_empty() {
                    *item = value.clone();
                    continue;
                }
                let element = format!("{here}[{i}]");
                match item {
                    Value::Table(inner) => set_in(inner, rest, value, &element)?,
                    other => {
                        return Err(format!(
                            "cannot set a key inside {element} = {}: it is not a table",
                            render(other)
                        ));
                    }
                }
            }
            Ok(())
        }
    }
}

/// A path assignment taken from a sweep point, the `[quick]` table or an override.
#[derive(Debug, Clone)]
pub(crate) struct Assignment {
    pub path: String,
    pub segments: Vec<Segment>,
    pub value: Value,
}

impl Assignment {
    pub(crate) fn apply(&self, table: &mut Table) -> Result<(), String> {
        set_path(table, &self.segments, &self.value)
    }
}

/// One value of a sweep axis: its label and what it sets.
#[derive(Debug, Clone)]
pub(crate) struct Point {
    pub label: String,
    pub sets: Vec<Assignment>,
}

#[derive(Debug, Clone)]
pub(crate) struct Axis {
    pub key: String,
    pub points: Vec<Point>,
}

/// `section.key`, with the key quoted when it is not a bare TOML key.
pub(crate) fn section_key(section: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        format!("{section}.{key}")
    } else {
        format!("{section}.{key:?}")
    }
}

/// The keys of the table `section` of `text` in file order (empty when there is none).
pub(crate) fn key_order(text: &str, section: &str) -> Vec<String> {
    let Ok(root) = toml::de::DeTable::parse(text) else {
        return Vec::new();
    };
    let Some(value) = root.get_ref().get(section) else {
        return Vec::new();
    };
    let Some(table) = value.get_ref().as_table() else {
        return Vec::new();
    };
    let mut keys: Vec<(usize, String)> = table
        .iter()
        .map(|(key, _)| (key.span().start, key.get_ref().to_string()))
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, key)| key).collect()
}

/// The entries of `table` in the order of `order` (keys missing from `order` last).
fn ordered<'t>(table: &'t Table, order: &[String]) -> Vec<(&'t String, &'t Value)> {
    let mut entries: Vec<(&String, &Value)> = table.iter().collect();
    entries.sort_by_key(|(key, _)| order.iter().position(|k| k == *key).unwrap_or(usize::MAX));
    entries
}

fn problem(key: String, value: Option<&Value>, message: impl Into<String>) -> Problem {
    Problem {
        key,
        value: value.map(render),
        message: message.into(),
        variant: None,
    }
}

/// Reads a `[quick]` table: dotted path → value.
pub(crate) fn parse_assignments(
    section: &str,
    value: &Value,
    order: &[String],
    problems: &mut Vec<Problem>,
) -> Vec<Assignment> {
    let Value::Table(table) = value else {
        problems.push(problem(
            section.to_string(),
            Some(value),
            format!("must be a table of \"dotted.key\" = value entries (e.g. [{section}] \"training.epochs\" = 1)"),
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (path, value) in ordered(table, order) {
        match resolve_path(path) {
            Ok(segments) => out.push(Assignment {
                path: path.clone(),
                segments,
                value: value.clone(),
            }),
            Err(message) => problems.push(problem(
                section_key(section, path),
                None,
                format!("unknown key path: {message}"),
            )),
        }
    }
    out
}

/// True when the sweep key is a path into the scenario (its first segment is a scenario key).
fn is_path_axis(key: &str) -> bool {
    let first = key.split(['.', '[']).next().unwrap_or(key);
    TOP_KEYS.contains(&first) || key.contains('.') || key.contains('[')
}

/// Reads the `[sweep]` table into axes, in file order.
pub(crate) fn parse_axes(
    sweep: &Value,
    order: &[String],
    problems: &mut Vec<Problem>,
) -> Vec<Axis> {
    let Value::Table(table) = sweep else {
        problems.push(problem(
            "sweep".to_string(),
            Some(sweep),
            "must be a table of axes (e.g. [sweep] \"optimizer.learning_rate\" = [0.1, 0.01])",
        ));
        return Vec::new();
    };
    let mut axes = Vec::new();
    for (key, values) in ordered(table, order) {
        let shown = section_key("sweep", key);
        let items = match values {
            Value::Array(items) if !items.is_empty() => items,
            Value::Table(_) => {
                problems.push(problem(
                    shown,
                    None,
                    "must be a non-empty array of values; quote dotted keys (\"model.layers\" = [...])",
                ));
                continue;
            }
            other => {
                problems.push(problem(
                    shown,
                    Some(other),
                    "must be a non-empty array of values (e.g. [0.1, 0.01])",
                ));
                continue;
            }
        };
        let points = if is_path_axis(key) {
            path_axis(key, &shown, items, problems)
        } else {
            bundle_axis(&shown, items, problems)
        };
        let Some(points) = points else {
            continue;
        };
        let mut seen: Vec<&str> = Vec::new();
        let mut distinct = true;
        for point in &points {
            if seen.contains(&point.label.as_str()) {
                distinct = false;
                problems.push(problem(
                    shown.clone(),
                    None,
                    format!(
                        "sweep values of {key} need distinct labels; add name = \"...\" (two are labelled {:?})",
                        point.label
                    ),
                ));
                break;
            }
            seen.push(&point.label);
        }
        if distinct {
            axes.push(Axis {
                key: key.clone(),
                points,
            });
        }
    }
    axes
}

fn path_axis(
    key: &str,
    shown: &str,
    items: &[Value],
    problems: &mut Vec<Problem>,
) -> Option<Vec<Point>> {
    let segments = match resolve_path(key) {
        Ok(segments) => segments,
        Err(message) => {
            problems.push(problem(
                shown.to_string(),
                None,
                format!("unknown key path: {message}"),
            ));
            return None;
        }
    };
    // `dataset` tables have a real `name` key; anywhere else `name` is only a label.
    let name_is_label = key != "dataset";
    let points = items
        .iter()
        .map(|item| {
            let mut value = item.clone();
            if name_is_label && let Value::Table(table) = &mut value {
                table.remove("name");
            }
            Point {
                label: label(item),
                sets: vec![Assignment {
                    path: key.to_string(),
                    segments: segments.clone(),
                    value,
                }],
            }
        })
        .collect();
    Some(points)
}

fn bundle_axis(shown: &str, items: &[Value], problems: &mut Vec<Problem>) -> Option<Vec<Point>> {
    let mut points = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let here = format!("{shown}[{i}]");
        let Value::Table(table) = item else {
            problems.push(problem(
                here,
                Some(item),
                "a bundle axis takes tables: { name = \"...\", \"dotted.key\" = value, ... } (or quote the key if it is a path)",
            ));
            ok = false;
            continue;
        };
        let label = match table.get("name") {
            Some(Value::String(name)) => name.clone(),
            Some(other) => {
                problems.push(problem(
                    format!("{here}.name"),
                    Some(other),
                    "must be a string",
                ));
                ok = false;
                continue;
            }
            None => {
                problems.push(problem(
                    format!("{here}.name"),
                    None,
                    "missing; every value of a bundle axis needs a name (e.g. name = \"none\")",
                ));
                ok = false;
                continue;
            }
        };
        let mut sets = Vec::new();
        for (path, value) in table.iter().filter(|(key, _)| *key != "name") {
            match resolve_path(path) {
                Ok(segments) => sets.push(Assignment {
                    path: path.clone(),
                    segments,
                    value: value.clone(),
                }),
                Err(message) => {
                    problems.push(problem(
                        section_key(&here, path),
                        None,
                        format!("unknown key path: {message}"),
                    ));
                    ok = false;
                }
            }
        }
        points.push(Point { label, sets });
    }
    ok.then_some(points)
}

/// The label of a sweep value in variant names.
pub(crate) fn label(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Table(table) => {
            if let Some(Value::String(name)) = table.get("name") {
                return name.clone();
            }
            if let Some(Value::String(kind)) = table.get("kind") {
                // Momentum with nesterov = true is the optimizer named "nesterov".
                if kind == "momentum" && table.get("nesterov") == Some(&Value::Boolean(true)) {
                    return "nesterov".to_string();
                }
                return kind.clone();
            }
            compact(value)
        }
        Value::Array(items) if !items.is_empty() => {
            let layers: Option<Vec<String>> = items.iter().map(layer_label).collect();
            layers.map_or_else(|| compact(value), |layers| layers.join("-"))
        }
        Value::Integer(_) | Value::Float(_) | Value::Boolean(_) => render(value),
        _ => compact(value),
    }
}

fn layer_label(layer: &Value) -> Option<String> {
    let table = layer.as_table()?;
    match table.get("type")?.as_str()? {
        "dense" => Some(format!(
            "{}{}",
            table.get("activation")?.as_str()?,
            render(table.get("units")?)
        )),
        "activation" => Some(table.get("function")?.as_str()?.to_string()),
        "dropout" => Some(format!("dropout{}", render(table.get("rate")?))),
        "batch_norm" => Some("bn".to_string()),
        _ => None,
    }
}

/// A value written as TOML without spaces.
fn compact(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(compact).collect();
            format!("[{}]", inner.join(","))
        }
        Value::Table(table) => {
            let inner: Vec<String> = table
                .iter()
                .map(|(key, value)| format!("{key}={}", compact(value)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        other => render(other),
    }
}

/// The cartesian product of the axes over `base` (first axis outermost): one named raw table
/// per variant. Assignments that cannot be made are reported once per axis key.
pub(crate) fn expand(
    base: &Table,
    axes: &[Axis],
    problems: &mut Vec<Problem>,
) -> Vec<(String, Table)> {
    if axes.is_empty() {
        return vec![("base".to_string(), base.clone())];
    }
    let total = axes
        .iter()
        .try_fold(1usize, |acc, axis| acc.checked_mul(axis.points.len()));
    match total {
        Some(n) if n <= MAX_VARIANTS => {}
        _ => {
            problems.push(problem(
                "sweep".to_string(),
                None,
                format!(
                    "the sweep makes more than {MAX_VARIANTS} variants; use fewer or shorter axes"
                ),
            ));
            return Vec::new();
        }
    }
    let mut variants = vec![(Vec::<String>::new(), base.clone())];
    for axis in axes {
        let mut next = Vec::with_capacity(variants.len() * axis.points.len());
        for (names, table) in &variants {
            for point in &axis.points {
                let mut table = table.clone();
                for set in &point.sets {
                    if let Err(message) = set.apply(&mut table) {
                        let found = problem(section_key("sweep", &axis.key), None, message);
                        if !problems.contains(&found) {
                            problems.push(found);
                        }
                    }
                }
                let mut names = names.clone();
                names.push(format!("{}={}", axis.key, point.label));
                next.push((names, table));
            }
        }
        variants = next;
    }
    variants
        .into_iter()
        .map(|(names, table)| (names.join(","), table))
        .collect()
}

/// The caps of a quick run: at most 2 epochs and 2 seeds, MNIST-like sets of at most 2000
/// training and 500 test examples, blobs of at most 50 examples per class.
pub(crate) fn apply_quick_caps(root: &mut Table) {
    if let Some(Value::Table(training)) = root.get_mut("training") {
        if let Some(Value::Integer(epochs)) = training.get_mut("epochs") {
            *epochs = (*epochs).min(2);
        }
        if let Some(Value::Array(seeds)) = training.get_mut("seeds") {
            seeds.truncate(2);
        }
    }
    if let Some(Value::Table(dataset)) = root.get_mut("dataset") {
        let name = dataset
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match name.as_deref() {
            Some("mnist" | "fashion_mnist") => {
                cap(dataset, "train_size", 2000);
                cap(dataset, "test_size", 500);
            }
            Some("blobs") => {
                cap(dataset, "train_per_class", 50);
                cap(dataset, "test_per_class", 50);
            }
            _ => {}
        }
    }
}

fn cap(table: &mut Table, key: &str, max: i64) {
    match table.get_mut(key) {
        Some(Value::Integer(n)) => *n = (*n).min(max),
        Some(_) => {}
        None => {
            table.insert(key.to_string(), Value::Integer(max));
        }
    }
}
