//! scikit-learn's solvers, for the estimator: its `SGDOptimizer` and `AdamOptimizer`
//! (`sklearn/neural_network/_stochastic_optimizers.py`) and L-BFGS through argmin.
//!
//! These are scikit-learn's forms, not the PyTorch forms of the nnbench spec (those live in
//! [`crate::backend`]): the SGD velocity carries the learning rate (`v ← μv − ηg`, `w ← w + v`,
//! Nesterov `w ← w + μv − ηg` with the new `v`) and Adam folds both bias corrections into the
//! step size (`η_t = η·√(1−β2ᵗ)/(1−β1ᵗ)`, `w ← w − η_t·m/(√v + ε)`).

use std::cell::{Cell, RefCell};

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use linfa::Float;
use ndarray::{Array1, ArrayD, ArrayView2, Zip};

use crate::error::MlpError;
use crate::network::{Gradients, Mlp};
use crate::params::LearningRate;

/// scikit-learn's `SGDOptimizer`.
#[derive(Debug, Clone)]
pub struct SklearnSgd<F> {
    /// The current learning rate (changed by the schedule).
    pub learning_rate: F,
    pub learning_rate_init: F,
    pub schedule: LearningRate,
    pub momentum: F,
    pub nesterov: bool,
    pub power_t: F,
    velocities: Vec<ArrayD<F>>,
}

/// scikit-learn's `AdamOptimizer`.
#[derive(Debug, Clone)]
pub struct SklearnAdam<F> {
    pub learning_rate_init: F,
    pub beta_1: F,
    pub beta_2: F,
    pub epsilon: F,
    /// Steps taken.
    pub t: i32,
    ms: Vec<ArrayD<F>>,
    vs: Vec<ArrayD<F>>,
}

/// The stochastic solvers, as the estimator's loop drives them.
#[derive(Debug, Clone)]
pub(crate) enum Stochastic<F> {
    Sgd(SklearnSgd<F>),
    Adam(SklearnAdam<F>),
}

fn zeros_like<F: Float>(grads: &Gradients<F>) -> Vec<ArrayD<F>> {
    grads
        .arrays()
        .iter()
        .map(|g| ArrayD::zeros(g.raw_dim()))
        .collect()
}

impl<F: Float> SklearnSgd<F> {
    pub fn new(
        learning_rate_init: F,
        schedule: LearningRate,
        momentum: F,
        nesterov: bool,
        power_t: F,
    ) -> Self {
        SklearnSgd {
            learning_rate: learning_rate_init,
            learning_rate_init,
            schedule,
            momentum,
            nesterov,
            power_t,
            velocities: Vec::new(),
        }
    }

    /// `v ← μv − ηg`; `w ← w + v`, or with Nesterov `w ← w + μv − ηg` (the new `v`).
    pub(crate) fn update_params(&mut self, mlp: &mut Mlp<F>, grads: &Gradients<F>) {
        if self.velocities.is_empty() {
            self.velocities = zeros_like(grads);
        }
        let (lr, mu, nesterov) = (self.learning_rate, self.momentum, self.nesterov);
        for ((p, g), v) in mlp
            .params_mut()
            .into_iter()
            .zip(grads.arrays())
            .zip(&mut self.velocities)
        {
            Zip::from(p).and(&g).and(v).for_each(|p, &g, v| {
                *v = mu * *v - lr * g;
                *p += if nesterov { mu * *v - lr * g } else { *v };
            });
        }
    }

    /// After each epoch, `time_step` the samples seen so far: `invscaling` sets
    /// `η = η₀ / (time_step + 1)^power_t`.
    pub(crate) fn iteration_ends(&mut self, time_step: usize) {
        if self.schedule == LearningRate::InvScaling {
            let denominator = F::cast(time_step + 1).powf(self.power_t);
            self.learning_rate = self.learning_rate_init / denominator;
        }
    }

