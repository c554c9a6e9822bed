//! The scenario parser: the shipped scenarios, defaults, sweeps, quick runs, overrides, and the
//! messages for broken files (snapshots in `snapshots/`).

use std::path::{Path, PathBuf};

use nnbench_core::spec::parse::{self, LoadOptions, ScenarioError};
use nnbench_core::spec::{
    Activation, BatchSize, DatasetSource, DatasetSpec, InitScheme, InitSpec, LayerSpec, LogicGate,
    ModelSpec, OptimizerKind, OptimizerSpec, OutputHead, OutputSpec, RegularizationSpec, RunSpec,
    Scaling, Scenario, Schedule, TrainingSpec,
};

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");
const BAD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad_scenarios");

fn toml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

fn parse(text: &str, options: &LoadOptions) -> Result<Scenario, ScenarioError> {
    parse::parse_scenario("test", "test.toml", text, options)
}

fn parse_ok(text: &str, options: &LoadOptions) -> Scenario {
    parse(text, options).unwrap_or_else(|error| panic!("{error}"))
}

fn parse_err(text: &str, options: &LoadOptions) -> ScenarioError {
    match parse(text, options) {
        Ok(scenario) => panic!("expected an error, got {scenario:?}"),
        Err(error) => error,
    }
}

fn quick() -> LoadOptions {
    LoadOptions {
        quick: true,
        overrides: Vec::new(),
    }
}

fn with_overrides(assignments: &[&str]) -> LoadOptions {
    LoadOptions {
        quick: false,
        overrides: assignments
            .iter()
            .map(|assignment| parse::parse_override(assignment).unwrap())
            .collect(),
    }
}

#[test]
fn a_scenario_of_ones_own_needs_no_course_section() {
    let own = MINIMAL.replace("course_section = \"tests\"\n", "");
    let scenario = parse_ok(&own, &LoadOptions::default());
    assert_eq!(scenario.course_section, None);
}

fn names(scenario: &Scenario) -> Vec<&str> {
    scenario.variants.iter().map(|v| v.name.as_str()).collect()
}

/// Each variant's full sweep point (`key=label` per axis).
fn assignments(scenario: &Scenario) -> Vec<&str> {
    scenario
        .variants
        .iter()
        .map(|v| v.assignment.as_str())
        .collect()
}

const MINIMAL: &str = r#"
description = "minimal"
course_section = "tests"
backends = ["native"]

[dataset]
name = "xor"

[model]
output = "sigmoid_binary_cross_entropy"

[optimizer]
kind = "sgd"
learning_rate = 0.5

[training]
epochs = 100
batch_size = "full"
"#;

/// A small valid MNIST scenario followed by `extra` (e.g. a `[sweep]`).
fn mnist(extra: &str) -> String {
    format!(
        r#"
description = "mnist"
course_section = "tests"
backends = ["native", "burn"]

[dataset]
name = "mnist"
scaling = "unit"
train_size = 10000

[model]
layers = [
  {{ type = "dense", units = 64, activation = "relu" }},
  {{ type = "dense", units = 32, activation = "relu" }},
]
output = "softmax_cross_entropy"

[optimizer]
kind = "sgd"
learning_rate = 0.1

[training]
epochs = 5
batch_size = 64
seeds = [0, 1, 2]
{extra}"#
    )
}

#[test]
fn every_shipped_scenario_parses_normally_and_quick() {
    let files = toml_files(SCENARIOS);
    assert!(!files.is_empty());
    for path in files {
        let full = parse::load_scenario(&path, &LoadOptions::default())
            .unwrap_or_else(|error| panic!("{error}"));
        let stem = path.file_stem().unwrap().to_str().unwrap();
        assert_eq!(full.name, stem);
        assert!(!full.variants.is_empty());
        assert!(!full.description.is_empty());

        let small = parse::load_scenario(&path, &quick()).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(small.variants.len(), full.variants.len(), "{stem}");
        for variant in &small.variants {
            let run = &variant.run;
            assert!(run.training.epochs <= 2, "{stem}/{}", variant.name);
            assert!(run.training.seeds.len() <= 2, "{stem}/{}", variant.name);
            match &run.dataset.source {
                DatasetSource::Mnist | DatasetSource::FashionMnist => {
                    assert!(run.dataset.train_size.is_some_and(|n| n <= 2000), "{stem}");
                    assert!(run.dataset.test_size.is_some_and(|n| n <= 500), "{stem}");
                }
                DatasetSource::Blobs(blobs) => {
                    assert!(blobs.train_per_class <= 50 && blobs.test_per_class <= 50);
                }
                DatasetSource::Logic { .. } | DatasetSource::Rows(_) => {}
            }
        }
    }
}

