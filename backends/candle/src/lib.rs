//! nnbench-candle: the adapter that runs nnbench scenarios on Hugging Face's
//! [candle](https://github.com/huggingface/candle) (`candle-core` / `candle-nn`).
//!
//! The network is built from candle's own pieces wherever candle has them: `candle_nn::Linear`
//! over [`Var`](candle_core::Var)s loaded from the harness's initial weights ([`model`]),
//! candle's activations ([`activation`]), `candle_nn::BatchNorm` (which already follows
//! PyTorch's running statistics), its cross-entropy and MSE losses ([`head`]), autograd through
//! `Tensor::backward`, and its `SGD` and `AdamW` optimizers ([`optimizer`]). What candle lacks
//! the adapter builds on candle tensors, and the capability table says so: momentum, Nesterov
//! and RMSprop (behind candle's `Optimizer` trait), L1/L2 penalties and gradient clipping
//! ([`regularization`]), seeded dropout masks, residual blocks, SELU and a binary
//! cross-entropy that stays finite. Rosenblatt's `step` head is not a gradient step: its rule is written on candle
//! tensors without autograd ([`perceptron`]), plain sgd from the harness's init only.
//!
//! Computation runs on the CPU; with the `cuda` feature, on the first CUDA device when one is
//! present. Threads: see [`threads`].

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
use nnbench_core::spec::{Activation, LayerSpec, OutputHead, RunSpec};
use nnbench_core::{
    Backend, BackendError, Capability, Category, Support, Trainer, TrainerSetup, Unsupported,
};

/// The candle backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct CandleBackend;

/// The candle release this adapter is built against.
pub const CANDLE_VERSION: &str = "0.11.1";

impl Backend for CandleBackend {
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
        "candle"
    }

    /// The capability table, one limit it cannot state per layer (candle has no backward pass
    /// for average pooling whose windows overlap, stride ≠ size), and the perceptron rule's.
    fn check(&self, run: &RunSpec) -> Result<(), Unsupported> {
        nnbench_core::capability::check(run, &self.capabilities())?;
        for layer in &run.model.layers {
            if let LayerSpec::AvgPool2d { size, stride } = *layer
                && size != stride
            {
                return Err(Unsupported {
                    category: "layer",
                    feature: "avg_pool2d".into(),
                    reason: format!(
                        "candle has no backward pass for average pooling with overlapping or \
                         gapped windows (size {size}, stride {stride}); only stride = size"
                    ),
                });
            }
        }
        nnbench_core::capability::check_perceptron_rule(run, "candle")
    }

    fn framework_version(&self) -> String {
        format!("candle {CANDLE_VERSION}")
    }

    fn capabilities(&self) -> Vec<Capability> {
        let mut table: Vec<Capability> = LAYERS
            .iter()
            .chain(&CONV_LAYERS)
            .map(|&name| {
                let support = match name {
                    // candle's `ops::dropout` draws its mask from an unseeded generator.
                    "dropout" => Support::Adapter,
                    // candle_nn has no residual block: a Linear and its input added back.
                    "residual" => Support::Adapter,
                    // candle's pooling ops have wrong backward passes: see model::tiled_pool.
                    "max_pool2d" | "avg_pool2d" => Support::Adapter,
                    _ => Support::Framework,
                };
                Capability::new(Category::Layer, name, support)
            })
            .collect();
        table.extend(Activation::ALL.iter().map(|&function| {
            let support = if activation::is_framework(function) {
                Support::Framework
            } else {
                Support::Adapter
            };
            Capability::new(Category::Activation, function.name(), support)
        }));
        table.extend(OutputHead::ALL.iter().map(|&output| {
            let support = match output {
                OutputHead::SoftmaxCrossEntropy | OutputHead::IdentityMse => Support::Framework,
                OutputHead::SigmoidBinaryCrossEntropy => Support::Adapter,
                OutputHead::Step => Support::Adapter,
            };
            Capability::new(Category::Head, output.name(), support)
        }));
        table.extend(OPTIMIZERS.iter().map(|&name| {
            let support = match name {
                "sgd" | "adam" => Support::Framework,
                _ => Support::Adapter,
            };
            Capability::new(Category::Optimizer, name, support)
        }));
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

    fn with_threads(&self, threads: usize, work: &mut (dyn FnMut() + Send)) {
        nnbench_core::threads::run_in_rayon_pool(threads, work);
    }

    fn build(&self, setup: &TrainerSetup<'_>) -> Result<Box<dyn Trainer>, BackendError> {
        if setup.network.head == OutputHead::Step {
            self.check(setup.run)?;
            return Ok(Box::new(perceptron::CandlePerceptron::new(setup)?));
        }
        Ok(Box::new(trainer::CandleTrainer::new(setup)?))
    }
}