    /// `true` to stop; `adaptive` divides the rate by 5 instead, until it falls to 1e-6.
    pub(crate) fn trigger_stopping(&mut self, verbose: bool) -> bool {
        if self.schedule != LearningRate::Adaptive {
            return true;
        }
        if self.learning_rate <= F::cast(1e-6) {
            if verbose {
                println!("Learning rate too small. Stopping.");
            }
            return true;
        }
        self.learning_rate /= F::cast(5.0);
        if verbose {
            println!("Setting learning rate to {}", self.learning_rate);
        }
        false
    }
}

impl<F: Float> SklearnAdam<F> {
    pub fn new(learning_rate_init: F, beta_1: F, beta_2: F, epsilon: F) -> Self {
        SklearnAdam {
            learning_rate_init,
            beta_1,
            beta_2,
            epsilon,
            t: 0,
            ms: Vec::new(),
            vs: Vec::new(),
        }
    }

    /// `m ← β1m + (1−β1)g`, `v ← β2v + (1−β2)g²`, `w ← w − η·√(1−β2ᵗ)/(1−β1ᵗ)·m/(√v + ε)`.
    pub(crate) fn update_params(&mut self, mlp: &mut Mlp<F>, grads: &Gradients<F>) {
        if self.ms.is_empty() {
            self.ms = zeros_like(grads);
            self.vs = zeros_like(grads);
        }
        self.t += 1;
        let one = F::one();
        let (b1, b2, eps) = (self.beta_1, self.beta_2, self.epsilon);
        let lr = self.learning_rate_init * (one - b2.powi(self.t)).sqrt() / (one - b1.powi(self.t));
        for (((p, g), m), v) in mlp
            .params_mut()
            .into_iter()
            .zip(grads.arrays())
            .zip(&mut self.ms)
            .zip(&mut self.vs)
        {
            Zip::from(p).and(&g).and(m).and(v).for_each(|p, &g, m, v| {
                *m = b1 * *m + (one - b1) * g;
                *v = b2 * *v + (one - b2) * g * g;
                *p -= lr * *m / (v.sqrt() + eps);
            });
        }
    }
}

impl<F: Float> Stochastic<F> {
    pub(crate) fn update_params(&mut self, mlp: &mut Mlp<F>, grads: &Gradients<F>) {
        match self {
            Stochastic::Sgd(sgd) => sgd.update_params(mlp, grads),
            Stochastic::Adam(adam) => adam.update_params(mlp, grads),
        }
    }

    pub(crate) fn iteration_ends(&mut self, time_step: usize) {
        if let Stochastic::Sgd(sgd) = self {
            sgd.iteration_ends(time_step);
        }
    }

    pub(crate) fn trigger_stopping(&mut self, verbose: bool) -> bool {
        match self {
            Stochastic::Sgd(sgd) => sgd.trigger_stopping(verbose),
            Stochastic::Adam(_) => true,
        }
    }
}

/// scikit-learn's batch loss and gradient: the data loss plus `½·alpha·‖W‖² / n`, and
/// `grad_W += alpha·W / n` (weights only), n the rows of the batch.
pub(crate) fn penalized_loss_and_gradients<F: Float>(
    mlp: &Mlp<F>,
    x: ArrayView2<F>,
    targets: ArrayView2<F>,
    alpha: F,
) -> (F, Gradients<F>) {
    let (loss, mut grads) = mlp.loss_and_gradients(x, targets);
    let n = F::cast(x.nrows().max(1));
    let loss = loss + F::cast(0.5) * alpha * mlp.squared_weight_norm() / n;
    for (g, layer) in grads.weights.iter_mut().zip(&mlp.layers) {
        Zip::from(g)
            .and(&layer.weight)
            .for_each(|g, &w| *g += alpha * w / n);
    }
    (loss, grads)
}

