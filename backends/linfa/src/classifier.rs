//! The fitted estimator and scikit-learn's training loops (`_fit_stochastic`, `_fit_lbfgs`).

use std::collections::BTreeSet;

use linfa::dataset::{AsSingleTargets, DatasetBase};
use linfa::prelude::*;
use linfa::traits::{Fit, FitWith, PredictInplace};
use ndarray::{Array1, Array2, ArrayBase, ArrayView2, Axis, Data, Ix2};
use nnbench_core::rng::Rng;

use crate::error::MlpError;
use crate::network::{Activation, Dense, Head, Mlp};
use crate::params::{MlpClassifierParams, MlpClassifierValidParams, Solver};
use crate::solver::{SklearnAdam, SklearnSgd, Stochastic, lbfgs, penalized_loss_and_gradients};

/// A fitted multi-layer perceptron classifier (scikit-learn's `MLPClassifier`).
///
/// Build one with [`MlpClassifier::params`] and linfa's [`Fit`]; continue training a fitted
/// one with [`FitWith`] and `warm_start(true)`.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpClassifier<F> {
    pub(crate) network: Mlp<F>,
    classes: Vec<usize>,
    n_iter: usize,
    t: usize,
    loss: F,
    loss_curve: Vec<F>,
    best_loss: Option<F>,
    validation_scores: Vec<F>,
    best_validation_score: Option<F>,
    no_improvement_count: usize,
    learning_rate: Option<F>,
}

impl<F: Float> MlpClassifier<F> {
    /// scikit-learn's defaults, unchecked: set what you need, then `fit`.
    pub fn params() -> MlpClassifierParams<F> {
        MlpClassifierParams::new()
    }

    /// The class labels, sorted (scikit-learn's `classes_`).
    pub fn classes(&self) -> &[usize] {
        &self.classes
    }

    /// Epochs (`sgd`, `adam`) or iterations (`lbfgs`) of the last fit (`n_iter_`).
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Training samples seen by the stochastic solvers over every fit (`t_`).
    pub fn t(&self) -> usize {
        self.t
    }

    /// The final training loss, penalty included (`loss_`).
    pub fn loss(&self) -> F {
        self.loss
    }

    /// The loss of each epoch (`loss_curve_`; empty for `lbfgs`).
    pub fn loss_curve(&self) -> &[F] {
        &self.loss_curve
    }

    /// The lowest training loss (`best_loss_`; `None` with early stopping or `lbfgs`).
    pub fn best_loss(&self) -> Option<F> {
        self.best_loss
    }

    /// Validation accuracy of each epoch when `early_stopping` (`validation_scores_`).
    pub fn validation_scores(&self) -> &[F] {
        &self.validation_scores
    }

    /// The best validation accuracy when `early_stopping` (`best_validation_score_`).
    pub fn best_validation_score(&self) -> Option<F> {
        self.best_validation_score
    }

    /// The `sgd` solver's learning rate at the end of the fit (changed by `invscaling` and
    /// `adaptive`); `None` for the other solvers.
    pub fn final_learning_rate(&self) -> Option<F> {
        self.learning_rate
    }

    /// Weights `[fan_in, fan_out]` of each layer, input side first (`coefs_`).
    pub fn coefs(&self) -> Vec<&Array2<F>> {
        self.network.layers.iter().map(|l| &l.weight).collect()
    }

    /// Biases of each layer (`intercepts_`).
    pub fn intercepts(&self) -> Vec<&Array1<F>> {
        self.network.layers.iter().map(|l| &l.bias).collect()
    }

    /// Class probabilities, one column per class in [`classes`](Self::classes) order
    /// (`predict_proba`; two columns `[1 − p, p]` for a binary problem).
    pub fn predict_proba<D: Data<Elem = F>>(
        &self,
        x: &ArrayBase<D, Ix2>,
    ) -> Result<Array2<F>, MlpError> {
        let expected = self.network.inputs();
        if x.ncols() != expected {
            return Err(MlpError::FeatureMismatch {
                expected,
                got: x.ncols(),
            });
        }
        let out = self.network.predict(x.view());
        Ok(match self.network.head {
            Head::Logistic => {
                let mut both = Array2::zeros((out.nrows(), 2));
                for (mut row, p) in both.rows_mut().into_iter().zip(out.column(0)) {
                    row[0] = F::one() - *p;
                    row[1] = *p;
                }
                both
            }
            _ => out,
        })
    }

