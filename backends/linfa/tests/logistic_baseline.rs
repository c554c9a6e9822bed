//! The linear baseline (linfa-logistic's multinomial regression) on separable blobs: it
//! reports every round and classifies the blobs.

use linfa::prelude::*;
use ndarray::{Array1, Array2, Ix1};
use nnbench_core::rng::Rng;
use nnbench_linfa::logistic::{BaselineError, logistic_baseline};

fn blobs(per_class: usize, seed: u64) -> Dataset<f64, usize, Ix1> {
    let mut rng = Rng::new(seed);
    let centres = [(0.0, 0.0), (4.0, 0.0), (0.0, 4.0)];
    let mut x = Array2::zeros((3 * per_class, 2));
    let mut y = Array1::zeros(3 * per_class);
    for row in 0..3 * per_class {
        let class = row % 3;
        x[[row, 0]] = centres[class].0 + 0.5 * rng.normal();
        x[[row, 1]] = centres[class].1 + 0.5 * rng.normal();
        y[row] = class;
    }
    Dataset::new(x, y)
}

#[test]
fn the_baseline_reports_each_round_and_separates_blobs() {
    let (train, test) = (blobs(30, 1), blobs(10, 2));
    let mut seen = Vec::new();
    let baseline =
        logistic_baseline(&train, &test, 1e-3, 5, 3, |round| seen.push(round.round)).unwrap();
    assert_eq!(seen, vec![1, 2, 3]);
    assert_eq!(baseline.rounds.len(), 3);
    assert_eq!(baseline.rounds[2].iterations, 15);
    assert!(baseline.test_accuracy > 0.95, "{}", baseline.test_accuracy);
    assert!(matches!(
        logistic_baseline(&train, &test, 1e-3, 0, 3, |_| {}),
        Err(BaselineError::NoIterations)
    ));
}
