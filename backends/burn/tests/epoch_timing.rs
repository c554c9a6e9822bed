//! Times one MNIST-sized epoch (784-128-10 ReLU, Adam, batch 128, 469 steps of random data)
//! with 1 and 2 threads and prints the seconds per epoch. Ignored by default (it measures, it
//! does not check):
//!
//! ```text
//! cargo test -p nnbench-burn --test epoch_timing -- --ignored --nocapture
//! ```

use std::time::Instant;

use nnbench_burn::BurnBackend;
use nnbench_core::metrics::encode_targets;
use nnbench_core::rng::Rng;
use nnbench_core::spec::{
    Activation, BatchSize, DatasetSource, DatasetSpec, InitScheme, InitSpec, LayerSpec, ModelSpec,
    OptimizerKind, OptimizerSpec, OutputHead, OutputSpec, RegularizationSpec, RunSpec, Scaling,
    Schedule, TrainingSpec,
};
use nnbench_core::{Backend, Batch, Network, TrainerSetup};

const FEATURES: usize = 784;
const CLASSES: usize = 10;
const ROWS: usize = 128;
const STEPS: usize = 469;
/// Distinct random batches, cycled through (the numbers do not matter, only the shapes).
const DISTINCT: usize = 8;

fn mnist_adam(threads: usize) -> RunSpec {
    RunSpec {
        dataset: DatasetSpec {
            source: DatasetSource::Mnist,
            train_size: None,
            test_size: None,
            scaling: Scaling::Unit,
            validation_fraction: 0.0,
        },
        model: ModelSpec {
            layers: vec![LayerSpec::Dense {
                units: 128,
                activation: Activation::Relu,
            }],
            output: OutputSpec {
                head: OutputHead::SoftmaxCrossEntropy,
            },
        },
        init: InitSpec {
            weights: InitScheme::GlorotUniform,
            biases: InitScheme::Zeros,
        },
        optimizer: OptimizerSpec {
            learning_rate: 1e-3,
            kind: OptimizerKind::Adam {
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 1e-8,
            },
        },
        regularization: RegularizationSpec {
            l1: 0.0,
            l2: 0.0,
            clip_value: None,
            clip_norm: None,
        },
        training: TrainingSpec {
            epochs: 1,
            batch: BatchSize::Size(ROWS),
            shuffle: true,
            seeds: vec![0],
            schedule: Schedule::Constant,
            early_stopping: None,
            record_grad_norms: false,
            divergence_loss: f64::INFINITY,
        },
        backends: vec!["burn".into()],
        threads,
    }
}

#[test]
#[ignore = "timing, run by hand"]
fn mnist_sized_epoch() {
    let mut rng = Rng::new(1);
    let inputs: Vec<f32> = (0..DISTINCT * ROWS * FEATURES)
        .map(|_| rng.uniform() as f32)
        .collect();
    let labels: Vec<u32> = (0..DISTINCT * ROWS)
        .map(|_| rng.below(CLASSES) as u32)
        .collect();
    let targets = encode_targets(&labels, CLASSES);
    for threads in [1, 2] {
        let run = mnist_adam(threads);
        let network = Network::new(&run.model, FEATURES, CLASSES);
        let init = nnbench_core::init::initial_weights(&network, &run.init, 0).unwrap();
        let mut trainer = BurnBackend
            .build(&TrainerSetup {
                run: &run,
                network: &network,
                init: Some(&init),
                seed: 0,
                threads,
            })
            .unwrap();
        let mut times = Vec::new();
        let mut last_loss = 0.0;
        for _epoch in 0..3 {
            let start = Instant::now();
            for step in 0..STEPS {
                let b = step % DISTINCT;
                let batch = Batch {
                    inputs: &inputs[b * ROWS * FEATURES..(b + 1) * ROWS * FEATURES],
                    rows: ROWS,
                    features: FEATURES,
                    labels: &labels[b * ROWS..(b + 1) * ROWS],
                    targets: &targets[b * ROWS * CLASSES..(b + 1) * ROWS * CLASSES],
                };
                last_loss = trainer.train_batch(&batch, 1e-3).unwrap().loss;
            }
            times.push(start.elapsed().as_secs_f64());
        }
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "burn flex, {threads} thread(s): {:.3} s/epoch (median of {:?}), last loss {last_loss:.4}",
            sorted[sorted.len() / 2],
            times.iter().map(|t| format!("{t:.3}")).collect::<Vec<_>>()
        );
    }
}
