//! Reading a scenario file: TOML → validated [`Scenario`](super::Scenario).
//!
//! The text is parsed as raw TOML; in a quick run it is capped ([`sweep::apply_quick_caps`])
//! and edited by its `[quick]` table; its `[sweep]` is expanded into one raw table per variant;
//! the caller's overrides are applied to every variant; and each variant is checked field by
//! field into a [`RunSpec`]. Every problem found on the way is collected (none stops the
//! others) and reported together in a [`ScenarioError`].

use std::fmt;
use std::path::Path;

use toml::{Table, Value};

use super::sweep::{self, Assignment};
use super::{
    Activation, BatchSize, BlobsSpec, DatasetSource, DatasetSpec, EarlyStopping, InitScheme,
    InitSpec, LayerSpec, LogicGate, ModelSpec, Monitor, OptimizerKind, OptimizerSpec, OutputHead,
    OutputSpec, RegularizationSpec, RunSpec, Scaling, Scenario, Schedule, TrainingSpec, Variant,
};
use crate::KNOWN_BACKENDS;

/// How to load a scenario.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Cap the run for a smoke test (at most 2 epochs and 2 seeds, small datasets), then apply
    /// the file's `[quick]` table.
    pub quick: bool,
    /// `dotted.path` → value, applied to every variant after the sweep.
    pub overrides: Vec<(String, toml::Value)>,
}

/// Everything wrong with a scenario (or a command-line override).
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
    fn render(&self) -> String {
        let count = self.problems.len();
        let plural = if count == 1 { "problem" } else { "problems" };
        let mut out = format!("error: {}: {count} {plural}", self.origin);
        for problem in &self.problems {
            out.push_str("\n  ");
            out.push_str(&problem.to_string());
        }
        out
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

/// Reads and parses a scenario file; its name is the file stem.
pub fn load_scenario(path: &Path, options: &LoadOptions) -> Result<Scenario, ScenarioError> {
    let origin = path.display().to_string();
    let name = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_scenario(&name, &origin, &text, options),
        Err(error) => Err(ScenarioError {
            origin,
            problems: vec![Problem {
                key: "file".to_string(),
                value: None,
                message: format!("cannot be read: {error}"),
                variant: None,
            }],
        }),
    }
}

/// Parses a `key=value` override: the value is read as a TOML value (`3`, `[1, 2]`,
/// `{ kind = "sgd", learning_rate = 0.1 }`), or taken as a bare string when it is not one.
pub fn parse_override(assignment: &str) -> Result<(String, toml::Value), ScenarioError> {
    let fail = |message: String| ScenarioError {
        origin: "command line".to_string(),
        problems: vec![Problem {
            key: shorten(assignment.trim()),
            value: None,
            message,
            variant: None,
        }],
    };
    let Some((key, value)) = assignment.split_once('=') else {
        return Err(fail(
            "expected key=value (e.g. training.epochs=3)".to_string(),
        ));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(fail(
            "empty key before '='; expected key=value (e.g. training.epochs=3)".to_string(),
        ));
    }
    sweep::parse_path(key).map_err(fail)?;
    let text = value.trim();
    let value = parse_value(text).unwrap_or_else(|| Value::String(text.to_string()));
    Ok((key.to_string(), value))
}

/// A single TOML value, or `None` when `text` is not exactly one.
fn parse_value(text: &str) -> Option<Value> {
    let document = format!("value = {text}\n");
    let mut table = document.parse::<Table>().ok()?;
    if table.len() != 1 {
        return None;
    }
    table.remove("value")
}

/// Parses scenario text. `name` names the scenario, `origin` is where the text came from (for
/// messages).
pub fn parse_scenario(
    name: &str,
    origin: &str,
    text: &str,
    options: &LoadOptions,
) -> Result<Scenario, ScenarioError> {
    let fail = |problems: Vec<Problem>| ScenarioError {
        origin: origin.to_string(),
        problems,
    };
    let mut root = match text.parse::<Table>() {
        Ok(root) => root,
        Err(error) => return Err(fail(vec![syntax_problem(text, &error)])),
    };
    let mut problems = Vec::new();

    let sweep_table = root.remove("sweep");
    let quick_table = root.remove("quick");
    let axes = sweep_table.as_ref().map_or_else(Vec::new, |value| {
        sweep::parse_axes(value, &sweep::key_order(text, "sweep"), &mut problems)
    });
    let quick_sets = quick_table.as_ref().map_or_else(Vec::new, |value| {
        sweep::parse_assignments(
            "quick",
            value,
            &sweep::key_order(text, "quick"),
            &mut problems,
        )
    });
    let mut overrides = Vec::new();
    for (path, value) in &options.overrides {
        match sweep::resolve_path(path) {
            Ok(segments) => overrides.push(Assignment {
                path: path.clone(),
                segments,
                value: value.clone(),
            }),
            Err(message) => problems.push(Problem {
                key: shorten(path),
                value: None,
                message: format!("unknown key (in an override): {message}"),
                variant: None,
            }),
        }
    }

    if options.quick {
        sweep::apply_quick_caps(&mut root);
        for set in &quick_sets {
            if let Err(message) = set.apply(&mut root) {
                problems.push(Problem {
                    key: sweep::section_key("quick", &set.path),
                    value: None,
                    message,
                    variant: None,
                });
            }
        }
        // The [quick] table may lower the caps further, never raise them.
        sweep::apply_quick_caps(&mut root);
    }

    let raw_variants = sweep::expand(&root, &axes, &mut problems);
    let several = raw_variants.len() > 1;
    let mut variants = Vec::new();
    let mut meta = None;
    for (variant_name, mut table) in raw_variants {
        let mut check = Check::default();
        if options.quick {
            // A sweep value must not undo the caps of a quick run either.
            sweep::apply_quick_caps(&mut table);
        }
        for set in &overrides {
            if let Err(message) = set.apply(&mut table) {
                check.problems.push(Problem {
                    key: shorten(&set.path),
                    value: None,
                    message: format!("cannot apply the override: {message}"),
                    variant: None,
                });
            }
        }
        let checked = check_run(&mut check, &table);
        for mut problem in check.problems {
            let seen = problems.iter().any(|p: &Problem| {
                p.key == problem.key && p.value == problem.value && p.message == problem.message
            });
            if !seen {
                if several {
                    problem.variant = Some(variant_name.clone());
                }
                problems.push(problem);
            }
        }
        if let Some((description, course_section, time_limit, run)) = checked {
            meta.get_or_insert((description, course_section, time_limit));
            variants.push(Variant {
                name: variant_name,
                run,
            });
        }
    }

    match meta {
        Some((description, course_section, unit_time_limit_s)) if problems.is_empty() => {
            Ok(Scenario {
                name: name.to_string(),
                description,
                course_section,
                unit_time_limit_s,
                variants,
            })
        }
        _ if problems.is_empty() => Err(fail(vec![Problem {
            key: "sweep".to_string(),
            value: None,
            message: "no variant to run".to_string(),
            variant: None,
        }])),
        _ => Err(fail(problems)),
    }
}

