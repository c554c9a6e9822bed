//! The boundary between the harness and a framework: [`Backend`] (one per framework) builds
//! a [`Trainer`] (one per run) from a [`TrainerSetup`].
//!
//! The harness owns data, batch order, initial weights, the loop, the learning rate of each
//! step, metrics and timing; a trainer owns only tensors, forward, loss, backward and its
//! framework's optimizer step. Everything that crosses the boundary is plain `f32` slices in
//! row-major order, so no framework type leaks into the harness.

use crate::capability::{self, Capability, Unsupported};
use crate::network::Network;
use crate::spec::RunSpec;
use crate::weights::{Tensor, Weights};

/// A framework adapter, registered in the CLI.
pub trait Backend: Send + Sync {
    /// Short lowercase name used in scenario files and reports (`native`, `burn`, ...).
    fn name(&self) -> &'static str;

    /// Version of the framework this adapter was built against (e.g. `burn 0.22.1`).
    fn framework_version(&self) -> String;

    /// What this backend can express, and how: the framework's own implementation, one the
    /// adapter built on the framework's tensors, or not at all.
    fn capabilities(&self) -> Vec<Capability>;

    /// Why this backend cannot run anything on this machine, with the command that fixes it
    /// (a framework installed outside cargo that is missing); the harness reports its units
    /// `not_built` with that reason. The default: always available.
    fn availability(&self) -> Result<(), String> {
        Ok(())
    }

    /// Says why this backend cannot run `run`, if it cannot. The default looks every feature
    /// the run uses up in [`Backend::capabilities`].
    fn check(&self, run: &RunSpec) -> Result<(), Unsupported> {
        capability::check(run, &self.capabilities())
    }

    /// Where this backend's arithmetic for `run` differs on purpose from the formulas in
    /// [`OptimizerSpec`](crate::spec::OptimizerSpec) and the spec docs (ε placement, momentum
    /// form…), in words for the parity report; `None` when it follows them.
    fn formula_difference(&self, _run: &RunSpec) -> Option<String> {
        None
    }

    /// `true` for a reference model that is not the scenario's network (the linear baseline):
    /// the loop hands it the whole training split as one batch per epoch, and parity and
    /// conformance checks, which compare implementations of the same network, leave it out.
    fn is_reference_model(&self) -> bool {
        false
    }

    /// Trains `task` for one epoch with the loop a user of this framework would write, without
    /// the harness, and returns the seconds it took (see [`crate::baseline`]); `None` when the
    /// backend has no such loop.
    fn hand_written_epoch(
        &self,
        _task: &crate::baseline::BaselineTask<'_>,
    ) -> Option<Result<f64, BackendError>> {
        None
    }

    /// Trains `task` for its steps with the loop a user of this framework would write, and
    /// returns the seconds all the steps took (see [`crate::baseline::TinyTask`]); `None` when
    /// the backend has no such loop.
    fn hand_written_tiny_steps(
        &self,
        _task: &crate::baseline::TinyTask<'_>,
    ) -> Option<Result<f64, BackendError>> {
        None
    }

    /// Runs `work`, a whole unit (build, every step, every evaluation), where this framework's
    /// `threads` worker threads live. A backend on a rayon pool enters it once here, so that
    /// its trainer's per-step entries run inline instead of handing every step to another
    /// thread (measured: 12 % of burn's and candle's MNIST epoch). The default just runs it.
    fn with_threads(&self, _threads: usize, work: &mut (dyn FnMut() + Send)) {
        work();
    }

    /// Builds a trainer holding the initial weights of `setup`. Called only after
    /// [`Backend::check`] accepted the run.
    fn build(&self, setup: &TrainerSetup<'_>) -> Result<Box<dyn Trainer>, BackendError>;
}

/// What a backend needs to build one trainer.
#[derive(Debug, Clone, Copy)]
pub struct TrainerSetup<'a> {
    pub run: &'a RunSpec,
    /// The resolved layer shapes (input and output widths come from the dataset).
    pub network: &'a Network,
    /// Initial weights in the canonical layout; `None` when the scenario asks for the
    /// framework's own default initialisation.
    pub init: Option<&'a Weights>,
    /// Seed for everything random inside the trainer (dropout masks, its own init).
    pub seed: u64,
    /// Intra-op threads to use.
    pub threads: usize,
}

impl<'a> TrainerSetup<'a> {
    /// The harness's initial weight `[inputs, 1]` and bias `[1]` of Rosenblatt's perceptron
    /// (the `step` head), which every adapter's rule starts from.
    pub fn perceptron_init(&self) -> Result<(&'a Tensor, &'a Tensor), BackendError> {
        let init = self.init.ok_or_else(|| {
            BackendError::WeightsMismatch(
                "the perceptron starts from the harness's init, and this run has none".into(),
            )
        })?;
        let weight = init
            .expect("0.weight", &[self.network.inputs, 1])
            .map_err(BackendError::WeightsMismatch)?;
        let bias = init
            .expect("0.bias", &[1])
            .map_err(BackendError::WeightsMismatch)?;
        Ok((weight, bias))
    }
}

