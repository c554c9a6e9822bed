//! The conformance suite: one list of checks, written once, that every backend must pass.
//!
//! A backend crate runs it from its tests with [`conformance_suite!`](crate::conformance_suite),
//! compiled only with nnbench-core's `suites` feature, which the backend enables in its
//! `[dev-dependencies]` (`nnbench-core = { path = "../../core", features = ["suites"] }`):
//!
//! ```ignore
//! nnbench_core::conformance_suite!(nnbench_native::NativeBackend);
//! ```
//!
//! Each check builds its run from a scenario text, so the suite exercises the same path as a
//! user's scenario file. Optimizer checks compare one or two steps of the backend with the
//! formulas of [`OptimizerSpec`](crate::spec::OptimizerSpec), computed here in `f64` on a
//! linear model with a squared-error loss, where the gradient is exact.

use crate::backend::{Backend, Batch, TrainerSetup, TrainingSplit};
use crate::capability::{self, Support};
use crate::data::{self, Dataset};
use crate::network::Network;
use crate::spec::parse::{LoadOptions, parse_scenario};
use crate::spec::{OptimizerKind, RunSpec};
use crate::train::{self, Quiet, Status, UnitRequest};
use crate::weights::Weights;

/// Generates one `#[test]` per conformance check for `$backend` (an expression of a type that
/// implements [`Backend`]).
///
/// A backend that needs something installed outside cargo (the Python peers) passes a guard,
/// `conformance_suite!(backend, run_if = ready())`: each test returns early, passing, when
/// the guard is `false` (the guard says why, and may itself fail where skipping is not allowed).
#[macro_export]
macro_rules! conformance_suite {
    ($backend:expr) => {
        $crate::conformance_suite!($backend, run_if = true);
    };
    ($backend:expr, run_if = $ready:expr) => {
        $crate::conformance_suite!(@tests $backend, $ready;
            loss_decreases_on_blobs,
            solves_xor_with_a_tanh_mlp,
            same_seed_gives_identical_results,
            init_round_trips_unchanged,
            row_steps_match_gathered_batches,
            predictions_are_probabilities_of_the_right_shape,
            optimizer_steps_match_their_formulas,
            regularizers_change_the_step_as_documented,
            unsupported_features_are_reported_not_panicked,
            a_small_cnn_tells_bars_apart,
            conv_init_round_trips_unchanged,
        );
    };
    (@tests $backend:expr, $ready:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                if $ready {
                    $crate::conformance::$check(&$backend);
                }
            }
        )*
    };
}

/// A run parsed from scenario text (panics on an invalid text: the suite's texts are fixed).
pub fn run_from(text: &str) -> RunSpec {
    let scenario = parse_scenario("conformance", "conformance", text, &LoadOptions::default())
        .unwrap_or_else(|error| panic!("conformance scenario invalid: {error}"));
    scenario.variants[0].run.clone()
}

fn dataset(run: &RunSpec) -> Dataset {
    let options = data::DataOptions {
        data_dir: std::env::temp_dir(),
        fetch: false,
    };
    data::load(&run.dataset, &options, &data::fetch::Silent).expect("synthetic data loads")
}

const BLOBS: &str = r#"
description = "conformance: blobs"
course_section = "conformance"
backends = ["native"]
[dataset]
name = "blobs"
classes = 3
train_per_class = 60
test_per_class = 20
separation = 5.0
spread = 1.0
[model]
layers = [{ type = "dense", units = 16, activation = "relu" }]
output = "softmax_cross_entropy"
[optimizer]
kind = "sgd"
learning_rate = 0.1
[training]
epochs = 15
batch_size = 16
"#;

pub fn loss_decreases_on_blobs(backend: &dyn Backend) {
    let run = run_from(BLOBS);
    let data = dataset(&run);
    let outcome = train::run_unit(backend, &UnitRequest::new(&run, &data, 0), &mut Quiet);
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.reason);
    let first = outcome.epochs.first().unwrap().train_loss;
    let last = outcome.epochs.last().unwrap().train_loss;
    assert!(
        last < 0.75 * first,
        "{}: training loss went from {first} to {last}",
        backend.name()
    );
    assert!(outcome.test.unwrap().accuracy > 0.9);
}

