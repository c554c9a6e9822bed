//! The one training loop every backend runs through.
//!
//! It owns what must be identical for a fair comparison: the seeded batch order and input
//! noise, the initial weights, the learning rate of each step, evaluation and metrics, early
//! stopping, divergence detection and timing. Epoch time covers gathering each batch (the data
//! conversion a framework needs) and the training steps; evaluation is timed apart.
//! A backend that panics or fails ends its own unit as `failed`, never the whole run.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::backend::{
    Backend, BackendError, Batch, StepStats, Trainer, TrainerSetup, TrainingSplit,
};
use crate::batch_order::BatchOrder;
use crate::data::{Dataset, Split};
use crate::init::initial_weights;
use crate::metrics::{self, Score};
use crate::network::Network;
use crate::rng::Rng;
use crate::schedule::LearningRate;
use crate::spec::{EarlyStopping, Monitor, RunSpec};
use crate::weights::{Tensor, Weights};

/// How a unit (one variant × backend × seed) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// The loss became NaN, infinite, or exceeded `training.divergence_loss`.
    Diverged,
    /// The backend cannot express the scenario; the reason says what is missing.
    Unsupported,
    /// This binary was built without the backend; the reason says how to build it.
    NotBuilt,
    /// The backend returned an error or panicked.
    Failed,
    /// The unit ran past its time limit.
    Timeout,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Diverged => "diverged",
            Status::Unsupported => "unsupported",
            Status::NotBuilt => "not_built",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [
            Status::Ok,
            Status::Diverged,
            Status::Unsupported,
            Status::NotBuilt,
            Status::Failed,
            Status::Timeout,
        ]
        .into_iter()
        .find(|status| status.name() == text)
    }
}

/// One epoch's measurements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochRecord {
    /// From 1.
    pub epoch: usize,
    pub lr: f64,
    /// Scored by the harness on the whole training split after the epoch, in evaluation mode.
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    /// Mean of the losses the backend reported for the epoch's steps (training mode).
    pub step_loss: f64,
    /// Seconds spent gathering batches and training, evaluation excluded.
    pub epoch_s: f64,
    /// Seconds spent evaluating after the epoch.
    pub eval_s: f64,
    pub samples_per_s: f64,
    /// Mean over the epoch's steps of each dense layer's weight-gradient norm, input side first.
    pub grad_norms: Option<Vec<f64>>,
    /// After the epoch, each hidden dense layer's share of dead units, input side first
    /// ([`crate::dead_units`]; when the scenario records them, never for a reference model).
    pub dead_units: Option<Vec<f64>>,
}

/// The result of one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitOutcome {
    pub status: Status,
    pub reason: Option<String>,
    pub epochs: Vec<EpochRecord>,
    pub test: Option<Score>,
    pub stopped_early: bool,
    /// The trained weights, when the request asked to keep them.
    #[serde(skip)]
    pub final_weights: Option<Weights>,
    /// The trained network's outputs on [`UnitRequest::probe`] (`rows × outputs`, row-major),
    /// when the request gave inputs to probe and the unit trained.
    #[serde(skip)]
    pub probe_outputs: Option<Vec<f32>>,
    /// Each parameter's gradient of the unit's single step, `(w_before − w_after) / η`, in the
    /// layout of the weights (when the scenario sets `training.record_gradients`).
    #[serde(skip)]
    pub gradients: Option<Weights>,
}

impl UnitOutcome {
    /// Ends the outcome early, keeping the epochs recorded so far.
    fn halted(mut self, status: Status, reason: String) -> UnitOutcome {
        self.status = status;
        self.reason = Some(reason);
        self
    }

    pub fn without_training(status: Status, reason: impl Into<String>) -> UnitOutcome {
        UnitOutcome {
            status,
            reason: Some(reason.into()),
            epochs: Vec::new(),
            test: None,
            stopped_early: false,
            final_weights: None,
            probe_outputs: None,
            gradients: None,
        }
    }
}

