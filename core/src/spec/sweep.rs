//! The `[sweep]` and `[quick]` tables: reading them into key-path assignments, and expanding a
//! sweep into one raw table per variant.
//!
//! A `[sweep]` table becomes a list of [`Axis`] values whose cartesian product ([`expand`])
//! gives one named raw table per variant; a `[quick]` table becomes a list of assignments
//! ([`parse_assignments`]). Both work on raw TOML, before any variant is checked.

use toml::{Table, Value};

use super::path::{Assignment, is_path, resolve_path, section_key};
use super::problem::{Problem, render};

/// Sweeps larger than this are refused (a typo in a sweep should not hang the harness).
pub(crate) const MAX_VARIANTS: usize = 10_000;

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
    Problem::new(key, value, message)
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
        let points = if is_path(key) {
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
        "residual" => Some(format!(
            "res{}{}",
            table.get("activation")?.as_str()?,
            render(table.get("units")?)
        )),
        "activation" => Some(table.get("function")?.as_str()?.to_string()),
        "dropout" => Some(format!("dropout{}", render(table.get("rate")?))),
        "batch_norm" => Some("bn".to_string()),
        "conv2d" => Some(format!(
            "conv{}x{}",
            render(table.get("channels")?),
            render(table.get("kernel_size")?)
        )),
        "max_pool2d" => Some(format!("maxpool{}", render(table.get("size")?))),
        "avg_pool2d" => Some(format!("avgpool{}", render(table.get("size")?))),
        "flatten" => Some("flat".to_string()),
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

/// One variant of a sweep: its short name, the full assignment it was made from, and its
/// raw table.
pub(crate) struct RawVariant {
    /// What differs from the other variants, short: `relu lr=1.0`.
    pub name: String,
    /// Every axis key and label: `model.layers[*].activation=relu,optimizer.learning_rate=1.0`
    /// (empty without a sweep).
    pub assignment: String,
    pub table: Table,
}

/// The cartesian product of the axes over `base` (first axis outermost): one named raw table
/// per variant. Assignments that cannot be made are reported once per axis key.
pub(crate) fn expand(base: &Table, axes: &[Axis], problems: &mut Vec<Problem>) -> Vec<RawVariant> {
    if axes.is_empty() {
        return vec![RawVariant {
            name: "base".to_string(),
            assignment: String::new(),
            table: base.clone(),
        }];
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
    // Each variant: the (axis, point) it takes on every axis, and its table.
    let mut variants = vec![(Vec::<(&Axis, &Point)>::new(), base.clone())];
    for axis in axes {
        let mut next = Vec::with_capacity(variants.len() * axis.points.len());
        for (picks, table) in &variants {
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
                let mut picks = picks.clone();
                picks.push((axis, point));
                next.push((picks, table));
            }
        }
        variants = next;
    }
    let full = |picks: &[(&Axis, &Point)]| {
        picks
            .iter()
            .map(|(axis, point)| format!("{}={}", axis.key, point.label))
            .collect::<Vec<_>>()
            .join(",")
    };
    let names = short_names(
        &variants
            .iter()
            .map(|(picks, _)| picks.clone())
            .collect::<Vec<_>>(),
    )
    .unwrap_or_else(|| variants.iter().map(|(picks, _)| full(picks)).collect());
    variants
        .into_iter()
        .zip(names)
        .map(|((picks, table), name)| RawVariant {
            name,
            assignment: full(&picks),
            table,
        })
        .collect()
}

/// Variant names made of what differs between variants: each axis's label, bare where it is a
/// word (`relu`, `adam`) or a bundle's name, after a short form of its key where it is a
/// number or a flag (`lr=1.0`), joined by spaces. `None` when two variants would get the same name (the full
/// assignments are used then).
fn short_names(variants: &[Vec<(&Axis, &Point)>]) -> Option<Vec<String>> {
    let names: Vec<String> = variants
        .iter()
        .map(|picks| {
            picks
                .iter()
                .map(|(axis, point)| short_part(&axis.key, &point.label))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let mut sorted: Vec<&String> = names.iter().collect();
    sorted.sort();
    sorted.dedup();
    (sorted.len() == names.len()).then_some(names)
}

/// One axis's part of a short variant name: a bundle axis's names are the author's words, a
/// path axis's value is bare when it is a word.
fn short_part(key: &str, label: &str) -> String {
    let is_word = label.chars().next().is_some_and(char::is_alphabetic)
        && !matches!(label, "true" | "false" | "inf" | "nan");
    if is_word || !is_path(key) {
        return label.to_string();
    }
    format!("{}={label}", short_key(key))
}

/// The last segment of a key path, abbreviated where the course has a usual short form.
fn short_key(key: &str) -> String {
    let last = key
        .rsplit('.')
        .next()
        .unwrap_or(key)
        .split('[')
        .next()
        .unwrap_or(key);
    match last {
        "learning_rate" => "lr",
        "batch_size" => "batch",
        "weight_decay" => "wd",
        "validation_fraction" => "val",
        other => other,
    }
    .to_string()
}
