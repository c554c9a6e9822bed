//! The one multi-layer perceptron of this crate: forward pass, data loss and its gradient.
//!
//! Both the scikit-learn style estimator ([`crate::MlpClassifier`]) and the nnbench trainer
//! ([`crate::LinfaBackend`]) run this code; what differs between them (the L2 term, the
//! optimizer, the schedule) is applied to the [`Gradients`] it returns.

use linfa::Float;
use ndarray::{Array1, Array2, ArrayView2, ArrayViewD, ArrayViewMutD, Axis, Zip};

/// Activation of the hidden layers, scikit-learn's names (`activation=` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `f(x) = x`.
    Identity,
    /// The logistic sigmoid `f(x) = 1 / (1 + e^−x)`.
    Logistic,
    /// `f(x) = tanh(x)`.
    Tanh,
    /// `f(x) = max(0, x)` (scikit-learn's default).
    Relu,
}

impl Activation {
    /// scikit-learn's name of the activation.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Logistic => "logistic",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
        }
    }

    pub(crate) fn apply<F: Float>(self, z: &mut Array2<F>) {
        match self {
            Activation::Identity => {}
            Activation::Logistic => z.mapv_inplace(logistic),
            Activation::Tanh => z.mapv_inplace(|v| v.tanh()),
            Activation::Relu => z.mapv_inplace(|v| if v > F::zero() { v } else { F::zero() }),
        }
    }

    /// `delta ← delta ⊙ f′`, with f′ computed from the activation's output as scikit-learn does.
    fn backprop<F: Float>(self, output: &Array2<F>, delta: &mut Array2<F>) {
        let one = F::one();
        match self {
            Activation::Identity => {}
            Activation::Logistic => {
                Zip::from(delta)
                    .and(output)
                    .for_each(|d, &o| *d = *d * o * (one - o));
            }
            Activation::Tanh => {
                Zip::from(delta)
                    .and(output)
                    .for_each(|d, &o| *d *= one - o * o);
            }
            Activation::Relu => Zip::from(delta).and(output).for_each(|d, &o| {
                if o <= F::zero() {
                    *d = F::zero();
                }
            }),
        }
    }
}

pub(crate) fn logistic<F: Float>(v: F) -> F {
    F::one() / (F::one() + (-v).exp())
}

/// Output function and loss, which go together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Head {
    /// Softmax and cross-entropy against one-hot rows (scikit-learn, more than two classes).
    Softmax,
    /// One logistic unit and binary cross-entropy against 0/1 (scikit-learn, two classes).
    Logistic,
    /// Identity output and mean over rows of Σ ½(z − y)² (scikit-learn's regressor output).
    Identity,
}

impl Head {
    /// Turns raw outputs into the head's predictions, in place.
    pub(crate) fn apply<F: Float>(self, z: &mut Array2<F>) {
        match self {
            Head::Softmax => z.rows_mut().into_iter().for_each(|mut row| {
                let max = row.fold(F::neg_infinity(), |m, &v| m.max(v));
                row.mapv_inplace(|v| (v - max).exp());
                let sum = row.sum();
                row.mapv_inplace(|v| v / sum);
            }),
            Head::Logistic => z.mapv_inplace(logistic),
            Head::Identity => {}
        }
    }

    /// Mean loss over the rows, and d(mean loss)/dz.
    fn loss_and_delta<F: Float>(self, z: &Array2<F>, targets: ArrayView2<F>) -> (F, Array2<F>) {
        let rows = z.nrows().max(1);
        let scale = F::one() / F::cast(rows);
        let mut delta = z.clone();
        let mut total = 0.0f64;
        match self {
            Head::Softmax => {
                for (mut row, target) in delta.rows_mut().into_iter().zip(targets.rows()) {
                    let max = row.fold(F::neg_infinity(), |m, &v| m.max(v));
                    let log_sum = row.fold(F::zero(), |s, &v| s + (v - max).exp()).ln() + max;
                    Zip::from(&mut row).and(&target).for_each(|v, &t| {
                        let log_p = *v - log_sum;
                        if t != F::zero() {
                            total -= (t * log_p).to_f64().unwrap_or(f64::NAN);
                        }
                        *v = (log_p.exp() - t) * scale;
                    });
                }
            }
            Head::Logistic => {
                Zip::from(&mut delta).and(&targets).for_each(|v, &t| {
                    // max(z, 0) − z·t + ln(1 + e^−|z|): the loss without overflow for any z.
                    let loss = v.max(F::zero()) - *v * t + (-v.abs()).exp().ln_1p();
                    total += loss.to_f64().unwrap_or(f64::NAN);
                    *v = (logistic(*v) - t) * scale;
                });
            }
            Head::Identity => {
                Zip::from(&mut delta).and(&targets).for_each(|v, &t| {
                    let error = *v - t;
                    total += (F::cast(0.5) * error * error).to_f64().unwrap_or(f64::NAN);
                    *v = error * scale;
                });
            }
        }
        (F::cast(total / rows as f64), delta)
    }
}