/// Flattens weights then biases into one `f64` vector (scikit-learn's `_pack`).
pub(crate) fn pack<F: Float>(mlp: &Mlp<F>) -> Array1<f64> {
    let weights = mlp.layers.iter().flat_map(|l| l.weight.iter());
    let biases = mlp.layers.iter().flat_map(|l| l.bias.iter());
    weights
        .chain(biases)
        .map(|v| v.to_f64().unwrap_or(f64::NAN))
        .collect()
}

/// Copies a packed vector back into the network (the inverse of [`pack`]).
pub(crate) fn unpack<F: Float>(mlp: &mut Mlp<F>, packed: &Array1<f64>) {
    let mut values = packed.iter();
    for mut array in mlp.params_mut() {
        array
            .iter_mut()
            .zip(&mut values)
            .for_each(|(p, &v)| *p = F::cast(v));
    }
}

/// A point, the cost there and its gradient.
type Evaluation = (Array1<f64>, f64, Array1<f64>);

/// The full-batch problem handed to argmin; caches the last evaluation, counts evaluations
/// and remembers the best point seen (returned when `max_fun` cuts the run short).
struct Problem<'a, F> {
    mlp: RefCell<Mlp<F>>,
    x: ArrayView2<'a, F>,
    targets: ArrayView2<'a, F>,
    alpha: F,
    max_fun: usize,
    evaluations: Cell<usize>,
    last: RefCell<Option<Evaluation>>,
    best: RefCell<Option<(f64, Array1<f64>)>>,
}

impl<F: Float> Problem<'_, F> {
    fn evaluate(&self, param: &Array1<f64>) -> Result<(f64, Array1<f64>), argmin::core::Error> {
        if let Some((p, cost, grad)) = &*self.last.borrow()
            && p == param
        {
            return Ok((*cost, grad.clone()));
        }
        let count = self.evaluations.get() + 1;
        if count > self.max_fun {
            return Err(argmin::core::Error::msg(MAX_FUN_REACHED));
        }
        self.evaluations.set(count);
        let mut mlp = self.mlp.borrow_mut();
        unpack(&mut mlp, param);
        let (loss, grads) = penalized_loss_and_gradients(&mlp, self.x, self.targets, self.alpha);
        let cost = loss.to_f64().unwrap_or(f64::NAN);
        let grad: Array1<f64> = grads
            .arrays()
            .iter()
            .flat_map(|g| {
                g.iter()
                    .map(|v| v.to_f64().unwrap_or(f64::NAN))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut best = self.best.borrow_mut();
        if cost.is_finite() && best.as_ref().is_none_or(|(b, _)| cost < *b) {
            *best = Some((cost, param.clone()));
        }
        *self.last.borrow_mut() = Some((param.clone(), cost, grad.clone()));
        Ok((cost, grad))
    }
}

const MAX_FUN_REACHED: &str = "max_fun loss evaluations reached";

/// argmin takes its problem by value: this lends it ours, so that the evaluation count and
/// the best point stay readable when argmin returns an error.
struct Lent<'p, 'a, F>(&'p Problem<'a, F>);

impl<F: Float> CostFunction for Lent<'_, '_, F> {
    type Param = Array1<f64>;
    type Output = f64;

    fn cost(&self, param: &Self::Param) -> Result<f64, argmin::core::Error> {
        self.0.evaluate(param).map(|(cost, _)| cost)
    }
}

impl<F: Float> Gradient for Lent<'_, '_, F> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;

    fn gradient(&self, param: &Self::Param) -> Result<Array1<f64>, argmin::core::Error> {
        self.0.evaluate(param).map(|(_, grad)| grad)
    }
}

/// What an L-BFGS run reports.
pub(crate) struct LbfgsOutcome {
    pub iterations: usize,
    pub evaluations: usize,
    pub loss: f64,
}