/// What to run: one variant on one dataset with one seed.
#[derive(Debug, Clone, Copy)]
pub struct UnitRequest<'a> {
    pub run: &'a RunSpec,
    pub data: &'a Dataset,
    pub seed: u64,
    /// Stop after this many training steps (the parity check's short runs).
    pub max_steps: Option<usize>,
    /// Give up with `timeout` once a step ends past this much wall time.
    pub time_limit: Option<Duration>,
    /// Keep the trained weights in the outcome.
    pub keep_weights: bool,
    /// Inputs (`rows × features`, row-major) to predict once training ends, e.g. a grid
    /// over a 2-D input space for decision-boundary plots; returned in
    /// [`UnitOutcome::probe_outputs`].
    pub probe: Option<&'a [f32]>,
}

impl<'a> UnitRequest<'a> {
    pub fn new(run: &'a RunSpec, data: &'a Dataset, seed: u64) -> UnitRequest<'a> {
        UnitRequest {
            run,
            data,
            seed,
            max_steps: None,
            time_limit: None,
            keep_weights: false,
            probe: None,
        }
    }
}

/// A training step as it happened, for observers (progress bars, parity checks).
#[derive(Debug, Clone, Copy)]
pub struct StepEvent {
    /// From 1.
    pub epoch: usize,
    /// From 1 within the epoch.
    pub step: usize,
    pub steps_per_epoch: usize,
    pub loss: f32,
    pub lr: f64,
}

/// Watches a unit as it trains. Every method has a default that does nothing.
/// `Send`: the unit may run on the backend's worker thread ([`Backend::with_threads`]).
pub trait Observer: Send {
    fn step_finished(&mut self, _event: &StepEvent) {}
    fn epoch_finished(&mut self, _record: &EpochRecord) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {}

/// Trains one unit. Never panics because of a backend: a panic becomes a `failed` outcome.
pub fn run_unit(
    backend: &dyn Backend,
    request: &UnitRequest<'_>,
    observer: &mut dyn Observer,
) -> UnitOutcome {
    if let Err(reason) = backend.availability() {
        return UnitOutcome::without_training(Status::NotBuilt, reason);
    }
    if let Err(unsupported) = backend.check(request.run) {
        return UnitOutcome::without_training(Status::Unsupported, unsupported.to_string());
    }
    let mut outcome = None;
    let trained = catch_unwind(AssertUnwindSafe(|| {
        backend.with_threads(request.run.threads, &mut || {
            outcome = Some(train(backend, request, observer));
        })
    }));
    match trained.map(|()| outcome) {
        Ok(Some(outcome)) => outcome,
        Ok(None) => UnitOutcome::without_training(
            Status::Failed,
            format!("{} did not run the unit it was given", backend.name()),
        ),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_string());
            UnitOutcome::without_training(
                Status::Failed,
                format!("{} panicked: {message}", backend.name()),
            )
        }
    }
}

/// Why training ended before its last epoch.
enum Halt {
    Diverged(String),
    Failed(String),
    Timeout(String),
    MaxSteps,
}

struct Loop<'a> {
    request: &'a UnitRequest<'a>,
    network: Network,
    trainer: Box<dyn Trainer>,
    train_targets: Vec<f32>,
    order: BatchOrder,
    batch_inputs: Vec<f32>,
    batch_labels: Vec<u32>,
    batch_targets: Vec<f32>,
    steps_done: usize,
    /// The weights the trainer started from, kept to read a step's gradient off them.
    init: Option<Weights>,
    started: Instant,
    /// The whole training split is one batch ([`Backend::is_reference_model`]).
    whole_split: bool,
    /// The trainer kept the training split: it gets row indices, not gathered batches.
    rows_only: bool,
    /// `training.input_noise`: its standard deviation and the unit's stream of noise.
    noise: Option<(f32, Rng)>,
}