/// A dense layer `y = f_k(…f_1(x·W + b))`: weights `[fan_in, fan_out]`, then its activations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dense<F> {
    pub weight: Array2<F>,
    pub bias: Array1<F>,
    /// Applied in order; empty for the output layer (the head follows it).
    pub activations: Vec<Activation>,
}

/// The network: dense layers and the head on top of the last one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mlp<F> {
    pub layers: Vec<Dense<F>>,
    pub head: Head,
}

/// d(mean data loss)/d(parameters), one array per weight and bias.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Gradients<F> {
    pub weights: Vec<Array2<F>>,
    pub biases: Vec<Array1<F>>,
}

impl<F: Float> Gradients<F> {
    /// Every gradient array, weights first then biases (scikit-learn's `coefs + intercepts`).
    pub(crate) fn arrays(&self) -> Vec<ArrayViewD<'_, F>> {
        let weights = self.weights.iter().map(|w| w.view().into_dyn());
        weights
            .chain(self.biases.iter().map(|b| b.view().into_dyn()))
            .collect()
    }

    pub(crate) fn arrays_mut(&mut self) -> Vec<ArrayViewMutD<'_, F>> {
        let weights = self.weights.iter_mut().map(|w| w.view_mut().into_dyn());
        let biases = self.biases.iter_mut().map(|b| b.view_mut().into_dyn());
        weights.chain(biases).collect()
    }
}

impl<F: Float> Mlp<F> {
    pub(crate) fn inputs(&self) -> usize {
        self.layers.first().map_or(0, |layer| layer.weight.nrows())
    }

    /// Every parameter array, in the order of [`Gradients::arrays`].
    pub(crate) fn params_mut(&mut self) -> Vec<ArrayViewMutD<'_, F>> {
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        for layer in &mut self.layers {
            weights.push(layer.weight.view_mut().into_dyn());
            biases.push(layer.bias.view_mut().into_dyn());
        }
        weights.extend(biases);
        weights
    }

    /// The head's output (probabilities for softmax and logistic heads).
    pub(crate) fn predict(&self, x: ArrayView2<F>) -> Array2<F> {
        let mut a = x.to_owned();
        for layer in &self.layers {
            a = a.dot(&layer.weight) + &layer.bias;
            for activation in &layer.activations {
                activation.apply(&mut a);
            }
        }
        self.head.apply(&mut a);
        a
    }

    /// Forward and backward on one batch: the mean data loss (no penalty) and its gradient.
    pub(crate) fn loss_and_gradients(
        &self,
        x: ArrayView2<F>,
        targets: ArrayView2<F>,
    ) -> (F, Gradients<F>) {
        // stages[i][0] is the pre-activation of layer i, stages[i][k] the output of its k-th
        // activation; the last one is the input of layer i + 1.
        let mut stages: Vec<Vec<Array2<F>>> = Vec::with_capacity(self.layers.len());
        for (index, layer) in self.layers.iter().enumerate() {
            let outputs = {
                let input = match index {
                    0 => x.view(),
                    _ => stages[index - 1][stages[index - 1].len() - 1].view(),
                };
                let mut outputs = vec![input.dot(&layer.weight) + &layer.bias];
                for activation in &layer.activations {
                    let mut next = outputs[outputs.len() - 1].clone();
                    activation.apply(&mut next);
                    outputs.push(next);
                }
                outputs
            };
            stages.push(outputs);
        }
        let Some(out) = stages.last().and_then(|s| s.last()) else {
            return (F::zero(), self.zero_gradients());
        };
        let (loss, mut delta) = self.head.loss_and_delta(out, targets);
        let n = self.layers.len();
        let mut weights = Vec::with_capacity(n);
        let mut biases = Vec::with_capacity(n);
        for index in (0..n).rev() {
            let layer = &self.layers[index];
            for (k, activation) in layer.activations.iter().enumerate().rev() {
                activation.backprop(&stages[index][k + 1], &mut delta);
            }
            let input = match index {
                0 => x.view(),
                _ => stages[index - 1][stages[index - 1].len() - 1].view(),
            };
            weights.push(input.t().dot(&delta));
            biases.push(delta.sum_axis(Axis(0)));
            if index > 0 {
                delta = delta.dot(&layer.weight.t());
            }
        }
        weights.reverse();
        biases.reverse();
        (loss, Gradients { weights, biases })
    }

    pub(crate) fn zero_gradients(&self) -> Gradients<F> {
        Gradients {
            weights: self
                .layers
                .iter()
                .map(|l| Array2::zeros(l.weight.raw_dim()))
                .collect(),
            biases: self
                .layers
                .iter()
                .map(|l| Array1::zeros(l.bias.raw_dim()))
                .collect(),
        }
    }

    /// ‖W‖² summed over every weight matrix (biases excluded).
    pub(crate) fn squared_weight_norm(&self) -> F {
        self.layers
            .iter()
            .map(|l| l.weight.iter().fold(F::zero(), |s, &w| s + w * w))
            .fold(F::zero(), |a, b| a + b)
    }
}
