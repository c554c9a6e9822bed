//! The tch trainer against the hand-written reference (nnbench-native), step by step from
//! the same initial weights on the same batch: every activation and head, batch norm (outputs
//! and running statistics), each optimizer with every regularizer at once, gradient norms.
//! Dropout masks come from different generators, so dropout is checked for determinism and
//! for being off at evaluation instead.

use nnbench_core::metrics::encode_targets;
use nnbench_core::rng::Rng;
use nnbench_core::spec::{
    Activation, BatchSize, DatasetSource, DatasetSpec, InitScheme, InitSpec, LayerSpec, LogicGate,
    ModelSpec, OptimizerKind, OptimizerSpec, OutputHead, OutputSpec, RegularizationSpec, RunSpec,
    Scaling, Schedule, TrainingSpec,
};
use nnbench_core::{Backend, Batch, Network, Trainer, TrainerSetup, Weights};
use nnbench_native::NativeBackend;
use nnbench_tch::TchBackend;

const ROWS: usize = 6;
const FEATURES: usize = 3;

fn run(layers: Vec<LayerSpec>, head: OutputHead, kind: OptimizerKind) -> RunSpec {
    RunSpec {
        dataset: DatasetSpec {
            source: DatasetSource::Logic {
                gate: LogicGate::Xor,
            },
            train_size: None,
            test_size: None,
            scaling: Scaling::None,
            validation_fraction: 0.0,
        },
        model: ModelSpec {
            layers,
            output: OutputSpec { head },
        },
        init: InitSpec {
            weights: InitScheme::GlorotUniform,
            biases: InitScheme::Normal { std: 0.3 },
        },
        optimizer: OptimizerSpec {
            learning_rate: 0.1,
            kind,
        },
        regularization: RegularizationSpec {
            l1: 0.0,
            l2: 0.0,
            clip_value: None,
            clip_norm: None,
        },
        training: TrainingSpec {
            epochs: 1,
            batch: BatchSize::Full,
            shuffle: false,
            seeds: vec![0],
            schedule: Schedule::Constant,
            early_stopping: None,
            record_grad_norms: true,
            divergence_loss: f64::INFINITY,
        },
        backends: vec!["tch".into()],
        threads: 1,
    }
}

struct Problem {
    network: Network,
    init: Weights,
    inputs: Vec<f32>,
    labels: Vec<u32>,
    targets: Vec<f32>,
}

impl Problem {
    fn new(run: &RunSpec, classes: usize) -> Problem {
        let network = Network::new(&run.model, FEATURES, classes);
        let init = nnbench_core::init::initial_weights(&network, &run.init, 3).unwrap();
        let mut rng = Rng::new(42);
        let inputs = (0..ROWS * FEATURES).map(|_| rng.normal() as f32).collect();
        let labels: Vec<u32> = (0..ROWS).map(|row| (row % classes) as u32).collect();
        let targets = encode_targets(&labels, network.outputs);
        Problem {
            network,
            init,
            inputs,
            labels,
            targets,
        }
    }

    fn batch(&self) -> Batch<'_> {
        Batch {
            inputs: &self.inputs,
            rows: ROWS,
            features: FEATURES,
            labels: &self.labels,
            targets: &self.targets,
        }
    }

    fn trainer(&self, backend: &dyn Backend, run: &RunSpec, threads: usize) -> Box<dyn Trainer> {
        backend
            .build(&TrainerSetup {
                run,
                network: &self.network,
                init: Some(&self.init),
                seed: 9,
                threads,
            })
            .unwrap()
    }
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Trains `steps` steps on both backends and compares losses, gradient norms, weights and
/// evaluation outputs.
fn compare(what: &str, run: &RunSpec, classes: usize, steps: usize, tolerance: f32) {
    let problem = Problem::new(run, classes);
    let mut tch = problem.trainer(&TchBackend, run, 1);
    let mut native = problem.trainer(&NativeBackend, run, 1);
    for step in 0..steps {
        let lr = 0.1 / (step + 1) as f32;
        let a = tch.train_batch(&problem.batch(), lr).unwrap();
        let b = native.train_batch(&problem.batch(), lr).unwrap();
        assert!(
            (a.loss - b.loss).abs() <= tolerance * b.loss.abs().max(1.0),
            "{what}: step {step} loss {} vs native {}",
            a.loss,
            b.loss
        );
        let (na, nb) = (a.grad_norms.unwrap(), b.grad_norms.unwrap());
        assert!(
            max_difference(&na, &nb) <= tolerance,
            "{what}: grad norms {na:?} vs {nb:?}"
        );
    }
    let (wa, wb) = (tch.weights().unwrap(), native.weights().unwrap());
    for tensor in &wb.tensors {
        let theirs = wa
            .get(&tensor.name)
            .unwrap_or_else(|| panic!("{what}: {} missing", tensor.name));
        assert_eq!(theirs.shape, tensor.shape, "{what}: {}", tensor.name);
        let diff = max_difference(&theirs.data, &tensor.data);
        assert!(
            diff <= tolerance,
            "{what}: {} differs by {diff}",
            tensor.name
        );
    }
    let pa = tch.predict(&problem.inputs, ROWS).unwrap();
    let pb = native.predict(&problem.inputs, ROWS).unwrap();
    let diff = max_difference(&pa, &pb);
    assert!(diff <= tolerance, "{what}: predictions differ by {diff}");
}

