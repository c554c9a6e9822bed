//! The loop a user of this crate writes for the tiny network of `nnbench bench`'s `xor_step`
//! workload: the trainer driven directly, one batch held for every step, nothing of the
//! harness in between (see [`nnbench_core::baseline::TinyTask`]).

use std::time::Instant;

use nnbench_core::baseline::TinyTask;
use nnbench_core::{BackendError, Batch, Network, Trainer, TrainerSetup};

use crate::trainer::NativeTrainer;

pub fn tiny_steps(task: &TinyTask<'_>) -> Result<f64, BackendError> {
    let network = Network::new(&task.run.model, task.features, 2);
    let mut trainer = NativeTrainer::new(&TrainerSetup {
        run: task.run,
        network: &network,
        init: None,
        seed: task.seed,
        threads: task.threads,
    })?;
    let labels: Vec<u32> = task.targets.iter().map(|&t| t as u32).collect();
    let batch = Batch {
        inputs: task.inputs,
        rows: task.rows(),
        features: task.features,
        labels: &labels,
        targets: task.targets,
    };
    let learning_rate = task.learning_rate as f32;
    let started = Instant::now();
    for _ in 0..task.steps {
        trainer.train_batch(&batch, learning_rate)?;
    }
    Ok(started.elapsed().as_secs_f64())
}