pub fn solves_xor_with_a_tanh_mlp(backend: &dyn Backend) {
    let run = run_from(
        r#"
description = "conformance: xor"
course_section = "conformance"
backends = ["native"]
[dataset]
name = "xor"
[model]
layers = [{ type = "dense", units = 4, activation = "tanh" }]
output = "sigmoid_binary_cross_entropy"
[init]
weights = { scheme = "uniform", limit = 1.0 }
[optimizer]
kind = "adam"
learning_rate = 0.05
beta1 = 0.9
beta2 = 0.999
epsilon = 1e-8
[training]
epochs = 400
batch_size = "full"
"#,
    );
    let data = dataset(&run);
    for seed in 0..3 {
        let outcome = train::run_unit(backend, &UnitRequest::new(&run, &data, seed), &mut Quiet);
        assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.reason);
        assert_eq!(
            outcome.test.unwrap().accuracy,
            1.0,
            "{}: XOR not solved with seed {seed}",
            backend.name()
        );
    }
}

pub fn same_seed_gives_identical_results(backend: &dyn Backend) {
    let run = run_from(BLOBS);
    let data = dataset(&run);
    let train_once = || {
        let mut request = UnitRequest::new(&run, &data, 7);
        request.keep_weights = true;
        train::run_unit(backend, &request, &mut Quiet)
    };
    let (a, b) = (train_once(), train_once());
    let losses =
        |o: &train::UnitOutcome| -> Vec<f64> { o.epochs.iter().map(|e| e.train_loss).collect() };
    assert_eq!(losses(&a), losses(&b), "{}", backend.name());
    assert_eq!(a.final_weights, b.final_weights, "{}", backend.name());
}

fn setup_for<'a>(
    run: &'a RunSpec,
    network: &'a Network,
    init: Option<&'a Weights>,
) -> TrainerSetup<'a> {
    TrainerSetup {
        run,
        network,
        init,
        seed: 0,
        threads: 1,
    }
}

pub fn init_round_trips_unchanged(backend: &dyn Backend) {
    let run = run_from(BLOBS);
    let network = Network::new(&run.model, 2, 3);
    let init = crate::init::initial_weights(&network, &run.init, 11).unwrap();
    let trainer = backend
        .build(&setup_for(&run, &network, Some(&init)))
        .unwrap();
    let exported = trainer.weights().unwrap();
    for tensor in &init.tensors {
        let theirs = exported
            .get(&tensor.name)
            .unwrap_or_else(|| panic!("{}: {} not exported", backend.name(), tensor.name));
        assert_eq!(theirs.shape, tensor.shape, "{}", tensor.name);
        assert_eq!(theirs.data, tensor.data, "{}", tensor.name);
    }
}