fn train(
    backend: &dyn Backend,
    request: &UnitRequest<'_>,
    observer: &mut dyn Observer,
) -> UnitOutcome {
    let run = request.run;
    let data = request.data;
    let network = match Network::for_run(run, data.features, data.classes) {
        Ok(network) => network,
        Err(error) => {
            return UnitOutcome::without_training(Status::Failed, format!("model: {error}"));
        }
    };
    let init = initial_weights(&network, &run.init, request.seed);
    let setup = TrainerSetup {
        run,
        network: &network,
        init: init.as_ref(),
        seed: request.seed,
        threads: run.threads,
    };
    let fail = |error: BackendError| {
        UnitOutcome::without_training(Status::Failed, format!("{}: {error}", backend.name()))
    };
    let mut trainer = match backend.build(&setup) {
        Ok(trainer) => trainer,
        Err(error) => return fail(error),
    };
    let train_targets = metrics::encode_targets(&data.train.labels, network.outputs);
    let whole_split = backend.is_reference_model();
    let noise = (run.training.input_noise > 0.0).then(|| {
        (
            run.training.input_noise as f32,
            Rng::derive(request.seed, "input_noise"),
        )
    });
    // Offered before the first epoch's clock starts, as a framework's own script converts its
    // dataset once before its loop. Not with input noise: the noisy batches are drawn here, so
    // every backend gets gathered ones.
    let rows_only = !whole_split
        && noise.is_none()
        && match trainer.keep_training_split(&TrainingSplit {
            inputs: &data.train.inputs,
            rows: data.train.rows,
            features: data.features,
            labels: &data.train.labels,
            targets: &train_targets,
        }) {
            Ok(kept) => kept,
            Err(error) => return fail(error),
        };
    let mut state = Loop {
        request,
        train_targets,
        rows_only,
        network,
        trainer,
        order: BatchOrder::new(data.train.rows, request.seed, run.training.shuffle),
        batch_inputs: Vec::new(),
        batch_labels: Vec::new(),
        batch_targets: Vec::new(),
        steps_done: 0,
        init: init.filter(|_| run.training.record_gradients),
        started: Instant::now(),
        whole_split,
        noise,
    };
    state.run_epochs(backend.name(), observer)
}

