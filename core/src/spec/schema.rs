//! The scenario schema: one table ([`KEYS`]) of every key a scenario file may hold, with its
//! table, type, default, allowed range or values, an example and its meaning.
//!
//! Everything that needs to know the keys reads it: the section checks take their ranges,
//! allowed values, defaults and hints from it; key paths (sweeps, `[quick]`, overrides) are
//! checked against it; and `docs/scenario-reference.md` is generated from it
//! ([`super::reference`]), so the reference and the checks cannot drift apart.

use super::{Activation, InitScheme, LogicGate, Monitor, OutputHead, Scaling};
use crate::KNOWN_BACKENDS;

/// Allowed range of a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
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
    /// Any finite number.
    Finite,
}

impl Range {
    pub fn contains(self, x: f64) -> bool {
        match self {
            Range::Positive => x.is_finite() && x > 0.0,
            Range::PositiveOrInfinite => x > 0.0,
            Range::NonNegative => x.is_finite() && x >= 0.0,
            Range::Fraction => (0.0..1.0).contains(&x),
            Range::Factor => x > 0.0 && x <= 1.0,
            Range::AboveOne => x.is_finite() && x > 1.0,
            Range::Finite => x.is_finite(),
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Range::Positive => "> 0",
            Range::PositiveOrInfinite => "> 0 (inf allowed)",
            Range::NonNegative => ">= 0",
            Range::Fraction => "in [0, 1)",
            Range::Factor => "in (0, 1]",
            Range::AboveOne => "> 1",
            Range::Finite => "finite",
        }
    }

    /// The range as error messages state it (`inf` is not worth mentioning there).
    pub fn message_text(self) -> &'static str {
        match self {
            Range::PositiveOrInfinite => Range::Positive.text(),
            other => other.text(),
        }
    }
}

/// What a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// Free text.
    Text,
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    Float(Range),
    /// One name out of `options`; `what` names the thing in messages ("unknown `what`").
    Choice {
        what: &'static str,
        options: &'static [&'static str],
    },
    /// A non-empty array of distinct names out of `options`.
    ChoiceList {
        what: &'static str,
        options: &'static [&'static str],
    },
    /// A non-empty array of integers >= `min`.
    IntArray {
        min: i64,
    },
    /// A non-empty array of rows, each a non-empty array of finite numbers, all of one length.
    Matrix,
    /// An integer >= `min`, or one of the strings `words`.
    IntOrWord {
        min: i64,
        words: &'static [&'static str],
    },
    /// An array of layer tables (the keys of `model.layers[]`).
    Layers,
    /// A table of the keys listed under it.
    Table,
    /// A named initialisation scheme (one of `named`), or a `{ scheme = ... }` table.
    InitScheme {
        named: &'static [&'static str],
    },
    /// A schedule name, or a `{ kind = ... }` table.
    Schedule,
    /// The `[sweep]` table: axes of `"dotted.key" = [values]` or bundles.
    Sweep,
    /// The `[quick]` table: `"dotted.key" = value`.
    Quick,
}

impl Type {
    /// What the value must be, as a phrase ("a number > 0", "one of a, b").
    pub fn phrase(&self) -> String {
        match self {
            Type::Text => "a string".to_string(),
            Type::Bool => "true or false".to_string(),
            Type::Int { min, max } => int_phrase(*min, *max),
            Type::Float(range) => format!("a number {}", range.message_text()),
            Type::Choice { options, .. } => format!("one of {}", options.join(", ")),
            Type::ChoiceList { options, .. } => format!("some of {}", options.join(", ")),
            Type::IntArray { min } => format!("a non-empty array of integers >= {min}"),
            Type::Matrix => {
                "a non-empty array of rows of numbers, every row as long (e.g. [[0.05, 0.1]])"
                    .to_string()
            }
            Type::IntOrWord { min, words } => {
                let words: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
                format!("an integer >= {min} or {}", words.join(" or "))
            }
            Type::Layers => "an array of layer tables".to_string(),
            Type::Table | Type::Sweep | Type::Quick => "a table".to_string(),
            Type::InitScheme { named } => {
                format!("one of {}, or a table {INIT_TABLE_FORMS}", named.join(", "))
            }
            Type::Schedule => format!("one of {}, or a table", SCHEDULE_NAMES.join(", ")),
        }
    }

    /// The rule a wrong value breaks: "must be a number > 0".
    pub fn phrase_as_rule(&self) -> String {
        format!("must be {}", self.phrase())
    }