/// A trainer that keeps the training split ([`Trainer::keep_training_split`]) must step on row
/// indices exactly as on the same rows gathered by the harness, and, if it takes steps ahead
/// ([`Trainer::rows_ahead`]), the same again with every step sent before the first is received.
///
/// [`Trainer::keep_training_split`]: crate::Trainer::keep_training_split
/// [`Trainer::rows_ahead`]: crate::Trainer::rows_ahead
pub fn row_steps_match_gathered_batches(backend: &dyn Backend) {
    let run = run_from(BLOBS);
    let data = dataset(&run);
    let network = Network::new(&run.model, data.features, data.classes);
    let init = crate::init::initial_weights(&network, &run.init, 5).unwrap();
    let train = &data.train;
    let targets = crate::metrics::encode_targets(&train.labels, network.outputs);
    let build = || {
        backend
            .build(&setup_for(&run, &network, Some(&init)))
            .unwrap()
    };
    let mut by_rows = build();
    let split = TrainingSplit {
        inputs: &train.inputs,
        rows: train.rows,
        features: data.features,
        labels: &train.labels,
        targets: &targets,
    };
    if !by_rows.keep_training_split(&split).unwrap() {
        return;
    }
    let mut gathered = build();
    let steps: [&[usize]; 3] = [&[3, 0, 17, 9], &[120, 2, 2, 45, 61], &[179]];
    let mut losses = Vec::new();
    for rows in steps {
        let inputs: Vec<f32> = rows
            .iter()
            .flat_map(|&r| train.row(r, data.features).to_vec())
            .collect();
        let labels: Vec<u32> = rows.iter().map(|&r| train.labels[r]).collect();
        let outputs = network.outputs;
        let batch_targets: Vec<f32> = rows
            .iter()
            .flat_map(|&r| targets[r * outputs..(r + 1) * outputs].to_vec())
            .collect();
        let batch = Batch {
            inputs: &inputs,
            rows: rows.len(),
            features: data.features,
            labels: &labels,
            targets: &batch_targets,
        };
        let a = by_rows.train_rows(rows, 0.1).unwrap();
        let b = gathered.train_batch(&batch, 0.1).unwrap();
        assert_eq!(a.loss, b.loss, "{}: loss of rows {rows:?}", backend.name());
        losses.push(a.loss);
    }
    let by_rows = by_rows.weights().unwrap();
    assert_eq!(
        by_rows,
        gathered.weights().unwrap(),
        "{}: weights after steps on row indices and on gathered batches",
        backend.name()
    );
    let mut ahead = build();
    if ahead.rows_ahead() == 0 {
        return;
    }
    assert!(ahead.keep_training_split(&split).unwrap());
    for rows in steps {
        ahead.send_rows(rows, 0.1).unwrap();
    }
    for (rows, loss) in steps.iter().zip(losses) {
        let received = ahead.receive_step().unwrap();
        assert_eq!(
            received.loss,
            loss,
            "{}: loss of rows {rows:?} sent ahead",
            backend.name()
        );
    }
    assert_eq!(
        ahead.weights().unwrap(),
        by_rows,
        "{}: weights after steps sent ahead and steps one by one",
        backend.name()
    );
}

pub fn predictions_are_probabilities_of_the_right_shape(backend: &dyn Backend) {
    let run = run_from(BLOBS);
    let data = dataset(&run);
    let network = Network::new(&run.model, data.features, data.classes);
    let init = crate::init::initial_weights(&network, &run.init, 0).unwrap();
    let mut trainer = backend
        .build(&setup_for(&run, &network, Some(&init)))
        .unwrap();
    let rows = 7;
    let outputs = trainer
        .predict(&data.test.inputs[..rows * data.features], rows)
        .unwrap();
    assert_eq!(outputs.len(), rows * 3, "{}", backend.name());
    for row in outputs.chunks(3) {
        assert!(row.iter().all(|p| (0.0..=1.0).contains(p)), "{row:?}");
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
    }
}

/// A linear model 3 → 2 with squared error, and one batch of 4 rows.
const LINEAR: &str = r#"
description = "conformance: one step"
course_section = "conformance"
backends = ["native"]
[dataset]
name = "blobs"
classes = 2
features = 3
[model]
output = "identity_mse"
[init]
weights = { scheme = "uniform", limit = 0.5 }
biases = { scheme = "uniform", limit = 0.5 }
[optimizer]
kind = "sgd"
learning_rate = 0.1
[training]
epochs = 1
batch_size = 4
"#;

const INPUTS: [f64; 12] = [
    0.5, -1.0, 2.0, 1.5, 0.25, -0.5, -1.0, 1.0, 0.0, 0.3, -0.7, 1.2,
];
const LABELS: [u32; 4] = [1, 0, 1, 0];

/// Exact reference of a linear layer under squared error: parameters as (weights [3×1],
/// bias [1]) in f64 and the optimizer state.
struct Reference {
    w: Vec<f64>,
    b: Vec<f64>,
    state: Vec<[f64; 2]>,
    t: i32,
}