impl Loop<'_> {
    fn run_epochs(&mut self, backend: &str, observer: &mut dyn Observer) -> UnitOutcome {
        let run = self.request.run;
        let mut schedule = LearningRate::new(run.optimizer.learning_rate, run.training.schedule);
        let mut stopper = run.training.early_stopping.map(EarlyStopper::new);
        let mut outcome = UnitOutcome {
            status: Status::Ok,
            reason: None,
            epochs: Vec::new(),
            test: None,
            stopped_early: false,
            final_weights: None,
            probe_outputs: None,
            gradients: None,
        };
        for epoch in 0..run.training.epochs {
            let lr = schedule.for_epoch(epoch, epoch * self.request.data.train.rows);
            let record = match self.epoch(epoch + 1, lr, observer) {
                Ok(record) => record,
                Err(Halt::MaxSteps) => break,
                Err(Halt::Diverged(reason)) => return outcome.halted(Status::Diverged, reason),
                Err(Halt::Timeout(reason)) => return outcome.halted(Status::Timeout, reason),
                Err(Halt::Failed(reason)) => {
                    return outcome.halted(Status::Failed, format!("{backend}: {reason}"));
                }
            };
            schedule.end_epoch(record.train_loss);
            let stop = stopper.as_mut().is_some_and(|s| s.should_stop(&record));
            observer.epoch_finished(&record);
            outcome.epochs.push(record);
            if stop {
                outcome.stopped_early = true;
                break;
            }
        }
        match self.score(&self.request.data.test) {
            Ok(test) if test.loss.is_finite() => outcome.test = Some(test),
            Ok(test) => {
                outcome.status = Status::Diverged;
                outcome.reason = Some(format!("test loss is {}", test.loss));
            }
            Err(reason) => {
                outcome.status = Status::Failed;
                outcome.reason = Some(format!("{backend}: {reason}"));
            }
        }
        if let Some(probe) = self.request.probe {
            let features = self.request.data.features.max(1);
            // A probe is an extra for plots: a backend that cannot predict it leaves it out.
            outcome.probe_outputs = self.trainer.predict(probe, probe.len() / features).ok();
        }
        if self.request.run.training.record_gradients && outcome.status == Status::Ok {
            match self.gradients(&outcome) {
                Ok(gradients) => outcome.gradients = Some(gradients),
                Err(reason) => {
                    outcome.status = Status::Failed;
                    outcome.reason = Some(format!("{backend}: {reason}"));
                }
            }
        }
        if self.request.keep_weights {
            match self.trainer.weights() {
                Ok(weights) => outcome.final_weights = Some(weights),
                Err(error) => {
                    outcome.status = Status::Failed;
                    outcome.reason = Some(format!("{backend}: exporting weights: {error}"));
                }
            }
        }
        outcome
    }

    /// The gradient of the one plain SGD step this unit took (the scenario check makes sure
    /// it is one and plain): w_after = w_before − η·g, so g = (w_before − w_after) / η.
    fn gradients(&self, outcome: &UnitOutcome) -> Result<Weights, String> {
        let before = self
            .init
            .as_ref()
            .ok_or("recording gradients needs weights the harness gives (not framework_default)")?;
        let lr = match (self.steps_done, outcome.epochs.first()) {
            (1, Some(first)) => first.lr,
            (steps, _) => return Err(format!("recording gradients needs one step; {steps} ran")),
        };
        let after = self
            .trainer
            .weights()
            .map_err(|error| format!("exporting weights: {error}"))?;
        let mut tensors = Vec::new();
        for tensor in &before.tensors {
            let trained = after
                .get(&tensor.name)
                .ok_or_else(|| format!("the exported weights lack tensor {}", tensor.name))?;
            let data = tensor
                .data
                .iter()
                .zip(&trained.data)
                .map(|(&w0, &w1)| ((f64::from(w0) - f64::from(w1)) / lr) as f32)
                .collect();
            tensors.push(Tensor {
                name: tensor.name.clone(),
                shape: tensor.shape.clone(),
                data,
            });
        }
        Ok(Weights { tensors })
    }

    fn epoch(
        &mut self,
        epoch: usize,
        lr: f64,
        observer: &mut dyn Observer,
    ) -> Result<EpochRecord, Halt> {
        let run = self.request.run;
        let train = &self.request.data.train;
        let features = self.request.data.features;
        let outputs = self.network.outputs;
        let batch_rows = if self.whole_split {
            train.rows.max(1)
        } else {
            run.training.batch.rows(train.rows).max(1)
        };
        let steps_per_epoch = train.rows.div_ceil(batch_rows);

        let started = Instant::now();
        let order = self.order.next_epoch();
        let mut sums = EpochSteps {
            epoch,
            steps_per_epoch,
            lr,
            divergence_loss: run.training.divergence_loss,
            time_limit: self.request.time_limit.map(|limit| (limit, self.started)),
            loss_sum: 0.0,
            grad_norm_sums: None,
            steps: 0,
        };
        // Steps sent ahead whose stats are not received yet (see `Trainer::rows_ahead`).
        let ahead = if self.rows_only {
            self.trainer.rows_ahead()
        } else {
            0
        };
        // (No allocation at all for a trainer that takes no steps ahead: a tiny network's
        // epoch is a few microseconds.)
        let mut in_flight: VecDeque<usize> = match ahead {
            0 => VecDeque::new(),
            _ => VecDeque::with_capacity(ahead + 1),
        };
        // The request's cap (parity runs) and the scenario's, whichever comes first.
        let max_steps = match (self.request.max_steps, run.training.max_steps) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let stepped = (|| {
            for (index, chunk) in order.chunks(batch_rows).enumerate() {
                if max_steps.is_some_and(|max| self.steps_done + in_flight.len() >= max) {
                    if sums.steps == 0 && in_flight.is_empty() {
                        return Err(Halt::MaxSteps);
                    }
                    break;
                }
                if ahead > 0 {
                    self.trainer
                        .send_rows(chunk, lr as f32)
                        .map_err(|error| Halt::Failed(error.to_string()))?;
                    in_flight.push_back(index);
                    if in_flight.len() > ahead {
                        let sent = in_flight.pop_front().expect("more than `ahead` in flight");
                        let stats = self
                            .trainer
                            .receive_step()
                            .map_err(|error| Halt::Failed(error.to_string()))?;
                        sums.account(sent, stats, &mut self.steps_done, observer)?;
                    }
                    continue;
                }
                let stats = if self.rows_only {
                    self.trainer.train_rows(chunk, lr as f32)
                } else {
                    gather(
                        chunk,
                        train,
                        features,
                        &self.train_targets,
                        outputs,
                        &mut self.batch_inputs,
                        &mut self.batch_labels,
                        &mut self.batch_targets,
                    );
                    if let Some((std, rng)) = &mut self.noise {
                        add_noise(&mut self.batch_inputs, *std, rng);
                    }
                    let batch = Batch {
                        inputs: &self.batch_inputs,
                        rows: chunk.len(),
                        features,
                        labels: &self.batch_labels,
                        targets: &self.batch_targets,
                    };
                    self.trainer.train_batch(&batch, lr as f32)
                }
                .map_err(|error| Halt::Failed(error.to_string()))?;
                sums.account(index, stats, &mut self.steps_done, observer)?;
            }
            while let Some(sent) = in_flight.pop_front() {
                let stats = self
                    .trainer
                    .receive_step()
                    .map_err(|error| Halt::Failed(error.to_string()))?;
                sums.account(sent, stats, &mut self.steps_done, observer)?;
            }
            Ok(())
        })();
        if let Err(halt) = stepped {
            // Later calls (the test evaluation after a divergence) must not read a step's
            // stats as their answer: collect the steps still in flight, whatever they say.
            for _ in in_flight.drain(..) {
                let _ = self.trainer.receive_step();
            }
            return Err(halt);
        }
        let EpochSteps {
            loss_sum,
            grad_norm_sums,
            steps,
            ..
        } = sums;
        let epoch_s = started.elapsed().as_secs_f64();
        let rows_trained = (steps * batch_rows).min(train.rows);

        let eval_started = Instant::now();
        let train_score = self.score(train).map_err(Halt::Failed)?;
        let validation = match &self.request.data.validation {
            Some(split) => Some(self.score(split).map_err(Halt::Failed)?),
            None => None,
        };
        // A reference model's weights are not the scenario's network: nothing to measure.
        let dead_units = if run.training.record_dead_units && !self.whole_split {
            let weights = self
                .trainer
                .weights()
                .map_err(|error| Halt::Failed(format!("exporting weights: {error}")))?;
            let rows = train.rows.min(crate::dead_units::SAMPLE_ROWS);
            Some(
                crate::dead_units::fractions(&self.network, &weights, &train.inputs, rows)
                    .map_err(|error| Halt::Failed(format!("measuring dead units: {error}")))?,
            )
        } else {
            None
        };
        let eval_s = eval_started.elapsed().as_secs_f64();
        if !train_score.loss.is_finite() {
            return Err(Halt::Diverged(format!(
                "training loss {} after epoch {epoch}",
                train_score.loss
            )));
        }
        Ok(EpochRecord {
            epoch,
            lr,
            train_loss: train_score.loss,
            train_accuracy: train_score.accuracy,
            val_loss: validation.map(|score| score.loss),
            val_accuracy: validation.map(|score| score.accuracy),
            step_loss: loss_sum / steps.max(1) as f64,
            epoch_s,
            eval_s,
            samples_per_s: rows_trained as f64 / epoch_s.max(1e-12),
            grad_norms: grad_norm_sums
                .map(|sums| sums.into_iter().map(|s| s / steps.max(1) as f64).collect()),
            dead_units,
        })
    }

    fn score(&mut self, split: &Split) -> Result<Score, String> {
        let trainer = &mut self.trainer;
        metrics::evaluate(
            split,
            self.request.data.features,
            &self.network,
            |x, rows| trainer.predict(x, rows),
        )
        .map_err(|error| error.to_string())
    }
}

