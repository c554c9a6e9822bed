//! nnbench-native: the reference backend, a multilayer perceptron written out by hand.
//!
//! Forward and backward passes follow the course's equations layer by layer
//! ([`trainer`]); activations and heads are tables ([`activation`], [`head`]); the update
//! rules sit apart from the model ([`optimizer`]); matrix products run on `gemm`'s
//! cache-blocked SIMD kernels over the scenario's thread count ([`matmul`]). The Rosenblatt
//! perceptron is the `step` head on a network without hidden layers: its update is the
//! perceptron rule, which changes the weights only on misclassified examples.
//!
//! Everything a scenario can express is implemented here, so this backend is the reference
//! the parity check measures the framework adapters against.

pub mod activation;
pub mod conv;
pub mod head;
pub mod matmul;
pub mod optimizer;
pub mod trainer;

use nnbench_core::capability::{CONV_LAYERS, LAYERS, OPTIMIZERS, REGULARIZERS};
use nnbench_core::spec::{Activation, OutputHead};
use nnbench_core::{Backend, BackendError, Capability, Category, Support, Trainer, TrainerSetup};

/// The hand-written backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeBackend;

impl Backend for NativeBackend {
    fn name(&self) -> &'static str {
        "native"
    }

    fn framework_version(&self) -> String {
        format!("nnbench-native {}", env!("CARGO_PKG_VERSION"))
    }

    fn capabilities(&self) -> Vec<Capability> {
        let own = |category, name| Capability::new(category, name, Support::Framework);
        let mut table: Vec<Capability> = LAYERS
            .iter()
            .chain(&CONV_LAYERS)
            .map(|&n| own(Category::Layer, n))
            .collect();
        table.extend(
            Activation::ALL
                .iter()
                .map(|a| own(Category::Activation, a.name())),
        );
        table.extend(
            OutputHead::ALL
                .iter()
                .map(|h| own(Category::Head, h.name())),
        );
        table.extend(OPTIMIZERS.iter().map(|&n| own(Category::Optimizer, n)));
        table.extend(REGULARIZERS.iter().map(|&n| own(Category::Regularizer, n)));
        table.push(own(Category::Init, "framework_default"));
        table
    }

    /// One thread computes on the calling thread; more, on the shared rayon pool.
    fn with_threads(&self, threads: usize, work: &mut (dyn FnMut() + Send)) {
        if threads > 1 {
            nnbench_core::threads::run_in_rayon_pool(threads, work);
        } else {
            work();
        }
    }

    fn build(&self, setup: &TrainerSetup<'_>) -> Result<Box<dyn Trainer>, BackendError> {
        Ok(Box::new(trainer::NativeTrainer::new(setup)?))
    }
}
