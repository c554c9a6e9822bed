//! What the course says must happen, checked through the shared loop on the native backend:
//! the perceptron learns AND and OR and never XOR, an MLP solves XOR, and the MNIST model
//! learns MNIST. The course quotes no MNIST accuracy: the floor 0.975 is ours, just under what
//! native measured for mnist_adam (0.9767 in the README's table), so a regression in the loop
//! shows.

use nnbench_core::data::{self, DataOptions, fetch::Silent};
use nnbench_core::spec::Scenario;
use nnbench_core::spec::parse::{self, LoadOptions};
use nnbench_core::train::{self, Quiet, Status, UnitRequest};
use nnbench_native::NativeBackend;

fn scenario(name: &str, overrides: &[(&str, &str)]) -> Scenario {
    let path = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let overrides = overrides
        .iter()
        .map(|(key, value)| parse::parse_override(&format!("{key}={value}")).unwrap())
        .collect();
    parse::parse_scenario(
        name,
        &path,
        &text,
        &LoadOptions {
            quick: false,
            overrides,
        },
    )
    .unwrap()
}

/// Test accuracy of every (variant, seed) of `scenario` on the native backend.
fn accuracies(scenario: &Scenario) -> Vec<(String, u64, f64)> {
    let options = DataOptions::resolve(None, true).unwrap();
    let mut results = Vec::new();
    for variant in &scenario.variants {
        let dataset = data::load(&variant.run.dataset, &options, &Silent).unwrap();
        for &seed in &variant.run.training.seeds {
            let request = UnitRequest::new(&variant.run, &dataset, seed);
            let outcome = train::run_unit(&NativeBackend, &request, &mut Quiet);
            assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.reason);
            results.push((variant.name.clone(), seed, outcome.test.unwrap().accuracy));
        }
    }
    results
}

#[test]
fn the_perceptron_learns_and_and_or_but_never_xor() {
    let results = accuracies(&scenario("perceptron_logic", &[]));
    assert!(!results.is_empty());
    for (variant, _, accuracy) in results {
        if variant.contains("xor") {
            assert!(accuracy < 1.0, "{variant}: XOR learned ({accuracy})");
        } else {
            assert_eq!(accuracy, 1.0, "{variant}: not learned");
        }
    }
}

#[test]
fn an_mlp_solves_xor() {
    for (variant, seed, accuracy) in accuracies(&scenario("xor_mlp", &[])) {
        assert_eq!(accuracy, 1.0, "{variant} seed {seed}");
    }
}

#[test]
fn mnist_adam_keeps_its_measured_accuracy_on_real_mnist() {
    let results = accuracies(&scenario("mnist_adam", &[("backends", "[\"native\"]")]));
    let (_, _, accuracy) = results[0];
    assert!(accuracy >= 0.975, "test accuracy {accuracy}");
}

/// Per (variant assignment, seed) of `scenario` on native: the train accuracy after each epoch.
fn accuracy_curves(scenario: &Scenario) -> Vec<(String, u64, Vec<f64>)> {
    let options = DataOptions::resolve(None, true).unwrap();
    let mut results = Vec::new();
    for variant in &scenario.variants {
        let dataset = data::load(&variant.run.dataset, &options, &Silent).unwrap();
        for &seed in &variant.run.training.seeds {
            let request = UnitRequest::new(&variant.run, &dataset, seed);
            let outcome = train::run_unit(&NativeBackend, &request, &mut Quiet);
            assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.reason);
            let curve = outcome.epochs.iter().map(|e| e.train_accuracy).collect();
            results.push((variant.assignment.clone(), seed, curve));
        }
    }
    results
}

/// The course's perceptron (perceptron_course): from zero weights and threshold 0 the rate
/// only rescales the weights, so every rate gives the same epochs; the course's threshold of
/// 0.5 breaks that, and its own setting (rate 0.2) learns y = [1, 0, 1, 0].
#[test]
fn the_courses_perceptron_rate_matters_only_once_the_scale_symmetry_is_broken() {
    let curves = accuracy_curves(&scenario("perceptron_course", &[]));
    let of = |threshold: &str, init: &str, rate: &str| -> Vec<(u64, Vec<f64>)> {
        let name =
            format!("model.threshold={threshold},init={init},optimizer.learning_rate={rate}");
        let found: Vec<_> = curves
            .iter()
            .filter(|(variant, _, _)| *variant == name)
            .map(|(_, seed, curve)| (*seed, curve.clone()))
            .collect();
        assert!(!found.is_empty(), "no variant {name}");
        found
    };
    let symmetric = of("0.0", "zeros", "0.2");
    assert_eq!(of("0.0", "zeros", "0.01"), symmetric);
    assert_eq!(of("0.0", "zeros", "1.0"), symmetric);
    assert_ne!(of("0.5", "zeros", "0.01"), of("0.5", "zeros", "0.2"));
    for (seed, curve) in of("0.5", "zeros", "0.2") {
        assert_eq!(
            curve.last(),
            Some(&1.0),
            "seed {seed}: the course's setting did not learn"
        );
    }
}