    /// The most probable class of each row, or an error when the width is wrong.
    pub fn try_predict<D: Data<Elem = F>>(
        &self,
        x: &ArrayBase<D, Ix2>,
    ) -> Result<Array1<usize>, MlpError> {
        let proba = self.predict_proba(x)?;
        Ok(proba
            .rows()
            .into_iter()
            .map(|row| self.classes[argmax(row.iter().copied())])
            .collect())
    }

    /// Mean accuracy on `x` against `y` (scikit-learn's `score`).
    pub fn score<D: Data<Elem = F>>(
        &self,
        x: &ArrayBase<D, Ix2>,
        y: &[usize],
    ) -> Result<F, MlpError> {
        let predicted = self.try_predict(x)?;
        let correct = predicted.iter().zip(y).filter(|(a, b)| a == b).count();
        Ok(F::cast(correct) / F::cast(y.len().max(1)))
    }
}

fn argmax<F: Float>(values: impl Iterator<Item = F>) -> usize {
    let mut best = (0, F::neg_infinity());
    for (index, v) in values.enumerate() {
        if v > best.1 {
            best = (index, v);
        }
    }
    best.0
}

/// Predicts the class of each row.
///
/// # Panics
///
/// When `x` has another width than the training records: linfa's `Predict` cannot return an
/// error. [`MlpClassifier::try_predict`] returns it instead.
impl<F: Float, D: Data<Elem = F>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>>
    for MlpClassifier<F>
{
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
        match self.try_predict(x) {
            Ok(predicted) if predicted.len() == y.len() => y.assign(&predicted),
            Ok(predicted) => panic!(
                "target array has {} rows for {} records",
                y.len(),
                predicted.len()
            ),
            Err(error) => panic!("{error}"),
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}

impl<F: Float, D: Data<Elem = F>, T: AsSingleTargets<Elem = usize>>
    Fit<ArrayBase<D, Ix2>, T, MlpError> for MlpClassifierValidParams<F>
{
    type Object = MlpClassifier<F>;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<Self::Object, MlpError> {
        fit(
            self,
            None,
            dataset.records().view(),
            dataset.as_single_targets(),
        )
    }
}

/// Continues from `model` when `warm_start` is set (scikit-learn's `warm_start=True` refit);
/// otherwise, or with `None`, fits from scratch like [`Fit`].
impl<'a, F: Float, D: Data<Elem = F> + 'a, T: AsSingleTargets<Elem = usize> + 'a>
    FitWith<'a, ArrayBase<D, Ix2>, T, MlpError> for MlpClassifierValidParams<F>
{
    type ObjectIn = Option<MlpClassifier<F>>;
    type ObjectOut = MlpClassifier<F>;

    fn fit_with(
        &self,
        model: Self::ObjectIn,
        dataset: &'a DatasetBase<ArrayBase<D, Ix2>, T>,
    ) -> Result<Self::ObjectOut, MlpError> {
        let model = model.filter(|_| self.warm_start);
        fit(
            self,
            model,
            dataset.records().view(),
            dataset.as_single_targets(),
        )
    }
}

/// scikit-learn's `_init_coef`: weights and biases from U(±√(factor/(fan_in+fan_out))), factor
/// 6, or 2 for the logistic activation; the weights of a layer are drawn before its biases.
pub(crate) fn glorot<F: Float>(
    fan_in: usize,
    fan_out: usize,
    logistic: bool,
    rng: &mut Rng,
) -> Dense<F> {
    let factor = if logistic { 2.0 } else { 6.0 };
    let bound = (factor / (fan_in + fan_out) as f64).sqrt();
    let mut draw = || F::cast(rng.uniform_in(-bound, bound));
    let weight = Array2::from_shape_simple_fn((fan_in, fan_out), &mut draw);
    let bias = Array1::from_shape_simple_fn(fan_out, &mut draw);
    Dense {
        weight,
        bias,
        activations: Vec::new(),
    }
}

fn initialize<F: Float>(
    params: &MlpClassifierValidParams<F>,
    features: usize,
    outputs: usize,
    head: Head,
    rng: &mut Rng,
) -> Mlp<F> {
    let mut units = vec![features];
    units.extend(&params.hidden_layer_sizes);
    units.push(outputs);
    let logistic = params.activation == Activation::Logistic;
    let last = units.len() - 2;
    let layers = (0..units.len() - 1)
        .map(|i| {
            let mut layer = glorot(units[i], units[i + 1], logistic, rng);
            if i < last && params.activation != Activation::Identity {
                layer.activations.push(params.activation);
            }
            layer
        })
        .collect();
    Mlp { layers, head }
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x5eed);
    hasher.finish()
}