impl Reference {
    fn gradient(&self) -> Vec<f64> {
        // Identity head, one output (two classes): z = x·w + b, loss = mean ½(z − y)².
        let rows = LABELS.len();
        let mut grad = vec![0.0; self.w.len() + 1];
        for (row, &label) in LABELS.iter().enumerate() {
            let x = &INPUTS[row * 3..row * 3 + 3];
            let z: f64 = x.iter().zip(&self.w).map(|(a, b)| a * b).sum::<f64>() + self.b[0];
            let dz = (z - f64::from(label)) / rows as f64;
            for (g, xi) in grad.iter_mut().zip(x) {
                *g += dz * xi;
            }
            grad[3] += dz;
        }
        grad
    }

    fn step(&mut self, run: &RunSpec, lr: f64) {
        let mut grad = self.gradient();
        let reg = &run.regularization;
        for (g, w) in grad.iter_mut().zip(&self.w) {
            *g += reg.l2 * w + reg.l1 * w.signum() * f64::from(u8::from(*w != 0.0));
        }
        if let Some(c) = reg.clip_value {
            grad.iter_mut().for_each(|g| *g = g.clamp(-c, c));
        }
        if let Some(c) = reg.clip_norm {
            let norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
            if norm > c {
                grad.iter_mut().for_each(|g| *g *= c / norm);
            }
        }
        self.t += 1;
        let t = self.t;
        let mut params: Vec<f64> = self.w.iter().chain(&self.b).copied().collect();
        for ((p, g), s) in params.iter_mut().zip(&grad).zip(&mut self.state) {
            *p -= match run.optimizer.kind {
                OptimizerKind::Sgd => lr * g,
                OptimizerKind::Momentum { momentum, nesterov } => {
                    s[0] = momentum * s[0] + g;
                    lr * if nesterov { g + momentum * s[0] } else { s[0] }
                }
                OptimizerKind::Rmsprop { alpha, epsilon } => {
                    s[0] = alpha * s[0] + (1.0 - alpha) * g * g;
                    lr * g / (s[0].sqrt() + epsilon)
                }
                OptimizerKind::Adam {
                    beta1,
                    beta2,
                    epsilon,
                } => {
                    s[0] = beta1 * s[0] + (1.0 - beta1) * g;
                    s[1] = beta2 * s[1] + (1.0 - beta2) * g * g;
                    let m_hat = s[0] / (1.0 - beta1.powi(t));
                    let v_hat = s[1] / (1.0 - beta2.powi(t));
                    lr * m_hat / (v_hat.sqrt() + epsilon)
                }
            };
        }
        self.b = params.split_off(3);
        self.w = params;
    }
}

/// Runs two steps of `run` on `backend` and on the reference; returns the largest difference.
fn two_steps_difference(backend: &dyn Backend, run: &RunSpec) -> f64 {
    let network = Network::new(&run.model, 3, 2);
    let init = crate::init::initial_weights(&network, &run.init, 5).unwrap();
    let mut trainer = backend
        .build(&setup_for(run, &network, Some(&init)))
        .unwrap();
    let inputs: Vec<f32> = INPUTS.iter().map(|&v| v as f32).collect();
    let targets: Vec<f32> = LABELS.iter().map(|&l| l as f32).collect();
    let batch = Batch {
        inputs: &inputs,
        rows: 4,
        features: 3,
        labels: &LABELS,
        targets: &targets,
    };
    let f64s = |name: &str| -> Vec<f64> {
        init.get(name)
            .unwrap()
            .data
            .iter()
            .map(|&v| f64::from(v))
            .collect()
    };
    let mut reference = Reference {
        w: f64s("0.weight"),
        b: f64s("0.bias"),
        state: vec![[0.0; 2]; 4],
        t: 0,
    };
    let rates = [0.1, 0.05];
    for lr in rates {
        trainer.train_batch(&batch, lr as f32).unwrap();
        reference.step(run, lr);
    }
    let weights = trainer.weights().unwrap();
    let got = weights.get("0.weight").unwrap().data.iter();
    let got = got.chain(&weights.get("0.bias").unwrap().data);
    got.zip(reference.w.iter().chain(&reference.b))
        .map(|(&g, &r)| (f64::from(g) - r).abs())
        .fold(0.0, f64::max)
}