#[test]
fn shipped_sweeps_have_readable_variant_names() {
    let load = |name: &str| {
        let path = Path::new(SCENARIOS).join(format!("{name}.toml"));
        parse::load_scenario(&path, &LoadOptions::default()).unwrap()
    };
    assert_eq!(
        names(&load("optimizers_mnist")),
        ["sgd", "momentum", "nesterov", "rmsprop", "adam"]
    );
    assert_eq!(
        names(&load("mlp_xor")),
        ["sigmoid2", "tanh2", "sigmoid4", "tanh4"]
    );
    assert_eq!(
        names(&load("perceptron_blobs")),
        ["separation=6.0", "separation=1.5"]
    );
    assert_eq!(
        assignments(&load("perceptron_blobs")),
        ["dataset.separation=6.0", "dataset.separation=1.5"]
    );
    assert_eq!(names(&load("mnist_sgd")), ["base"]);
    assert_eq!(assignments(&load("mnist_sgd")), [""]);
    let dead = load("dead_relu");
    assert_eq!(
        names(&dead),
        [
            "relu lr=0.05",
            "relu lr=0.8",
            "relu lr=1.0",
            "leaky_relu lr=0.05",
            "leaky_relu lr=0.8",
            "leaky_relu lr=1.0"
        ]
    );
    assert_eq!(
        dead.variants[2].assignment,
        "model.layers[*].activation=relu,optimizer.learning_rate=1.0"
    );
    let exploding = load("exploding_gradient");
    assert_eq!(
        names(&exploding),
        [
            "none",
            "clip_value",
            "clip_norm",
            "smaller_init",
            "lower_rate",
            "elu",
            "selu",
            "batch_norm"
        ]
    );
    assert_eq!(exploding.variants[0].run.regularization.clip_value, None);
    assert_eq!(
        exploding.variants[1].run.regularization.clip_value,
        Some(0.1)
    );
    assert_eq!(exploding.variants[3].run.init.weights, InitScheme::HeNormal);
    assert_eq!(exploding.variants[4].run.optimizer.learning_rate, 1e-5);
}

#[test]
fn minimal_scenario_fills_in_the_defaults() {
    let scenario = parse_ok(MINIMAL, &LoadOptions::default());
    assert_eq!(scenario.name, "test");
    assert_eq!(scenario.description, "minimal");
    assert_eq!(scenario.course_section.as_deref(), Some("tests"));
    assert_eq!(names(&scenario), ["base"]);
    let expected = RunSpec {
        dataset: DatasetSpec {
            source: DatasetSource::Logic {
                gate: LogicGate::Xor,
            },
            train_size: None,
            test_size: None,
            scaling: Scaling::None,
            validation_fraction: 0.0,
            keep_classes: None,
        },
        model: ModelSpec {
            layers: Vec::new(),
            output: OutputSpec {
                head: OutputHead::SigmoidBinaryCrossEntropy,
            },
            threshold: 0.0,
        },
        init: InitSpec {
            weights: InitScheme::GlorotUniform,
            biases: InitScheme::Zeros,
            from_file: None,
        },
        optimizer: OptimizerSpec {
            learning_rate: 0.5,
            kind: OptimizerKind::Sgd,
        },
        regularization: RegularizationSpec {
            l1: 0.0,
            l2: 0.0,
            clip_value: None,
            clip_norm: None,
        },
        training: TrainingSpec {
            epochs: 100,
            batch: BatchSize::Full,
            shuffle: true,
            seeds: vec![0],
            schedule: Schedule::Constant,
            early_stopping: None,
            record_grad_norms: false,
            record_dead_units: false,
            max_steps: None,
            record_gradients: false,
            divergence_loss: f64::INFINITY,
            input_noise: 0.0,
        },
        backends: vec!["native".to_string()],
        threads: 1,
    };
    assert_eq!(scenario.variants[0].run, expected);
}