fn syntax_problem(text: &str, error: &toml::de::Error) -> Problem {
    let start = error.span().map_or(0, |span| span.start);
    let before = text.get(..start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    let message = error.message().trim().replace('\n', "; ");
    Problem {
        key: format!("line {line}, column {column}"),
        value: None,
        message: format!("not valid TOML: {message}"),
        variant: None,
    }
}

/// At most 60 characters of `text` (user input may be anything).
fn shorten(text: &str) -> String {
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

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Names from `options` as `a, b, c`.
fn names<T>(options: &[(&str, T)]) -> String {
    options
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
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

/// Allowed range of a float.
#[derive(Debug, Clone, Copy)]
enum Range {
    /// > 0, finite.
    Positive,
    /// > 0, +inf allowed.
    PositiveOrInfinite,
    /// >= 0, finite.
    NonNegative,
    /// [0, 1).
    Fraction,
    /// (0, 1].
    Factor,
    /// > 1, finite.
    AboveOne,
}

impl Range {
    fn contains(self, x: f64) -> bool {
        match self {
            Range::Positive => x.is_finite() && x > 0.0,
            Range::PositiveOrInfinite => x > 0.0,
            Range::NonNegative => x.is_finite() && x >= 0.0,
            Range::Fraction => (0.0..1.0).contains(&x),
            Range::Factor => x > 0.0 && x <= 1.0,
            Range::AboveOne => x.is_finite() && x > 1.0,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Range::Positive | Range::PositiveOrInfinite => "> 0",
            Range::NonNegative => ">= 0",
            Range::Fraction => "in [0, 1)",
            Range::Factor => "in (0, 1]",
            Range::AboveOne => "> 1",
        }
    }
}

/// Collects problems while checking a raw table. Every checker returns `None` when it has
/// recorded a problem.
#[derive(Default)]
struct Check {
    problems: Vec<Problem>,
}

impl Check {
    fn push(&mut self, key: &str, value: Option<&Value>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.to_string(),
            value: value.map(render),
            message: message.into(),
            variant: None,
        });
    }

    fn unknown_keys(&mut self, table: &Table, prefix: &str, allowed: &[&str], what: &str) {
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

    fn table<'t>(&mut self, key: &str, value: &'t Value, example: &str) -> Option<&'t Table> {
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

    fn string<'t>(&mut self, key: &str, value: &'t Value) -> Option<&'t str> {
        match value {
            Value::String(text) => Some(text),
            other => {
                self.push(key, Some(other), "must be a string");
                None
            }
        }
    }

    fn boolean(&mut self, key: &str, value: &Value) -> Option<bool> {
        match value {
            Value::Boolean(b) => Some(*b),
            other => {
                self.push(key, Some(other), "must be true or false");
                None
            }
        }
    }

    fn int_message(min: i64, max: i64) -> String {
        if max == i64::MAX {
            format!("must be an integer >= {min}")
        } else {
            format!("must be an integer in {min}..={max}")
        }
    }

    fn integer(&mut self, key: &str, value: &Value, min: i64, max: i64) -> Option<i64> {
        match value {
            Value::Integer(n) if (min..=max).contains(n) => Some(*n),
            other => {
                self.push(key, Some(other), Self::int_message(min, max));
                None
            }
        }
    }

    fn count(&mut self, key: &str, value: &Value, min: i64, max: i64) -> Option<usize> {
        let n = self.integer(key, value, min, max)?;
        match usize::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                self.push(key, Some(value), Self::int_message(min, max));
                None
            }
        }
    }

    fn float(&mut self, key: &str, value: &Value, range: Range) -> Option<f64> {
        let x = match value {
            Value::Float(x) => Some(*x),
            Value::Integer(n) => Some(*n as f64),
            _ => None,
        };
        match x {
            Some(x) if range.contains(x) => Some(x),
            _ => {
                self.push(
                    key,
                    Some(value),
                    format!("must be a number {}", range.text()),
                );
                None
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        key: &str,
        value: &Value,
        what: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        let Value::String(text) = value else {
            self.push(
                key,
                Some(value),
                format!("must be a string; expected one of {}", names(options)),
            );
            return None;
        };
        if let Some((_, choice)) = options.iter().find(|(name, _)| name == text) {
            return Some(*choice);
        }
        let mut message = format!("unknown {what}; expected one of {}", names(options));
        let candidates: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
        if let Some(close) = suggestion(text, &candidates) {
            message.push_str(&format!(" (did you mean {close}?)"));
        }
        self.push(key, Some(value), message);
        None
    }

    /// A required key: `None` (and a problem) when it is missing.
    fn required<'t, T>(
        &mut self,
        table: &'t Table,
        prefix: &str,
        name: &str,
        hint: &str,
        check: impl FnOnce(&mut Self, &str, &'t Value) -> Option<T>,
    ) -> Option<T> {
        let key = join(prefix, name);
        match table.get(name) {
            Some(value) => check(self, &key, value),
            None => {
                self.push(&key, None, format!("missing; {hint}"));
                None
            }
        }
    }

    /// A key with a default.
    fn defaulted<'t, T>(
        &mut self,
        table: &'t Table,
        prefix: &str,
        name: &str,
        default: T,
        check: impl FnOnce(&mut Self, &str, &'t Value) -> Option<T>,
    ) -> Option<T> {
        match table.get(name) {
            Some(value) => check(self, &join(prefix, name), value),
            None => Some(default),
        }
    }

    /// An optional key without a default: `Some(None)` when absent.
    fn optional<'t, T>(
        &mut self,
        table: &'t Table,
        prefix: &str,
        name: &str,
        check: impl FnOnce(&mut Self, &str, &'t Value) -> Option<T>,
    ) -> Option<Option<T>> {
        match table.get(name) {
            Some(value) => check(self, &join(prefix, name), value).map(Some),
            None => Some(None),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Choices
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum DatasetKind {
    Mnist,
    FashionMnist,
    Logic(LogicGate),
    Blobs,
}

const DATASETS: &[(&str, DatasetKind)] = &[
    ("mnist", DatasetKind::Mnist),
    ("fashion_mnist", DatasetKind::FashionMnist),
    ("and", DatasetKind::Logic(LogicGate::And)),
    ("or", DatasetKind::Logic(LogicGate::Or)),
    ("xor", DatasetKind::Logic(LogicGate::Xor)),
    ("blobs", DatasetKind::Blobs),
];

const SCALINGS: &[(&str, Scaling)] = &[
    ("none", Scaling::None),
    ("unit", Scaling::Unit),
    ("standard", Scaling::Standard),
];

const BLOBS_KEYS: &[&str] = &[
    "classes",
    "features",
    "train_per_class",
    "test_per_class",
    "separation",
    "spread",
    "seed",
];

fn activations() -> Vec<(&'static str, Activation)> {
    Activation::ALL.iter().map(|a| (a.name(), *a)).collect()
}

fn heads() -> Vec<(&'static str, OutputHead)> {
    OutputHead::ALL.iter().map(|h| (h.name(), *h)).collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum LayerType {
    Dense,
    Activation,
    Dropout,
    BatchNorm,
}

const LAYER_TYPES: &[(&str, LayerType)] = &[
    ("dense", LayerType::Dense),
    ("activation", LayerType::Activation),
    ("dropout", LayerType::Dropout),
    ("batch_norm", LayerType::BatchNorm),
];

const NAMED_WEIGHT_INITS: &[(&str, InitScheme)] = &[
    ("glorot_uniform", InitScheme::GlorotUniform),
    ("glorot_normal", InitScheme::GlorotNormal),
    ("he_uniform", InitScheme::HeUniform),
    ("he_normal", InitScheme::HeNormal),
    ("lecun_uniform", InitScheme::LecunUniform),
    ("lecun_normal", InitScheme::LecunNormal),
    ("zeros", InitScheme::Zeros),
    ("framework_default", InitScheme::FrameworkDefault),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Sgd,
    Momentum,
    Nesterov,
    Rmsprop,
    Adam,
}

const OPTIMIZERS: &[(&str, Kind)] = &[
    ("sgd", Kind::Sgd),
    ("momentum", Kind::Momentum),
    ("nesterov", Kind::Nesterov),
    ("rmsprop", Kind::Rmsprop),
    ("adam", Kind::Adam),
];

/// The optimizer constants and an example value of each.
const CONSTANTS: &[(&str, &str)] = &[
    ("momentum", "0.9"),
    ("nesterov", "false"),
    ("alpha", "0.99"),
    ("beta1", "0.9"),
    ("beta2", "0.999"),
    ("epsilon", "1e-8"),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum ScheduleKind {
    Constant,
    Step,
    InvScaling,
    Adaptive,
}

const SCHEDULES: &[(&str, ScheduleKind)] = &[
    ("constant", ScheduleKind::Constant),
    ("step", ScheduleKind::Step),
    ("invscaling", ScheduleKind::InvScaling),
    ("adaptive", ScheduleKind::Adaptive),
];

const MONITORS: &[(&str, Monitor)] = &[
    ("val_loss", Monitor::ValLoss),
    ("val_accuracy", Monitor::ValAccuracy),
];

// ---------------------------------------------------------------------------------------
// Checking one variant
// ---------------------------------------------------------------------------------------

/// Checks one variant's raw table: its description, course section and run.
fn check_run(c: &mut Check, root: &Table) -> Option<(String, String, Option<f64>, RunSpec)> {
    let mut allowed = sweep::TOP_KEYS.to_vec();
    allowed.extend(["sweep", "quick"]);
    c.unknown_keys(root, "", &allowed, "");

    let description = c.required(
        root,
        "",
        "description",
        "a sentence saying what the scenario shows (e.g. description = \"...\")",
        |c, k, v| c.string(k, v).map(str::to_owned),
    );
    let course_section = c.required(
        root,
        "",
        "course_section",
        "where in the course it comes from (e.g. course_section = \"Optimizers\")",
        |c, k, v| c.string(k, v).map(str::to_owned),
    );
    let backends = c.required(
        root,
        "",
        "backends",
        &format!(
            "list the backends to run (e.g. backends = [\"native\"]); known: {}",
            KNOWN_BACKENDS.join(", ")
        ),
        check_backends,
    );
    let threads = c.defaulted(root, "", "threads", 1, |c, k, v| c.count(k, v, 1, 256));
    let time_limit = c.optional(root, "", "unit_time_limit", |c, k, v| {
        c.float(k, v, Range::Positive)
    });

    let dataset = section(
        c,
        root,
        "dataset",
        "add a [dataset] table (e.g. name = \"mnist\")",
    )
    .and_then(|t| check_dataset(c, t));
    let model = section(
        c,
        root,
        "model",
        "add a [model] table (e.g. output = \"softmax_cross_entropy\")",
    )
    .and_then(|t| check_model(c, t));
    let empty = Table::new();
    let init = optional_section(c, root, "init", &empty).and_then(|t| check_init(c, t));
    let optimizer = section(
        c,
        root,
        "optimizer",
        "add an [optimizer] table (e.g. kind = \"sgd\", learning_rate = 0.1)",
    )
    .and_then(|t| check_optimizer(c, t));
    let regularization = optional_section(c, root, "regularization", &empty)
        .and_then(|t| check_regularization(c, t));
    let training = section(
        c,
        root,
        "training",
        "add a [training] table (e.g. epochs = 10, batch_size = 128)",
    )
    .and_then(|t| check_training(c, t));

    // Rules across sections.
    if let (Some(dataset), Some(model)) = (&dataset, &model) {
        let head = model.output.head;
        let (classes, what) = match &dataset.source {
            DatasetSource::Mnist => (10, "mnist has 10 classes; use".to_string()),
            DatasetSource::FashionMnist => (10, "fashion_mnist has 10 classes; use".to_string()),
            DatasetSource::Logic { .. } => (2, String::new()),
            DatasetSource::Blobs(blobs) => (
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
        if head == OutputHead::Step && !model.layers.is_empty() {
            c.push(
                "model.layers",
                None,
                "the step head allows no hidden layers (it is a single threshold unit); remove them (layers = []) or use sigmoid_binary_cross_entropy",
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
    Some((description?, course_section?, time_limit?, run))
}

fn section<'t>(c: &mut Check, root: &'t Table, name: &str, hint: &str) -> Option<&'t Table> {
    match root.get(name) {
        Some(value) => c.table(name, value, hint.trim_start_matches("add ")),
        None => {
            c.push(name, None, format!("missing; {hint}"));
            None
        }
    }
}

fn optional_section<'t>(
    c: &mut Check,
    root: &'t Table,
    name: &str,
    empty: &'t Table,
) -> Option<&'t Table> {
    match root.get(name) {
        Some(value) => c.table(name, value, &format!("[{name}]")),
        None => Some(empty),
    }
}

fn check_backends(c: &mut Check, key: &str, value: &Value) -> Option<Vec<String>> {
    let known = KNOWN_BACKENDS.join(", ");
    let items = match value {
        Value::Array(items) if !items.is_empty() => items,
        other => {
            c.push(
                key,
                Some(other),
                format!("must be a non-empty array of backend names; expected some of {known}"),
            );
            return None;
        }
    };
    let mut out = Some(Vec::new());
    for (i, item) in items.iter().enumerate() {
        let here = format!("{key}[{i}]");
        let name = match item {
            Value::String(name) if KNOWN_BACKENDS.contains(&name.as_str()) => name,
            Value::String(_) => {
                c.push(
                    &here,
                    Some(item),
                    format!("unknown backend; expected one of {known}"),
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
            c.push(&here, Some(item), "listed twice; list each backend once");
            out = None;
            continue;
        }
        if let Some(list) = &mut out {
            list.push(name.clone());
        }
    }
    out
}

fn check_dataset(c: &mut Check, t: &Table) -> Option<DatasetSpec> {
    const P: &str = "dataset";
    c.unknown_keys(t, P, sweep::DATASET_KEYS, "");
    let kind = c.required(
        t,
        P,
        "name",
        &format!("one of {} (e.g. name = \"mnist\")", names(DATASETS)),
        |c, k, v| c.choice(k, v, "dataset", DATASETS),
    );
    let train_size = c.optional(t, P, "train_size", |c, k, v| c.count(k, v, 1, i64::MAX));
    let test_size = c.optional(t, P, "test_size", |c, k, v| c.count(k, v, 1, i64::MAX));
    let scaling = c.defaulted(t, P, "scaling", Scaling::None, |c, k, v| {
        c.choice(k, v, "scaling", SCALINGS)
    });
    let validation_fraction = c.defaulted(t, P, "validation_fraction", 0.0, |c, k, v| {
        c.float(k, v, Range::Fraction)
    });

    let kind = kind?;
    let dataset_name = DATASETS
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("", |(name, _)| *name);
    if kind != DatasetKind::Blobs {
        for key in BLOBS_KEYS {
            if t.contains_key(*key) {
                c.push(
                    &join(P, key),
                    t.get(*key),
                    format!("applies only to name = \"blobs\", not {dataset_name}; remove it"),
                );
            }
        }
    }
    let source = match kind {
        DatasetKind::Mnist => Some(DatasetSource::Mnist),
        DatasetKind::FashionMnist => Some(DatasetSource::FashionMnist),
        DatasetKind::Logic(gate) => {
            for key in ["train_size", "test_size"] {
                if let Some(value) = t.get(key) {
                    c.push(
                        &join(P, key),
                        Some(value),
                        format!("not allowed for {dataset_name}: its four rows are both the training and the test set; remove it"),
                    );
                }
            }
            if let Some(value) = t.get("validation_fraction")
                && validation_fraction.is_some_and(|f| f > 0.0)
            {
                c.push(
                    "dataset.validation_fraction",
                    Some(value),
                    format!("not allowed for {dataset_name}: its four rows are both the training and the test set; remove it"),
                );
            }
            Some(DatasetSource::Logic { gate })
        }
        DatasetKind::Blobs => check_blobs(c, t).map(DatasetSource::Blobs),
    };
    Some(DatasetSpec {
        source: source?,
        train_size: train_size?,
        test_size: test_size?,
        scaling: scaling?,
        validation_fraction: validation_fraction?,
    })
}

fn check_blobs(c: &mut Check, t: &Table) -> Option<BlobsSpec> {
    const P: &str = "dataset";
    let classes = c.defaulted(t, P, "classes", 2, |c, k, v| c.count(k, v, 2, 1000));
    let features = c.defaulted(t, P, "features", 2, |c, k, v| c.count(k, v, 1, i64::MAX));
    let train_per_class = c.defaulted(t, P, "train_per_class", 100, |c, k, v| {
        c.count(k, v, 1, i64::MAX)
    });
    let test_per_class = c.defaulted(t, P, "test_per_class", 100, |c, k, v| {
        c.count(k, v, 1, i64::MAX)
    });
    let separation = c.defaulted(t, P, "separation", 4.0, |c, k, v| {
        c.float(k, v, Range::Positive)
    });
    let spread = c.defaulted(t, P, "spread", 1.0, |c, k, v| {
        c.float(k, v, Range::Positive)
    });
    let seed = c.defaulted(t, P, "seed", 0, |c, k, v| {
        c.integer(k, v, 0, i64::MAX).map(|n| n.unsigned_abs())
    });
    Some(BlobsSpec {
        classes: classes?,
        features: features?,
        train_per_class: train_per_class?,
        test_per_class: test_per_class?,
        separation: separation?,
        spread: spread?,
        seed: seed?,
    })
}

fn check_model(c: &mut Check, t: &Table) -> Option<ModelSpec> {
    c.unknown_keys(t, "model", sweep::MODEL_KEYS, "");
    let layers = c.defaulted(t, "model", "layers", Vec::new(), check_layers);
    let head = c.required(
        t,
        "model",
        "output",
        &format!(
            "the output head, one of {} (e.g. output = \"softmax_cross_entropy\")",
            names(&heads())
        ),
        |c, k, v| c.choice(k, v, "output head", &heads()),
    );
    Some(ModelSpec {
        layers: layers?,
        output: OutputSpec { head: head? },
    })
}

fn check_layers(c: &mut Check, key: &str, value: &Value) -> Option<Vec<LayerSpec>> {
    let Value::Array(items) = value else {
        c.push(
            key,
            Some(value),
            "must be an array of layer tables (e.g. [{ type = \"dense\", units = 64, activation = \"relu\" }])",
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
    let t = c.table(
        prefix,
        value,
        "{ type = \"dense\", units = 64, activation = \"relu\" }",
    )?;
    let kind = c.required(
        t,
        prefix,
        "type",
        &format!("one of {} (e.g. type = \"dense\")", names(LAYER_TYPES)),
        |c, k, v| c.choice(k, v, "layer type", LAYER_TYPES),
    )?;
    let activations = activations();
    match kind {
        LayerType::Dense => {
            c.unknown_keys(
                t,
                prefix,
                &["type", "units", "activation"],
                " for a dense layer",
            );
            let units = c.required(
                t,
                prefix,
                "units",
                "an integer >= 1 (e.g. units = 64)",
                |c, k, v| c.count(k, v, 1, i64::MAX),
            );
            let activation = c.required(
                t,
                prefix,
                "activation",
                &format!(
                    "one of {} (e.g. activation = \"relu\")",
                    names(&activations)
                ),
                |c, k, v| c.choice(k, v, "activation", &activations),
            );
            Some(LayerSpec::Dense {
                units: units?,
                activation: activation?,
            })
        }
        LayerType::Activation => {
            c.unknown_keys(t, prefix, &["type", "function"], " for an activation layer");
            let function = c.required(
                t,
                prefix,
                "function",
                &format!("one of {} (e.g. function = \"relu\")", names(&activations)),
                |c, k, v| c.choice(k, v, "activation", &activations),
            );
            Some(LayerSpec::Activation {
                function: function?,
            })
        }
        LayerType::Dropout => {
            c.unknown_keys(t, prefix, &["type", "rate"], " for a dropout layer");
            let rate = c.required(
                t,
                prefix,
                "rate",
                "a number in [0, 1) (e.g. rate = 0.5)",
                |c, k, v| c.float(k, v, Range::Fraction),
            );
            Some(LayerSpec::Dropout { rate: rate? })
        }
        LayerType::BatchNorm => {
            c.unknown_keys(
                t,
                prefix,
                &["type", "momentum", "epsilon"],
                " for a batch_norm layer",
            );
            let momentum = c.defaulted(t, prefix, "momentum", 0.1, |c, k, v| {
                c.float(k, v, Range::Factor)
            });
            let epsilon = c.defaulted(t, prefix, "epsilon", 1e-5, |c, k, v| {
                c.float(k, v, Range::Positive)
            });
            Some(LayerSpec::BatchNorm {
                momentum: momentum?,
                epsilon: epsilon?,
            })
        }
    }
}

fn check_init(c: &mut Check, t: &Table) -> Option<InitSpec> {
    c.unknown_keys(t, "init", sweep::INIT_KEYS, "");
    let weights = c.defaulted(
        t,
        "init",
        "weights",
        InitScheme::GlorotUniform,
        |c, k, v| check_scheme(c, k, v, false),
    );
    let biases = c.defaulted(t, "init", "biases", InitScheme::Zeros, |c, k, v| {
        check_scheme(c, k, v, true)
    });
    Some(InitSpec {
        weights: weights?,
        biases: biases?,
    })
}

const SCALED_SCHEMES: &[(&str, &str)] = &[("uniform", "limit"), ("normal", "std")];

fn check_scheme(c: &mut Check, key: &str, value: &Value, biases: bool) -> Option<InitScheme> {
    let named: &[(&str, InitScheme)] = if biases {
        &[("zeros", InitScheme::Zeros)]
    } else {
        NAMED_WEIGHT_INITS
    };
    let tables = "{ scheme = \"uniform\", limit = ... } or { scheme = \"normal\", std = ... }";
    match value {
        Value::String(text) => {
            if let Some((_, scheme)) = named.iter().find(|(name, _)| name == text) {
                return Some(*scheme);
            }
            if let Some((scheme, param)) = SCALED_SCHEMES.iter().find(|(name, _)| name == text) {
                let example = if *param == "limit" { "0.05" } else { "0.01" };
                c.push(
                    key,
                    Some(value),
                    format!("{scheme} needs a {param}; write {{ scheme = \"{scheme}\", {param} = {example} }}"),
                );
                return None;
            }
            let message = if biases {
                format!("unknown bias init; expected zeros or a table {tables}")
            } else {
                format!(
                    "unknown weight init; expected one of {}, or a table {tables}",
                    names(named)
                )
            };
            c.push(key, Some(value), message);
            None
        }
        Value::Table(t) => {
            let scheme = c.required(
                t,
                key,
                "scheme",
                &format!("uniform or normal (e.g. {tables})"),
                |c, k, v| {
                    let Value::String(text) = v else {
                        c.push(k, Some(v), "must be \"uniform\" or \"normal\"");
                        return None;
                    };
                    match text.as_str() {
                        "uniform" | "normal" => Some(text.as_str()),
                        _ if named.iter().any(|(name, _)| name == text) => {
                            c.push(
                                k,
                                Some(v),
                                format!(
                                    "write a named scheme as a string: {} = \"{text}\"",
                                    key.rsplit('.').next().unwrap_or(key)
                                ),
                            );
                            None
                        }
                        _ => {
                            c.push(
                                k,
                                Some(v),
                                "unknown scheme for the table form; expected uniform or normal",
                            );
                            None
                        }
                    }
                },
            )?;
            if scheme == "uniform" {
                c.unknown_keys(t, key, &["scheme", "limit"], " for scheme uniform");
                let limit = c.required(
                    t,
                    key,
                    "limit",
                    "uniform needs a limit > 0 (e.g. limit = 0.05)",
                    |c, k, v| c.float(k, v, Range::Positive),
                )?;
                Some(InitScheme::Uniform { limit })
            } else {
                c.unknown_keys(t, key, &["scheme", "std"], " for scheme normal");
                let std = c.required(
                    t,
                    key,
                    "std",
                    "normal needs a std > 0 (e.g. std = 0.01)",
                    |c, k, v| c.float(k, v, Range::Positive),
                )?;
                Some(InitScheme::Normal { std })
            }
        }
        other => {
            c.push(
                key,
                Some(other),
                format!("must be a string ({}) or a table {tables}", names(named)),
            );
            None
        }
    }
}

fn check_optimizer(c: &mut Check, t: &Table) -> Option<OptimizerSpec> {
    const P: &str = "optimizer";
    c.unknown_keys(t, P, sweep::OPTIMIZER_KEYS, "");
    let kind = c.required(
        t,
        P,
        "kind",
        &format!("one of {} (e.g. kind = \"sgd\")", names(OPTIMIZERS)),
        |c, k, v| c.choice(k, v, "optimizer", OPTIMIZERS),
    );
    let learning_rate = c.required(
        t,
        P,
        "learning_rate",
        "a number > 0 (e.g. learning_rate = 0.1)",
        |c, k, v| c.float(k, v, Range::Positive),
    );
    let kind = kind?;
    let (kind_name, needed): (&str, &[&str]) = match kind {
        Kind::Sgd => ("sgd", &[]),
        Kind::Momentum => ("momentum", &["momentum", "nesterov"]),
        Kind::Nesterov => ("nesterov", &["momentum"]),
        Kind::Rmsprop => ("rmsprop", &["alpha", "epsilon"]),
        Kind::Adam => ("adam", &["beta1", "beta2", "epsilon"]),
    };
    for (constant, _) in CONSTANTS {
        let applies =
            needed.contains(constant) || (kind == Kind::Nesterov && *constant == "nesterov");
        if !applies && let Some(value) = t.get(*constant) {
            c.push(
                &join(P, constant),
                Some(value),
                format!("{constant} does not apply to {kind_name}; remove it"),
            );
        }
    }
    let need = |c: &mut Check, name: &str, range: Range| -> Option<f64> {
        let example = CONSTANTS
            .iter()
            .find(|(constant, _)| *constant == name)
            .map_or("", |(_, example)| *example);
        let hint = if needed.is_empty() {
            String::new()
        } else {
            format!(
                "{kind_name} needs {} (e.g. {name} = {example})",
                and_list(needed)
            )
        };
        c.required(t, P, name, &hint, |c, k, v| c.float(k, v, range))
    };
    let optimizer = match kind {
        Kind::Sgd => Some(OptimizerKind::Sgd),
        Kind::Momentum => {
            let momentum = need(c, "momentum", Range::Fraction);
            let nesterov = c.required(
                t,
                P,
                "nesterov",
                "momentum needs momentum and nesterov (e.g. nesterov = false)",
                |c, k, v| c.boolean(k, v),
            );
            Some(OptimizerKind::Momentum {
                momentum: momentum?,
                nesterov: nesterov?,
            })
        }
        Kind::Nesterov => {
            let momentum = need(c, "momentum", Range::Fraction);
            let nesterov =
                c.defaulted(t, P, "nesterov", true, |c, k, v| match c.boolean(k, v)? {
                    true => Some(true),
                    false => {
                        c.push(
                            k,
                            Some(v),
                            "must be true for kind = \"nesterov\" (or use kind = \"momentum\")",
                        );
                        None
                    }
                });
            nesterov?;
            Some(OptimizerKind::Momentum {
                momentum: momentum?,
                nesterov: true,
            })
        }
        Kind::Rmsprop => {
            let alpha = need(c, "alpha", Range::Fraction);
            let epsilon = need(c, "epsilon", Range::Positive);
            Some(OptimizerKind::Rmsprop {
                alpha: alpha?,
                epsilon: epsilon?,
            })
        }
        Kind::Adam => {
            let beta1 = need(c, "beta1", Range::Fraction);
            let beta2 = need(c, "beta2", Range::Fraction);
            let epsilon = need(c, "epsilon", Range::Positive);
            Some(OptimizerKind::Adam {
                beta1: beta1?,
                beta2: beta2?,
                epsilon: epsilon?,
            })
        }
    };
    Some(OptimizerSpec {
        learning_rate: learning_rate?,
        kind: optimizer?,
    })
}

fn check_regularization(c: &mut Check, t: &Table) -> Option<RegularizationSpec> {
    const P: &str = "regularization";
    c.unknown_keys(t, P, sweep::REGULARIZATION_KEYS, "");
    let l1 = c.defaulted(t, P, "l1", 0.0, |c, k, v| c.float(k, v, Range::NonNegative));
    let l2 = c.defaulted(t, P, "l2", 0.0, |c, k, v| c.float(k, v, Range::NonNegative));
    let clip_value = c.optional(t, P, "clip_value", |c, k, v| c.float(k, v, Range::Positive));
    let clip_norm = c.optional(t, P, "clip_norm", |c, k, v| c.float(k, v, Range::Positive));
    Some(RegularizationSpec {
        l1: l1?,
        l2: l2?,
        clip_value: clip_value?,
        clip_norm: clip_norm?,
    })
}

fn check_training(c: &mut Check, t: &Table) -> Option<TrainingSpec> {
    const P: &str = "training";
    c.unknown_keys(t, P, sweep::TRAINING_KEYS, "");
    let epochs = c.required(
        t,
        P,
        "epochs",
        "an integer in 1..=1000000 (e.g. epochs = 10)",
        |c, k, v| c.count(k, v, 1, 1_000_000),
    );
    let batch = c.required(
        t,
        P,
        "batch_size",
        "an integer >= 1 or \"full\" (e.g. batch_size = 128)",
        |c, k, v| match v {
            Value::Integer(n) if *n >= 1 => usize::try_from(*n).ok().map(BatchSize::Size),
            Value::String(text) if text == "full" => Some(BatchSize::Full),
            other => {
                c.push(k, Some(other), "must be an integer >= 1 or \"full\"");
                None
            }
        },
    );
    let shuffle = c.defaulted(t, P, "shuffle", true, |c, k, v| c.boolean(k, v));
    let seeds = c.defaulted(t, P, "seeds", vec![0], check_seeds);
    let schedule = c.defaulted(t, P, "schedule", Schedule::Constant, check_schedule);
    let early_stopping = c.optional(t, P, "early_stopping", check_early_stopping);
    let record_grad_norms =
        c.defaulted(t, P, "record_grad_norms", false, |c, k, v| c.boolean(k, v));
    let record_dead_units =
        c.defaulted(t, P, "record_dead_units", false, |c, k, v| c.boolean(k, v));
    let divergence_loss = c.defaulted(t, P, "divergence_loss", f64::INFINITY, |c, k, v| {
        c.float(k, v, Range::PositiveOrInfinite)
    });
    Some(TrainingSpec {
        epochs: epochs?,
        batch: batch?,
        shuffle: shuffle?,
        seeds: seeds?,
        schedule: schedule?,
        early_stopping: early_stopping?,
        record_grad_norms: record_grad_norms?,
        record_dead_units: record_dead_units?,
        divergence_loss: divergence_loss?,
    })
}

fn check_seeds(c: &mut Check, key: &str, value: &Value) -> Option<Vec<u64>> {
    let items = match value {
        Value::Array(items) if !items.is_empty() => items,
        other => {
            c.push(
                key,
                Some(other),
                "must be a non-empty array of integers >= 0 (e.g. seeds = [0, 1, 2])",
            );
            return None;
        }
    };
    let mut out = Some(Vec::new());
    for (i, item) in items.iter().enumerate() {
        match c.integer(&format!("{key}[{i}]"), item, 0, i64::MAX) {
            Some(seed) => {
                if let Some(list) = &mut out {
                    list.push(seed.unsigned_abs());
                }
            }
            None => out = None,
        }
    }
    out
}

fn check_schedule(c: &mut Check, key: &str, value: &Value) -> Option<Schedule> {
    let adaptive = Schedule::Adaptive {
        factor: 5.0,
        patience: 2,
        tol: 1e-4,
    };
    match value {
        Value::String(_) => match c.choice(key, value, "schedule", SCHEDULES)? {
            ScheduleKind::Constant => Some(Schedule::Constant),
            ScheduleKind::Step => {
                c.push(
                    key,
                    Some(value),
                    "step needs step_epochs and gamma; write { kind = \"step\", step_epochs = 10, gamma = 0.5 }",
                );
                None
            }
            ScheduleKind::InvScaling => Some(Schedule::InvScaling { power_t: 0.5 }),
            ScheduleKind::Adaptive => Some(adaptive),
        },
        Value::Table(t) => {
            let kind = c.required(
                t,
                key,
                "kind",
                &format!("one of {} (e.g. kind = \"step\")", names(SCHEDULES)),
                |c, k, v| c.choice(k, v, "schedule", SCHEDULES),
            )?;
            match kind {
                ScheduleKind::Constant => {
                    c.unknown_keys(t, key, &["kind"], " for schedule constant");
                    Some(Schedule::Constant)
                }
                ScheduleKind::Step => {
                    c.unknown_keys(
                        t,
                        key,
                        &["kind", "step_epochs", "gamma"],
                        " for schedule step",
                    );
                    let step_epochs = c.required(
                        t,
                        key,
                        "step_epochs",
                        "step needs step_epochs and gamma (e.g. step_epochs = 10)",
                        |c, k, v| c.count(k, v, 1, i64::MAX),
                    );
                    let gamma = c.required(
                        t,
                        key,
                        "gamma",
                        "step needs step_epochs and gamma (e.g. gamma = 0.5)",
                        |c, k, v| c.float(k, v, Range::Factor),
                    );
                    Some(Schedule::Step {
                        step_epochs: step_epochs?,
                        gamma: gamma?,
                    })
                }
                ScheduleKind::InvScaling => {
                    c.unknown_keys(t, key, &["kind", "power_t"], " for schedule invscaling");
                    let power_t = c.defaulted(t, key, "power_t", 0.5, |c, k, v| {
                        c.float(k, v, Range::Positive)
                    });
                    Some(Schedule::InvScaling { power_t: power_t? })
                }
                ScheduleKind::Adaptive => {
                    c.unknown_keys(
                        t,
                        key,
                        &["kind", "factor", "patience", "tol"],
                        " for schedule adaptive",
                    );
                    let factor = c.defaulted(t, key, "factor", 5.0, |c, k, v| {
                        c.float(k, v, Range::AboveOne)
                    });
                    let patience =
                        c.defaulted(t, key, "patience", 2, |c, k, v| c.count(k, v, 1, i64::MAX));
                    let tol = c.defaulted(t, key, "tol", 1e-4, |c, k, v| {
                        c.float(k, v, Range::NonNegative)
                    });
                    Some(Schedule::Adaptive {
                        factor: factor?,
                        patience: patience?,
                        tol: tol?,
                    })
                }
            }
        }
        other => {
            c.push(
                key,
                Some(other),
                format!(
                    "must be one of {} or a table (e.g. {{ kind = \"step\", step_epochs = 10, gamma = 0.5 }})",
                    names(SCHEDULES)
                ),
            );
            None
        }
    }
}

fn check_early_stopping(c: &mut Check, key: &str, value: &Value) -> Option<EarlyStopping> {
    let t = c.table(key, value, "{ patience = 3 }")?;
    c.unknown_keys(t, key, sweep::EARLY_STOPPING_KEYS, "");
    let monitor = c.defaulted(t, key, "monitor", Monitor::ValLoss, |c, k, v| {
        c.choice(k, v, "monitor", MONITORS)
    });
    let patience = c.required(
        t,
        key,
        "patience",
        "epochs without improvement before stopping, an integer >= 1 (e.g. patience = 3)",
        |c, k, v| c.count(k, v, 1, i64::MAX),
    );
    let min_delta = c.defaulted(t, key, "min_delta", 0.0, |c, k, v| {
        c.float(k, v, Range::NonNegative)
    });
    Some(EarlyStopping {
        monitor: monitor?,
        patience: patience?,
        min_delta: min_delta?,
    })
}