    /// The TOML type, for the reference.
    pub fn name(&self) -> &'static str {
        match self {
            Type::Text | Type::Choice { .. } => "string",
            Type::Bool => "boolean",
            Type::Int { .. } => "integer",
            Type::Float(_) => "number",
            Type::ChoiceList { .. } => "array of strings",
            Type::IntArray { .. } => "array of integers",
            Type::Matrix => "array of arrays of numbers",
            Type::IntOrWord { .. } => "integer or string",
            Type::Layers => "array of tables",
            Type::Table | Type::Sweep | Type::Quick => "table",
            Type::InitScheme { .. } | Type::Schedule => "string or table",
        }
    }

    /// The allowed values as the reference states them (empty: anything of the type).
    pub fn allowed(&self) -> String {
        let quoted = |options: &[&str]| {
            options
                .iter()
                .map(|option| format!("`{option}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Type::Text | Type::Bool | Type::Table | Type::Layers => String::new(),
            Type::Int { min, max } if *max == i64::MAX => format!(">= {min}"),
            Type::Int { min, max } => format!("{min}..={max}"),
            Type::Float(range) => range.text().to_string(),
            Type::Choice { options, .. } => quoted(options),
            Type::ChoiceList { options, .. } => format!("distinct, some of {}", quoted(options)),
            Type::IntArray { min } => format!("non-empty, each >= {min}"),
            Type::Matrix => "non-empty rows of one length, finite".to_string(),
            Type::IntOrWord { min, words } => {
                let words: Vec<String> = words.iter().map(|w| format!("`\"{w}\"`")).collect();
                format!(">= {min}, or {}", words.join(", "))
            }
            Type::InitScheme { named } => {
                format!("{}, or a table (below)", quoted(named))
            }
            Type::Schedule => format!("{}, or a table (below)", quoted(&SCHEDULE_NAMES)),
            Type::Sweep => "see [sweep] below".to_string(),
            Type::Quick => "see [quick] below".to_string(),
        }
    }

    /// True for the array types (their elements may be addressed as `key[i]`).
    pub fn is_array(&self) -> bool {
        matches!(
            self,
            Type::ChoiceList { .. } | Type::IntArray { .. } | Type::Matrix | Type::Layers
        )
    }

    /// True when a key path (sweep axis, `[quick]`, override) may set the key.
    pub fn is_settable(&self) -> bool {
        !matches!(self, Type::Sweep | Type::Quick)
    }
}

fn int_phrase(min: i64, max: i64) -> String {
    if max == i64::MAX {
        format!("an integer >= {min}")
    } else {
        format!("an integer in {min}..={max}")
    }
}

/// The value a key takes when it is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    Required,
    /// Absent means "not set" (e.g. no clipping).
    Unset,
    /// This TOML value.
    Value(&'static str),
}

/// How a missing key is explained ("missing; `hint`").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// `{phrase} (e.g. {name} = {example})`.
    Allowed,
    /// `{lead}{phrase} (e.g. {name} = {example})`.
    Lead(&'static str),
    /// `{lead} {range} (e.g. {name} = {example})`, for a number.
    Bound(&'static str),
    /// This text; `{choices}` stands for the allowed values.
    Text(&'static str),
}

/// One key of a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The table that holds it, as a key path: `""` for the top level, `model.layers[]` for
    /// each layer (see [`TABLES`]).
    pub table: &'static str,
    pub name: &'static str,
    /// The values of the table's selector key (its `type`, `kind`, `scheme` or dataset `name`)
    /// for which the key exists; empty: always.
    pub only_for: &'static [&'static str],
    pub ty: Type,
    pub default: DefaultValue,
    /// A typical value, written as TOML (used in hints).
    pub example: &'static str,
    pub hint: Hint,
    pub meaning: &'static str,
}

impl Key {
    const fn new(
        table: &'static str,
        name: &'static str,
        ty: Type,
        default: DefaultValue,
        example: &'static str,
        meaning: &'static str,
    ) -> Key {
        Key {
            table,
            name,
            only_for: &[],
            ty,
            default,
            example,
            hint: Hint::Allowed,
            meaning,
        }
    }

    const fn only_for(mut self, selectors: &'static [&'static str]) -> Key {
        self.only_for = selectors;
        self
    }

    const fn hint(mut self, hint: Hint) -> Key {
        self.hint = hint;
        self
    }

    /// The key's dotted path with `[]` for array elements, e.g. `training.schedule.kind`.
    pub fn path(&self) -> String {
        if self.table.is_empty() {
            self.name.to_string()
        } else {
            format!("{}.{}", self.table, self.name)
        }
    }

    /// What to write when the key is missing.
    pub fn missing_hint(&self) -> String {
        let example = format!("(e.g. {} = {})", self.name, self.example);
        match self.hint {
            Hint::Allowed => format!("{} {example}", self.ty.phrase()),
            Hint::Lead(lead) => format!("{lead}{} {example}", self.ty.phrase()),
            Hint::Bound(lead) => match self.ty {
                Type::Float(range) => format!("{lead} {} {example}", range.message_text()),
                _ => format!("{lead}, {} {example}", self.ty.phrase()),
            },
            Hint::Text(text) => text.replace("{choices}", &self.choices().join(", ")),
        }
    }

    /// The allowed names of a choice key (empty for other keys).
    pub fn choices(&self) -> &'static [&'static str] {
        match self.ty {
            Type::Choice { options, .. } | Type::ChoiceList { options, .. } => options,
            Type::InitScheme { named } => named,
            Type::Schedule => &SCHEDULE_NAMES,
            _ => &[],
        }
    }

    /// True when the key exists for the selector value `selector` of its table.
    pub fn applies_to(&self, selector: &str) -> bool {
        self.only_for.is_empty() || self.only_for.contains(&selector)
    }
}

/// A table of a scenario file (the top level is the table `""`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// Its key path (`[]` marks the elements of an array).
    pub path: &'static str,
    /// Other paths that hold the same keys.
    pub also: &'static [&'static str],
    /// The key whose value decides which of the other keys exist (see `Key::only_for`).
    pub selector: Option<&'static str>,
    /// Heading of its part of the reference.
    pub title: &'static str,
    pub about: &'static str,
}

impl Table {
    /// The keys of this table, in schema order.
    pub fn keys(&self) -> impl Iterator<Item = &'static Key> + use<> {
        let path = self.path;
        KEYS.iter().copied().filter(move |key| key.table == path)
    }
}

// ---------------------------------------------------------------------------------------
// Choices: each name with the value it stands for; the names the table lists derive from them.
// ---------------------------------------------------------------------------------------

/// What `dataset.name` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetKind {
    Mnist,
    FashionMnist,
    Logic(LogicGate),
    /// A truth table whose outputs `dataset.targets` gives.
    TruthTable,
    Blobs,
    /// Examples written out in the file (`dataset.inputs`, `dataset.labels`).
    Rows,
}

pub const DATASETS: [(&str, DatasetKind); 8] = [
    ("mnist", DatasetKind::Mnist),
    ("fashion_mnist", DatasetKind::FashionMnist),
    ("and", DatasetKind::Logic(LogicGate::And)),
    ("or", DatasetKind::Logic(LogicGate::Or)),
    ("xor", DatasetKind::Logic(LogicGate::Xor)),
    ("truth_table", DatasetKind::TruthTable),
    ("blobs", DatasetKind::Blobs),
    ("rows", DatasetKind::Rows),
];

pub const SCALINGS: [(&str, Scaling); 3] = [
    ("none", Scaling::None),
    ("unit", Scaling::Unit),
    ("standard", Scaling::Standard),
];

/// What a layer's `type` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerType {
    Dense,
    Residual,
    Activation,
    Dropout,
    BatchNorm,
    Conv2d,
    MaxPool2d,
    AvgPool2d,
    Flatten,
}

pub const LAYER_TYPES: [(&str, LayerType); 9] = [
    ("dense", LayerType::Dense),
    ("residual", LayerType::Residual),
    ("activation", LayerType::Activation),
    ("dropout", LayerType::Dropout),
    ("batch_norm", LayerType::BatchNorm),
    ("conv2d", LayerType::Conv2d),
    ("max_pool2d", LayerType::MaxPool2d),
    ("avg_pool2d", LayerType::AvgPool2d),
    ("flatten", LayerType::Flatten),
];

/// The words `padding` takes besides a number.
pub const PADDING_WORDS: [&str; 2] = ["valid", "same"];

pub const ACTIVATIONS: [(&str, Activation); Activation::ALL.len()] = {
    let mut out = [("", Activation::Identity); Activation::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = (Activation::ALL[i].name(), Activation::ALL[i]);
        i += 1;
    }
    out
};

pub const HEADS: [(&str, OutputHead); OutputHead::ALL.len()] = {
    let mut out = [("", OutputHead::Step); OutputHead::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = (OutputHead::ALL[i].name(), OutputHead::ALL[i]);
        i += 1;
    }
    out
};

