//! Hyperparameters of [`MlpClassifier`](crate::MlpClassifier), scikit-learn's names and
//! defaults, checked the linfa way: [`MlpClassifierParams`] (unchecked, with builder methods)
//! turns into [`MlpClassifierValidParams`] through [`ParamGuard`].

use linfa::{Float, ParamGuard};

use crate::error::MlpError;
use crate::network::Activation;

/// The weight optimizer (`solver=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Solver {
    /// Quasi-Newton L-BFGS on the full batch (argmin's `LBFGS` with More–Thuente line search).
    Lbfgs,
    /// Stochastic gradient descent, with momentum / Nesterov and the learning-rate schedules.
    Sgd,
    /// Adam (Kingma and Ba), scikit-learn's form (the default).
    Adam,
}

/// Learning-rate schedule of the `sgd` solver (`learning_rate=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LearningRate {
    /// `learning_rate_init` throughout.
    Constant,
    /// `learning_rate_init / (t + 1)^power_t` after each epoch, t the samples seen so far.
    InvScaling,
    /// Divided by 5 each time `n_iter_no_change` epochs in a row miss `tol`; stops below 1e-6.
    Adaptive,
}

/// Checked hyperparameters; read them through the accessors, build them through
/// [`MlpClassifierParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct MlpClassifierValidParams<F> {
    pub(crate) hidden_layer_sizes: Vec<usize>,
    pub(crate) activation: Activation,
    pub(crate) solver: Solver,
    pub(crate) alpha: F,
    pub(crate) batch_size: Option<usize>,
    pub(crate) learning_rate: LearningRate,
    pub(crate) learning_rate_init: F,
    pub(crate) power_t: F,
    pub(crate) max_iter: usize,
    pub(crate) shuffle: bool,
    pub(crate) random_state: Option<u64>,
    pub(crate) tol: F,
    pub(crate) verbose: bool,
    pub(crate) warm_start: bool,
    pub(crate) momentum: F,
    pub(crate) nesterovs_momentum: bool,
    pub(crate) early_stopping: bool,
    pub(crate) validation_fraction: F,
    pub(crate) beta_1: F,
    pub(crate) beta_2: F,
    pub(crate) epsilon: F,
    pub(crate) n_iter_no_change: usize,
    pub(crate) max_fun: usize,
}

/// Unchecked hyperparameters, from [`MlpClassifier::params`](crate::MlpClassifier::params).
#[derive(Debug, Clone, PartialEq)]
pub struct MlpClassifierParams<F>(pub(crate) MlpClassifierValidParams<F>);

impl<F: Float> Default for MlpClassifierParams<F> {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $name: $ty) -> Self {
                self.0.$name = $name;
                self
            }
        )*
    };
}

impl<F: Float> MlpClassifierParams<F> {
    /// scikit-learn's defaults.
    pub fn new() -> Self {
        MlpClassifierParams(MlpClassifierValidParams {
            hidden_layer_sizes: vec![100],
            activation: Activation::Relu,
            solver: Solver::Adam,
            alpha: F::cast(1e-4),
            batch_size: None,
            learning_rate: LearningRate::Constant,
            learning_rate_init: F::cast(1e-3),
            power_t: F::cast(0.5),
            max_iter: 200,
            shuffle: true,
            random_state: None,
            tol: F::cast(1e-4),
            verbose: false,
            warm_start: false,
            momentum: F::cast(0.9),
            nesterovs_momentum: true,
            early_stopping: false,
            validation_fraction: F::cast(0.1),
            beta_1: F::cast(0.9),
            beta_2: F::cast(0.999),
            epsilon: F::cast(1e-8),
            n_iter_no_change: 10,
            max_fun: 15000,
        })
    }

    /// Units of each hidden layer, input side first (scikit-learn's tuple; default `[100]`).
    pub fn hidden_layer_sizes(mut self, sizes: impl Into<Vec<usize>>) -> Self {
        self.0.hidden_layer_sizes = sizes.into();
        self
    }

    /// Mini-batch size of `sgd` and `adam`; `None` is scikit-learn's `"auto"`, `min(200, n)`.
    pub fn batch_size(mut self, batch_size: impl Into<Option<usize>>) -> Self {
        self.0.batch_size = batch_size.into();
        self
    }

    /// Seed of the initial weights, the shuffles and the validation split; `None` draws one.
    pub fn random_state(mut self, seed: impl Into<Option<u64>>) -> Self {
        self.0.random_state = seed.into();
        self
    }

