//! scikit-learn's `MLPClassifier` defaults as the course lists them (784-100-10 relu, Adam 1e-3,
//! batch 200, alpha 1e-4), cut to `max_iter = 10` (scikit-learn's default is 200; ten epochs is
//! our choice, to keep the test affordable), on MNIST scaled to [0, 1]. The course quotes no
//! accuracy: the floor 0.97 is ours, under what this estimator measured here (0.9750, random_state 0).
//! Runs the standalone estimator (not the harness).

use std::time::Instant;

use linfa::prelude::*;
use ndarray::{Array1, Array2};
use nnbench_core::data::{self, DataOptions, Split, fetch::Silent};
use nnbench_core::spec::{DatasetSource, DatasetSpec, Scaling};
use nnbench_linfa::MlpClassifier;

fn arrays(split: &Split, features: usize) -> (Array2<f32>, Array1<usize>) {
    let x = Array2::from_shape_vec((split.rows, features), split.inputs.clone()).unwrap();
    let y = split.labels.iter().map(|&l| l as usize).collect();
    (x, y)
}

#[test]
fn sklearn_defaults_with_ten_epochs_reach_97_percent_on_mnist() {
    let spec = DatasetSpec {
        source: DatasetSource::Mnist,
        train_size: None,
        test_size: None,
        scaling: Scaling::Unit,
        validation_fraction: 0.0,
        keep_classes: None,
    };
    let options = DataOptions::resolve(None, true).unwrap();
    let mnist = data::load(&spec, &options, &Silent).unwrap();
    let (x, y) = arrays(&mnist.train, mnist.features);
    let (x_test, y_test) = arrays(&mnist.test, mnist.features);
    let train = Dataset::new(x, y);
    let start = Instant::now();
    let model = MlpClassifier::<f32>::params()
        .max_iter(10)
        .random_state(0)
        .fit(&train)
        .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let accuracy = model.score(&x_test, y_test.as_slice().unwrap()).unwrap();
    eprintln!(
        "MLPClassifier defaults, max_iter 10: test accuracy {accuracy:.4}, loss curve {:?}, \
         {seconds:.1} s",
        model.loss_curve()
    );
    assert_eq!(model.n_iter(), 10);
    assert!(accuracy >= 0.97, "test accuracy {accuracy}");
}
