//! The estimator against scikit-learn's rules: parameter checks, L-BFGS on a convex problem
//! with a known optimum, the learning-rate schedules and both stopping rules, warm start.
//! (One worked step of each stochastic solver is checked in `src/solver.rs`.)

use linfa::prelude::*;
use linfa::traits::FitWith;
use ndarray::{Array1, Array2, Ix1, array};
use nnbench_core::rng::Rng;
use nnbench_linfa::{Activation, LearningRate, MlpClassifier, MlpError, Solver};

/// Three Gaussian blobs in 2-D, `per_class` rows each.
fn blobs(per_class: usize, seed: u64) -> Dataset<f64, usize, Ix1> {
    let mut rng = Rng::new(seed);
    let centres = [(0.0, 0.0), (3.0, 0.0), (0.0, 3.0)];
    let mut x = Array2::zeros((3 * per_class, 2));
    let mut y = Array1::zeros(3 * per_class);
    for row in 0..3 * per_class {
        let class = row % 3;
        x[[row, 0]] = centres[class].0 + rng.normal();
        x[[row, 1]] = centres[class].1 + rng.normal();
        y[row] = class;
    }
    Dataset::new(x, y)
}

#[test]
fn parameters_are_checked_with_their_name_and_range() {
    let fit = |params: nnbench_linfa::MlpClassifierParams<f64>| params.fit(&blobs(5, 0)).err();
    let params = MlpClassifier::<f64>::params;
    match fit(params().alpha(-1.0)) {
        Some(MlpError::OutOfRange { name, range, .. }) => {
            assert_eq!(name, "alpha");
            assert!(range.contains(">= 0"), "{range}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        fit(params().hidden_layer_sizes([10, 0])),
        Some(MlpError::EmptyHiddenLayer { index: 1 })
    ));
    for (params, name) in [
        (params().validation_fraction(1.0), "validation_fraction"),
        (params().momentum(1.5), "momentum"),
        (params().beta_2(1.0), "beta_2"),
        (params().epsilon(0.0), "epsilon"),
        (params().learning_rate_init(0.0), "learning_rate_init"),
        (params().max_iter(0), "max_iter"),
        (params().batch_size(0), "batch_size"),
        (params().tol(f64::NAN), "tol"),
    ] {
        let error = fit(params).expect(name);
        assert!(error.to_string().starts_with(name), "{error}");
    }
    // The defaults are scikit-learn's.
    let defaults = params().check().unwrap();
    assert_eq!(defaults.hidden_layer_sizes(), &[100]);
    assert_eq!(defaults.activation(), Activation::Relu);
    assert_eq!(defaults.solver(), Solver::Adam);
    assert_eq!(defaults.alpha(), 1e-4);
    assert_eq!(defaults.batch_size(), None);
    assert_eq!(defaults.learning_rate(), LearningRate::Constant);
    assert_eq!(defaults.learning_rate_init(), 1e-3);
    assert_eq!(defaults.power_t(), 0.5);
    assert_eq!(defaults.max_iter(), 200);
    assert!(defaults.shuffle());
    assert_eq!(defaults.tol(), 1e-4);
    assert_eq!(defaults.momentum(), 0.9);
    assert!(defaults.nesterovs_momentum());
    assert!(!defaults.early_stopping());
    assert_eq!(defaults.validation_fraction(), 0.1);
    assert_eq!((defaults.beta_1(), defaults.beta_2()), (0.9, 0.999));
    assert_eq!(defaults.epsilon(), 1e-8);
    assert_eq!(defaults.n_iter_no_change(), 10);
    assert_eq!(defaults.max_fun(), 15000);
}

#[test]
fn bad_data_is_an_error() {
    let one_class = Dataset::new(array![[1.0], [2.0]], array![3usize, 3]);
    assert!(matches!(
        MlpClassifier::<f64>::params().fit(&one_class),
        Err(MlpError::TooFewClasses(1))
    ));
    let nan = Dataset::new(array![[1.0], [f64::NAN]], array![0usize, 1]);
    assert!(matches!(
        MlpClassifier::<f64>::params().fit(&nan),
        Err(MlpError::NonFinite)
    ));
    let model = MlpClassifier::<f64>::params()
        .max_iter(1)
        .random_state(0)
        .fit(&blobs(5, 0))
        .unwrap();
    assert!(matches!(
        model.predict_proba(&array![[1.0, 2.0, 3.0]]),
        Err(MlpError::FeatureMismatch {
            expected: 2,
            got: 3
        })
    ));
}

/// Logistic regression (no hidden layer) on x = ±1, y = 0/1, alpha = 1: the penalized loss
/// ln(1 + e^−w) + ¼w² (b = 0 by symmetry) is least where w/2 = 1/(1 + e^w).
#[test]
fn lbfgs_finds_the_optimum_of_a_convex_problem() {
    let data = Dataset::new(array![[-1.0], [1.0]], array![0usize, 1]);
    let model = MlpClassifier::<f64>::params()
        .hidden_layer_sizes(Vec::new())
        .solver(Solver::Lbfgs)
        .alpha(1.0)
        .tol(1e-10)
        .random_state(3)
        .fit(&data)
        .unwrap();
    let (mut low, mut high) = (0.0f64, 2.0f64);
    for _ in 0..100 {
        let mid = 0.5 * (low + high);
        if mid / 2.0 - 1.0 / (1.0 + mid.exp()) < 0.0 {
            low = mid;
        } else {
            high = mid;
        }
    }
    let w = model.coefs()[0][[0, 0]];
    let b = model.intercepts()[0][0];
    assert!((w - low).abs() < 1e-6, "w = {w}, optimum {low}");
    assert!(b.abs() < 1e-6, "b = {b}");
    let expected_loss = (1.0 + (-low).exp()).ln() + 0.25 * low * low;
    assert!((model.loss() - expected_loss).abs() < 1e-9);
    assert!(model.n_iter() >= 1 && model.n_iter() <= 200);
    let proba = model.predict_proba(&array![[1.0]]).unwrap();
    assert!((proba[[0, 1]] - 1.0 / (1.0 + (-(w + b)).exp())).abs() < 1e-12);
    assert_eq!(model.predict(&array![[-1.0], [1.0]]), array![0usize, 1]);
}

/// On three blobs, L-BFGS stops on its gradient tolerance before `max_iter`, and the fit
/// classifies the training blobs.
#[test]
fn lbfgs_converges_on_blobs() {
    let data = blobs(40, 1);
    let model = MlpClassifier::<f64>::params()
        .hidden_layer_sizes([8])
        .solver(Solver::Lbfgs)
        .max_iter(2000)
        .random_state(0)
        .fit(&data)
        .unwrap();
    assert!(
        model.n_iter() < 2000,
        "no convergence in {} iterations",
        model.n_iter()
    );
    let predicted = model.predict(data.records());
    let correct = predicted
        .iter()
        .zip(data.targets())
        .filter(|(a, b)| a == b)
        .count();
    let accuracy = correct as f64 / data.nsamples() as f64;
    assert!(accuracy >= 0.9, "training accuracy {accuracy}");
}

#[test]
fn lbfgs_respects_max_fun() {
    let data = blobs(20, 1);
    let model = MlpClassifier::<f64>::params()
        .hidden_layer_sizes([8])
        .solver(Solver::Lbfgs)
        .max_fun(5)
        .random_state(0)
        .fit(&data)
        .unwrap();
    assert!(model.loss().is_finite());
    assert!(model.n_iter() <= 5);
}

/// A `tol` no epoch can beat makes every epoch after the first count as "no improvement".
fn stuck(solver: Solver) -> nnbench_linfa::MlpClassifierParams<f64> {
    MlpClassifier::<f64>::params()
        .hidden_layer_sizes([8])
        .solver(solver)
        .tol(10.0)
        .n_iter_no_change(2)
        .batch_size(10)
        .random_state(0)
}

#[test]
fn training_loss_rule_stops_after_n_iter_no_change_plus_one_flat_epochs() {
    for solver in [Solver::Adam, Solver::Sgd] {
        let model = stuck(solver).max_iter(100).fit(&blobs(10, 2)).unwrap();
        // Epoch 1 sets the best loss; epochs 2, 3, 4 miss it by tol: 3 > 2 stops.
        assert_eq!(model.n_iter(), 4, "{solver:?}");
        assert_eq!(model.loss_curve().len(), 4);
        assert_eq!(model.t(), 4 * 30);
    }
    // A reachable tol: training goes on to max_iter.
    let model = stuck(Solver::Adam)
        .tol(0.0)
        .n_iter_no_change(50)
        .max_iter(30)
        .learning_rate_init(0.01)
        .fit(&blobs(10, 2))
        .unwrap();
    assert_eq!(model.n_iter(), 30);
    assert!(model.loss_curve()[29] < model.loss_curve()[0]);
}

#[test]
fn validation_rule_stops_and_keeps_the_best_weights() {
    let data = blobs(20, 4);
    let model = MlpClassifier::<f64>::params()
        .hidden_layer_sizes([8])
        .early_stopping(true)
        .validation_fraction(0.25)
        .tol(2.0)
        .n_iter_no_change(2)
        .max_iter(100)
        .batch_size(10)
        .learning_rate_init(0.05)
        .random_state(0)
        .fit(&data)
        .unwrap();
    assert_eq!(model.n_iter(), 4);
    let scores = model.validation_scores();
    assert_eq!(scores.len(), 4);
    let best = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(model.best_validation_score(), Some(best));
    assert_eq!(model.best_loss(), None);
    // Too small a split is an error, not a panic.
    let tiny = Dataset::new(array![[0.0], [1.0]], array![0usize, 1]);
    let error = MlpClassifier::<f64>::params()
        .early_stopping(true)
        .validation_fraction(0.0)
        .fit(&tiny);
    assert!(
        matches!(error, Err(MlpError::EmptySplit { .. })),
        "{error:?}"
    );
}

#[test]
fn adaptive_divides_the_rate_by_five_instead_of_stopping() {
    let data = blobs(10, 5);
    let model = stuck(Solver::Sgd)
        .learning_rate(LearningRate::Adaptive)
        .learning_rate_init(0.01)
        .max_iter(10)
        .fit(&data)
        .unwrap();
    // Flat epochs 2-4 (÷5 at 4), 5-7 (÷5 at 7), 8-10 (÷5 at 10); no stop before max_iter.
    assert_eq!(model.n_iter(), 10);
    let lr = model.final_learning_rate().unwrap();
    assert!((lr - 0.01 / 125.0).abs() < 1e-15, "{lr}");
    // Once the rate is at most 1e-6, the next trigger stops: 1e-5 → 2e-6 (epoch 3) → 4e-7
    // (epoch 5) → stop at epoch 7.
    let model = stuck(Solver::Sgd)
        .learning_rate(LearningRate::Adaptive)
        .learning_rate_init(1e-5)
        .n_iter_no_change(1)
        .max_iter(100)
        .fit(&data)
        .unwrap();
    assert_eq!(model.n_iter(), 7);
    assert!((model.final_learning_rate().unwrap() - 4e-7).abs() < 1e-18);
}

#[test]
fn invscaling_uses_the_samples_seen() {
    let data = blobs(10, 6);
    let model = MlpClassifier::<f64>::params()
        .hidden_layer_sizes([4])
        .solver(Solver::Sgd)
        .learning_rate(LearningRate::InvScaling)
        .learning_rate_init(0.1)
        .power_t(0.5)
        .max_iter(3)
        .random_state(0)
        .fit(&data)
        .unwrap();
    let expected = 0.1 / (3.0f64 * 30.0 + 1.0).sqrt();
    assert!((model.final_learning_rate().unwrap() - expected).abs() < 1e-15);
}

#[test]
fn warm_start_continues_from_the_fitted_model() {
    let data = blobs(10, 7);
    let params = MlpClassifier::<f64>::params()
        .hidden_layer_sizes([6])
        .max_iter(3)
        .random_state(0);
    let first = params.clone().fit(&data).unwrap();
    let cold = params.clone().fit_with(Some(first.clone()), &data).unwrap();
    assert_eq!(
        cold, first,
        "without warm_start the model is refitted from scratch"
    );
    let warm = params
        .warm_start(true)
        .fit_with(Some(first.clone()), &data)
        .unwrap();
    assert_eq!(warm.t(), 6 * 30);
    assert_eq!(warm.n_iter(), 3);
    assert_eq!(warm.loss_curve().len(), 6);
    assert_eq!(&warm.loss_curve()[..3], first.loss_curve());
    assert_ne!(warm.coefs(), first.coefs());
    // A different set of classes is refused.
    let other = Dataset::new(array![[0.0, 1.0], [1.0, 0.0]], array![0usize, 5]);
    let error = MlpClassifier::<f64>::params()
        .warm_start(true)
        .fit_with(Some(first), &other);
    assert!(matches!(error, Err(MlpError::ClassMismatch { .. })));
}

#[test]
fn binary_problems_use_one_logistic_unit() {
    let x = array![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let data = Dataset::new(x.clone(), array![4usize, 9, 9, 4]);
    let model = MlpClassifier::<f64>::params()
        .hidden_layer_sizes([8])
        .activation(Activation::Tanh)
        .solver(Solver::Lbfgs)
        .random_state(1)
        .fit(&data)
        .unwrap();
    assert_eq!(model.classes(), &[4, 9]);
    assert_eq!(model.coefs()[1].ncols(), 1);
    let proba = model.predict_proba(&x).unwrap();
    assert_eq!(proba.ncols(), 2);
    for row in proba.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-12);
    }
    assert_eq!(model.predict(&x), array![4usize, 9, 9, 4]);
}