pub const NAMED_WEIGHT_INITS: [(&str, InitScheme); 8] = [
    ("glorot_uniform", InitScheme::GlorotUniform),
    ("glorot_normal", InitScheme::GlorotNormal),
    ("he_uniform", InitScheme::HeUniform),
    ("he_normal", InitScheme::HeNormal),
    ("lecun_uniform", InitScheme::LecunUniform),
    ("lecun_normal", InitScheme::LecunNormal),
    ("zeros", InitScheme::Zeros),
    ("framework_default", InitScheme::FrameworkDefault),
];

pub const NAMED_BIAS_INITS: [(&str, InitScheme); 1] = [("zeros", InitScheme::Zeros)];

/// The schemes of the table form of an init (each needs one parameter, see [`INIT_LIMIT`] and
/// [`INIT_STD`]).
pub const INIT_TABLE_SCHEMES: [&str; 2] = ["uniform", "normal"];

/// What `optimizer.kind` selects (`nesterov` is momentum with `nesterov = true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizerName {
    Sgd,
    Momentum,
    Nesterov,
    Rmsprop,
    Adam,
}

pub const OPTIMIZERS: [(&str, OptimizerName); 5] = [
    ("sgd", OptimizerName::Sgd),
    ("momentum", OptimizerName::Momentum),
    ("nesterov", OptimizerName::Nesterov),
    ("rmsprop", OptimizerName::Rmsprop),
    ("adam", OptimizerName::Adam),
];

/// What a schedule's `kind` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleKind {
    Constant,
    Step,
    InvScaling,
    Adaptive,
}

pub const SCHEDULES: [(&str, ScheduleKind); 4] = [
    ("constant", ScheduleKind::Constant),
    ("step", ScheduleKind::Step),
    ("invscaling", ScheduleKind::InvScaling),
    ("adaptive", ScheduleKind::Adaptive),
];

pub const MONITORS: [(&str, Monitor); 2] = [
    ("val_loss", Monitor::ValLoss),
    ("val_accuracy", Monitor::ValAccuracy),
];