#[test]
fn every_field_reads_into_the_spec() {
    let text = r#"
description = "everything"
course_section = "tests"
backends = ["native", "tch"]
threads = 4

[dataset]
name = "blobs"
classes = 3
features = 5
train_per_class = 20
test_per_class = 10
separation = 2
spread = 0.5
seed = 7
scaling = "standard"
validation_fraction = 0.2

[model]
layers = [
  { type = "dense", units = 16, activation = "leaky_relu" },
  { type = "batch_norm" },
  { type = "activation", function = "selu" },
  { type = "dropout", rate = 0.25 },
  { type = "batch_norm", momentum = 0.5, epsilon = 1e-3 },
]
output = "identity_mse"

[init]
weights = { scheme = "normal", std = 0.02 }
biases = { scheme = "uniform", limit = 0.1 }

[optimizer]
kind = "nesterov"
learning_rate = 0.01
momentum = 0.9

[regularization]
l1 = 1e-5
l2 = 1e-4
clip_value = 5
clip_norm = 1.0

[training]
epochs = 3
batch_size = 32
shuffle = false
seeds = [3, 4]
schedule = { kind = "step", step_epochs = 2, gamma = 0.5 }
early_stopping = { monitor = "val_accuracy", patience = 2 }
record_grad_norms = true
divergence_loss = 1e3
"#;
    let run = parse_ok(text, &LoadOptions::default()).variants[0]
        .run
        .clone();
    let DatasetSource::Blobs(blobs) = &run.dataset.source else {
        panic!("{:?}", run.dataset.source)
    };
    assert_eq!(
        (
            blobs.classes,
            blobs.features,
            blobs.train_per_class,
            blobs.test_per_class
        ),
        (3, 5, 20, 10)
    );
    assert_eq!((blobs.separation, blobs.spread, blobs.seed), (2.0, 0.5, 7));
    assert_eq!(run.dataset.scaling, Scaling::Standard);
    assert_eq!(run.dataset.validation_fraction, 0.2);
    assert_eq!(
        run.model.layers,
        [
            LayerSpec::Dense {
                units: 16,
                activation: Activation::LeakyRelu
            },
            LayerSpec::BatchNorm {
                momentum: 0.1,
                epsilon: 1e-5
            },
            LayerSpec::Activation {
                function: Activation::Selu
            },
            LayerSpec::Dropout { rate: 0.25 },
            LayerSpec::BatchNorm {
                momentum: 0.5,
                epsilon: 1e-3
            },
        ]
    );
    assert_eq!(run.model.output.head, OutputHead::IdentityMse);
    assert_eq!(run.init.weights, InitScheme::Normal { std: 0.02 });
    assert_eq!(run.init.biases, InitScheme::Uniform { limit: 0.1 });
    assert_eq!(
        run.optimizer.kind,
        OptimizerKind::Momentum {
            momentum: 0.9,
            nesterov: true
        }
    );
    assert_eq!(run.regularization.clip_value, Some(5.0));
    assert_eq!(run.regularization.clip_norm, Some(1.0));
    assert_eq!(run.training.batch, BatchSize::Size(32));
    assert!(!run.training.shuffle);
    assert_eq!(run.training.seeds, [3, 4]);
    assert_eq!(
        run.training.schedule,
        Schedule::Step {
            step_epochs: 2,
            gamma: 0.5
        }
    );
    let early = run.training.early_stopping.unwrap();
    assert_eq!((early.patience, early.min_delta), (2, 0.0));
    assert!(run.training.record_grad_norms);
    assert_eq!(run.training.divergence_loss, 1e3);
    assert_eq!(run.threads, 4);
}

