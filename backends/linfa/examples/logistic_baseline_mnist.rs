//! The linear baseline on MNIST (scaled to [0, 1], 54 000 training rows as mnist runs with a
//! 10 % validation split use): linfa-logistic's multinomial logistic regression, with progress.
//!
//! ```sh
//! cargo run --release -p nnbench-linfa --example logistic_baseline_mnist
//! ```

use linfa::prelude::*;
use ndarray::{Array1, Array2, Ix1};
use nnbench_core::data::{self, DataOptions, Split, fetch::Silent};
use nnbench_core::spec::{DatasetSource, DatasetSpec, Scaling};
use nnbench_linfa::logistic::logistic_baseline;

fn dataset(split: &Split, features: usize) -> Dataset<f64, usize, Ix1> {
    let x = Array2::from_shape_fn((split.rows, features), |(r, c)| {
        f64::from(split.inputs[r * features + c])
    });
    let y: Array1<usize> = split.labels.iter().map(|&l| l as usize).collect();
    Dataset::new(x, y)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spec = DatasetSpec {
        source: DatasetSource::Mnist,
        train_size: Some(54_000),
        test_size: None,
        scaling: Scaling::Unit,
        validation_fraction: 0.0,
        keep_classes: None,
    };
    let mnist = data::load(&spec, &DataOptions::resolve(None, true)?, &Silent)?;
    let (train, test) = (
        dataset(&mnist.train, mnist.features),
        dataset(&mnist.test, mnist.features),
    );
    eprintln!(
        "multinomial logistic regression on {}×{}",
        mnist.train.rows, mnist.features
    );
    let baseline = logistic_baseline(&train, &test, 1e-4, 10, 5, |round| {
        eprintln!(
            "round {} ({} iterations): train accuracy {:.4}, test accuracy {:.4}, {:.1} s",
            round.round, round.iterations, round.train_accuracy, round.test_accuracy, round.seconds
        );
    })?;
    println!(
        "test accuracy {:.4} in {:.1} s",
        baseline.test_accuracy, baseline.seconds
    );
    Ok(())
}
