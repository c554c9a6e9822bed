//! nnbench-core: the harness every backend plugs into.
//!
//! It owns what must be identical across frameworks for a comparison to be fair: scenario
//! specifications ([`spec`]), data ([`data`]), initial weights ([`init`]), the training loop
//! with its learning-rate schedule, early stopping, metrics and timing ([`train`]), and the
//! [`Backend`]/[`Trainer`] boundary that adapters implement ([`backend`]).

pub mod backend;
pub mod baseline;
pub mod batch_order;
pub mod capability;
#[cfg(feature = "suites")]
pub mod conformance;
pub mod data;
pub mod dead_units;
pub mod init;
pub mod metrics;
pub mod network;
pub mod parity;
pub mod rng;
pub mod schedule;
pub mod spec;
#[cfg(feature = "suites")]
pub mod step_parity;
pub mod threads;
pub mod train;
pub mod weights;

pub use backend::{Backend, BackendError, Batch, StepStats, Trainer, TrainerSetup, TrainingSplit};
pub use capability::{Capability, Category, Support, Unsupported};
pub use network::{Layer, Network};
pub use weights::{Tensor, Weights};

/// Every backend nnbench knows of, whether or not this binary was built with it.
pub const KNOWN_BACKENDS: [&str; 9] = [
    "native", "burn", "candle", "tch", "linfa", "linear", "pytorch", "jax", "keras",
];