fn dense(units: usize, activation: Activation) -> LayerSpec {
    LayerSpec::Dense { units, activation }
}

const ADAM: OptimizerKind = OptimizerKind::Adam {
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
};

#[test]
fn every_activation_matches_native() {
    for activation in Activation::ALL {
        let layers = vec![dense(5, activation), dense(4, Activation::Identity)];
        let layers = [
            layers,
            vec![LayerSpec::Activation {
                function: activation,
            }],
        ]
        .concat();
        let run = run(layers, OutputHead::SoftmaxCrossEntropy, OptimizerKind::Sgd);
        compare(activation.name(), &run, 3, 3, 1e-5);
    }
}

#[test]
fn every_trainable_head_matches_native() {
    for (head, classes) in [
        (OutputHead::SoftmaxCrossEntropy, 3),
        (OutputHead::SigmoidBinaryCrossEntropy, 2),
        (OutputHead::IdentityMse, 2),
        (OutputHead::IdentityMse, 3),
    ] {
        let run = run(vec![dense(4, Activation::Tanh)], head, OptimizerKind::Sgd);
        compare(head.name(), &run, classes, 3, 1e-5);
    }
}

#[test]
fn batch_norm_matches_native() {
    let layers = vec![
        dense(5, Activation::Identity),
        LayerSpec::BatchNorm {
            momentum: 0.1,
            epsilon: 1e-5,
        },
        LayerSpec::Activation {
            function: Activation::Relu,
        },
        dense(4, Activation::Sigmoid),
        LayerSpec::BatchNorm {
            momentum: 0.3,
            epsilon: 1e-3,
        },
    ];
    // Not Adam: the bias of a dense layer feeding batch norm gets a gradient that is zero up
    // to rounding, and Adam would blow that rounding noise up to full-size steps.
    let momentum = OptimizerKind::Momentum {
        momentum: 0.9,
        nesterov: false,
    };
    let run = run(layers, OutputHead::SoftmaxCrossEntropy, momentum);
    compare("batch_norm", &run, 3, 4, 2e-5);
}

#[test]
fn optimizers_with_every_regularizer_match_native() {
    for kind in [
        OptimizerKind::Sgd,
        OptimizerKind::Momentum {
            momentum: 0.9,
            nesterov: false,
        },
        OptimizerKind::Momentum {
            momentum: 0.8,
            nesterov: true,
        },
        OptimizerKind::Rmsprop {
            alpha: 0.9,
            epsilon: 1e-8,
        },
        ADAM,
    ] {
        for (l1, l2, clip_value, clip_norm) in [
            (0.0, 0.0, None, None),
            (0.01, 0.1, None, None),
            (0.0, 0.0, Some(0.05), None),
            (0.0, 0.0, None, Some(0.1)),
            (0.01, 0.1, Some(0.05), Some(0.1)),
        ] {
            let mut run = run(
                vec![dense(5, Activation::Relu), dense(4, Activation::Tanh)],
                OutputHead::SoftmaxCrossEntropy,
                kind,
            );
            run.regularization = RegularizationSpec {
                l1,
                l2,
                clip_value,
                clip_norm,
            };
            let what = format!(
                "{} l1={l1} l2={l2} value={clip_value:?} norm={clip_norm:?}",
                kind.name()
            );
            compare(&what, &run, 3, 4, 2e-5);
        }
    }
}

