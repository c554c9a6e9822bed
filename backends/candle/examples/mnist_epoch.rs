//! Times one MNIST-sized epoch on candle: a 784-128-10 ReLU network, Adam, batches of 128,
//! 469 steps of random data (60 000 rows), once per thread count given on the command line
//! (default: 1 and 2).
//!
//! ```text
//! cargo run --release -p nnbench-candle --example mnist_epoch -- 1
//! cargo run --release -p nnbench-candle --example mnist_epoch -- 1 2
//! ```
//!
//! Candle sizes its element-wise thread pool once per process (see `nnbench_candle::threads`):
//! with a single thread count the example sets it to that count first; with several it keeps
//! candle's default (or `CANDLE_NUM_THREADS` from the environment) for all of them.

use std::time::Instant;

use nnbench_candle::CandleBackend;
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
const BATCH: usize = 128;
const STEPS: usize = 469;

fn run() -> RunSpec {
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
            weights: InitScheme::HeUniform,
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
            batch: BatchSize::Size(BATCH),
            shuffle: true,
            seeds: vec![0],
            schedule: Schedule::Constant,
            early_stopping: None,
            record_grad_norms: false,
            divergence_loss: f64::INFINITY,
        },
        backends: vec!["candle".into()],
        threads: 1,
    }
}

fn main() {
    let mut threads: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    if threads.is_empty() {
        threads = vec![1, 2];
    }
    if let [count] = threads[..] {
        // SAFETY: nothing else runs yet.
        unsafe { nnbench_candle::threads::set_process_threads(count) };
    }
    let run = run();
    let network = Network::new(&run.model, FEATURES, CLASSES);
    let init = nnbench_core::init::initial_weights(&network, &run.init, 0).expect("harness init");
    let mut rng = Rng::new(1);
    let inputs: Vec<f32> = (0..BATCH * FEATURES * 8)
        .map(|_| rng.uniform() as f32)
        .collect();
    let labels: Vec<u32> = (0..BATCH * 8).map(|_| rng.below(CLASSES) as u32).collect();
    let targets = encode_targets(&labels, CLASSES);
    let env = std::env::var("CANDLE_NUM_THREADS")
        .or_else(|_| std::env::var("RAYON_NUM_THREADS"))
        .unwrap_or_else(|_| "unset".into());
    for &count in &threads {
        let setup = TrainerSetup {
            run: &run,
            network: &network,
            init: Some(&init),
            seed: 0,
            threads: count,
        };
        let mut trainer = CandleBackend.build(&setup).expect("trainer");
        let start = Instant::now();
        let mut loss = 0.0;
        for step in 0..STEPS {
            let chunk = step % 8;
            let batch = Batch {
                inputs: &inputs[chunk * BATCH * FEATURES..(chunk + 1) * BATCH * FEATURES],
                rows: BATCH,
                features: FEATURES,
                labels: &labels[chunk * BATCH..(chunk + 1) * BATCH],
                targets: &targets[chunk * BATCH * CLASSES..(chunk + 1) * BATCH * CLASSES],
            };
            loss = trainer.train_batch(&batch, 1e-3).expect("step").loss;
        }
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "candle threads={count} (CANDLE/RAYON_NUM_THREADS={env}): {seconds:.2} s/epoch \
             ({:.2} ms/step), last loss {loss:.4}",
            seconds * 1e3 / STEPS as f64
        );
    }
}
