//! nnbench-tch: the adapter that runs nnbench scenarios on
//! [tch](https://github.com/LaurentMazare/tch-rs), the Rust bindings of libtorch (PyTorch's
//! C++ library).
//!
//! The network is built from tch's own pieces: `nn::Linear` layers made by `nn::linear` and
//! loaded with the harness's initial weights (transposed: libtorch stores `[out, in]`),
//! `nn::BatchNorm` from `nn::batch_norm1d` (PyTorch's semantics, which are the spec's),
//! libtorch's activations and losses ([`head`]), autograd through `Tensor::backward`, and
//! libtorch's `SGD` (with momentum and Nesterov), `RMSprop` and `Adam` ([`optimizer`]). The
//! adapter builds, on libtorch tensors, what tch has only in another form, and the capability
//! table says so: L1/L2 penalties on dense weights only and gradient clipping in the spec's
//! order with the exact global-norm rule ([`regularization`]), and seeded dropout masks.
//! Rosenblatt's `step` head is not a gradient step: its rule is written on libtorch tensors
//! without autograd ([`perceptron`]), plain sgd from the harness's init only.
//!
//! Building this crate needs libtorch 2.9.0 (the version tch 0.22 is made for):
//! `scripts/setup-libtorch.sh` installs it into `.libtorch/`, where `.cargo/config.toml` points
//! the build. Computation runs on the CPU. Threads: see [`threads`].

pub mod activation;
pub mod baseline;
pub mod error;
pub mod head;
pub mod model;
pub mod optimizer;
pub mod perceptron;
pub mod regularization;
pub mod threads;
pub mod trainer;

use nnbench_core::capability::{CONV_LAYERS, LAYERS, OPTIMIZERS, REGULARIZERS};
use nnbench_core::spec::{Activation, OutputHead};
use nnbench_core::{Backend, BackendError, Capability, Category, Support, Trainer, TrainerSetup};

/// The tch (libtorch) backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct TchBackend;

/// The tch release this adapter is built against.
pub const TCH_VERSION: &str = "0.22.0";
/// The libtorch release that tch release requires.
pub const LIBTORCH_VERSION: &str = "2.9.0";

impl Backend for TchBackend {
    fn name(&self) -> &'static str {
        "tch"
    }

    fn framework_version(&self) -> String {
        format!("tch {TCH_VERSION} (libtorch {LIBTORCH_VERSION})")
    }

    fn capabilities(&self) -> Vec<Capability> {
        let mut table: Vec<Capability> = LAYERS
            .iter()
            .chain(&CONV_LAYERS)
            .map(|&name| {
                let support = match name {
                    // libtorch's `dropout` draws from the process-wide generator.
                    "dropout" => Support::Adapter,
                    // libtorch has no residual block: a linear layer and its input added back.
                    "residual" => Support::Adapter,
                    _ => Support::Framework,
                };
                Capability::new(Category::Layer, name, support)
            })
            .collect();
        table.extend(Activation::ALL.iter().map(|&function| {
            Capability::new(Category::Activation, function.name(), Support::Framework)
        }));
        table.extend(OutputHead::ALL.iter().map(|&output| {
            let support = match output {
                OutputHead::Step => Support::Adapter,
                _ => Support::Framework,
            };
            Capability::new(Category::Head, output.name(), support)
        }));
        table.extend(
            OPTIMIZERS
                .iter()
                .map(|&name| Capability::new(Category::Optimizer, name, Support::Framework)),
        );
        table.extend(
            REGULARIZERS
                .iter()
                .map(|&name| Capability::new(Category::Regularizer, name, Support::Adapter)),
        );
        table.push(Capability::new(
            Category::Init,
            "framework_default",
            Support::Framework,
        ));
        table
    }

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

    fn check(&self, run: &nnbench_core::spec::RunSpec) -> Result<(), nnbench_core::Unsupported> {
        nnbench_core::capability::check(run, &self.capabilities())?;
        nnbench_core::capability::check_perceptron_rule(run, "tch")
    }

    fn build(&self, setup: &TrainerSetup<'_>) -> Result<Box<dyn Trainer>, BackendError> {
        if setup.network.head == OutputHead::Step {
            self.check(setup.run)?;
            return Ok(Box::new(perceptron::TchPerceptron::new(setup)?));
        }
        Ok(Box::new(trainer::TchTrainer::new(setup)?))
    }
}