#[test]
fn two_threads_give_the_same_numbers() {
    let run = run(
        vec![dense(16, Activation::Relu)],
        OutputHead::SoftmaxCrossEntropy,
        ADAM,
    );
    let problem = Problem::new(&run, 3);
    let mut one = problem.trainer(&TchBackend, &run, 1);
    let mut two = problem.trainer(&TchBackend, &run, 2);
    for _ in 0..3 {
        let a = one.train_batch(&problem.batch(), 0.05).unwrap();
        let b = two.train_batch(&problem.batch(), 0.05).unwrap();
        assert!((a.loss - b.loss).abs() < 1e-6);
    }
    let diff = one
        .weights()
        .unwrap()
        .max_difference(&two.weights().unwrap())
        .0;
    assert!(diff < 1e-6, "{diff}");
}

#[test]
fn dropout_is_seeded_and_off_at_evaluation() {
    let layers = vec![dense(8, Activation::Relu), LayerSpec::Dropout { rate: 0.5 }];
    let run = run(layers, OutputHead::SoftmaxCrossEntropy, OptimizerKind::Sgd);
    let problem = Problem::new(&run, 3);
    let train = || {
        let mut trainer = problem.trainer(&TchBackend, &run, 1);
        let losses: Vec<f32> = (0..5)
            .map(|_| trainer.train_batch(&problem.batch(), 0.1).unwrap().loss)
            .collect();
        (losses, trainer.weights().unwrap(), trainer)
    };
    let (losses_a, weights_a, mut trainer) = train();
    let (losses_b, weights_b, _) = train();
    assert_eq!(losses_a, losses_b);
    assert_eq!(weights_a, weights_b);
    // Evaluation: no mask, so the native network with these weights predicts the same.
    let mut native = NativeBackend
        .build(&TrainerSetup {
            run: &run,
            network: &problem.network,
            init: Some(&weights_a),
            seed: 0,
            threads: 1,
        })
        .unwrap();
    let pa = trainer.predict(&problem.inputs, ROWS).unwrap();
    let pb = native.predict(&problem.inputs, ROWS).unwrap();
    assert!(max_difference(&pa, &pb) < 1e-6);
    // Training does apply a mask: with rate 0.5 the first step's loss differs from the
    // dropout-free network's.
    let mut dropped = problem.trainer(&TchBackend, &run, 1);
    let first = dropped.train_batch(&problem.batch(), 0.0).unwrap().loss;
    let mut no_dropout = run.clone();
    no_dropout.model.layers.pop();
    let network = Network::new(&no_dropout.model, FEATURES, 3);
    let mut init = problem.init.clone();
    for tensor in &mut init.tensors {
        tensor.name = tensor.name.replace("2.", "1.");
    }
    let mut without = NativeBackend
        .build(&TrainerSetup {
            run: &no_dropout,
            network: &network,
            init: Some(&init),
            seed: 0,
            threads: 1,
        })
        .unwrap();
    let base = without.train_batch(&problem.batch(), 0.0).unwrap().loss;
    assert_ne!(first, base);
}

#[test]
fn framework_default_init_is_seeded_and_tchs_own() {
    let mut run = run(
        vec![dense(20, Activation::Relu)],
        OutputHead::SoftmaxCrossEntropy,
        ADAM,
    );
    run.init.weights = InitScheme::FrameworkDefault;
    let network = Network::new(&run.model, 10, 3);
    let build = |seed| {
        TchBackend
            .build(&TrainerSetup {
                run: &run,
                network: &network,
                init: None,
                seed,
                threads: 1,
            })
            .unwrap()
            .weights()
            .unwrap()
    };
    let (a, b, c) = (build(1), build(1), build(2));
    assert_eq!(a, b);
    assert_ne!(a, c);
    // tch's nn::linear default: Kaiming-uniform weights with the ReLU gain, U(±√(6/fan_in)),
    // and U(±1/√fan_in) biases.
    for (name, bound) in [
        ("0.weight", (6.0f32 / 10.0).sqrt()),
        ("0.bias", 1.0 / 10.0f32.sqrt()),
        ("1.weight", (6.0f32 / 20.0).sqrt()),
    ] {
        let data = &a.get(name).unwrap().data;
        assert!(data.iter().all(|v| v.abs() <= bound), "{name}");
        assert!(data.iter().any(|v| v.abs() > 0.5 * bound), "{name}");
    }
}