#[test]
fn schedule_names_take_their_defaults() {
    let run = |schedule: &str| {
        let text = MINIMAL.replace(
            "batch_size = \"full\"",
            &format!("batch_size = \"full\"\nschedule = {schedule}"),
        );
        parse_ok(&text, &LoadOptions::default()).variants[0]
            .run
            .training
            .schedule
    };
    assert_eq!(run("\"invscaling\""), Schedule::InvScaling { power_t: 0.5 });
    assert_eq!(
        run("\"adaptive\""),
        Schedule::Adaptive {
            factor: 5.0,
            patience: 2,
            tol: 1e-4
        }
    );
    assert_eq!(
        run("{ kind = \"adaptive\", factor = 2 }"),
        Schedule::Adaptive {
            factor: 2.0,
            patience: 2,
            tol: 1e-4
        }
    );
    assert_eq!(run("\"constant\""), Schedule::Constant);
}

#[test]
fn a_two_by_three_grid_nests_the_first_axis_outermost() {
    let text = mnist(
        r#"
[sweep]
"optimizer.learning_rate" = [0.1, 1e-3]
"training.batch_size" = [32, 64, "full"]
"#,
    );
    let scenario = parse_ok(&text, &LoadOptions::default());
    assert_eq!(
        assignments(&scenario),
        [
            "optimizer.learning_rate=0.1,training.batch_size=32",
            "optimizer.learning_rate=0.1,training.batch_size=64",
            "optimizer.learning_rate=0.1,training.batch_size=full",
            "optimizer.learning_rate=0.001,training.batch_size=32",
            "optimizer.learning_rate=0.001,training.batch_size=64",
            "optimizer.learning_rate=0.001,training.batch_size=full",
        ]
    );
    let last = &scenario.variants[5].run;
    assert_eq!(last.optimizer.learning_rate, 1e-3);
    assert_eq!(last.training.batch, BatchSize::Full);
}

#[test]
fn axes_follow_file_order_not_alphabetical_order() {
    let text = mnist(
        r#"
[sweep]
"training.epochs" = [1, 2]
"dataset.scaling" = ["unit", "standard"]
"#,
    );
    let scenario = parse_ok(&text, &LoadOptions::default());
    assert_eq!(
        assignments(&scenario)[1],
        "training.epochs=1,dataset.scaling=standard"
    );
}

#[test]
fn wildcard_sets_every_layer() {
    let text = mnist(
        r#"
[sweep]
"model.layers[*].activation" = ["sigmoid", "tanh"]
"model.layers[1].units" = [8, 16]
"#,
    );
    let scenario = parse_ok(&text, &LoadOptions::default());
    assert_eq!(scenario.variants.len(), 4);
    assert_eq!(scenario.variants[1].name, "sigmoid units=16");
    assert_eq!(
        scenario.variants[1].assignment,
        "model.layers[*].activation=sigmoid,model.layers[1].units=16"
    );
    assert_eq!(
        scenario.variants[1].run.model.layers,
        [
            LayerSpec::Dense {
                units: 64,
                activation: Activation::Sigmoid
            },
            LayerSpec::Dense {
                units: 16,
                activation: Activation::Sigmoid
            },
        ]
    );
    assert!(
        scenario.variants[2]
            .run
            .model
            .layers
            .iter()
            .all(|layer| matches!(
                layer,
                LayerSpec::Dense {
                    activation: Activation::Tanh,
                    ..
                }
            ))
    );
}

#[test]
fn bundle_axis_applies_its_entries_together() {
    let text = mnist(
        r#"
[sweep]
fix = [
  { name = "none" },
  { name = "small", "optimizer.learning_rate" = 0.01, "training.epochs" = 9, "init.weights" = "he_normal" },
]
"#,
    );
    let scenario = parse_ok(&text, &LoadOptions::default());
    assert_eq!(assignments(&scenario), ["fix=none", "fix=small"]);
    let (none, small) = (&scenario.variants[0].run, &scenario.variants[1].run);
    assert_eq!(none.optimizer.learning_rate, 0.1);
    assert_eq!(none.training.epochs, 5);
    assert_eq!(none.init.weights, InitScheme::GlorotUniform);
    assert_eq!(small.optimizer.learning_rate, 0.01);
    assert_eq!(small.training.epochs, 9);
    assert_eq!(small.init.weights, InitScheme::HeNormal);
}

