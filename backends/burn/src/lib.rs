//! nnbench-burn: the nnbench adapter for [burn](https://burn.dev) 0.22 on its pure-Rust CPU
//! backend, flex.
//!
//! The network is built from burn's own parts: `Linear` layers (stored `[in, out]`, the
//! canonical layout), its activation functions, `Dropout`, its batch-norm kernels, its losses
//! (`CrossEntropyLoss`, `BinaryCrossEntropyLoss` on logits, `MseLoss`) and its optimizers
//! (`Sgd` with momentum, `RmsProp`, `Adam`) driven through autodiff. What burn does not offer in
//! the form the scenarios define is built by the adapter on burn tensors and reported as such in
//! [`BurnBackend::capabilities`]:
//! - L1 and L2 penalties on dense weights only (burn's weight decay applies to every parameter),
//! - clipping by global norm (burn's `GradientClipping::Norm` clips each tensor on its own), and
//!   clipping by value when both clippings are asked for, so that the order stays
//!   penalties → value → norm → optimizer,
//! - batch-norm running statistics (burn's `BatchNorm` module feeds the biased batch variance
//!   into `running_var`; the scenarios use PyTorch's unbiased one),
//! - residual blocks, `x + f(Linear(x))` (burn has no such module; its weights are one more
//!   `Linear`, so penalties, clipping and gradient norms cover them).
//!
//! The Rosenblatt `step` head is not a gradient step: its rule is written on burn tensors
//! without autodiff (`perceptron`), plain sgd from the harness's init only.
//!
//! Steps run inside a rayon pool of the run's thread count, which flex's kernels use. Dropout
//! masks come from flex's generator, which is process-wide: the trainer re-seeds it before each
//! step from a stream derived from the run's seed, so a run's masks are reproducible as long as
//! no other trainer with dropout steps at the same moment in the same process.

mod baseline;
mod model;
mod perceptron;
mod trainer;

use nnbench_core::capability::{CONV_LAYERS, LAYERS, OPTIMIZERS, REGULARIZERS};
use nnbench_core::spec::{Activation, OutputHead, RunSpec};
use nnbench_core::{Backend, BackendError, Capability, Category, Support, Trainer, TrainerSetup};

pub use trainer::BurnTrainer;

/// Version of burn this crate is built against.
pub const BURN_VERSION: &str = "0.22.1";

/// The burn backend (flex CPU device with autodiff).
#[derive(Debug, Clone, Copy, Default)]
pub struct BurnBackend;

impl Backend for BurnBackend {
    fn hand_written_epoch(
        &self,
        task: &nnbench_core::baseline::BaselineTask<'_>,
    ) -> Option<Result<f64, BackendError>> {
        Some(baseline::epoch(task))
    }

    fn hand_written_tiny_steps(
        &self,
        task: &nnbench_core::baseline::TinyTask<'_>,
    ) -> Option<Result<f64, BackendError>> {
        Some(baseline::tiny_steps(task))
    }

    fn name(&self) -> &'static str {
        "burn"
    }

    fn framework_version(&self) -> String {
        format!("burn {BURN_VERSION} (flex CPU backend)")
    }

    fn capabilities(&self) -> Vec<Capability> {
        let cap = Capability::new;
        let mut table: Vec<Capability> = LAYERS
            .iter()
            .map(|&name| match name {
                // A residual block is a Linear and its input added back, written here.
                "batch_norm" | "residual" => cap(Category::Layer, name, Support::Adapter),
                _ => cap(Category::Layer, name, Support::Framework),
            })
            .collect();
        table.extend(
            CONV_LAYERS
                .iter()
                .map(|&name| cap(Category::Layer, name, Support::Framework)),
        );
        table.extend(
            Activation::ALL
                .iter()
                .map(|a| cap(Category::Activation, a.name(), Support::Framework)),
        );
        table.extend(OutputHead::ALL.iter().map(|&head| {
            let support = match head {
                OutputHead::Step => Support::Adapter,
                _ => Support::Framework,
            };
            cap(Category::Head, head.name(), support)
        }));
        table.extend(
            OPTIMIZERS
                .iter()
                .map(|&name| cap(Category::Optimizer, name, Support::Framework)),
        );
        table.extend(REGULARIZERS.iter().map(|&name| {
            let support = match name {
                "clip_value" => Support::Framework,
                _ => Support::Adapter,
            };
            cap(Category::Regularizer, name, support)
        }));
        table.push(cap(Category::Init, "framework_default", Support::Framework));
        table
    }

    /// burn's optimizers follow the spec's formulas once every constant is set explicitly
    /// (momentum dampening 0, RMSprop momentum 0 and not centered): `Momentum` is PyTorch's
    /// form, RMSprop divides by `√s + ε`, and Adam's `m·√(1−β2ᵗ)/(1−β1ᵗ) / (√v + ε·√(1−β2ᵗ))`
    /// is `m̂ / (√v̂ + ε)` rearranged (equal up to rounding). Nothing to report.
    fn formula_difference(&self, _run: &RunSpec) -> Option<String> {
        None
    }

    fn with_threads(&self, threads: usize, work: &mut (dyn FnMut() + Send)) {
        nnbench_core::threads::run_in_rayon_pool(threads, work);
    }

    fn check(&self, run: &RunSpec) -> Result<(), nnbench_core::Unsupported> {
        nnbench_core::capability::check(run, &self.capabilities())?;
        nnbench_core::capability::check_perceptron_rule(run, "burn")
    }

    fn build(&self, setup: &TrainerSetup<'_>) -> Result<Box<dyn Trainer>, BackendError> {
        self.check(setup.run)?;
        if setup.network.head == OutputHead::Step {
            return Ok(Box::new(perceptron::BurnPerceptron::new(setup)?));
        }
        Ok(Box::new(BurnTrainer::new(setup)?))
    }
}

/// A burn failure, in the harness's terms.
pub(crate) fn framework_error(message: impl Into<String>) -> BackendError {
    BackendError::Framework {
        framework: "burn",
        message: message.into(),
    }
}