/// An epoch's steps so far, and the limits each step is checked against.
struct EpochSteps {
    epoch: usize,
    steps_per_epoch: usize,
    lr: f64,
    divergence_loss: f64,
    /// The unit's time limit and when the unit started.
    time_limit: Option<(Duration, Instant)>,
    loss_sum: f64,
    grad_norm_sums: Option<Vec<f64>>,
    steps: usize,
}

impl EpochSteps {
    /// Checks the stats of the epoch's step `index` for divergence, adds them to the sums and
    /// reports the step.
    fn account(
        &mut self,
        index: usize,
        stats: StepStats,
        steps_done: &mut usize,
        observer: &mut dyn Observer,
    ) -> Result<(), Halt> {
        let epoch = self.epoch;
        let loss = f64::from(stats.loss);
        if !loss.is_finite() || loss > self.divergence_loss {
            return Err(Halt::Diverged(format!(
                "training loss {loss} at epoch {epoch}, step {}",
                index + 1
            )));
        }
        self.loss_sum += loss;
        if let Some(norms) = stats.grad_norms {
            let totals = self
                .grad_norm_sums
                .get_or_insert_with(|| vec![0.0; norms.len()]);
            for (total, norm) in totals.iter_mut().zip(norms) {
                *total += f64::from(norm);
            }
        }
        self.steps += 1;
        *steps_done += 1;
        observer.step_finished(&StepEvent {
            epoch,
            step: index + 1,
            steps_per_epoch: self.steps_per_epoch,
            loss: stats.loss,
            lr: self.lr,
        });
        if let Some((limit, started)) = self.time_limit
            && started.elapsed() > limit
        {
            return Err(Halt::Timeout(format!(
                "time limit of {:.0} s reached at epoch {epoch}, step {}",
                limit.as_secs_f64(),
                index + 1
            )));
        }
        Ok(())
    }
}

