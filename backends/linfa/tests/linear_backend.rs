//! The `linear` backend through the harness's loop: one L-BFGS round per epoch on the whole
//! training split, metrics computed by core, and a clear `unsupported` for what a multinomial
//! logistic regression is not.

use nnbench_core::Backend;
use nnbench_core::data::{self, DataOptions, fetch::Silent};
use nnbench_core::spec::parse::{self, LoadOptions};
use nnbench_core::spec::{RunSpec, Scenario};
use nnbench_core::train::{self, Quiet, Status, UnitRequest};
use nnbench_linfa::LinearBackend;

const BLOBS: &str = r#"
description = "three overlapping blobs"
course_section = "test"
backends = ["linear"]

[dataset]
name = "blobs"
classes = 3
features = 2
train_per_class = 60
test_per_class = 60
separation = 4.0
spread = 1.0
seed = 3

[model]
layers = [{ type = "dense", units = 16, activation = "tanh" }]
output = "softmax_cross_entropy"

[init]
weights = "glorot_uniform"

[optimizer]
kind = "adam"
learning_rate = 1e-3
beta1 = 0.9
beta2 = 0.999
epsilon = 1e-8

[training]
epochs = 3
batch_size = 16
seeds = [0]
"#;

fn scenario(text: &str) -> Scenario {
    parse::parse_scenario(
        "blobs",
        "blobs.toml",
        text,
        &LoadOptions {
            quick: false,
            overrides: Vec::new(),
        },
    )
    .unwrap()
}

fn run_of(scenario: &Scenario) -> &RunSpec {
    &scenario.variants[0].run
}

#[test]
fn the_linear_baseline_trains_one_round_per_epoch_and_classifies_blobs() {
    let scenario = scenario(BLOBS);
    let run = run_of(&scenario);
    let options = DataOptions::resolve(None, false).unwrap();
    let dataset = data::load(&run.dataset, &options, &Silent).unwrap();
    let outcome = train::run_unit(
        &LinearBackend,
        &UnitRequest::new(run, &dataset, 0),
        &mut Quiet,
    );
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.reason);
    assert_eq!(outcome.epochs.len(), 3);
    // The scenario's batch size is not this model's: every epoch is one full-batch round.
    assert!(outcome.epochs.iter().all(|e| e.step_loss.is_finite()));
    let losses: Vec<f64> = outcome.epochs.iter().map(|e| e.train_loss).collect();
    assert!(losses[2] <= losses[0] + 1e-9, "{losses:?}");
    let test = outcome.test.unwrap();
    assert!(test.accuracy > 0.85, "test accuracy {}", test.accuracy);
}

#[test]
fn what_a_logistic_regression_is_not_is_reported() {
    let sigmoid = BLOBS
        .replace("classes = 3", "classes = 2")
        .replace("softmax_cross_entropy", "sigmoid_binary_cross_entropy");
    let unsupported = LinearBackend
        .check(run_of(&scenario(&sigmoid)))
        .unwrap_err();
    assert!(unsupported.reason.contains("softmax"), "{unsupported}");
    let l1 = BLOBS.replace("[training]", "[regularization]\nl1 = 1e-4\n\n[training]");
    let unsupported = LinearBackend.check(run_of(&scenario(&l1))).unwrap_err();
    assert!(unsupported.reason.contains("L2"), "{unsupported}");
    assert!(LinearBackend.is_reference_model());
}