/// Many steps on a larger problem with batches in a seeded order: the loss curves stay within
/// `relative` of native's at every step.
fn long_run(kind: OptimizerKind, steps: usize, lr: f32, relative: f32) {
    const ROWS: usize = 32;
    const FEATURES: usize = 8;
    const CLASSES: usize = 4;
    let mut run = run(
        vec![dense(16, Activation::Relu), dense(12, Activation::Tanh)],
        OutputHead::SoftmaxCrossEntropy,
        kind,
    );
    run.optimizer.learning_rate = 0.05;
    let network = Network::new(&run.model, FEATURES, CLASSES);
    let init = nnbench_core::init::initial_weights(&network, &run.init, 11).unwrap();
    let mut rng = Rng::new(5);
    let batches: Vec<(Vec<f32>, Vec<u32>)> = (0..8)
        .map(|_| {
            let labels: Vec<u32> = (0..ROWS).map(|_| rng.below(CLASSES) as u32).collect();
            let inputs = labels
                .iter()
                .flat_map(|&label| {
                    (0..FEATURES)
                        .map(|f| {
                            let centre = if f % CLASSES == label as usize {
                                1.5
                            } else {
                                0.0
                            };
                            (centre + rng.normal()) as f32
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            (inputs, labels)
        })
        .collect();
    let build = |backend: &dyn Backend| {
        backend
            .build(&TrainerSetup {
                run: &run,
                network: &network,
                init: Some(&init),
                seed: 0,
                threads: 1,
            })
            .unwrap()
    };
    let (mut tch, mut native) = (build(&TchBackend), build(&NativeBackend));
    let mut worst = 0.0f32;
    for step in 0..steps {
        let (inputs, labels) = &batches[step % batches.len()];
        let targets = encode_targets(labels, CLASSES);
        let batch = Batch {
            inputs,
            rows: ROWS,
            features: FEATURES,
            labels,
            targets: &targets,
        };
        let a = tch.train_batch(&batch, lr).unwrap().loss;
        let b = native.train_batch(&batch, lr).unwrap().loss;
        let diff = (a - b).abs() / b.abs().max(1e-3);
        worst = worst.max(diff);
        assert!(
            diff <= relative,
            "{}: step {step} loss {a} vs native {b}",
            kind.name()
        );
    }
    println!(
        "{}: {steps} steps, worst relative loss difference {worst:e}",
        kind.name()
    );
}

#[test]
fn plain_sgd_follows_native_over_many_steps() {
    long_run(OptimizerKind::Sgd, 500, 0.05, 1e-4);
}

/// At Adam's rate 0.05 the run turns chaotic and libtorch's different rounding order grows to
/// 2e-3 by step 173 (measured); at 0.01 the same formula stays within 1e-5, so a formula
/// difference would still show.
#[test]
fn adam_follows_native_over_many_steps() {
    long_run(ADAM, 200, 0.01, 1e-3);
}

#[test]
fn bad_batches_are_errors_not_panics() {
    let run = run(
        vec![dense(4, Activation::Relu)],
        OutputHead::SoftmaxCrossEntropy,
        ADAM,
    );
    let problem = Problem::new(&run, 3);
    let mut trainer = problem.trainer(&TchBackend, &run, 1);
    let mut batch = problem.batch();
    batch.features = 2;
    assert!(trainer.train_batch(&batch, 0.1).is_err());
    let labels = [7u32; ROWS];
    let mut batch = problem.batch();
    batch.labels = &labels;
    assert!(trainer.train_batch(&batch, 0.1).is_err());
    assert!(trainer.predict(&problem.inputs[..5], 2).is_err());
    // The trainer still works afterwards.
    assert!(trainer.train_batch(&problem.batch(), 0.1).is_ok());
    let mut wrong = problem.init.clone();
    wrong.tensors[0].shape = vec![1, 1];
    let setup = TrainerSetup {
        run: &run,
        network: &problem.network,
        init: Some(&wrong),
        seed: 0,
        threads: 1,
    };
    assert!(TchBackend.build(&setup).is_err());
}