#[test]
fn table_axis_uses_the_name_as_label_and_drops_it() {
    let text = mnist(
        r#"
[sweep]
optimizer = [
  { name = "fast", kind = "sgd", learning_rate = 0.5 },
  { name = "slow", kind = "sgd", learning_rate = 0.01 },
]
"training.schedule" = [{ kind = "step", step_epochs = 2, gamma = 0.5 }, "constant"]
"#,
    );
    let scenario = parse_ok(&text, &LoadOptions::default());
    assert_eq!(
        assignments(&scenario),
        [
            "optimizer=fast,training.schedule=step",
            "optimizer=fast,training.schedule=constant",
            "optimizer=slow,training.schedule=step",
            "optimizer=slow,training.schedule=constant",
        ]
    );
    assert_eq!(scenario.variants[3].run.optimizer.learning_rate, 0.01);
}

#[test]
fn layer_array_labels_describe_the_layers() {
    let text = mnist(
        r#"
[sweep]
"model.layers" = [
  [],
  [{ type = "dense", units = 8, activation = "relu" }, { type = "dropout", rate = 0.5 }],
  [{ type = "dense", units = 8, activation = "relu" }, { type = "batch_norm" }, { type = "activation", function = "tanh" }],
]
"#,
    );
    let scenario = parse_ok(&text, &LoadOptions::default());
    assert_eq!(
        assignments(&scenario),
        [
            "model.layers=[]",
            "model.layers=relu8-dropout0.5",
            "model.layers=relu8-bn-tanh"
        ]
    );
}

#[test]
fn overrides_apply_to_every_variant_after_the_sweep() {
    let text = mnist(
        r#"
[sweep]
"optimizer.learning_rate" = [0.1, 0.01]
"#,
    );
    let options = with_overrides(&[
        "training.epochs=3",
        "backends=[\"native\"]",
        "optimizer.kind=adam",
        "optimizer.beta1 = 0.9",
        "optimizer.beta2=0.999",
        "optimizer.epsilon=1e-8",
        "regularization.l2=0.001",
        "model.layers[*].units=10",
    ]);
    let scenario = parse_ok(&text, &options);
    assert_eq!(scenario.variants.len(), 2);
    for variant in &scenario.variants {
        let run = &variant.run;
        assert_eq!(run.training.epochs, 3);
        assert_eq!(run.backends, ["native"]);
        assert_eq!(run.optimizer.kind.name(), "adam");
        assert_eq!(run.regularization.l2, 0.001);
        assert!(
            run.model
                .layers
                .iter()
                .all(|layer| matches!(layer, LayerSpec::Dense { units: 10, .. }))
        );
    }
    assert_eq!(scenario.variants[1].run.optimizer.learning_rate, 0.01);

    // A whole table, and an override that wins over a sweep axis.
    let options = with_overrides(&[
        "optimizer={ kind = \"momentum\", learning_rate = 0.2, momentum = 0.5, nesterov = false }",
    ]);
    let scenario = parse_ok(&text, &options);
    assert!(
        scenario
            .variants
            .iter()
            .all(|v| v.run.optimizer.learning_rate == 0.2)
    );
}

#[test]
fn override_problems_are_reported() {
    let error = parse_err(MINIMAL, &with_overrides(&["trainig.epochs=3"]));
    assert_eq!(error.problems.len(), 1, "{error}");
    assert_eq!(error.problems[0].key, "trainig.epochs");
    assert!(error.problems[0].message.contains("unknown key"), "{error}");

    let error = parse_err(MINIMAL, &with_overrides(&["training.epochs=0"]));
    assert_eq!(
        error.to_string(),
        "test.toml: 1 problem\n  training.epochs = 0: must be an integer in 1..=1000000"
    );

    let error = parse_err(MINIMAL, &with_overrides(&["training.epochs=lots"]));
    assert_eq!(
        error.problems[0].value.as_deref(),
        Some("\"lots\""),
        "{error}"
    );
}

