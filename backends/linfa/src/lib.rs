//! nnbench-linfa: scikit-learn's `MLPClassifier` for [linfa](https://github.com/rust-ml/linfa)
//! 0.8, usable on its own as a linfa estimator and as the `linfa` backend of nnbench.
//!
//! linfa has no neural network; this crate adds one with scikit-learn's parameters and
//! semantics (`sklearn.neural_network.MLPClassifier`), written on ndarray 0.16 (linfa's):
//!
//! ```no_run
//! use linfa::prelude::*;
//! use nnbench_linfa::{MlpClassifier, Solver};
//! # fn main() -> Result<(), nnbench_linfa::MlpError> {
//! # let dataset: Dataset<f32, usize, ndarray::Ix1> = unimplemented!();
//! let model = MlpClassifier::<f32>::params()
//!     .hidden_layer_sizes([100])
//!     .solver(Solver::Adam)
//!     .max_iter(10)
//!     .random_state(0)
//!     .fit(&dataset)?;
//! let labels = model.predict(dataset.records());
//! let probabilities = model.predict_proba(dataset.records())?;
//! # Ok(()) }
//! ```
//!
//! # Parameters
//!
//! [`MlpClassifier::params`] returns [`MlpClassifierParams`], unchecked; `fit` checks them
//! ([`linfa::ParamGuard`]) into [`MlpClassifierValidParams`] or an [`MlpError`] that names the
//! parameter and its range.
//!
//! | parameter | default | allowed | meaning |
//! |---|---|---|---|
//! | `hidden_layer_sizes` | `[100]` | each ≥ 1 (may be empty) | units of each hidden layer |
//! | `activation` | `Relu` | `Identity`, `Logistic`, `Tanh`, `Relu` | hidden activation |
//! | `solver` | `Adam` | `Sgd`, `Adam`, `Lbfgs` | weight optimizer |
//! | `alpha` | 1e-4 | ≥ 0 | L2 penalty: loss + ½·alpha·‖W‖²/batch, weights only |
//! | `batch_size` | `None` (= min(200, n)) | ≥ 1 (clipped to n) | mini-batch size (`sgd`, `adam`) |
//! | `learning_rate` | `Constant` | `Constant`, `InvScaling`, `Adaptive` | schedule (`sgd` only) |
//! | `learning_rate_init` | 1e-3 | > 0 | initial step size (`sgd`, `adam`) |
//! | `power_t` | 0.5 | ≥ 0 | exponent of `InvScaling`: η = η₀ / (t+1)^power_t, t samples seen |
//! | `max_iter` | 200 | ≥ 1 | epochs (`sgd`, `adam`) or iterations (`lbfgs`) |
//! | `shuffle` | true | | reshuffle the samples every epoch |
//! | `random_state` | `None` | any `u64` | seed of init, shuffles and validation split |
//! | `tol` | 1e-4 | ≥ 0 | improvement the stopping rules ask for; `lbfgs` gradient tolerance |
//! | `verbose` | false | | print the loss of each epoch |
//! | `warm_start` | false | | `fit_with(Some(model), …)` continues from `model` |
//! | `momentum` | 0.9 | [0, 1] | `sgd` momentum |
//! | `nesterovs_momentum` | true | | Nesterov's momentum for `sgd` |
//! | `early_stopping` | false | | stop on validation accuracy of a held-out split |
//! | `validation_fraction` | 0.1 | [0, 1) | share held out for `early_stopping` |
//! | `beta_1` | 0.9 | [0, 1) | Adam first-moment decay |
//! | `beta_2` | 0.999 | [0, 1) | Adam second-moment decay |
//! | `epsilon` | 1e-8 | > 0 | Adam denominator constant |
//! | `n_iter_no_change` | 10 | ≥ 1 | epochs without `tol` improvement before stopping / (adaptive) η ÷ 5 |
//! | `max_fun` | 15000 | ≥ 1 | most loss evaluations of `lbfgs` |
//!
//! # Semantics (scikit-learn's)
//!
//! - Initial weights and biases from U(±√(6/(fan_in+fan_out))), 2 instead of 6 with
//!   `Logistic`.
//! - Output: softmax with cross-entropy for more than two classes, one logistic unit with
//!   binary cross-entropy for two ([`MlpClassifier::predict_proba`] then gives `[1−p, p]`).
//! - `sgd`: `v ← μv − ηg`, `w ← w + v` (Nesterov: `w ← w + μv − ηg`); `adam`:
//!   `η_t = η·√(1−β2ᵗ)/(1−β1ᵗ)`, `w ← w − η_t·m/(√v+ε)` (see [`solver`]).
//! - Stopping: after each epoch, a loss not below `best − tol` (or, with `early_stopping`, a
//!   validation accuracy not above `best + tol`) counts one epoch without improvement; more
//!   than `n_iter_no_change` of them stop training, except with `Adaptive`, which divides η by
//!   5 and carries on until η ≤ 1e-6. With `early_stopping` the best-scoring weights are kept.
//! - `lbfgs`: argmin's L-BFGS (memory 10, More–Thuente line search) on the full-batch
//!   penalized loss, at most `max_iter` iterations and `max_fun` evaluations.
//!
//! Differences from scikit-learn: random numbers come from another generator (same seed, other
//! draws); the early-stopping split is a plain shuffle, not stratified; L-BFGS stops on the
//! gradient's L2 norm, where scipy bounds its largest component; no `ConvergenceWarning`
//! (compare [`MlpClassifier::n_iter`] with `max_iter`).
//!
//! # As an nnbench backend
//!
//! [`LinfaBackend`] runs the same network (`network`) behind nnbench's `Trainer` boundary,
//! with the scenario's optimizer in the spec's (PyTorch) forms instead of scikit-learn's.
//! Matrix products are ndarray's (matrixmultiply, single-threaded): `setup.threads` is not
//! honoured.
//! The `step` head is Rosenblatt's perceptron rule on ndarray, in the course's form, plain sgd
//! from the harness's init only.
//!
//! [`LinearBackend`] (`linear`) is the reference linear classifier of MNIST scenarios:
//! linfa-logistic's multinomial logistic regression (see [`linear`]).

pub mod backend;
mod baseline;
mod classifier;
mod error;
pub mod linear;
pub mod logistic;
mod network;
mod params;
mod perceptron;
pub mod solver;

pub use backend::{LINFA_VERSION, LinfaBackend, LinfaTrainer};
pub use classifier::MlpClassifier;
pub use error::MlpError;
pub use linear::LinearBackend;
pub use network::Activation;
pub use params::{LearningRate, MlpClassifierParams, MlpClassifierValidParams, Solver};