/// The names of a list of choices.
const fn names<T: Copy, const N: usize>(choices: &[(&'static str, T); N]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = choices[i].0;
        i += 1;
    }
    out
}

const DATASET_NAMES: [&str; DATASETS.len()] = names(&DATASETS);
const SCALING_NAMES: [&str; SCALINGS.len()] = names(&SCALINGS);
const LAYER_TYPE_NAMES: [&str; LAYER_TYPES.len()] = names(&LAYER_TYPES);
const ACTIVATION_NAMES: [&str; ACTIVATIONS.len()] = names(&ACTIVATIONS);
const HEAD_NAMES: [&str; HEADS.len()] = names(&HEADS);
const WEIGHT_INIT_NAMES: [&str; NAMED_WEIGHT_INITS.len()] = names(&NAMED_WEIGHT_INITS);
const BIAS_INIT_NAMES: [&str; NAMED_BIAS_INITS.len()] = names(&NAMED_BIAS_INITS);
const OPTIMIZER_NAMES: [&str; OPTIMIZERS.len()] = names(&OPTIMIZERS);
const SCHEDULE_NAMES: [&str; SCHEDULES.len()] = names(&SCHEDULES);
const MONITOR_NAMES: [&str; MONITORS.len()] = names(&MONITORS);

/// The table forms of an init scheme, as messages write them.
pub const INIT_TABLE_FORMS: &str =
    "{ scheme = \"uniform\", limit = ... } or { scheme = \"normal\", std = ... }";

// ---------------------------------------------------------------------------------------
// The tables and their keys
// ---------------------------------------------------------------------------------------

/// Every table of a scenario, in the order of the reference.
pub const TABLES: &[Table] = &[
    Table {
        path: "",
        also: &[],
        selector: None,
        title: "Top level",
        about: "The keys outside any table, then one table per section.",
    },
    Table {
        path: "dataset",
        also: &[],
        selector: Some("name"),
        title: "[dataset]",
        about: "The data, identical for every backend. The generated sets (logic gates, blobs) \
                come from a seed; MNIST and Fashion-MNIST are read from IDX files.",
    },
    Table {
        path: "model",
        also: &[],
        selector: None,
        title: "[model]",
        about: "The network: hidden layers from the input, then the output layer, whose width \
                follows from the dataset and the head.",
    },
    Table {
        path: "model.layers[]",
        also: &[],
        selector: Some("type"),
        title: "model.layers[] (each layer)",
        about: "Each element of `model.layers` is a table whose `type` decides its other keys.",
    },
    Table {
        path: "init",
        also: &[],
        selector: None,
        title: "[init]",
        about: "How the harness draws the initial weights, once per seed, loaded by every backend.",
    },
    Table {
        path: "init.weights",
        also: &["init.biases"],
        selector: Some("scheme"),
        title: "init.weights and init.biases (table form)",
        about: "A fixed-scale scheme with its parameter, e.g. `{ scheme = \"normal\", std = 0.01 }`.",
    },
    Table {
        path: "optimizer",
        also: &[],
        selector: Some("kind"),
        title: "[optimizer]",
        about: "The optimizer with every constant spelled out (framework defaults differ). \
                A constant that does not apply to the kind is an error.",
    },
    Table {
        path: "regularization",
        also: &[],
        selector: None,
        title: "[regularization]",
        about: "Penalties on dense weights (not biases), added to the gradient before clipping.",
    },
    Table {
        path: "training",
        also: &[],
        selector: None,
        title: "[training]",
        about: "The loop the harness runs for every backend.",
    },
    Table {
        path: "training.schedule",
        also: &[],
        selector: Some("kind"),
        title: "training.schedule (table form)",
        about: "The learning rate of each step, derived from `optimizer.learning_rate` (η₀).",
    },
    Table {
        path: "training.early_stopping",
        also: &[],
        selector: None,
        title: "training.early_stopping",
        about: "Stop a unit when the monitored validation metric stops improving; needs \
                `dataset.validation_fraction` > 0.",
    },
];

// Top level.
pub const DESCRIPTION: Key = Key::new(
    "",
    "description",
    Type::Text,
    DefaultValue::Required,
    "\"...\"",
    "What the scenario shows, in a sentence.",
)
.hint(Hint::Text(
    "a sentence saying what the scenario shows (e.g. description = \"...\")",
));
pub const COURSE_SECTION: Key = Key::new(
    "",
    "course_section",
    Type::Text,
    DefaultValue::Unset,
    "\"Optimizers\"",
    "Where in the course the experiment comes from; unset for a scenario of your own.",
)
.hint(Hint::Text(
    "where in the course it comes from (e.g. course_section = \"Optimizers\")",
));
pub const BACKENDS: Key = Key::new(
    "",
    "backends",
    Type::ChoiceList {
        what: "backend",
        options: &KNOWN_BACKENDS,
    },
    DefaultValue::Required,
    "[\"native\"]",
    "The backends that run every variant, each listed once.",
)
.hint(Hint::Text(
    "list the backends to run (e.g. backends = [\"native\"]); known: {choices}",
));
pub const THREADS: Key = Key::new(
    "",
    "threads",
    Type::Int { min: 1, max: 256 },
    DefaultValue::Value("1"),
    "2",
    "Intra-op threads every backend is asked to use.",
);
pub const UNIT_TIME_LIMIT: Key = Key::new(
    "",
    "unit_time_limit",
    Type::Float(Range::Positive),
    DefaultValue::Unset,
    "600",
    "Seconds of wall time a unit may train before it ends as `timeout` (checked after every \
     step); unset: no limit.",
);
pub const DATASET: Key = Key::new(
    "",
    "dataset",
    Type::Table,
    DefaultValue::Required,
    "{ name = \"mnist\" }",
    "The data (see [dataset]).",
)
.hint(Hint::Text("add a [dataset] table (e.g. name = \"mnist\")"));
pub const MODEL: Key = Key::new(
    "",
    "model",
    Type::Table,
    DefaultValue::Required,
    "{ output = \"softmax_cross_entropy\" }",
    "The network (see [model]).",
)
.hint(Hint::Text(
    "add a [model] table (e.g. output = \"softmax_cross_entropy\")",
));
pub const INIT: Key = Key::new(
    "",
    "init",
    Type::Table,
    DefaultValue::Value("{}"),
    "{ weights = \"he_normal\" }",
    "Initial weights (see [init]).",
);
pub const OPTIMIZER: Key = Key::new(
    "",
    "optimizer",
    Type::Table,
    DefaultValue::Required,
    "{ kind = \"sgd\", learning_rate = 0.1 }",
    "The optimizer (see [optimizer]).",
)
.hint(Hint::Text(
    "add an [optimizer] table (e.g. kind = \"sgd\", learning_rate = 0.1)",
));
pub const REGULARIZATION: Key = Key::new(
    "",
    "regularization",
    Type::Table,
    DefaultValue::Value("{}"),
    "{ l2 = 1e-4 }",
    "Penalties and clipping (see [regularization]).",
);
pub const TRAINING: Key = Key::new(
    "",
    "training",
    Type::Table,
    DefaultValue::Required,
    "{ epochs = 10, batch_size = 128 }",
    "The training loop (see [training]).",
)
.hint(Hint::Text(
    "add a [training] table (e.g. epochs = 10, batch_size = 128)",
));
pub const SWEEP: Key = Key::new(
    "",
    "sweep",
    Type::Sweep,
    DefaultValue::Unset,
    "{ \"optimizer.learning_rate\" = [0.1, 0.01] }",
    "A grid over any keys: one variant per point of the cartesian product of its axes.",
);
pub const QUICK: Key = Key::new(
    "",
    "quick",
    Type::Quick,
    DefaultValue::Unset,
    "{ \"training.epochs\" = 1 }",
    "Edits applied in a quick run (`--quick`), after the quick caps; they may lower the caps, \
     never raise them.",
);

// [dataset]
pub const DATASET_NAME: Key = Key::new(
    "dataset",
    "name",
    Type::Choice {
        what: "dataset",
        options: &DATASET_NAMES,
    },
    DefaultValue::Required,
    "\"mnist\"",
    "The dataset: MNIST, Fashion-MNIST, the truth table of a logic gate or of any two-input \
     function (`truth_table` with `targets`; its four rows are both the training and the test \
     set), Gaussian blobs, or `rows`: examples written out in the file (`inputs`, `labels`; \
     they are both the training and the test set).",
);
pub const DATASET_TRAIN_SIZE: Key = Key::new(
    "dataset",
    "train_size",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Unset,
    "10000",
    "Use only the first `train_size` training examples (the validation split is taken from \
     the end of those); unset: all. Not for logic gates.",
);
pub const DATASET_TEST_SIZE: Key = Key::new(
    "dataset",
    "test_size",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Unset,
    "1000",
    "Use only the first `test_size` test examples; unset: all. Not for logic gates.",
);
pub const DATASET_SCALING: Key = Key::new(
    "dataset",
    "scaling",
    Type::Choice {
        what: "scaling",
        options: &SCALING_NAMES,
    },
    DefaultValue::Value("\"none\""),
    "\"unit\"",
    "`none`: values as stored; `unit`: pixels / 255; `standard`: each feature centred and \
     divided by its standard deviation on the training set.",
);
pub const DATASET_VALIDATION_FRACTION: Key = Key::new(
    "dataset",
    "validation_fraction",
    Type::Float(Range::Fraction),
    DefaultValue::Value("0.0"),
    "0.1",
    "Fraction of the training set held out for validation (must be 0 for logic gates).",
);
pub const DATASET_TARGETS: Key = Key::new(
    "dataset",
    "targets",
    Type::IntArray { min: 0 },
    DefaultValue::Unset,
    "[1, 0, 1, 0]",
    "The four outputs (each 0 or 1) of the truth table for the inputs (0,0) (0,1) (1,0) (1,1); \
     required by `truth_table` (the course's separable example is [1, 0, 1, 0]).",
)
.only_for(&["truth_table"]);
pub const DATASET_KEEP_CLASSES: Key = Key::new(
    "dataset",
    "keep_classes",
    Type::IntArray { min: 0 },
    DefaultValue::Unset,
    "[3, 8]",
    "Keep only the examples of these classes (distinct, 0..=9), relabelled 0, 1, … in this \
     order: `[3, 8]` makes MNIST the binary task \"3 or 8\". Applied after `train_size` and \
     `test_size`, which count examples of the file; unset: every class.",
)
.only_for(&["mnist", "fashion_mnist"]);
pub const BLOBS_CLASSES: Key = Key::new(
    "dataset",
    "classes",
    Type::Int { min: 2, max: 1000 },
    DefaultValue::Value("2"),
    "3",
    "Number of classes: of blobs, or of a `rows` dataset (each label below it).",
)
.only_for(&["blobs", "rows"]);
pub const DATASET_INPUTS: Key = Key::new(
    "dataset",
    "inputs",
    Type::Matrix,
    DefaultValue::Required,
    "[[0.05, 0.1]]",
    "The examples of a `rows` dataset, one array of features each (used as written: \
     `scaling` applies to them too).",
)
.only_for(&["rows"]);
pub const DATASET_LABELS: Key = Key::new(
    "dataset",
    "labels",
    Type::IntArray { min: 0 },
    DefaultValue::Required,
    "[1]",
    "The class of each example of `inputs`, in order (each below `classes`).",
)
.only_for(&["rows"]);
pub const BLOBS_FEATURES: Key = Key::new(
    "dataset",
    "features",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Value("2"),
    "2",
    "Dimensions of each example.",
)
.only_for(&["blobs"]);
pub const BLOBS_TRAIN_PER_CLASS: Key = Key::new(
    "dataset",
    "train_per_class",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Value("100"),
    "100",
    "Training examples per class.",
)
.only_for(&["blobs"]);
pub const BLOBS_TEST_PER_CLASS: Key = Key::new(
    "dataset",
    "test_per_class",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Value("100"),
    "100",
    "Test examples per class.",
)
.only_for(&["blobs"]);
pub const BLOBS_SEPARATION: Key = Key::new(
    "dataset",
    "separation",
    Type::Float(Range::Positive),
    DefaultValue::Value("4.0"),
    "4.0",
    "Distance between neighbouring class centres.",
)
.only_for(&["blobs"]);
pub const BLOBS_SPREAD: Key = Key::new(
    "dataset",
    "spread",
    Type::Float(Range::Positive),
    DefaultValue::Value("1.0"),
    "1.0",
    "Standard deviation of each blob.",
)
.only_for(&["blobs"]);
pub const BLOBS_SEED: Key = Key::new(
    "dataset",
    "seed",
    Type::Int {
        min: 0,
        max: i64::MAX,
    },
    DefaultValue::Value("0"),
    "7",
    "Seed of the generator: the data stays the same whatever the training seeds are.",
)
.only_for(&["blobs"]);

// [model]
pub const MODEL_LAYERS: Key = Key::new(
    "model",
    "layers",
    Type::Layers,
    DefaultValue::Value("[]"),
    "[{ type = \"dense\", units = 64, activation = \"relu\" }]",
    "Hidden layers, in order from the input (see model.layers[]).",
);
pub const MODEL_OUTPUT: Key = Key::new(
    "model",
    "output",
    Type::Choice {
        what: "output head",
        options: &HEAD_NAMES,
    },
    DefaultValue::Required,
    "\"softmax_cross_entropy\"",
    "Output activation and loss: softmax with cross-entropy (one unit per class); sigmoid \
     with binary cross-entropy (2 classes, one unit); identity with mean squared error; \
     `step`: Rosenblatt's threshold unit trained by the perceptron rule (2 classes, no \
     hidden layers).",
)
.hint(Hint::Lead("the output head, "));
pub const MODEL_THRESHOLD: Key = Key::new(
    "model",
    "threshold",
    Type::Float(Range::Finite),
    DefaultValue::Value("0.0"),
    "0.5",
    "The `step` head's threshold (the course's `seuil`): the unit outputs 1 when \
     w·x + b > threshold, else 0. Only with output = \"step\".",
);

// model.layers[]
pub const LAYER_TYPE: Key = Key::new(
    "model.layers[]",
    "type",
    Type::Choice {
        what: "layer type",
        options: &LAYER_TYPE_NAMES,
    },
    DefaultValue::Required,
    "\"dense\"",
    "`dense`: fully connected layer with its activation; `residual`: a residual dense block, \
     y = x + activation(x·W + b), whose input must be `units` wide (the skip connection the \
     course gives as a remedy for vanishing gradients); `activation`: an activation on its \
     own; `dropout`: inverted dropout; `batch_norm`: batch normalisation with a learned scale \
     and shift; `conv2d`: 2-D convolution with its activation; `max_pool2d`, `avg_pool2d`: \
     the largest value or the mean of each window; `flatten`: an image as one row of \
     features. Image datasets (mnist, fashion_mnist) keep their shape [channels, height, \
     width] = [1, 28, 28] until a flatten layer; dense and batch_norm layers take flat \
     features; every layer's input shape is checked before anything trains.",
);
pub const LAYER_UNITS: Key = Key::new(
    "model.layers[]",
    "units",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Required,
    "64",
    "Width of the dense layer; of a residual block, its input's width too.",
)
.only_for(&["dense", "residual"]);
pub const LAYER_ACTIVATION: Key = Key::new(
    "model.layers[]",
    "activation",
    Type::Choice {
        what: "activation",
        options: &ACTIVATION_NAMES,
    },
    DefaultValue::Required,
    "\"relu\"",
    "Activation after the dense or conv2d layer, or inside a residual block before the input \
     is added (leaky_relu: slope 0.01; elu: alpha 1; selu: \
     the constants of Klambauer et al.).",
)
.only_for(&["dense", "residual", "conv2d"]);
pub const LAYER_FUNCTION: Key = Key::new(
    "model.layers[]",
    "function",
    Type::Choice {
        what: "activation",
        options: &ACTIVATION_NAMES,
    },
    DefaultValue::Required,
    "\"relu\"",
    "The activation function of an activation layer.",
)
.only_for(&["activation"]);
pub const LAYER_RATE: Key = Key::new(
    "model.layers[]",
    "rate",
    Type::Float(Range::Fraction),
    DefaultValue::Required,
    "0.5",
    "Probability of zeroing each unit while training (the others are scaled by \
     1/(1-rate)); identity at evaluation.",
)
.only_for(&["dropout"]);
pub const LAYER_MOMENTUM: Key = Key::new(
    "model.layers[]",
    "momentum",
    Type::Float(Range::Factor),
    DefaultValue::Value("0.1"),
    "0.1",
    "Running statistics: running = (1 - momentum) * running + momentum * batch (PyTorch's \
     convention).",
)
.only_for(&["batch_norm"]);
pub const LAYER_EPSILON: Key = Key::new(
    "model.layers[]",
    "epsilon",
    Type::Float(Range::Positive),
    DefaultValue::Value("1e-5"),
    "1e-5",
    "Added to the variance before the square root.",
)
.only_for(&["batch_norm"]);
pub const LAYER_CHANNELS: Key = Key::new(
    "model.layers[]",
    "channels",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Required,
    "6",
    "Output channels of the convolution (its number of kernels).",
)
.only_for(&["conv2d"]);
pub const LAYER_KERNEL_SIZE: Key = Key::new(
    "model.layers[]",
    "kernel_size",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Required,
    "5",
    "Height and width of each (square) kernel.",
)
.only_for(&["conv2d"]);
pub const LAYER_PADDING: Key = Key::new(
    "model.layers[]",
    "padding",
    Type::IntOrWord {
        min: 0,
        words: &PADDING_WORDS,
    },
    DefaultValue::Value("\"valid\""),
    "\"same\"",
    "Zeros added on each side of both axes: `valid` none; `same` (odd kernels only) \
     (kernel_size − 1) / 2, which keeps height and width at stride 1; or a number.",
)
.only_for(&["conv2d"]);
pub const LAYER_SIZE: Key = Key::new(
    "model.layers[]",
    "size",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Required,
    "2",
    "Height and width of each (square) pooling window.",
)
.only_for(&["max_pool2d", "avg_pool2d"]);
pub const LAYER_STRIDE: Key = Key::new(
    "model.layers[]",
    "stride",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Unset,
    "2",
    "Step between windows along both axes; unset: 1 for conv2d, the window size for pooling \
     (windows that do not overlap).",
)
.only_for(&["conv2d", "max_pool2d", "avg_pool2d"]);

// [init]
pub const INIT_WEIGHTS: Key = Key::new(
    "init",
    "weights",
    Type::InitScheme {
        named: &WEIGHT_INIT_NAMES,
    },
    DefaultValue::Value("\"glorot_uniform\""),
    "\"he_normal\"",
    "Scheme of the dense weights and conv kernels (fan-based schemes use the layer's fan in \
     and out; a kernel's include its window: in·kh·kw and out·kh·kw); `framework_default`: each framework's own initialisation (runs then start from \
     different points).",
);
pub const INIT_BIASES: Key = Key::new(
    "init",
    "biases",
    Type::InitScheme {
        named: &BIAS_INIT_NAMES,
    },
    DefaultValue::Value("\"zeros\""),
    "\"zeros\"",
    "Scheme of the biases: zeros or a fixed-scale table.",
);
pub const INIT_FROM_FILE: Key = Key::new(
    "init",
    "from_file",
    Type::Text,
    DefaultValue::Unset,
    "\"data/backprop_example.safetensors\"",
    "Start from these weights instead of drawing them: a safetensors file (relative to the \
     scenario file's folder) of f32 tensors in nnbench's canonical layout, `{i}.weight` \
     `[fan_in, fan_out]` and `{i}.bias` `[fan_out]` for dense layer `i` (the layout of a \
     replay's `init.safetensors`); every tensor of the network, no other. `weights` and \
     `biases` then do not apply.",
);

// init.weights / init.biases as tables
pub const INIT_SCHEME: Key = Key::new(
    "init.weights",
    "scheme",
    Type::Choice {
        what: "scheme",
        options: &INIT_TABLE_SCHEMES,
    },
    DefaultValue::Required,
    "\"uniform\"",
    "`uniform`: U(±limit); `normal`: N(0, std²).",
)
.hint(Hint::Text(
    "uniform or normal (e.g. { scheme = \"uniform\", limit = ... } or { scheme = \"normal\", std = ... })",
));
pub const INIT_LIMIT: Key = Key::new(
    "init.weights",
    "limit",
    Type::Float(Range::Positive),
    DefaultValue::Required,
    "0.05",
    "Bound of the uniform distribution.",
)
.only_for(&["uniform"])
.hint(Hint::Bound("uniform needs a limit"));
pub const INIT_STD: Key = Key::new(
    "init.weights",
    "std",
    Type::Float(Range::Positive),
    DefaultValue::Required,
    "0.01",
    "Standard deviation of the normal distribution.",
)
.only_for(&["normal"])
.hint(Hint::Bound("normal needs a std"));

// [optimizer]
pub const OPTIMIZER_KIND: Key = Key::new(
    "optimizer",
    "kind",
    Type::Choice {
        what: "optimizer",
        options: &OPTIMIZER_NAMES,
    },
    DefaultValue::Required,
    "\"sgd\"",
    "sgd: w ← w − η g; momentum: v ← μ v + g, w ← w − η v (nesterov: w ← w − η (g + μ v)); \
     rmsprop: s ← α s + (1−α) g², w ← w − η g / (√s + ε); adam: bias-corrected moments, \
     w ← w − η m̂ / (√v̂ + ε).",
);
pub const OPTIMIZER_LEARNING_RATE: Key = Key::new(
    "optimizer",
    "learning_rate",
    Type::Float(Range::Positive),
    DefaultValue::Required,
    "0.1",
    "The initial learning rate η₀; the schedule derives each step's rate from it.",
);
pub const OPTIMIZER_MOMENTUM: Key = Key::new(
    "optimizer",
    "momentum",
    Type::Float(Range::Fraction),
    DefaultValue::Required,
    "0.9",
    "μ of momentum and nesterov.",
)
.only_for(&["momentum", "nesterov"]);
pub const OPTIMIZER_NESTEROV: Key = Key::new(
    "optimizer",
    "nesterov",
    Type::Bool,
    DefaultValue::Required,
    "false",
    "Nesterov's form of momentum: required for `momentum`; for `nesterov` it may only be \
     `true`.",
)
.only_for(&["momentum", "nesterov"]);
pub const OPTIMIZER_ALPHA: Key = Key::new(
    "optimizer",
    "alpha",
    Type::Float(Range::Fraction),
    DefaultValue::Required,
    "0.99",
    "Decay α of rmsprop's mean square.",
)
.only_for(&["rmsprop"]);
pub const OPTIMIZER_BETA1: Key = Key::new(
    "optimizer",
    "beta1",
    Type::Float(Range::Fraction),
    DefaultValue::Required,
    "0.9",
    "Decay of adam's first moment.",
)
.only_for(&["adam"]);
pub const OPTIMIZER_BETA2: Key = Key::new(
    "optimizer",
    "beta2",
    Type::Float(Range::Fraction),
    DefaultValue::Required,
    "0.999",
    "Decay of adam's second moment.",
)
.only_for(&["adam"]);
pub const OPTIMIZER_EPSILON: Key = Key::new(
    "optimizer",
    "epsilon",
    Type::Float(Range::Positive),
    DefaultValue::Required,
    "1e-8",
    "ε added to the denominator (outside the square root).",
)
.only_for(&["rmsprop", "adam"]);

// [regularization]
pub const REGULARIZATION_L1: Key = Key::new(
    "regularization",
    "l1",
    Type::Float(Range::NonNegative),
    DefaultValue::Value("0.0"),
    "1e-5",
    "g ← g + l1·sign(w) (the loss gains l1·‖w‖₁).",
);
pub const REGULARIZATION_L2: Key = Key::new(
    "regularization",
    "l2",
    Type::Float(Range::NonNegative),
    DefaultValue::Value("0.0"),
    "1e-4",
    "g ← g + l2·w (the loss gains ½·l2·‖w‖²; coupled, not decoupled weight decay).",
);
pub const REGULARIZATION_CLIP_VALUE: Key = Key::new(
    "regularization",
    "clip_value",
    Type::Float(Range::Positive),
    DefaultValue::Unset,
    "5.0",
    "Clamp every gradient element into [−c, c].",
);
pub const REGULARIZATION_CLIP_NORM: Key = Key::new(
    "regularization",
    "clip_norm",
    Type::Float(Range::Positive),
    DefaultValue::Unset,
    "1.0",
    "Rescale all gradients together when their global L2 norm exceeds c.",
);

// [training]
pub const TRAINING_EPOCHS: Key = Key::new(
    "training",
    "epochs",
    Type::Int {
        min: 1,
        max: 1_000_000,
    },
    DefaultValue::Required,
    "10",
    "Passes over the training set.",
);
pub const TRAINING_BATCH_SIZE: Key = Key::new(
    "training",
    "batch_size",
    Type::IntOrWord {
        min: 1,
        words: &["full"],
    },
    DefaultValue::Required,
    "128",
    "Examples per step; `\"full\"`: the whole training set.",
);
pub const TRAINING_SHUFFLE: Key = Key::new(
    "training",
    "shuffle",
    Type::Bool,
    DefaultValue::Value("true"),
    "false",
    "Shuffle the batch order every epoch (seeded).",
);
pub const TRAINING_SEEDS: Key = Key::new(
    "training",
    "seeds",
    Type::IntArray { min: 0 },
    DefaultValue::Value("[0]"),
    "[0, 1, 2]",
    "One run per seed; a seed fixes the initial weights, batch order and dropout masks.",
);
pub const TRAINING_SCHEDULE: Key = Key::new(
    "training",
    "schedule",
    Type::Schedule,
    DefaultValue::Value("\"constant\""),
    "{ kind = \"step\", step_epochs = 10, gamma = 0.5 }",
    "The learning-rate schedule (see training.schedule); a name alone takes the defaults of \
     its table form (`step` has none and needs the table).",
);
pub const TRAINING_EARLY_STOPPING: Key = Key::new(
    "training",
    "early_stopping",
    Type::Table,
    DefaultValue::Unset,
    "{ patience = 3 }",
    "Stop when the validation metric stops improving (see training.early_stopping); unset: \
     never.",
);
pub const TRAINING_RECORD_GRAD_NORMS: Key = Key::new(
    "training",
    "record_grad_norms",
    Type::Bool,
    DefaultValue::Value("false"),
    "true",
    "Record per-layer gradient norms (mean over the epoch's steps).",
);
pub const TRAINING_RECORD_DEAD_UNITS: Key = Key::new(
    "training",
    "record_dead_units",
    Type::Bool,
    DefaultValue::Value("false"),
    "true",
    "Record each hidden dense layer's share of dead units after every epoch.",
);
pub const TRAINING_MAX_STEPS: Key = Key::new(
    "training",
    "max_steps",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Unset,
    "1",
    "Stop after this many training steps in all (the epoch in progress is the last, cut \
     short); unset: train every epoch.",
);
pub const TRAINING_RECORD_GRADIENTS: Key = Key::new(
    "training",
    "record_gradients",
    Type::Bool,
    DefaultValue::Value("false"),
    "true",
    "Record the gradient of every weight and bias after one step (`gradients.csv`), as \
     (w_before − w_after) / η: needs `max_steps = 1`, optimizer `sgd` and no L1, L2 or \
     clipping, so that the step is exactly w − η·g.",
);
pub const TRAINING_INPUT_NOISE: Key = Key::new(
    "training",
    "input_noise",
    Type::Float(Range::NonNegative),
    DefaultValue::Value("0.0"),
    "0.1",
    "Standard deviation of Gaussian noise added to every input value of each training batch \
     (the course's \"ajouter du bruit aux données\", a regularizer): drawn by the harness, fresh \
     at every step, from the unit's seed, so every backend trains on the same noisy batches; \
     evaluation always sees the clean inputs. 0: none.",
);
pub const TRAINING_DIVERGENCE_LOSS: Key = Key::new(
    "training",
    "divergence_loss",
    Type::Float(Range::PositiveOrInfinite),
    DefaultValue::Value("inf"),
    "1e3",
    "Stop as `diverged` when the training loss exceeds this (NaN and ∞ always do).",
);

// training.schedule
pub const SCHEDULE_KIND: Key = Key::new(
    "training.schedule",
    "kind",
    Type::Choice {
        what: "schedule",
        options: &SCHEDULE_NAMES,
    },
    DefaultValue::Required,
    "\"step\"",
    "`constant`: η₀ throughout; `step`: η₀ · gamma^⌊epoch / step_epochs⌋; `invscaling`: \
     η₀ / tᵖ with t the examples seen so far plus one (scikit-learn's); `adaptive`: η divided \
     by `factor` once `patience` epochs in a row fail to lower the training loss by `tol`.",
);
pub const SCHEDULE_STEP_EPOCHS: Key = Key::new(
    "training.schedule",
    "step_epochs",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Required,
    "10",
    "Epochs between two decays.",
)
.only_for(&["step"]);
pub const SCHEDULE_GAMMA: Key = Key::new(
    "training.schedule",
    "gamma",
    Type::Float(Range::Factor),
    DefaultValue::Required,
    "0.5",
    "Factor of each decay.",
)
.only_for(&["step"]);
pub const SCHEDULE_POWER_T: Key = Key::new(
    "training.schedule",
    "power_t",
    Type::Float(Range::Positive),
    DefaultValue::Value("0.5"),
    "0.5",
    "The exponent p.",
)
.only_for(&["invscaling"]);
pub const SCHEDULE_FACTOR: Key = Key::new(
    "training.schedule",
    "factor",
    Type::Float(Range::AboveOne),
    DefaultValue::Value("5.0"),
    "5.0",
    "Divisor of the rate (scikit-learn's `adaptive` is 5).",
)
.only_for(&["adaptive"]);
pub const SCHEDULE_PATIENCE: Key = Key::new(
    "training.schedule",
    "patience",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Value("2"),
    "2",
    "Epochs without enough improvement before the rate drops (the count then starts again).",
)
.only_for(&["adaptive"]);
pub const SCHEDULE_TOL: Key = Key::new(
    "training.schedule",
    "tol",
    Type::Float(Range::NonNegative),
    DefaultValue::Value("1e-4"),
    "1e-4",
    "Smallest lowering of the training loss that counts as an improvement.",
)
.only_for(&["adaptive"]);

// training.early_stopping
pub const EARLY_STOPPING_MONITOR: Key = Key::new(
    "training.early_stopping",
    "monitor",
    Type::Choice {
        what: "monitor",
        options: &MONITOR_NAMES,
    },
    DefaultValue::Value("\"val_loss\""),
    "\"val_accuracy\"",
    "The validation metric watched.",
);
pub const EARLY_STOPPING_PATIENCE: Key = Key::new(
    "training.early_stopping",
    "patience",
    Type::Int {
        min: 1,
        max: i64::MAX,
    },
    DefaultValue::Required,
    "3",
    "Epochs without improvement before stopping.",
)
.hint(Hint::Lead("epochs without improvement before stopping, "));
pub const EARLY_STOPPING_MIN_DELTA: Key = Key::new(
    "training.early_stopping",
    "min_delta",
    Type::Float(Range::NonNegative),
    DefaultValue::Value("0.0"),
    "0.001",
    "Smallest change that counts as an improvement.",
);

/// Every key, table by table in the order of [`TABLES`], each table's keys in the order that
/// messages list them.
pub const KEYS: &[&Key] = &[
    &DESCRIPTION,
    &COURSE_SECTION,
    &BACKENDS,
    &THREADS,
    &UNIT_TIME_LIMIT,
    &DATASET,
    &MODEL,
    &INIT,
    &OPTIMIZER,
    &REGULARIZATION,
    &TRAINING,
    &SWEEP,
    &QUICK,
    &DATASET_NAME,
    &DATASET_TRAIN_SIZE,
    &DATASET_TEST_SIZE,
    &DATASET_SCALING,
    &DATASET_VALIDATION_FRACTION,
    &DATASET_TARGETS,
    &DATASET_KEEP_CLASSES,
    &BLOBS_CLASSES,
    &DATASET_INPUTS,
    &DATASET_LABELS,
    &BLOBS_FEATURES,
    &BLOBS_TRAIN_PER_CLASS,
    &BLOBS_TEST_PER_CLASS,
    &BLOBS_SEPARATION,
    &BLOBS_SPREAD,
    &BLOBS_SEED,
    &MODEL_LAYERS,
    &MODEL_OUTPUT,
    &MODEL_THRESHOLD,
    &LAYER_TYPE,
    &LAYER_UNITS,
    &LAYER_ACTIVATION,
    &LAYER_FUNCTION,
    &LAYER_RATE,
    &LAYER_MOMENTUM,
    &LAYER_EPSILON,
    &LAYER_CHANNELS,
    &LAYER_KERNEL_SIZE,
    &LAYER_PADDING,
    &LAYER_SIZE,
    &LAYER_STRIDE,
    &INIT_WEIGHTS,
    &INIT_BIASES,
    &INIT_FROM_FILE,
    &INIT_SCHEME,
    &INIT_LIMIT,
    &INIT_STD,
    &OPTIMIZER_KIND,
    &OPTIMIZER_LEARNING_RATE,
    &OPTIMIZER_MOMENTUM,
    &OPTIMIZER_NESTEROV,
    &OPTIMIZER_ALPHA,
    &OPTIMIZER_BETA1,
    &OPTIMIZER_BETA2,
    &OPTIMIZER_EPSILON,
    &REGULARIZATION_L1,
    &REGULARIZATION_L2,
    &REGULARIZATION_CLIP_VALUE,
    &REGULARIZATION_CLIP_NORM,
    &TRAINING_EPOCHS,
    &TRAINING_BATCH_SIZE,
    &TRAINING_SHUFFLE,
    &TRAINING_SEEDS,
    &TRAINING_SCHEDULE,
    &TRAINING_EARLY_STOPPING,
    &TRAINING_RECORD_GRAD_NORMS,
    &TRAINING_RECORD_DEAD_UNITS,
    &TRAINING_MAX_STEPS,
    &TRAINING_RECORD_GRADIENTS,
    &TRAINING_INPUT_NOISE,
    &TRAINING_DIVERGENCE_LOSS,
    &SCHEDULE_KIND,
    &SCHEDULE_STEP_EPOCHS,
    &SCHEDULE_GAMMA,
    &SCHEDULE_POWER_T,
    &SCHEDULE_FACTOR,
    &SCHEDULE_PATIENCE,
    &SCHEDULE_TOL,
    &EARLY_STOPPING_MONITOR,
    &EARLY_STOPPING_PATIENCE,
    &EARLY_STOPPING_MIN_DELTA,
];

/// The schema table at `path` (an alias such as `init.biases` gives its table).
pub fn table(path: &str) -> Option<&'static Table> {
    TABLES
        .iter()
        .find(|table| table.path == path || table.also.contains(&path))
}

