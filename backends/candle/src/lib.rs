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
//! ([`regularization`]), seeded dropout masks, SELU and a binary cross-entropy that stays
//! finite. Rosenblatt's `step` head is not offered: its rule is not a gradient.
//!
//! Computation runs on the CPU; with the `cuda` feature, on the first CUDA device when one is
//! present. Threads: see [`threads`].

pub mod activation;
pub mod baseline;
pub mod error;
pub mod head;
pub mod model;
pub mod optimizer;
pub mod regularization;
pub mod threads;
pub mod trainer;

use nnbench_core::capability::{CONV_LAYERS, LAYERS, OPTIMIZERS, REGULARIZERS};
use nnbench_core::spec::{Activation, OutputHead};
use nnbench_core::{Backend, BackendError, Capability, Category, Support, Trainer, TrainerSetup};

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

    fn name(&self) -> &'static str {
        "candle"
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
                OutputHead::Step => Support::Unsupported(head::STEP_UNSUPPORTED.to_string()),
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
        Ok(Box::new(trainer::CandleTrainer::new(setup)?))
    }
}