#[test]
fn parse_override_reads_toml_values_or_bare_strings() {
    use toml::Value;
    let cases = [
        ("training.epochs=3", "training.epochs", Value::Integer(3)),
        (
            "optimizer.kind=adam",
            "optimizer.kind",
            Value::String("adam".into()),
        ),
        (
            "backends=[\"native\"]",
            "backends",
            Value::Array(vec![Value::String("native".into())]),
        ),
        (
            " training.shuffle = false ",
            "training.shuffle",
            Value::Boolean(false),
        ),
        (
            "optimizer.learning_rate=1e-3",
            "optimizer.learning_rate",
            Value::Float(1e-3),
        ),
        (
            "description=a=b",
            "description",
            Value::String("a=b".into()),
        ),
        (
            "dataset.name=",
            "dataset.name",
            Value::String(String::new()),
        ),
    ];
    for (assignment, key, value) in cases {
        assert_eq!(
            parse::parse_override(assignment).unwrap(),
            (key.to_string(), value),
            "{assignment}"
        );
    }
}

#[test]
fn parse_override_rejects_malformed_assignments() {
    for assignment in [
        "training.epochs",
        "=3",
        " = 3",
        "",
        "a..b=1",
        "layers[x]=1",
        "a[1=2",
    ] {
        let error = parse::parse_override(assignment).unwrap_err();
        assert_eq!(error.origin, "command line", "{assignment}");
        assert_eq!(error.problems.len(), 1, "{assignment}");
    }
    assert_eq!(
        parse::parse_override("training.epochs")
            .unwrap_err()
            .to_string(),
        "command line: 1 problem\n  training.epochs: expected key=value (e.g. training.epochs=3)"
    );
}

#[test]
fn quick_caps_then_the_quick_table() {
    let text = mnist(
        r#"
[quick]
"training.epochs" = 1
"training.seeds" = [5]
"dataset.test_size" = 100
"#,
    );
    let full = parse_ok(&text, &LoadOptions::default()).variants[0]
        .run
        .clone();
    assert_eq!(full.training.epochs, 5);
    assert_eq!(full.training.seeds, [0, 1, 2]);
    assert_eq!(full.dataset.train_size, Some(10000));
    assert_eq!(full.dataset.test_size, None);

    let small = parse_ok(&text, &quick()).variants[0].run.clone();
    assert_eq!(small.training.epochs, 1);
    assert_eq!(small.training.seeds, [5]);
    assert_eq!(small.dataset.train_size, Some(2000));
    assert_eq!(small.dataset.test_size, Some(100));

    // Without a [quick] table only the caps apply; the [quick] table never raises them.
    let small = parse_ok(&mnist(""), &quick()).variants[0].run.clone();
    assert_eq!(small.training.epochs, 2);
    assert_eq!(small.training.seeds, [0, 1]);
    assert_eq!(small.dataset.test_size, Some(500));
    let raised = parse_ok(&mnist("[quick]\n\"training.epochs\" = 50\n"), &quick());
    assert_eq!(raised.variants[0].run.training.epochs, 2);

    // Overrides come after the caps and win.
    let options = LoadOptions {
        quick: true,
        overrides: vec![parse::parse_override("training.epochs=7").unwrap()],
    };
    assert_eq!(parse_ok(&text, &options).variants[0].run.training.epochs, 7);
}

#[test]
fn problems_in_several_variants_are_tagged_and_deduplicated() {
    let text = mnist(
        r#"
[sweep]
"optimizer.learning_rate" = [0.1, -1.0]
"training.epochs" = [1, 2]
"#,
    );
    let error = parse_err(&text, &with_overrides(&["threads=0"]));
    let shown: Vec<String> = error.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        shown,
        [
            "threads = 0: must be an integer in 1..=256 (variant optimizer.learning_rate=0.1,training.epochs=1)",
            "optimizer.learning_rate = -1.0: must be a number > 0 (variant optimizer.learning_rate=-1.0,training.epochs=1)",
        ]
    );
    // A single variant carries no tag.
    let error = parse_err(MINIMAL, &with_overrides(&["threads=0"]));
    assert_eq!(error.problems[0].variant, None);
}

#[test]
fn unreadable_file_is_one_problem() {
    let path = Path::new(BAD).join("does_not_exist.toml");
    let error = parse::load_scenario(&path, &LoadOptions::default()).unwrap_err();
    assert_eq!(error.problems.len(), 1);
    assert_eq!(error.problems[0].key, "file");
}

