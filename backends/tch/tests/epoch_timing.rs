//! Times one MNIST-sized epoch (784-128-10 ReLU, Adam, batch 128, 469 steps of random data)
//! through the harness's trainer and through the hand-written tch loop of
//! [`nnbench_tch::baseline`] (`nn::seq` + `nn::adam`, same sizes), in the same process, and
//! prints both and their ratio (what the adapter adds). Ignored by default (it measures, it
//! does not check):
//!
//! ```text
//! cargo test -p nnbench-tch --test epoch_timing -- --ignored --nocapture
//! ```
//!
//! With two threads on a busy machine, set `OMP_WAIT_POLICY=PASSIVE` (see
//! [`nnbench_tch::threads`]).

use std::time::Instant;

use nnbench_core::baseline::BaselineTask;
use nnbench_core::metrics::encode_targets;
use nnbench_core::rng::Rng;
use nnbench_core::spec::{
    Activation, BatchSize, DatasetSource, DatasetSpec, InitScheme, InitSpec, LayerSpec, ModelSpec,
    OptimizerKind, OptimizerSpec, OutputHead, OutputSpec, RegularizationSpec, RunSpec, Scaling,
    Schedule, TrainingSpec,
};
use nnbench_core::{Backend, Batch, Network, TrainerSetup};
use nnbench_tch::TchBackend;

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
        backends: vec!["tch".into()],
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
    let thread_counts: Vec<usize> = std::env::var("NNBENCH_TIMING_THREADS")
        .ok()
        .map(|list| {
            list.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![1]);
    for threads in thread_counts {
        let run = mnist_adam(threads);
        let network = Network::new(&run.model, FEATURES, CLASSES);
        let init = nnbench_core::init::initial_weights(&network, &run.init, 0).unwrap();
        let mut trainer = TchBackend
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
        let harness = median(&times);
        let task = BaselineTask {
            inputs: &inputs,
            labels: &labels,
            features: FEATURES,
            hidden: 128,
            classes: CLASSES,
            batch_size: ROWS,
            learning_rate: 1e-3,
            threads,
            seed: 0,
        };
        // The baseline's batches are the DISTINCT distinct ones: run it STEPS / DISTINCT times
        // over them per epoch, so both sides do the same 469 steps (rounded to whole passes).
        let passes = STEPS.div_ceil(DISTINCT);
        let mut hand = Vec::new();
        for _epoch in 0..3 {
            let mut seconds = 0.0;
            for _ in 0..passes {
                seconds += TchBackend.hand_written_epoch(&task).unwrap().unwrap();
            }
            hand.push(seconds * STEPS as f64 / (passes * DISTINCT) as f64);
        }
        let hand_written = median(&hand);
        println!(
            "tch, {threads} thread(s): harness {harness:.3} s/epoch (median of {}), \
             hand-written {hand_written:.3} s/epoch (median of {}), ratio {:.3}, last loss \
             {last_loss:.4}",
            list(&times),
            list(&hand),
            harness / hand_written
        );
    }
}

fn median(times: &[f64]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn list(times: &[f64]) -> String {
    times
        .iter()
        .map(|t| format!("{t:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}