/// Minimizes scikit-learn's penalized full-batch loss with argmin's L-BFGS (memory 10, as
/// scipy's `maxcor`), at most `max_iter` iterations and `max_fun` loss evaluations; stops
/// when the gradient's L2 norm falls below `tol` (scipy's `gtol` bounds the largest
/// component instead). Leaves the best parameters in `mlp`.
pub(crate) fn lbfgs<'a, F: Float>(
    mlp: &mut Mlp<F>,
    x: ArrayView2<'a, F>,
    targets: ArrayView2<'a, F>,
    alpha: F,
    max_iter: usize,
    max_fun: usize,
    tol: f64,
) -> Result<LbfgsOutcome, MlpError> {
    let init = pack(mlp);
    let problem = Problem {
        mlp: RefCell::new(mlp.clone()),
        x,
        targets,
        alpha,
        max_fun,
        evaluations: Cell::new(0),
        last: RefCell::new(None),
        best: RefCell::new(None),
    };
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(tol.max(f64::EPSILON))
        .and_then(|s| s.with_tolerance_cost(2.220446049250313e-9))
        .map_err(|e| MlpError::Lbfgs(e.to_string()))?;
    let result = Executor::new(Lent(&problem), solver)
        .configure(|state| state.param(init).max_iters(max_iter as u64))
        .run();
    let evaluations = problem.evaluations.get();
    let (iterations, best) = match result {
        Ok(result) => {
            let state = result.state();
            let best = state.get_best_param().cloned();
            (
                state.get_iter() as usize,
                best.map(|p| (state.get_best_cost(), p)),
            )
        }
        // The evaluation budget ran out inside a line search: keep the best point seen.
        Err(error) if error.to_string().contains(MAX_FUN_REACHED) => (0, None),
        Err(error) => return Err(MlpError::Lbfgs(error.to_string())),
    };
    let (loss, param) = match best.or_else(|| problem.best.borrow().clone()) {
        Some(best) => best,
        None => return Err(MlpError::Lbfgs("no finite loss was reached".to_string())),
    };
    unpack(mlp, &param);
    Ok(LbfgsOutcome {
        iterations,
        evaluations,
        loss,
    })
}

#[cfg(test)]
mod tests {
    //! One worked step of each stochastic solver on a one-weight logistic unit, against the
    //! numbers of scikit-learn's formulas written out by hand.

    use ndarray::array;

    use super::*;
    use crate::network::{Dense, Head};

    /// w = 0.5, b = 0, x = 1, y = 1, alpha = 0.1: z = 0.5, p = σ(0.5), the data gradient is
    /// p − 1 for both, and the weight's gains alpha·w/n = 0.05.
    fn unit() -> (Mlp<f64>, f64, f64) {
        let mlp = Mlp {
            layers: vec![Dense {
                weight: array![[0.5]],
                bias: array![0.0],
                activations: Vec::new(),
            }],
            head: Head::Logistic,
        };
        let p = 1.0 / (1.0 + (-0.5f64).exp());
        assert!((p - 0.622_459_331_201_854_6).abs() < 1e-15);
        let (gw, gb) = (p - 1.0 + 0.05, p - 1.0);
        (mlp, gw, gb)
    }

    fn step(mlp: &mut Mlp<f64>, solver: &mut Stochastic<f64>) -> f64 {
        let (x, y) = (array![[1.0]], array![[1.0]]);
        let (loss, grads) = penalized_loss_and_gradients(mlp, x.view(), y.view(), 0.1);
        solver.update_params(mlp, &grads);
        loss
    }

    fn params(mlp: &Mlp<f64>) -> (f64, f64) {
        (mlp.layers[0].weight[[0, 0]], mlp.layers[0].bias[0])
    }

    #[test]
    fn the_penalized_loss_is_sklearns() {
        let (mlp, gw, gb) = unit();
        let (x, y) = (array![[1.0]], array![[1.0]]);
        let (loss, grads) = penalized_loss_and_gradients(&mlp, x.view(), y.view(), 0.1);
        // −ln σ(0.5) + ½·0.1·0.5²/1
        let expected = -(1.0 / (1.0 + (-0.5f64).exp())).ln() + 0.5 * 0.1 * 0.25;
        assert!((loss - expected).abs() < 1e-15);
        assert!((grads.weights[0][[0, 0]] - gw).abs() < 1e-15);
        assert!((grads.biases[0][0] - gb).abs() < 1e-15);
        assert!((gw - -0.327_540_668_798_145_4).abs() < 1e-15);
    }