/// Encodes class indices as scikit-learn's `LabelBinarizer` does: one 0/1 column for two
/// classes, one-hot rows otherwise.
fn encode<F: Float>(indices: &[usize], classes: usize) -> Array2<F> {
    let width = if classes == 2 { 1 } else { classes };
    let mut targets = Array2::zeros((indices.len(), width));
    for (mut row, &class) in targets.rows_mut().into_iter().zip(indices) {
        if classes == 2 {
            row[0] = F::cast(class);
        } else {
            row[class] = F::one();
        }
    }
    targets
}

fn fit<F: Float>(
    params: &MlpClassifierValidParams<F>,
    previous: Option<MlpClassifier<F>>,
    x: ArrayView2<F>,
    y: ndarray::ArrayView1<usize>,
) -> Result<MlpClassifier<F>, MlpError> {
    let n = x.nrows();
    if n == 0 {
        return Err(MlpError::EmptyDataset);
    }
    if y.len() != n {
        return Err(MlpError::LengthMismatch {
            records: n,
            targets: y.len(),
        });
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(MlpError::NonFinite);
    }
    let classes: Vec<usize> = y
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if classes.len() < 2 {
        return Err(MlpError::TooFewClasses(classes.len()));
    }
    let indices: Vec<usize> = y
        .iter()
        .map(|label| classes.binary_search(label).unwrap_or(0))
        .collect();
    let targets = encode::<F>(&indices, classes.len());
    let head = if classes.len() == 2 {
        Head::Logistic
    } else {
        Head::Softmax
    };
    let mut rng = Rng::new(params.random_state.unwrap_or_else(random_seed));
    let mut model = match previous {
        Some(model) => {
            if model.classes != classes {
                return Err(MlpError::ClassMismatch {
                    expected: model.classes,
                    got: classes,
                });
            }
            if model.network.inputs() != x.ncols() {
                return Err(MlpError::FeatureMismatch {
                    expected: model.network.inputs(),
                    got: x.ncols(),
                });
            }
            model
        }
        None => MlpClassifier {
            network: initialize(params, x.ncols(), targets.ncols(), head, &mut rng),
            classes,
            n_iter: 0,
            t: 0,
            loss: F::zero(),
            loss_curve: Vec::new(),
            best_loss: None,
            validation_scores: Vec::new(),
            best_validation_score: None,
            no_improvement_count: 0,
            learning_rate: None,
        },
    };
    match params.solver {
        Solver::Lbfgs => {
            let outcome = lbfgs(
                &mut model.network,
                x.view(),
                targets.view(),
                params.alpha,
                params.max_iter,
                params.max_fun,
                params.tol.to_f64().unwrap_or(0.0),
            )?;
            if params.verbose {
                println!(
                    "L-BFGS: {} iterations, {} loss evaluations, loss = {:.8}",
                    outcome.iterations, outcome.evaluations, outcome.loss
                );
            }
            model.n_iter = outcome.iterations;
            model.loss = F::cast(outcome.loss);
        }
        Solver::Sgd | Solver::Adam => {
            fit_stochastic(params, &mut model, x, &indices, targets.view(), &mut rng)?;
        }
    }
    Ok(model)
}