    setters! {
        /// Hidden-layer activation (default `relu`).
        activation: Activation,
        /// Weight optimizer (default `adam`).
        solver: Solver,
        /// L2 penalty strength (default 1e-4).
        alpha: F,
        /// Learning-rate schedule of `sgd` (default `constant`).
        learning_rate: LearningRate,
        /// Initial learning rate of `sgd` and `adam` (default 1e-3).
        learning_rate_init: F,
        /// Exponent of `invscaling` (default 0.5).
        power_t: F,
        /// Epochs for `sgd`/`adam`, iterations for `lbfgs` (default 200).
        max_iter: usize,
        /// Shuffle the samples each epoch (default true).
        shuffle: bool,
        /// Improvement needed by the stopping rules (default 1e-4).
        tol: F,
        /// Print the loss of each epoch (default false).
        verbose: bool,
        /// Continue from the model given to `fit_with` (default false).
        warm_start: bool,
        /// Momentum of `sgd` (default 0.9).
        momentum: F,
        /// Nesterov's momentum for `sgd` (default true).
        nesterovs_momentum: bool,
        /// Stop on the validation accuracy of a held-out split (default false).
        early_stopping: bool,
        /// Share held out when `early_stopping` (default 0.1).
        validation_fraction: F,
        /// Adam's first-moment decay (default 0.9).
        beta_1: F,
        /// Adam's second-moment decay (default 0.999).
        beta_2: F,
        /// Adam's denominator constant (default 1e-8).
        epsilon: F,
        /// Epochs without `tol` improvement before stopping or (adaptive) dividing the rate.
        n_iter_no_change: usize,
        /// Most loss evaluations of `lbfgs` (default 15000).
        max_fun: usize,
    }
}

macro_rules! getters {
    ($($name:ident: $ty:ty),* $(,)?) => {
        $(
            pub fn $name(&self) -> $ty {
                self.$name
            }
        )*
    };
}

impl<F: Float> MlpClassifierValidParams<F> {
    pub fn hidden_layer_sizes(&self) -> &[usize] {
        &self.hidden_layer_sizes
    }

    getters! {
        activation: Activation, solver: Solver, alpha: F, batch_size: Option<usize>,
        learning_rate: LearningRate, learning_rate_init: F, power_t: F, max_iter: usize,
        shuffle: bool, random_state: Option<u64>, tol: F, verbose: bool, warm_start: bool,
        momentum: F, nesterovs_momentum: bool, early_stopping: bool, validation_fraction: F,
        beta_1: F, beta_2: F, epsilon: F, n_iter_no_change: usize, max_fun: usize,
    }
}

/// Where each value may lie.
#[derive(Clone, Copy)]
enum Range {
    /// `[0, ∞)`
    NonNegative,
    /// `(0, ∞)`
    Positive,
    /// `[0, 1]`
    Unit,
    /// `[0, 1)`
    UnitOpen,
}

impl Range {
    fn text(self) -> &'static str {
        match self {
            Range::NonNegative => "a finite number >= 0",
            Range::Positive => "a finite number > 0",
            Range::Unit => "in [0, 1]",
            Range::UnitOpen => "in [0, 1)",
        }
    }

    fn contains(self, v: f64) -> bool {
        v.is_finite()
            && match self {
                Range::NonNegative => v >= 0.0,
                Range::Positive => v > 0.0,
                Range::Unit => (0.0..=1.0).contains(&v),
                Range::UnitOpen => (0.0..1.0).contains(&v),
            }
    }
}

fn check_value<F: Float>(name: &'static str, value: F, range: Range) -> Result<(), MlpError> {
    let value = value.to_f64().unwrap_or(f64::NAN);
    if range.contains(value) {
        Ok(())
    } else {
        Err(MlpError::OutOfRange {
            name,
            range: range.text(),
            value,
        })
    }
}

fn check_count(name: &'static str, value: usize) -> Result<(), MlpError> {
    if value >= 1 {
        Ok(())
    } else {
        Err(MlpError::OutOfRange {
            name,
            range: "an integer >= 1",
            value: value as f64,
        })
    }
}

impl<F: Float> ParamGuard for MlpClassifierParams<F> {
    type Checked = MlpClassifierValidParams<F>;
    type Error = MlpError;

    fn check_ref(&self) -> Result<&Self::Checked, Self::Error> {
        let p = &self.0;
        if let Some(index) = p.hidden_layer_sizes.iter().position(|&units| units == 0) {
            return Err(MlpError::EmptyHiddenLayer { index });
        }
        check_value("alpha", p.alpha, Range::NonNegative)?;
        check_value("learning_rate_init", p.learning_rate_init, Range::Positive)?;
        check_value("power_t", p.power_t, Range::NonNegative)?;
        check_value("tol", p.tol, Range::NonNegative)?;
        check_value("momentum", p.momentum, Range::Unit)?;
        check_value(
            "validation_fraction",
            p.validation_fraction,
            Range::UnitOpen,
        )?;
        check_value("beta_1", p.beta_1, Range::UnitOpen)?;
        check_value("beta_2", p.beta_2, Range::UnitOpen)?;
        check_value("epsilon", p.epsilon, Range::Positive)?;
        check_count("max_iter", p.max_iter)?;
        check_count("n_iter_no_change", p.n_iter_no_change)?;
        check_count("max_fun", p.max_fun)?;
        if let Some(size) = p.batch_size {
            check_count("batch_size", size)?;
        }
        Ok(p)
    }

    fn check(self) -> Result<Self::Checked, Self::Error> {
        self.check_ref()?;
        Ok(self.0)
    }
}
