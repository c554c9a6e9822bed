//! The checker helpers every section check is written with: a [`Check`] collects problems
//! while typed readers turn raw TOML values into checked ones, taking ranges, allowed values,
//! defaults and hints from the key's entry in the [schema](super::schema).
//!
//! Every reader returns `None` when it has recorded a problem, so a section check reads all
//! of its keys (reporting every problem) and builds its result only when all are good.

use toml::{Table, Value};

use super::problem::{Problem, shorten};
use super::schema::{DefaultValue, Key, Type};

/// Collects problems while checking a raw table.
#[derive(Default)]
pub(crate) struct Check {
    pub problems: Vec<Problem>,
    /// The folder of the scenario file: files it names (`init.from_file`) are read from there.
    pub dir: std::path::PathBuf,
}

impl Check {
    pub fn push(&mut self, key: &str, value: Option<&Value>, message: impl Into<String>) {
        self.problems.push(Problem::new(key, value, message));
    }

    /// Reports each key of `table` that is not in `allowed` (with a suggestion for a typo).
    pub fn unknown_keys(&mut self, table: &Table, prefix: &str, allowed: &[&str], what: &str) {
        for key in table.keys() {
            if allowed.contains(&key.as_str()) {
                continue;
            }
            let mut message = format!("unknown key{what}; expected one of {}", allowed.join(", "));
            if let Some(close) = suggestion(key, allowed) {
                message.push_str(&format!(" (did you mean {close}?)"));
            }
            self.push(&join(prefix, &shorten(key)), None, message);
        }
    }

    /// Reports a key whose schema entry does not fit the reader used on it (a bug, kept from
    /// panicking so that a scenario error is still reported whole).
    fn schema_mismatch<T>(&mut self, key: &str, spec: &Key, reader: &str) -> Option<T> {
        self.push(
            key,
            None,
            format!(
                "internal error: the schema describes {} as {}, not something {reader} reads",
                spec.path(),
                spec.ty.name()
            ),
        );
        None
    }