#[test]
fn bad_scenarios_are_explained() {
    let files = toml_files(BAD);
    assert!(files.len() >= 12);
    for path in files {
        let file = path.file_name().unwrap().to_str().unwrap();
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let origin = format!("bad_scenarios/{file}");
        match parse::parse_scenario(stem, &origin, &text, &LoadOptions::default()) {
            Ok(_) => panic!("{file} should not validate"),
            Err(error) => {
                assert!(!error.problems.is_empty());
                insta::assert_snapshot!(stem, error.to_string());
            }
        }
    }
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "",
        "[[[",
        "\u{0}\u{1}\u{2}\u{ff}\u{fffd}",
        "=",
        "a = ",
        "[sweep]\nx = 1",
        "[sweep]\n\"a.b\" = []",
        "[sweep]\nfix = [1, \"x\", {}, { name = 3 }]",
        "[sweep]\n\"model.layers[99].units\" = [1]",
        "[sweep]\n\"backends[*]\" = [\"native\"]\n[quick]\nx = 1",
        "[dataset]\nname = [\"mnist\"]\n[model]\nlayers = [[], 1, { type = 2 }]",
        "[training]\nepochs = 1e400",
        "[training]\nepochs = -9223372036854775808\nseeds = [-1, 1.5, \"x\"]",
        "backends = \"native\"\ndataset = 1\nmodel = []\ninit = 3\ntraining = true",
        "[optimizer]\nkind = \"nesterov\"\nnesterov = \"yes\"\nlearning_rate = nan",
        "[init]\nweights = { scheme = \"he_normal\" }\nbiases = { scheme = \"normal\" }",
    ];
    for input in inputs {
        for options in [
            LoadOptions::default(),
            quick(),
            with_overrides(&["model.layers[3].units=1", "x=1"]),
        ] {
            let error = parse(input, &options).unwrap_err();
            assert!(!error.problems.is_empty(), "{input:?}");
            let _ = error.to_string();
        }
    }
    let binary: String = (0u8..=255).map(char::from).collect();
    let _ = parse(&binary, &LoadOptions::default());
    let _ = parse::parse_override(&binary);
    let _ = parse::parse_override("[[[=]]]");
}

#[test]
fn scenario_errors_leave_the_error_prefix_to_the_program() {
    let error = parse_err(MINIMAL, &with_overrides(&["training.epochs=0"]));
    let shown = error.to_string();
    assert!(shown.starts_with("test.toml: 1 problem"), "{shown}");
    assert!(!shown.contains("error:"), "{shown}");
}

#[test]
fn short_names_keep_keys_where_labels_would_collide() {
    // Two axes labelled alike: the short names would repeat, so the full ones are kept.
    let text = mnist(
        r#"
[sweep]
a = [{ name = "p q" }, { name = "p" }]
b = [{ name = "r" }, { name = "q r" }]
"#,
    );
    let scenario = parse_ok(&text, &LoadOptions::default());
    assert_eq!(
        names(&scenario),
        ["a=p q,b=r", "a=p q,b=q r", "a=p,b=r", "a=p,b=q r"]
    );
    let text = mnist(
        r#"
[sweep]
"training.epochs" = [1, 2]
"optimizer.learning_rate" = [0.1]
"#,
    );
    let scenario = parse_ok(&text, &LoadOptions::default());
    assert_eq!(names(&scenario), ["epochs=1 lr=0.1", "epochs=2 lr=0.1"]);
}

/// Every shipped variant name reads as a title: short, no key paths, no sweep syntax.
#[test]
fn every_shipped_variant_title_is_readable() {
    for entry in std::fs::read_dir(SCENARIOS).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let scenario = parse::load_scenario(&path, &LoadOptions::default()).unwrap();
        for variant in &scenario.variants {
            let name = &variant.name;
            assert!(
                name.len() <= 32
                    && !name.contains([',', '[', ']', '*', '{'])
                    && !name.contains("model.")
                    && !name.contains("optimizer.")
                    && !name.contains("training."),
                "{}: variant `{name}` ({})",
                path.display(),
                variant.assignment
            );
        }
    }
}

/// Writes f32 tensors as a safetensors file.
fn write_safetensors(path: &Path, tensors: &[(&str, Vec<usize>, Vec<f32>)]) {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, data)| data.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), data)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                    .unwrap();
            (name.to_string(), view)
        })
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