/// One mini-batch, gathered by the harness in its seeded order.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// `rows × features`, row-major.
    pub inputs: &'a [f32],
    pub rows: usize,
    pub features: usize,
    /// Class index of each row.
    pub labels: &'a [u32],
    /// `rows × network.outputs`, row-major: one-hot rows for a multi-unit head, 0/1 for a
    /// one-unit head. Encoded once by the harness so every backend sees the same numbers.
    pub targets: &'a [f32],
}

impl Batch<'_> {
    /// Why `network` cannot train on this batch: inputs that do not fit
    /// ([`Network::check_inputs`]), fewer targets or labels than rows, or a label out of
    /// range for a softmax head.
    pub fn check(&self, network: &Network) -> Result<(), String> {
        network.check_inputs(self.inputs.len(), self.rows, self.features)?;
        let outputs = network.outputs;
        if self.targets.len() < self.rows * outputs || self.labels.len() < self.rows {
            return Err(format!(
                "{} targets and {} labels for {} rows of {outputs} outputs",
                self.targets.len(),
                self.labels.len(),
                self.rows,
            ));
        }
        if network.head == crate::spec::OutputHead::SoftmaxCrossEntropy
            && let Some(label) = self.labels[..self.rows]
                .iter()
                .find(|&&l| l as usize >= outputs)
        {
            return Err(format!("label {label} out of range for {outputs} classes"));
        }
        Ok(())
    }
}

/// What one training step reports.
#[derive(Debug, Clone, PartialEq)]
pub struct StepStats {
    /// Mean data loss over the batch before the step (without the L1/L2 penalty).
    pub loss: f32,
    /// L2 norm of each dense layer's weight gradient (input side first), before
    /// regularization and clipping; `Some` when the run records gradient norms.
    pub grad_norms: Option<Vec<f32>>,
}

/// A network being trained by one framework.
pub trait Trainer {
    /// One forward, backward and optimizer step on `batch` with learning rate `learning_rate`.
    fn train_batch(
        &mut self,
        batch: &Batch<'_>,
        learning_rate: f32,
    ) -> Result<StepStats, BackendError>;

    /// Output of the head in evaluation mode (dropout off, batch norm on running statistics)
    /// for `rows × features` inputs: `rows × network.outputs` values, row-major. Probabilities
    /// for softmax and sigmoid heads, raw values for identity, 0/1 for the step unit.
    fn predict(&mut self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError>;

    /// The current parameters in the canonical layout (see [`Weights`]).
    fn weights(&self) -> Result<Weights, BackendError>;

    /// Offered once per unit, before the first step. A trainer whose tensors live in another
    /// process, where shipping every gathered batch would cost more than the step itself, keeps
    /// its own copy and answers `true`; from then on the harness hands it each batch as row
    /// indices into this split ([`Trainer::train_rows`]) in the same seeded order. The default
    /// keeps nothing: in-process trainers get gathered batches, whose copy is cheap.
    fn keep_training_split(&mut self, _split: &TrainingSplit<'_>) -> Result<bool, BackendError> {
        Ok(false)
    }

    /// One step on the rows `rows` of the split kept by [`Trainer::keep_training_split`]: the
    /// same step as [`Trainer::train_batch`] on those rows gathered in that order.
    fn train_rows(
        &mut self,
        _rows: &[usize],
        _learning_rate: f32,
    ) -> Result<StepStats, BackendError> {
        Err(BackendError::Framework {
            framework: "nnbench-core",
            message: "train_rows on a trainer that kept no training split".into(),
        })
    }

    /// How many row steps the loop may send ahead of reading their stats, through
    /// [`Trainer::send_rows`] and [`Trainer::receive_step`] instead of
    /// [`Trainer::train_rows`]. A trainer in another process answers more than 0, so that the
    /// next step's request waits in its input while it computes and no step waits on a round
    /// trip; the default, 0, keeps every step synchronous.
    fn rows_ahead(&self) -> usize {
        0
    }

    /// Starts the step [`Trainer::train_rows`] would take, without waiting for its stats.
    fn send_rows(&mut self, _rows: &[usize], _learning_rate: f32) -> Result<(), BackendError> {
        Err(BackendError::Framework {
            framework: "nnbench-core",
            message: "send_rows on a trainer that takes no steps ahead".into(),
        })
    }

    /// The stats of the oldest step sent by [`Trainer::send_rows`] and not received yet.
    fn receive_step(&mut self) -> Result<StepStats, BackendError> {
        Err(BackendError::Framework {
            framework: "nnbench-core",
            message: "receive_step on a trainer that takes no steps ahead".into(),
        })
    }
}

/// The whole training split in the harness's preprocessing, offered to a trainer once per unit
/// (see [`Trainer::keep_training_split`]).
#[derive(Debug, Clone, Copy)]
pub struct TrainingSplit<'a> {
    /// `rows × features`, row-major.
    pub inputs: &'a [f32],
    pub rows: usize,
    pub features: usize,
    /// Class index of each row.
    pub labels: &'a [u32],
    /// `rows × outputs`, encoded as in [`Batch::targets`].
    pub targets: &'a [f32],
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("{0}")]
    Unsupported(#[from] Unsupported),
    #[error("weights do not fit the network: {0}")]
    WeightsMismatch(String),
    #[error("{framework} failed: {message}")]
    Framework {
        framework: &'static str,
        message: String,
    },
}
