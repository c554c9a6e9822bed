//! A linear baseline for the MLP: linfa-logistic's multinomial logistic regression
//! ([`MultiLogisticRegression`], L-BFGS through argmin) with progress output.
//!
//! linfa-logistic offers no per-iteration callback, so the fit runs in rounds of
//! `iterations_per_round` L-BFGS iterations, each round starting from the previous one's
//! parameters (`initial_params`), and reports after each round. Restarting drops the L-BFGS
//! memory, so the rounds take slightly more iterations in all than one uninterrupted fit.

use std::time::Instant;

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2, Axis, Ix1, concatenate};

/// What the baseline failed on.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("linfa-logistic failed: {0}")]
    Logistic(#[from] linfa_logistic::error::Error),
    #[error("iterations_per_round and rounds must be at least 1")]
    NoIterations,
    #[error("the parameters returned by linfa-logistic have an unexpected shape: {0}")]
    Shape(#[from] ndarray::ShapeError),
}

/// Progress after one round.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineRound {
    pub round: usize,
    pub iterations: u64,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
    pub seconds: f64,
}

/// The fitted baseline and its rounds.
#[derive(Debug, Clone)]
pub struct LinearBaseline {
    pub rounds: Vec<BaselineRound>,
    pub test_accuracy: f64,
    pub seconds: f64,
}

fn accuracy(predicted: &Array1<usize>, truth: &Array1<usize>) -> f64 {
    let correct = predicted.iter().zip(truth).filter(|(a, b)| a == b).count();
    correct as f64 / truth.len().max(1) as f64
}

/// Fits a multinomial logistic regression on `train` with L2 penalty `alpha`, in `rounds`
/// rounds of `iterations_per_round` iterations, and scores it on `test`. `progress` receives
/// each round (print it, or ignore it).
pub fn logistic_baseline(
    train: &Dataset<f64, usize, Ix1>,
    test: &Dataset<f64, usize, Ix1>,
    alpha: f64,
    iterations_per_round: u64,
    rounds: usize,
    mut progress: impl FnMut(&BaselineRound),
) -> Result<LinearBaseline, BaselineError> {
    if iterations_per_round == 0 || rounds == 0 {
        return Err(BaselineError::NoIterations);
    }
    let start = Instant::now();
    let mut initial: Option<Array2<f64>> = None;
    let mut history = Vec::with_capacity(rounds);
    let mut test_accuracy = 0.0;
    for round in 1..=rounds {
        let mut params = MultiLogisticRegression::default()
            .alpha(alpha)
            .max_iterations(iterations_per_round);
        if let Some(init) = initial.take() {
            params = params.initial_params(init);
        }
        let model = params.fit(train)?;
        // Weights with the intercept as the last row, as `initial_params` takes them.
        let intercept = model.intercept().view().insert_axis(Axis(0));
        initial = Some(concatenate(Axis(0), &[model.params().view(), intercept])?);
        let train_accuracy = accuracy(&model.predict(train.records()), train.targets());
        test_accuracy = accuracy(&model.predict(test.records()), test.targets());
        let report = BaselineRound {
            round,
            iterations: round as u64 * iterations_per_round,
            train_accuracy,
            test_accuracy,
            seconds: start.elapsed().as_secs_f64(),
        };
        progress(&report);
        history.push(report);
    }
    Ok(LinearBaseline {
        rounds: history,
        test_accuracy,
        seconds: start.elapsed().as_secs_f64(),
    })
}