const FROM_FILE: &str = r#"
description = "init from a file"
backends = ["native"]
[dataset]
name = "rows"
inputs = [[0.05, 0.10]]
labels = [1]
classes = 3
[model]
layers = [{ type = "dense", units = 2, activation = "sigmoid" }]
output = "identity_mse"
[init]
from_file = "w.safetensors"
[optimizer]
kind = "sgd"
learning_rate = 0.5
[training]
epochs = 1
batch_size = 1
max_steps = 1
record_gradients = true
"#;

#[test]
fn init_from_file_is_read_relative_to_the_scenario_and_checked_against_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, FROM_FILE).unwrap();
    let good = [
        ("0.weight", vec![2, 2], vec![0.15, 0.25, 0.2, 0.3]),
        ("0.bias", vec![2], vec![0.35, 0.35]),
        ("1.weight", vec![2, 3], vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
        ("1.bias", vec![3], vec![-0.01, 0.01, 0.0]),
    ];
    write_safetensors(&dir.path().join("w.safetensors"), &good);
    let parsed = parse::load_scenario(&scenario, &LoadOptions::default())
        .unwrap_or_else(|error| panic!("{error}"));
    let file = parsed.variants[0].run.init.from_file.as_ref().unwrap();
    assert_eq!(file.weights.get("0.weight").unwrap().data[2], 0.2);
    assert_eq!(parsed.variants[0].run.training.max_steps, Some(1));

    // Wrong shape, a missing tensor and an extra one: each named with the file, and reported
    // with the scenario's other problems (here an unknown key).
    write_safetensors(
        &dir.path().join("w.safetensors"),
        &[
            ("0.weight", vec![3, 2], vec![0.0; 6]),
            ("0.bias", vec![2], vec![0.0; 2]),
            ("1.weight", vec![2, 3], vec![0.0; 6]),
            ("5.weight", vec![1], vec![0.0]),
        ],
    );
    std::fs::write(
        &scenario,
        FROM_FILE.replace("[optimizer]", "[optimizer]\nmomentun = 0.9"),
    )
    .unwrap();
    let error = parse::load_scenario(&scenario, &LoadOptions::default()).unwrap_err();
    let text = error.to_string();
    let shown = dir.path().join("w.safetensors").display().to_string();
    assert!(text.contains("momentun"), "{text}");
    assert!(
        text.contains(&format!(
            "{shown}: tensor 0.weight has shape [3, 2] (6 values), expected [2, 2]"
        )),
        "{text}"
    );
    assert!(
        text.contains("tensor 1.bias is missing (expected shape [3])"),
        "{text}"
    );
    assert!(
        text.contains("tensor 5.weight (shape [1]) is no tensor of this network"),
        "{text}"
    );

    std::fs::remove_file(dir.path().join("w.safetensors")).unwrap();
    let text = parse::load_scenario(&scenario, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains(&format!("cannot read {shown}")), "{text}");
}

#[test]
fn recording_gradients_needs_one_plain_sgd_step() {
    let text = FROM_FILE
        .replace(
            "from_file = \"w.safetensors\"",
            "weights = \"glorot_uniform\"",
        )
        .replace("max_steps = 1", "max_steps = 2")
        .replace(
            "kind = \"sgd\"",
            "kind = \"momentum\"\nmomentum = 0.9\nnesterov = false",
        );
    let error = parse_err(&text, &LoadOptions::default()).to_string();
    assert!(error.contains("training.record_gradients"), "{error}");
    assert!(error.contains("training.max_steps = 1"), "{error}");
    assert!(
        error.contains("optimizer.kind = \"sgd\" (not momentum)"),
        "{error}"
    );
}

#[test]
fn rows_datasets_need_a_label_per_row_below_classes() {
    let text = FROM_FILE
        .replace(
            "from_file = \"w.safetensors\"",
            "weights = \"glorot_uniform\"",
        )
        .replace("labels = [1]", "labels = [1, 3]");
    let error = parse_err(&text, &LoadOptions::default()).to_string();
    assert!(
        error.contains("has 2 labels for 1 rows of inputs"),
        "{error}"
    );
    assert!(
        error.contains("label 3 is not below dataset.classes = 3"),
        "{error}"
    );
}
