//! The `linear` backend: linfa-logistic's multinomial logistic regression as the reference
//! linear classifier beside the networks of an MNIST scenario (LeCun's table: ≈12 % error for
//! a linear classifier, ≈8 % with the usual L2 penalty and more iterations).
//!
//! It is a reference model, not the scenario's network: it ignores the hidden layers, the
//! initial weights and the optimizer, and is fitted by linfa-logistic's own L-BFGS (argmin)
//! on the whole training split. The harness still owns the data, the epochs, the metrics and
//! the timing: it hands the whole split over once per epoch
//! ([`Backend::is_reference_model`]), and each epoch is one round of
//! [`ITERATIONS_PER_EPOCH`] L-BFGS iterations warm-started from the previous round, so the
//! progress of a long fit shows epoch by epoch. (linfa-logistic has no per-iteration callback;
//! restarting drops the L-BFGS memory, so rounds take a few more iterations in all than one
//! uninterrupted fit.) The scenario's `regularization.l2` is the penalty, on the mean loss as
//! everywhere in nnbench: linfa-logistic's `alpha` (on the summed loss) is `l2 × rows`.

use linfa::prelude::*;
use linfa_logistic::{MultiFittedLogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2, ArrayView2, Axis, concatenate};
use nnbench_core::capability::REGULARIZERS;
use nnbench_core::spec::{OutputHead, RunSpec};
use nnbench_core::{
    Backend, BackendError, Batch, Capability, Category, StepStats, Support, Trainer, TrainerSetup,
    Unsupported, Weights,
};

/// L-BFGS iterations in one epoch of the linear baseline.
pub const ITERATIONS_PER_EPOCH: u64 = 10;

/// linfa-logistic's version.
pub const LINFA_LOGISTIC_VERSION: &str = "0.8.1";

/// The reference linear classifier (see the module documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct LinearBackend;

const SOFTMAX_ONLY: &str =
    "the linear baseline is a multinomial logistic regression: softmax with cross-entropy only";
const L2_ONLY: &str = "linfa-logistic has only the L2 penalty";

fn framework_error(message: impl ToString) -> BackendError {
    BackendError::Framework {
        framework: "linfa-logistic",
        message: message.to_string(),
    }
}

impl Backend for LinearBackend {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn framework_version(&self) -> String {
        format!(
            "linfa-logistic {LINFA_LOGISTIC_VERSION} (multinomial logistic regression, \
             L-BFGS, f64, {ITERATIONS_PER_EPOCH} iterations per epoch)"
        )
    }

    fn is_reference_model(&self) -> bool {
        true
    }

    /// Only what this model uses: its head and its penalty. Layers, activations, initial
    /// weights and optimizers of a scenario are not this model's and are not listed.
    fn capabilities(&self) -> Vec<Capability> {
        let cap = Capability::new;
        let mut table: Vec<Capability> = OutputHead::ALL
            .iter()
            .map(|&head| {
                let support = match head {
                    OutputHead::SoftmaxCrossEntropy => Support::Framework,
                    _ => Support::Unsupported(SOFTMAX_ONLY.to_string()),
                };
                cap(Category::Head, head.name(), support)
            })
            .collect();
        table.extend(REGULARIZERS.iter().map(|&name| {
            let support = match name {
                "l2" => Support::Framework,
                _ => Support::Unsupported(L2_ONLY.to_string()),
            };
            cap(Category::Regularizer, name, support)
        }));
        table
    }

    /// Only the head and the penalties matter: the rest of the scenario is not this model's.
    fn check(&self, run: &RunSpec) -> Result<(), Unsupported> {
        let unsupported = |category, feature: &str, reason: &str| {
            Err(Unsupported {
                category,
                feature: feature.to_string(),
                reason: reason.to_string(),
            })
        };
        if run.model.output.head != OutputHead::SoftmaxCrossEntropy {
            return unsupported("head", run.model.output.head.name(), SOFTMAX_ONLY);
        }
        if let Some(layer) = run.model.layers.iter().find(|layer| layer.is_spatial()) {
            return unsupported(
                "layer",
                layer.type_name(),
                "the linear baseline is one dense layer on the flat pixels: it has no \
                 convolution or pooling to compare (it runs beside the dense networks)",
            );
        }
        let regularization = &run.regularization;
        if regularization.l1 > 0.0 {
            return unsupported(
                "regularizer",
                "l1",
                "linfa-logistic has only the L2 penalty",
            );
        }
        if regularization.clip_value.is_some() || regularization.clip_norm.is_some() {
            return unsupported(
                "regularizer",
                "clipping",
                "L-BFGS takes no clipped gradient steps",
            );
        }
        Ok(())
    }