/// scikit-learn's `_fit_stochastic`.
fn fit_stochastic<F: Float>(
    params: &MlpClassifierValidParams<F>,
    model: &mut MlpClassifier<F>,
    x: ArrayView2<F>,
    indices: &[usize],
    targets: ArrayView2<F>,
    rng: &mut Rng,
) -> Result<(), MlpError> {
    let mut optimizer = match params.solver {
        Solver::Sgd => Stochastic::Sgd(SklearnSgd::new(
            params.learning_rate_init,
            params.learning_rate,
            params.momentum,
            params.nesterovs_momentum,
            params.power_t,
        )),
        _ => Stochastic::Adam(SklearnAdam::new(
            params.learning_rate_init,
            params.beta_1,
            params.beta_2,
            params.epsilon,
        )),
    };
    let early_stopping = params.early_stopping;
    // The training rows, and with early stopping the validation rows (their class indices).
    let mut train_rows: Vec<usize> = (0..x.nrows()).collect();
    let mut validation: Option<(Array2<F>, Vec<usize>)> = None;
    if early_stopping {
        let fraction = params.validation_fraction.to_f64().unwrap_or(0.0);
        let n = x.nrows();
        let n_val = (fraction * n as f64).ceil() as usize;
        if n_val == 0 || n_val >= n {
            return Err(MlpError::EmptySplit {
                fraction,
                samples: n,
            });
        }
        rng.shuffle(&mut train_rows);
        let val_rows = train_rows.split_off(n - n_val);
        let labels = val_rows.iter().map(|&r| indices[r]).collect();
        validation = Some((x.select(Axis(0), &val_rows), labels));
        if model.best_validation_score.is_none() {
            model.best_validation_score = Some(F::neg_infinity());
        }
        model.best_loss = None;
    } else if model.best_loss.is_none() {
        model.best_loss = Some(F::infinity());
    }
    let n = train_rows.len();
    let batch_size = params.batch_size.unwrap_or(200).clamp(1, n);
    let mut best_network = model.network.clone();
    model.n_iter = 0;
    for _ in 0..params.max_iter {
        if params.shuffle {
            rng.shuffle(&mut train_rows);
        }
        let mut accumulated = 0.0f64;
        for rows in train_rows.chunks(batch_size) {
            let xb = x.select(Axis(0), rows);
            let yb = targets.select(Axis(0), rows);
            let (loss, grads) =
                penalized_loss_and_gradients(&model.network, xb.view(), yb.view(), params.alpha);
            accumulated += loss.to_f64().unwrap_or(f64::NAN) * rows.len() as f64;
            optimizer.update_params(&mut model.network, &grads);
        }
        model.n_iter += 1;
        model.loss = F::cast(accumulated / n as f64);
        model.t += n;
        model.loss_curve.push(model.loss);
        if params.verbose {
            println!("Iteration {}, loss = {:.8}", model.n_iter, model.loss);
        }
        // _update_no_improvement_count
        if let Some((xv, yv)) = &validation {
            let score = accuracy(&model.network, xv.view(), yv);
            model.validation_scores.push(score);
            if params.verbose {
                println!("Validation score: {score}");
            }
            let best = model.best_validation_score.unwrap_or(F::neg_infinity());
            if score < best + params.tol {
                model.no_improvement_count += 1;
            } else {
                model.no_improvement_count = 0;
            }
            if score > best {
                model.best_validation_score = Some(score);
                best_network = model.network.clone();
            }
        } else {
            let best = model.best_loss.unwrap_or(F::infinity());
            if model.loss > best - params.tol {
                model.no_improvement_count += 1;
            } else {
                model.no_improvement_count = 0;
            }
            if model.loss < best {
                model.best_loss = Some(model.loss);
            }
        }
        optimizer.iteration_ends(model.t);
        if model.no_improvement_count > params.n_iter_no_change {
            if params.verbose {
                let what = if early_stopping {
                    "Validation score"
                } else {
                    "Training loss"
                };
                println!(
                    "{what} did not improve more than tol={} for {} consecutive epochs.",
                    params.tol, params.n_iter_no_change
                );
            }
            if optimizer.trigger_stopping(params.verbose) {
                break;
            }
            model.no_improvement_count = 0;
        }
        if !model.loss.is_finite() {
            break;
        }
    }
    if let Stochastic::Sgd(sgd) = &optimizer {
        model.learning_rate = Some(sgd.learning_rate);
    }
    if early_stopping {
        model.network = best_network;
    }
    Ok(())
}

fn accuracy<F: Float>(network: &Mlp<F>, x: ArrayView2<F>, labels: &[usize]) -> F {
    let out = network.predict(x);
    let correct = out
        .rows()
        .into_iter()
        .zip(labels)
        .filter(|(row, label)| {
            let predicted = if network.head == Head::Logistic {
                usize::from(row[0] > F::cast(0.5))
            } else {
                argmax(row.iter().copied())
            };
            predicted == **label
        })
        .count();
    F::cast(correct) / F::cast(labels.len().max(1))
}