/// Copies the rows of `indices` into the batch buffers (reused from step to step).
#[allow(clippy::too_many_arguments)]
fn gather(
    indices: &[usize],
    split: &Split,
    features: usize,
    targets: &[f32],
    outputs: usize,
    batch_inputs: &mut Vec<f32>,
    batch_labels: &mut Vec<u32>,
    batch_targets: &mut Vec<f32>,
) {
    batch_inputs.clear();
    batch_labels.clear();
    batch_targets.clear();
    for &row in indices {
        batch_inputs.extend_from_slice(split.row(row, features));
        batch_labels.push(split.labels[row]);
        batch_targets.extend_from_slice(&targets[row * outputs..(row + 1) * outputs]);
    }
}

/// Adds Gaussian noise of standard deviation `std` to every value (the training batch's
/// inputs only: evaluation reads the splits themselves).
fn add_noise(values: &mut [f32], std: f32, rng: &mut Rng) {
    for value in values {
        *value += std * rng.normal() as f32;
    }
}

/// Early stopping on a validation metric.
struct EarlyStopper {
    rule: EarlyStopping,
    best: f64,
    epochs_without_improvement: usize,
}

impl EarlyStopper {
    fn new(rule: EarlyStopping) -> EarlyStopper {
        EarlyStopper {
            rule,
            best: f64::INFINITY,
            epochs_without_improvement: 0,
        }
    }

    fn should_stop(&mut self, record: &EpochRecord) -> bool {
        // Compare losses as they are and accuracies negated, so lower is better for both.
        let value = match self.rule.monitor {
            Monitor::ValLoss => record.val_loss,
            Monitor::ValAccuracy => record.val_accuracy.map(|accuracy| -accuracy),
        };
        let Some(value) = value else {
            return false;
        };
        if value < self.best - self.rule.min_delta {
            self.best = value;
            self.epochs_without_improvement = 0;
        } else {
            self.epochs_without_improvement += 1;
        }
        self.epochs_without_improvement >= self.rule.patience
    }
}