/// The names of every key of the table at `path`, in schema order.
pub fn key_names(path: &str) -> Vec<&'static str> {
    table(path).map_or_else(Vec::new, |table| table.keys().map(|key| key.name).collect())
}

/// The names of the keys of the table at `path` that exist when its selector is `selector`.
pub fn key_names_for(path: &str, selector: &str) -> Vec<&'static str> {
    table(path).map_or_else(Vec::new, |table| {
        table
            .keys()
            .filter(|key| key.applies_to(selector))
            .map(|key| key.name)
            .collect()
    })
}

/// The keys a key path may name inside the table at `path` (`None`: `path` is no table).
pub fn settable_names(path: &str) -> Option<Vec<&'static str>> {
    let table = table(path)?;
    Some(
        table
            .keys()
            .filter(|key| key.ty.is_settable())
            .map(|key| key.name)
            .collect(),
    )
}

/// True when the key at `path` (written with `[]` for array elements) holds an array.
pub fn is_array(path: &str) -> bool {
    KEYS.iter()
        .any(|key| key.path() == path && key.ty.is_array())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_belongs_to_a_table_and_is_listed_once() {
        for key in KEYS {
            assert!(table(key.table).is_some(), "{}", key.path());
            let same = KEYS.iter().filter(|k| k.path() == key.path()).count();
            assert_eq!(same, 1, "{}", key.path());
            if !key.only_for.is_empty() {
                let selector = table(key.table).and_then(|t| t.selector);
                assert!(selector.is_some(), "{} has no selector", key.path());
            }
        }
    }

    #[test]
    fn every_default_is_one_toml_value() {
        for key in KEYS {
            if let DefaultValue::Value(text) = key.default {
                let parsed = format!("value = {text}").parse::<toml::Table>();
                assert!(parsed.is_ok(), "{}: {text}", key.path());
            }
        }
    }

    #[test]
    fn every_selector_value_is_an_option_of_the_selector() {
        for key in KEYS {
            let Some(selector) = table(key.table).and_then(|t| t.selector) else {
                continue;
            };
            let options = table(key.table)
                .and_then(|t| t.keys().find(|k| k.name == selector))
                .map(|k| k.choices())
                .unwrap_or_default();
            for value in key.only_for {
                assert!(options.contains(value), "{}: {value}", key.path());
            }
        }
    }
}