    fn build(&self, setup: &TrainerSetup<'_>) -> Result<Box<dyn Trainer>, BackendError> {
        self.check(setup.run)?;
        Ok(Box::new(LinearTrainer {
            features: setup.network.inputs,
            classes: setup.network.outputs,
            l2: setup.run.regularization.l2,
            params: None,
            model: None,
        }))
    }
}

/// One fit in progress: the parameters of the last round, warm-starting the next.
pub struct LinearTrainer {
    features: usize,
    classes: usize,
    l2: f64,
    /// `(features + 1) × fitted classes`, the intercept as the last row (what
    /// `initial_params` takes).
    params: Option<Array2<f64>>,
    model: Option<MultiFittedLogisticRegression<f64, usize>>,
}

fn as_f64(inputs: &[f32], rows: usize, features: usize) -> Result<Array2<f64>, BackendError> {
    let values = inputs[..rows * features]
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    Array2::from_shape_vec((rows, features), values).map_err(framework_error)
}

impl LinearTrainer {
    /// `rows × self.classes` probabilities, zero for a class the fit never saw.
    fn probabilities(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, BackendError> {
        let model = self.model.as_ref().ok_or_else(|| {
            framework_error("predict before the first epoch: the model is not fitted yet")
        })?;
        let fitted = model.predict_probabilities(&x);
        let mut all = Array2::zeros((x.nrows(), self.classes));
        for (column, &class) in model.classes().iter().enumerate() {
            if class < self.classes {
                all.column_mut(class).assign(&fitted.column(column));
            }
        }
        Ok(all)
    }
}

impl Trainer for LinearTrainer {
    /// One round of L-BFGS on `batch`, the whole training split.
    fn train_batch(
        &mut self,
        batch: &Batch<'_>,
        _learning_rate: f32,
    ) -> Result<StepStats, BackendError> {
        if batch.features != self.features || batch.labels.len() != batch.rows {
            return Err(framework_error(format!(
                "batch of {} rows × {} features with {} labels, expected {} features",
                batch.rows,
                batch.features,
                batch.labels.len(),
                self.features
            )));
        }
        if let Some(&label) = batch.labels.iter().find(|&&l| l as usize >= self.classes) {
            return Err(framework_error(format!(
                "label {label} outside the {} classes",
                self.classes
            )));
        }
        let x = as_f64(batch.inputs, batch.rows, batch.features)?;
        let y: Array1<usize> = batch.labels.iter().map(|&l| l as usize).collect();
        let dataset = Dataset::new(x, y);
        let mut params = MultiLogisticRegression::default()
            .alpha(self.l2 * batch.rows as f64)
            .max_iterations(ITERATIONS_PER_EPOCH);
        if let Some(previous) = self.params.take() {
            params = params.initial_params(previous);
        }
        let model = params.fit(&dataset).map_err(framework_error)?;
        let intercept = model.intercept().view().insert_axis(Axis(0));
        self.params = Some(
            concatenate(Axis(0), &[model.params().view(), intercept]).map_err(framework_error)?,
        );
        self.model = Some(model);
        let probabilities = self.probabilities(dataset.records().view())?;
        let loss = batch
            .labels
            .iter()
            .enumerate()
            .map(|(row, &label)| -probabilities[[row, label as usize]].max(1e-12).ln())
            .sum::<f64>()
            / batch.rows.max(1) as f64;
        Ok(StepStats {
            loss: loss as f32,
            grad_norms: None,
        })
    }

    fn predict(&mut self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError> {
        if inputs.len() != rows * self.features {
            return Err(framework_error(format!(
                "{} inputs for {rows} rows of {} features",
                inputs.len(),
                self.features
            )));
        }
        let x = as_f64(inputs, rows, self.features)?;
        Ok(self
            .probabilities(x.view())?
            .iter()
            .map(|&p| p as f32)
            .collect())
    }

    /// The fitted weights and intercepts in the canonical layout of a network without hidden
    /// layers (`0.weight` `[features, classes]`, `0.bias`).
    fn weights(&self) -> Result<Weights, BackendError> {
        let model = self
            .model
            .as_ref()
            .ok_or_else(|| framework_error("weights before the first epoch"))?;
        let mut weight = vec![0.0f32; self.features * self.classes];
        let mut bias = vec![0.0f32; self.classes];
        for (column, &class) in model.classes().iter().enumerate() {
            for feature in 0..self.features {
                weight[feature * self.classes + class] = model.params()[[feature, column]] as f32;
            }
            bias[class] = model.intercept()[column] as f32;
        }
        Ok(Weights {
            tensors: vec![
                nnbench_core::weights::Tensor {
                    name: "0.weight".into(),
                    shape: vec![self.features, self.classes],
                    data: weight,
                },
                nnbench_core::weights::Tensor {
                    name: "0.bias".into(),
                    shape: vec![self.classes],
                    data: bias,
                },
            ],
        })
    }
}