fn supports(backend: &dyn Backend, run: &RunSpec) -> bool {
    capability::check(run, &backend.capabilities()).is_ok()
}

const OPTIMIZERS: [&str; 5] = [
    r#"{ kind = "sgd", learning_rate = 0.1 }"#,
    r#"{ kind = "momentum", learning_rate = 0.1, momentum = 0.9, nesterov = false }"#,
    r#"{ kind = "momentum", learning_rate = 0.1, momentum = 0.9, nesterov = true }"#,
    r#"{ kind = "rmsprop", learning_rate = 0.1, alpha = 0.9, epsilon = 1e-8 }"#,
    r#"{ kind = "adam", learning_rate = 0.1, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 }"#,
];

fn linear_with(set: &[(&str, &str)]) -> RunSpec {
    let overrides = set
        .iter()
        .map(|(key, value)| crate::spec::parse::parse_override(&format!("{key}={value}")).unwrap())
        .collect();
    let options = LoadOptions {
        quick: false,
        overrides,
    };
    parse_scenario("conformance", "conformance", LINEAR, &options)
        .unwrap_or_else(|error| panic!("{error}"))
        .variants[0]
        .run
        .clone()
}

pub fn optimizer_steps_match_their_formulas(backend: &dyn Backend) {
    for optimizer in OPTIMIZERS {
        let run = linear_with(&[("optimizer", optimizer)]);
        if !supports(backend, &run) {
            continue;
        }
        let difference = two_steps_difference(backend, &run);
        let name = run.optimizer.kind.name();
        // A difference the backend names (Keras's RMSprop divides by √(s + ε)) is reported in
        // parity, not held to the spec's formula here.
        if crate::step_parity::declares_optimizer_difference(backend, &run) {
            println!(
                "{}: {name} differs from its formula by {difference}, as it declares",
                backend.name()
            );
            assert!(difference.is_finite(), "{}: {name}", backend.name());
            continue;
        }
        assert!(
            difference < 1e-5,
            "{}: {name} differs from its formula by {difference}",
            backend.name()
        );
    }
}

pub fn regularizers_change_the_step_as_documented(backend: &dyn Backend) {
    for (key, value) in [
        ("regularization.l2", "0.5"),
        ("regularization.l1", "0.2"),
        ("regularization.clip_value", "0.05"),
        ("regularization.clip_norm", "0.1"),
    ] {
        let run = linear_with(&[(key, value)]);
        if !supports(backend, &run) {
            continue;
        }
        let difference = two_steps_difference(backend, &run);
        assert!(
            difference < 1e-5,
            "{}: {key} = {value} differs from its formula by {difference}",
            backend.name()
        );
    }
}

