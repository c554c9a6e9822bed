//! Key paths such as `model.layers[*].activation`: parsing them ([`parse_path`]), checking
//! them against the [schema](super::schema) ([`check_path`]) and setting the node they name
//! in a raw TOML table ([`Assignment::apply`]). Sweeps, `[quick]` tables and command-line
//! overrides are all made of such assignments.

use toml::{Table, Value};

use super::problem::render;
use super::schema;

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
        let Some(children) = schema::settable_names(&node) else {
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
            if !schema::is_array(&node) {
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

/// True when the sweep key is a path into the scenario (its first segment is a scenario key).
pub(crate) fn is_path(key: &str) -> bool {
    let first = key.split(['.', '[']).next().unwrap_or(key);
    schema::settable_names("").is_some_and(|top| top.contains(&first))
        || key.contains('.')
        || key.contains('[')
}

/// Replaces the node at `segments` by `value`, creating missing tables on the way.
fn set_path(table: &mut Table, segments: &[Segment], value: &Value) -> Result<(), String> {
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
