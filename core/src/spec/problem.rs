//! What is wrong with a scenario, and how it is shown: [`ScenarioError`] holds every
//! [`Problem`] found in one file (or command line); values are written back as one-line TOML.
//!
//! This is the bottom of `spec`: it depends on no other module of it.

use std::fmt;

use toml::Value;

/// Everything wrong with a scenario (or a command-line override).
///
/// It renders as `origin: N problems` followed by one indented line per problem, without a
/// leading `error:`: the program that reports it adds that once.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ScenarioError {
    /// The file (or `command line`).
    pub origin: String,
    pub problems: Vec<Problem>,
}

/// One thing wrong: the key, the value found there, what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Dotted path of the key, e.g. `model.layers[1].activation`.
    pub key: String,
    /// The value found there, written as TOML (`None`: missing, or not worth showing).
    pub value: Option<String>,
    pub message: String,
    /// The sweep variant it was found in, when the scenario has several.
    pub variant: Option<String>,
}

impl ScenarioError {
    /// An error with a single problem.
    pub(crate) fn one(origin: &str, problem: Problem) -> Self {
        ScenarioError {
            origin: origin.to_string(),
            problems: vec![problem],
        }
    }

    fn render(&self) -> String {
        let count = self.problems.len();
        let plural = if count == 1 { "problem" } else { "problems" };
        let mut out = format!("{}: {count} {plural}", self.origin);
        for problem in &self.problems {
            out.push_str("\n  ");
            out.push_str(&problem.to_string());
        }
        out
    }
}

impl Problem {
    /// A problem at `key`, showing `value` when given.
    pub(crate) fn new(
        key: impl Into<String>,
        value: Option<&Value>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            key: key.into(),
            value: value.map(render),
            message: message.into(),
            variant: None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.key)?;
        if let Some(value) = &self.value {
            write!(f, " = {value}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(variant) = &self.variant {
            write!(f, " (variant {variant})")?;
        }
        Ok(())
    }
}

/// At most 60 characters of `text` (user input may be anything).
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head}…")
    }
}

/// A value written as TOML on one line (shortened when long).
pub(crate) fn render(value: &Value) -> String {
    shorten(&render_full(value))
}

fn render_full(value: &Value) -> String {
    match value {
        Value::String(text) => format!("{text:?}"),
        Value::Integer(n) => n.to_string(),
        Value::Float(x) if x.is_nan() => "nan".to_string(),
        Value::Float(x) if x.is_infinite() => if *x > 0.0 { "inf" } else { "-inf" }.to_string(),
        Value::Float(x) => format!("{x:?}"),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(datetime) => datetime.to_string(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(render_full).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Table(table) => {
            if table.is_empty() {
                return "{}".to_string();
            }
            let inner: Vec<String> = table
                .iter()
                .map(|(key, value)| format!("{key} = {}", render_full(value)))
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
    }
}