/// Scenario overrides that make the blobs run use `feature` of `category`.
fn overrides_using(category: capability::Category, feature: &str) -> Vec<(String, String)> {
    use capability::Category;
    let set = |key: &str, value: String| vec![(key.to_string(), value)];
    match category {
        Category::Layer => set(
            "model.layers",
            match feature {
                "dropout" => r#"[{ type = "dense", units = 8, activation = "relu" }, { type = "dropout", rate = 0.5 }]"#.to_string(),
                "batch_norm" => r#"[{ type = "dense", units = 8, activation = "relu" }, { type = "batch_norm" }]"#.to_string(),
                "residual" => r#"[{ type = "dense", units = 8, activation = "relu" }, { type = "residual", units = 8, activation = "relu" }]"#.to_string(),
                _ => "[]".to_string(),
            },
        ),
        Category::Activation => set(
            "model.layers",
            format!(r#"[{{ type = "dense", units = 8, activation = "{feature}" }}]"#),
        ),
        Category::Head => vec![
            ("model.layers".into(), "[]".into()),
            ("model.output".into(), format!("\"{feature}\"")),
        ],
        Category::Optimizer => set(
            "optimizer",
            OPTIMIZERS
                .iter()
                .find(|text| linear_with(&[("optimizer", text)]).optimizer.kind.name() == feature)
                .expect("every optimizer has a text")
                .to_string(),
        ),
        Category::Regularizer => set(&format!("regularization.{feature}"), "0.1".into()),
        Category::Init => set("init.weights", format!("\"{feature}\"")),
    }
}

pub fn unsupported_features_are_reported_not_panicked(backend: &dyn Backend) {
    for cap in backend.capabilities() {
        if !matches!(cap.support, Support::Unsupported(_)) {
            continue;
        }
        if crate::capability::CONV_LAYERS.contains(&cap.name) {
            conv_layer_is_reported(backend, cap.name);
            continue;
        }
        let overrides = overrides_using(cap.category, cap.name)
            .into_iter()
            .chain([("dataset.classes".to_string(), "2".to_string())])
            .map(|(key, value)| {
                crate::spec::parse::parse_override(&format!("{key}={value}")).unwrap()
            })
            .collect();
        let options = LoadOptions {
            quick: false,
            overrides,
        };
        let run = parse_scenario("conformance", "conformance", BLOBS, &options)
            .unwrap_or_else(|error| panic!("{error}"))
            .variants[0]
            .run
            .clone();
        let data = dataset(&run);
        let outcome = train::run_unit(backend, &UnitRequest::new(&run, &data, 0), &mut Quiet);
        assert_eq!(outcome.status, Status::Unsupported, "{}", cap.name);
        let reason = outcome.reason.unwrap_or_default();
        assert!(reason.contains(cap.name), "{}: {reason}", cap.name);
    }
}

/// A convolutional layer needs an image dataset, which the suite does not load: the backend's
/// check must name the layer, and building a trainer anyway must be an error, not a panic.
fn conv_layer_is_reported(backend: &dyn Backend, layer: &str) {
    let layers = match layer {
        "conv2d" => {
            r#"[{ type = "conv2d", channels = 2, kernel_size = 3, activation = "relu" }, { type = "flatten" }]"#
        }
        "max_pool2d" => r#"[{ type = "max_pool2d", size = 2 }, { type = "flatten" }]"#,
        "avg_pool2d" => r#"[{ type = "avg_pool2d", size = 2 }, { type = "flatten" }]"#,
        _ => r#"[{ type = "flatten" }, { type = "dense", units = 8, activation = "relu" }]"#,
    };
    let run = run_from(&format!(
        "{CNN_BASE}\n[model]\nlayers = {layers}\noutput = \"softmax_cross_entropy\"\n"
    ));
    let reason = backend
        .check(&run)
        .expect_err("an unsupported layer passes the check")
        .to_string();
    assert!(reason.contains(layer), "{layer}: {reason}");
    let network = Network::for_run(&run, 784, 10).unwrap();
    assert!(
        backend.build(&setup_for(&run, &network, None)).is_err(),
        "{layer}"
    );
}

/// An MNIST CNN scenario without its `[model]` (the data is never loaded: the CNN checks
/// make their own images).
const CNN_BASE: &str = r#"
description = "conformance: cnn"
course_section = "conformance"
backends = ["native"]
[dataset]
name = "mnist"
scaling = "unit"
[optimizer]
kind = "adam"
learning_rate = 0.01
beta1 = 0.9
beta2 = 0.999
epsilon = 1e-8
[training]
epochs = 1
batch_size = 24
"#;

/// LeNet in small: conv (same) → max pool → conv (stride 2, padding 1) → avg pool → flatten →
/// dense, on `[1, 10, 10]` images (windows that do not overlap: candle has no backward pass
/// for overlapping average pooling).
const SMALL_CNN: &str = r#"
[model]
layers = [
  { type = "conv2d", channels = 4, kernel_size = 3, padding = "same", activation = "relu" },
  { type = "max_pool2d", size = 2 },
  { type = "conv2d", channels = 6, kernel_size = 3, stride = 2, padding = 1, activation = "tanh" },
  { type = "avg_pool2d", size = 3 },
  { type = "flatten" },
  { type = "dense", units = 8, activation = "relu" },
]
output = "softmax_cross_entropy"
"#;

/// The small CNN's run and its network on `[1, 10, 10]` images with 3 classes.
pub fn small_cnn() -> (RunSpec, Network) {
    let run = run_from(&format!("{CNN_BASE}{SMALL_CNN}"));
    let network = Network::shaped(&run.model, &[1, 10, 10], 3).unwrap();
    (run, network)
}

/// `rows` noisy 10×10 images of a horizontal bar (class 0), a vertical bar (class 1) or a
/// diagonal (class 2), at random positions, and their labels.
pub fn bar_images(rows: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
    let mut rng = crate::rng::Rng::new(seed);
    let mut inputs = Vec::with_capacity(rows * 100);
    let mut labels = Vec::with_capacity(rows);
    for row in 0..rows {
        let class = row % 3;
        let at = 1 + rng.below(8);
        for y in 0..10 {
            for x in 0..10 {
                let on = match class {
                    0 => y == at,
                    1 => x == at,
                    _ => (x + 10 - y) % 10 == at,
                };
                let noise = 0.2 * rng.uniform() as f32;
                inputs.push(if on { 0.8 + noise } else { noise });
            }
        }
        labels.push(class as u32);
    }
    (inputs, labels)
}

pub fn a_small_cnn_tells_bars_apart(backend: &dyn Backend) {
    let (run, network) = small_cnn();
    if !supports(backend, &run) {
        return;
    }
    let init = crate::init::initial_weights(&network, &run.init, 1).unwrap();
    let mut trainer = backend
        .build(&setup_for(&run, &network, Some(&init)))
        .unwrap();
    let (inputs, labels) = bar_images(24 * 8, 3);
    let targets = crate::metrics::encode_targets(&labels, 3);
    let mut losses = Vec::new();
    for epoch in 0..6 {
        for batch in 0..8 {
            let rows = batch * 24..(batch + 1) * 24;
            let stats = trainer
                .train_batch(
                    &Batch {
                        inputs: &inputs[rows.start * 100..rows.end * 100],
                        rows: 24,
                        features: 100,
                        labels: &labels[rows.clone()],
                        targets: &targets[rows.start * 3..rows.end * 3],
                    },
                    0.01,
                )
                .unwrap();
            if batch == 0 {
                losses.push((epoch, stats.loss));
            }
        }
    }
    let (test, test_labels) = bar_images(60, 4);
    let outputs = trainer.predict(&test, 60).unwrap();
    assert_eq!(outputs.len(), 180);
    let right = outputs
        .chunks_exact(3)
        .zip(&test_labels)
        .filter(|(row, label)| crate::metrics::predicted_class(row) == **label)
        .count();
    assert!(
        right >= 57,
        "{}: {right}/60 test images right; first-batch losses {losses:?}",
        backend.name()
    );
}

pub fn conv_init_round_trips_unchanged(backend: &dyn Backend) {
    let (run, network) = small_cnn();
    if !supports(backend, &run) {
        return;
    }
    let init = crate::init::initial_weights(&network, &run.init, 11).unwrap();
    assert_eq!(init.get("0.weight").unwrap().shape, [4, 1, 3, 3]);
    assert_eq!(init.get("2.weight").unwrap().shape, [6, 4, 3, 3]);
    let trainer = backend
        .build(&setup_for(&run, &network, Some(&init)))
        .unwrap();
    let exported = trainer.weights().unwrap();
    for tensor in &init.tensors {
        let theirs = exported
            .get(&tensor.name)
            .unwrap_or_else(|| panic!("{}: {} not exported", backend.name(), tensor.name));
        assert_eq!(theirs.shape, tensor.shape, "{}", tensor.name);
        assert_eq!(theirs.data, tensor.data, "{}", tensor.name);
    }
}