    #[test]
    fn plain_sgd_step() {
        let (mut mlp, gw, gb) = unit();
        let sgd = SklearnSgd::new(0.1, LearningRate::Constant, 0.0, false, 0.5);
        step(&mut mlp, &mut Stochastic::Sgd(sgd));
        let (w, b) = params(&mlp);
        assert!((w - (0.5 - 0.1 * gw)).abs() < 1e-15);
        assert!((b - (0.0 - 0.1 * gb)).abs() < 1e-15);
        assert!((w - 0.532_754_066_879_814_5).abs() < 1e-15);
    }

    #[test]
    fn momentum_steps() {
        let (mut mlp, gw, gb) = unit();
        let mut sgd = Stochastic::Sgd(SklearnSgd::new(
            0.1,
            LearningRate::Constant,
            0.9,
            false,
            0.5,
        ));
        step(&mut mlp, &mut sgd);
        // v = −ηg; w ← w + v.
        let (w1, b1) = params(&mlp);
        assert!((w1 - (0.5 - 0.1 * gw)).abs() < 1e-15);
        assert!((b1 - (-0.1 * gb)).abs() < 1e-15);
        // Second step: v ← 0.9·v − η·g₂, with g₂ the gradient at the new point.
        let p2 = 1.0 / (1.0 + (-(w1 + b1)).exp());
        let (gw2, gb2) = (p2 - 1.0 + 0.1 * w1, p2 - 1.0);
        step(&mut mlp, &mut sgd);
        let (w2, b2) = params(&mlp);
        assert!((w2 - (w1 + 0.9 * (-0.1 * gw) - 0.1 * gw2)).abs() < 1e-15);
        assert!((b2 - (b1 + 0.9 * (-0.1 * gb) - 0.1 * gb2)).abs() < 1e-15);
    }

    #[test]
    fn nesterov_step() {
        let (mut mlp, gw, gb) = unit();
        let sgd = SklearnSgd::new(0.1, LearningRate::Constant, 0.9, true, 0.5);
        step(&mut mlp, &mut Stochastic::Sgd(sgd));
        // v = −ηg; update = μv − ηg = −1.9·η·g.
        let (w, b) = params(&mlp);
        assert!((w - (0.5 - 1.9 * 0.1 * gw)).abs() < 1e-15);
        assert!((b - (-1.9 * 0.1 * gb)).abs() < 1e-15);
        assert!((w - 0.562_232_727_071_647_6).abs() < 1e-15);
    }

    #[test]
    fn adam_step() {
        let (mut mlp, gw, gb) = unit();
        let mut adam = Stochastic::Adam(SklearnAdam::new(0.1, 0.9, 0.999, 1e-8));
        step(&mut mlp, &mut adam);
        // t = 1: m = 0.1·g, v = 0.001·g², η₁ = 0.1·√0.001/0.1, w ← w − η₁·m/(√v + ε).
        let lr = 0.1 * 0.001f64.sqrt() / 0.1;
        let update = |g: f64| lr * (0.1 * g) / ((0.001 * g * g).sqrt() + 1e-8);
        let (w, b) = params(&mlp);
        assert!((w - (0.5 - update(gw))).abs() < 1e-15);
        assert!((b - (0.0 - update(gb))).abs() < 1e-15);
        // Almost exactly η·sign(g) on the first step.
        assert!((w - 0.6).abs() < 1e-7);
    }

    #[test]
    fn pack_and_unpack_round_trip() {
        let (mut mlp, _, _) = unit();
        let packed = pack(&mlp);
        assert_eq!(packed.to_vec(), vec![0.5, 0.0]);
        unpack(&mut mlp, &array![1.5, -2.0]);
        assert_eq!(params(&mlp), (1.5, -2.0));
    }
}