    pub fn table<'t>(&mut self, key: &str, value: &'t Value, example: &str) -> Option<&'t Table> {
        match value {
            Value::Table(table) => Some(table),
            other => {
                self.push(
                    key,
                    Some(other),
                    format!("must be a table (e.g. {example})"),
                );
                None
            }
        }
    }

    pub fn string<'t>(&mut self, key: &str, value: &'t Value) -> Option<&'t str> {
        match value {
            Value::String(text) => Some(text),
            other => {
                self.push(key, Some(other), "must be a string");
                None
            }
        }
    }

    pub fn boolean(&mut self, key: &str, value: &Value) -> Option<bool> {
        match value {
            Value::Boolean(b) => Some(*b),
            other => {
                self.push(key, Some(other), Type::Bool.phrase_as_rule());
                None
            }
        }
    }

    /// An integer in `min..=max`.
    pub fn integer_in(&mut self, key: &str, value: &Value, min: i64, max: i64) -> Option<i64> {
        let rule = Type::Int { min, max }.phrase_as_rule();
        match value {
            Value::Integer(n) if (min..=max).contains(n) => Some(*n),
            other => {
                self.push(key, Some(other), rule);
                None
            }
        }
    }

    /// An integer in the range of the integer key `spec`.
    pub fn integer(&mut self, key: &str, value: &Value, spec: &Key) -> Option<i64> {
        let Type::Int { min, max } = spec.ty else {
            return self.schema_mismatch(key, spec, "an integer reader");
        };
        self.integer_in(key, value, min, max)
    }

    /// A non-negative integer in the range of the integer key `spec`.
    pub fn count(&mut self, key: &str, value: &Value, spec: &Key) -> Option<usize> {
        let n = self.integer(key, value, spec)?;
        match usize::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                self.push(key, Some(value), spec.ty.phrase_as_rule());
                None
            }
        }
    }

    /// A number (an integer is taken as one) in the range of the number key `spec`.
    pub fn float(&mut self, key: &str, value: &Value, spec: &Key) -> Option<f64> {
        let Type::Float(range) = spec.ty else {
            return self.schema_mismatch(key, spec, "a number reader");
        };
        let x = match value {
            Value::Float(x) => Some(*x),
            Value::Integer(n) => Some(*n as f64),
            _ => None,
        };
        match x {
            Some(x) if range.contains(x) => Some(x),
            _ => {
                self.push(key, Some(value), spec.ty.phrase_as_rule());
                None
            }
        }
    }

    /// One of the names of the choice key `spec`, as the value `choices` gives it.
    pub fn choice<T: Copy>(
        &mut self,
        key: &str,
        value: &Value,
        spec: &Key,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let Type::Choice { what, options } = spec.ty else {
            return self.schema_mismatch(key, spec, "a choice reader");
        };
        let Value::String(text) = value else {
            self.push(
                key,
                Some(value),
                format!("must be a string; expected one of {}", options.join(", ")),
            );
            return None;
        };
        if options.contains(&text.as_str())
            && let Some((_, choice)) = choices.iter().find(|(name, _)| name == text)
        {
            return Some(*choice);
        }
        let mut message = format!("unknown {what}; expected one of {}", options.join(", "));
        if let Some(close) = suggestion(text, options) {
            message.push_str(&format!(" (did you mean {close}?)"));
        }
        self.push(key, Some(value), message);
        None
    }

    /// A required key: `None` (and a problem) when it is missing.
    pub fn required<'t, T>(
        &mut self,
        table: &'t Table,
        prefix: &str,
        spec: &Key,
        check: impl FnOnce(&mut Self, &str, &'t Value) -> Option<T>,
    ) -> Option<T> {
        self.required_with(table, prefix, spec, &spec.missing_hint(), check)
    }

    /// A required key whose hint depends on the rest of the table (e.g. the optimizer kind).
    pub fn required_with<'t, T>(
        &mut self,
        table: &'t Table,
        prefix: &str,
        spec: &Key,
        hint: &str,
        check: impl FnOnce(&mut Self, &str, &'t Value) -> Option<T>,
    ) -> Option<T> {
        let key = join(prefix, spec.name);
        match table.get(spec.name) {
            Some(value) => check(self, &key, value),
            None => {
                self.push(&key, None, format!("missing; {hint}"));
                None
            }
        }
    }

    /// A key with a default: when it is absent, the schema's default value is read by the
    /// same `check`.
    pub fn defaulted<T>(
        &mut self,
        table: &Table,
        prefix: &str,
        spec: &Key,
        check: impl FnOnce(&mut Self, &str, &Value) -> Option<T>,
    ) -> Option<T> {
        let key = join(prefix, spec.name);
        if let Some(value) = table.get(spec.name) {
            return check(self, &key, value);
        }
        match default_value(spec) {
            Some(value) => check(self, &key, &value),
            None => {
                self.push(&key, None, format!("missing; {}", spec.missing_hint()));
                None
            }
        }
    }

    /// An optional key without a default: `Some(None)` when absent.
    pub fn optional<'t, T>(
        &mut self,
        table: &'t Table,
        prefix: &str,
        spec: &Key,
        check: impl FnOnce(&mut Self, &str, &'t Value) -> Option<T>,
    ) -> Option<Option<T>> {
        match table.get(spec.name) {
            Some(value) => check(self, &join(prefix, spec.name), value).map(Some),
            None => Some(None),
        }
    }
}

/// The schema's default of `spec` as a TOML value (`None`: it has none).
pub(crate) fn default_value(spec: &Key) -> Option<Value> {
    match spec.default {
        DefaultValue::Value(text) => parse_value(text),
        DefaultValue::Required | DefaultValue::Unset => None,
    }
}

/// A single TOML value, or `None` when `text` is not exactly one.
pub(crate) fn parse_value(text: &str) -> Option<Value> {
    let document = format!("value = {text}\n");
    let mut table = document.parse::<Table>().ok()?;
    if table.len() != 1 {
        return None;
    }
    table.remove("value")
}

/// `prefix.key`, or `key` at the top level.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The hint for a key that a variant of its table needs: `step needs step_epochs and gamma
/// (e.g. gamma = 0.5)`.
pub(crate) fn needs_hint(variant: &str, needed: &[&str], spec: &Key) -> String {
    format!(
        "{variant} needs {} (e.g. {} = {})",
        and_list(needed),
        spec.name,
        spec.example
    )
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            let above = row.get(j + 1).copied().unwrap_or(usize::MAX);
            let left = row.get(j).copied().unwrap_or(usize::MAX);
            previous = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = substitution
                    .min(above.saturating_add(1))
                    .min(left.saturating_add(1));
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

/// The closest of `candidates` to `key`, when it is close enough to be a typo.
fn suggestion<'a>(key: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if key.chars().count() > 40 {
        return None;
    }
    candidates
        .iter()
        .map(|candidate| (edit_distance(key, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2 && *distance < candidate.len())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}
