//! The step-parity suite: a framework backend against the hand-written reference
//! (nnbench-native), step by step from the same initial weights on the same batch: every
//! activation and head, batch norm (outputs and running statistics), residual blocks, each
//! optimizer with
//! every regularizer at once, gradient norms, threads, dropout and bad input. Dropout masks
//! come from different generators, so dropout is checked for determinism and for being off at
//! evaluation instead. Cases the candidate cannot express are skipped here (the conformance
//! suite checks that it reports them).
//!
//! A backend crate runs it from its tests with [`step_parity_suite!`](crate::step_parity_suite),
//! the reference being a dev-dependency there (core cannot depend on a backend). Like the
//! conformance suite, it is compiled only with nnbench-core's `suites` feature, which a backend
//! enables in its `[dev-dependencies]`:
//!
//! ```ignore
//! nnbench_core::step_parity_suite!(nnbench_burn::BurnBackend, nnbench_native::NativeBackend);
//! ```
//!
//! The helpers ([`run`], [`Problem`], [`dense`]) serve a backend's own extra parity tests.

use crate::metrics::encode_targets;
use crate::rng::Rng;
use crate::spec::{
    Activation, BatchSize, DatasetSource, DatasetSpec, InitScheme, InitSpec, LayerSpec, LogicGate,
    ModelSpec, OptimizerKind, OptimizerSpec, OutputHead, OutputSpec, RegularizationSpec, RunSpec,
    Scaling, Schedule, TrainingSpec,
};
use crate::{Backend, Batch, Network, Trainer, TrainerSetup, Weights};

/// Generates one `#[test]` per check for `$candidate` against `$reference` (expressions of
/// types that implement [`Backend`]).
/// `step_parity_suite!(candidate, reference, run_if = ready())` skips (passes) each test when
/// the guard is `false`, as [`conformance_suite!`](crate::conformance_suite) does.
#[macro_export]
macro_rules! step_parity_suite {
    ($candidate:expr, $reference:expr) => {
        $crate::step_parity_suite!($candidate, $reference, run_if = true);
    };
    ($candidate:expr, $reference:expr, run_if = $ready:expr) => {
        $crate::step_parity_suite!(@tests $candidate, $reference, $ready;
            every_activation_matches_the_reference,
            every_trainable_head_matches_the_reference,
            batch_norm_matches_the_reference,
            residual_blocks_match_the_reference,
            optimizers_with_every_regularizer_match_the_reference,
            two_threads_give_the_same_numbers,
            dropout_is_seeded_and_off_at_evaluation,
            bad_batches_are_errors_not_panics,
            perceptron_rule_matches_the_reference,
            a_cnn_follows_the_reference_over_100_steps,
        );
    };
    (@tests $candidate:expr, $reference:expr, $ready:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                if $ready {
                    $crate::step_parity::$check($crate::step_parity::Pair {
                        candidate: &$candidate,
                        reference: &$reference,
                    });
                }
            }
        )*
    };
}

/// The backend under test and the reference it is held to.
#[derive(Clone, Copy)]
pub struct Pair<'a> {
    pub candidate: &'a dyn Backend,
    pub reference: &'a dyn Backend,
}

const ROWS: usize = 6;
pub const FEATURES: usize = 3;

pub fn run(layers: Vec<LayerSpec>, head: OutputHead, kind: OptimizerKind) -> RunSpec {
    RunSpec {
        dataset: DatasetSpec {
            source: DatasetSource::Logic {
                gate: LogicGate::Xor,
            },
            train_size: None,
            test_size: None,
            scaling: Scaling::None,
            validation_fraction: 0.0,
            keep_classes: None,
        },
        model: ModelSpec {
            layers,
            output: OutputSpec { head },
            threshold: 0.0,
        },
        init: InitSpec {
            weights: InitScheme::GlorotUniform,
            biases: InitScheme::Normal { std: 0.3 },
            from_file: None,
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
            record_dead_units: false,
            max_steps: None,
            record_gradients: false,
            divergence_loss: f64::INFINITY,
            input_noise: 0.0,
        },
        backends: Vec::new(),
        threads: 1,
    }
}

pub struct Problem {
    pub network: Network,
    pub init: Weights,
    pub inputs: Vec<f32>,
    pub labels: Vec<u32>,
    pub targets: Vec<f32>,
}

impl Problem {
    pub fn new(run: &RunSpec, classes: usize) -> Problem {
        let network = Network::new(&run.model, FEATURES, classes);
        let init = crate::init::initial_weights(&network, &run.init, 3).unwrap();
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

    pub fn batch(&self) -> Batch<'_> {
        Batch {
            inputs: &self.inputs,
            rows: ROWS,
            features: FEATURES,
            labels: &self.labels,
            targets: &self.targets,
        }
    }

    pub fn trainer(
        &self,
        backend: &dyn Backend,
        run: &RunSpec,
        threads: usize,
    ) -> Box<dyn Trainer> {
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

pub fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Whether `backend` declares (in [`Backend::formula_difference`](crate::Backend)) that its
/// optimizer for `run` follows another formula than the spec's (Keras's Adam and RMSprop):
/// such a case is measured and named in parity reports, not held to rounding by the suites.
pub fn declares_optimizer_difference(backend: &dyn crate::Backend, run: &RunSpec) -> bool {
    let kind = run.optimizer.kind.name();
    backend.formula_difference(run).is_some_and(|note| {
        note.starts_with(&format!("{kind}: ")) || note.contains(&format!("; {kind}: "))
    })
}

/// Trains `steps` steps on both backends and compares losses, gradient norms, weights and
/// evaluation outputs; `false` when the candidate cannot express `run` (its conformance suite
/// checks that it says so).
fn compare(
    pair: Pair<'_>,
    what: &str,
    run: &RunSpec,
    classes: usize,
    steps: usize,
    tolerance: f32,
) -> bool {
    if pair.candidate.check(run).is_err() {
        return false;
    }
    if declares_optimizer_difference(pair.candidate, run) {
        eprintln!(
            "{what}: {} declares another {} formula; measured by `nnbench parity`, not here",
            pair.candidate.name(),
            run.optimizer.kind.name()
        );
        return false;
    }
    let problem = Problem::new(run, classes);
    let mut candidate = problem.trainer(pair.candidate, run, 1);
    let mut reference = problem.trainer(pair.reference, run, 1);
    for step in 0..steps {
        let lr = 0.1 / (step + 1) as f32;
        let a = candidate.train_batch(&problem.batch(), lr).unwrap();
        let b = reference.train_batch(&problem.batch(), lr).unwrap();
        assert!(
            (a.loss - b.loss).abs() <= tolerance * b.loss.abs().max(1.0),
            "{what}: step {step} loss {} vs reference {}",
            a.loss,
            b.loss
        );
        let (na, nb) = (a.grad_norms.unwrap(), b.grad_norms.unwrap());
        assert!(
            max_difference(&na, &nb) <= tolerance,
            "{what}: grad norms {na:?} vs {nb:?}"
        );
    }
    let (wa, wb) = (candidate.weights().unwrap(), reference.weights().unwrap());
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
    let pa = candidate.predict(&problem.inputs, ROWS).unwrap();
    let pb = reference.predict(&problem.inputs, ROWS).unwrap();
    let diff = max_difference(&pa, &pb);
    assert!(diff <= tolerance, "{what}: predictions differ by {diff}");
    true
}

/// A loop of cases must have compared some: a candidate that expresses none would pass
/// silently.
fn some_compared(pair: Pair<'_>, compared: usize, what: &str) {
    assert!(
        compared > 0,
        "{}: none of the {what} cases could be expressed",
        pair.candidate.name()
    );
}

pub fn dense(units: usize, activation: Activation) -> LayerSpec {
    LayerSpec::Dense { units, activation }
}

pub const ADAM: OptimizerKind = OptimizerKind::Adam {
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
};

pub fn every_activation_matches_the_reference(pair: Pair<'_>) {
    let mut compared = 0;
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
        compared += usize::from(compare(pair, activation.name(), &run, 3, 3, 1e-5));
    }
    some_compared(pair, compared, "activation");
}

pub fn every_trainable_head_matches_the_reference(pair: Pair<'_>) {
    let mut compared = 0;
    for (head, classes) in [
        (OutputHead::SoftmaxCrossEntropy, 3),
        (OutputHead::SigmoidBinaryCrossEntropy, 2),
        (OutputHead::IdentityMse, 2),
        (OutputHead::IdentityMse, 3),
    ] {
        let run = run(vec![dense(4, Activation::Tanh)], head, OptimizerKind::Sgd);
        compared += usize::from(compare(pair, head.name(), &run, classes, 3, 1e-5));
    }
    some_compared(pair, compared, "head");
}

/// Rosenblatt's rule (the `step` head), from zero and from random init, at threshold 0 and at
/// the course's 0.5: full-batch steps (through [`compare`]) and then one row at a time, as the
/// perceptron scenarios train, with the weights compared after every row. Skipped where the
/// candidate cannot express the rule (its conformance suite checks that it says so).
pub fn perceptron_rule_matches_the_reference(pair: Pair<'_>) {
    let expressible = pair.candidate.capabilities().iter().any(|cap| {
        cap.category == crate::Category::Head
            && cap.name == OutputHead::Step.name()
            && !matches!(cap.support, crate::Support::Unsupported(_))
    });
    if !expressible {
        return;
    }
    for threshold in [0.0, 0.5] {
        let zeros = (InitScheme::Zeros, InitScheme::Zeros);
        let random = (InitScheme::GlorotUniform, InitScheme::Normal { std: 0.3 });
        for (weights, biases) in [zeros, random] {
            let mut run = run(vec![], OutputHead::Step, OptimizerKind::Sgd);
            run.model.threshold = threshold;
            run.init = InitSpec {
                weights,
                biases,
                from_file: None,
            };
            let what = format!("step, threshold {threshold}, init {weights:?}");
            assert!(
                compare(pair, &what, &run, 2, 4, 1e-6),
                "{what}: {} declares the step head but refuses the plain rule",
                pair.candidate.name()
            );
            let problem = Problem::new(&run, 2);
            let mut candidate = problem.trainer(pair.candidate, &run, 1);
            let mut reference = problem.trainer(pair.reference, &run, 1);
            for pass in 0..5 {
                for row in 0..ROWS {
                    let batch = Batch {
                        inputs: &problem.inputs[row * FEATURES..(row + 1) * FEATURES],
                        rows: 1,
                        features: FEATURES,
                        labels: &problem.labels[row..row + 1],
                        targets: &problem.targets[row..row + 1],
                    };
                    let a = candidate.train_batch(&batch, 0.2).unwrap();
                    let b = reference.train_batch(&batch, 0.2).unwrap();
                    assert_eq!(a.loss, b.loss, "{what}: pass {pass} row {row} error");
                    let (wa, wb) = (candidate.weights().unwrap(), reference.weights().unwrap());
                    let (diff, _) = wa.max_difference(&wb);
                    assert!(
                        diff <= 1e-6,
                        "{what}: pass {pass} row {row}: weights differ by {diff}"
                    );
                }
            }
            let pa = candidate.predict(&problem.inputs, ROWS).unwrap();
            let pb = reference.predict(&problem.inputs, ROWS).unwrap();
            assert_eq!(pa, pb, "{what}: predictions");
        }
    }
}

pub fn batch_norm_matches_the_reference(pair: Pair<'_>) {
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
    // Skipped where batch norm is unsupported (scikit-learn's network has none).
    compare(pair, "batch_norm", &run, 3, 4, 2e-5);
}

/// Residual blocks (`y = x + f(x·W + b)`) after a dense layer, with plain SGD and with Adam
/// under every regularizer (their weights are penalised and clipped like a dense layer's),
/// gradient norms included (one per block, beside the dense layers').
pub fn residual_blocks_match_the_reference(pair: Pair<'_>) {
    let layers = vec![
        dense(4, Activation::Tanh),
        LayerSpec::Residual {
            units: 4,
            activation: Activation::Sigmoid,
        },
        LayerSpec::Residual {
            units: 4,
            activation: Activation::Relu,
        },
    ];
    for (kind, regularization) in [
        (
            OptimizerKind::Sgd,
            RegularizationSpec {
                l1: 0.0,
                l2: 0.0,
                clip_value: None,
                clip_norm: None,
            },
        ),
        (
            ADAM,
            RegularizationSpec {
                l1: 0.01,
                l2: 0.1,
                clip_value: Some(0.05),
                clip_norm: Some(0.1),
            },
        ),
    ] {
        let mut run = run(layers.clone(), OutputHead::SoftmaxCrossEntropy, kind);
        run.regularization = regularization;
        let network = Network::new(&run.model, FEATURES, 3);
        assert_eq!(network.dense_layers().count(), 4);
        // Skipped where residual blocks are unsupported (scikit-learn's network has none).
        compare(pair, &format!("residual {}", kind.name()), &run, 3, 4, 2e-5);
    }
}

pub fn optimizers_with_every_regularizer_match_the_reference(pair: Pair<'_>) {
    let mut compared = 0;
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
            compared += usize::from(compare(pair, &what, &run, 3, 4, 2e-5));
        }
    }
    some_compared(pair, compared, "optimizer and regularizer");
}

pub fn two_threads_give_the_same_numbers(pair: Pair<'_>) {
    let run = run(
        vec![dense(16, Activation::Relu)],
        OutputHead::SoftmaxCrossEntropy,
        ADAM,
    );
    let problem = Problem::new(&run, 3);
    let mut one = problem.trainer(pair.candidate, &run, 1);
    let mut two = problem.trainer(pair.candidate, &run, 2);
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

pub fn dropout_is_seeded_and_off_at_evaluation(pair: Pair<'_>) {
    let layers = vec![dense(8, Activation::Relu), LayerSpec::Dropout { rate: 0.5 }];
    let run = run(layers, OutputHead::SoftmaxCrossEntropy, OptimizerKind::Sgd);
    if pair.candidate.check(&run).is_err() {
        return;
    }
    let problem = Problem::new(&run, 3);
    let train = || {
        let mut trainer = problem.trainer(pair.candidate, &run, 1);
        let losses: Vec<f32> = (0..5)
            .map(|_| trainer.train_batch(&problem.batch(), 0.1).unwrap().loss)
            .collect();
        (losses, trainer.weights().unwrap(), trainer)
    };
    let (losses_a, weights_a, mut trainer) = train();
    let (losses_b, weights_b, _) = train();
    assert_eq!(losses_a, losses_b);
    assert_eq!(weights_a, weights_b);
    // Evaluation: no mask, so the reference network with these weights predicts the same.
    let mut plain = pair
        .reference
        .build(&TrainerSetup {
            run: &run,
            network: &problem.network,
            init: Some(&weights_a),
            seed: 0,
            threads: 1,
        })
        .unwrap();
    let pa = trainer.predict(&problem.inputs, ROWS).unwrap();
    let pb = plain.predict(&problem.inputs, ROWS).unwrap();
    assert!(max_difference(&pa, &pb) < 1e-6);
    // Training does apply a mask: with rate 0.5 the first step's loss differs from the
    // dropout-free network's.
    let mut dropped = problem.trainer(pair.candidate, &run, 1);
    let first = dropped.train_batch(&problem.batch(), 0.0).unwrap().loss;
    let mut no_dropout = run.clone();
    no_dropout.model.layers.pop();
    let network = Network::new(&no_dropout.model, FEATURES, 3);
    let mut init = problem.init.clone();
    for tensor in &mut init.tensors {
        tensor.name = tensor.name.replace("2.", "1.");
    }
    let mut without = pair
        .reference
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

pub fn bad_batches_are_errors_not_panics(pair: Pair<'_>) {
    let run = run(
        vec![dense(4, Activation::Relu)],
        OutputHead::SoftmaxCrossEntropy,
        ADAM,
    );
    let problem = Problem::new(&run, 3);
    let mut trainer = problem.trainer(pair.candidate, &run, 1);
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
    assert!(pair.candidate.build(&setup).is_err());
}

/// Trains `candidate` and `reference` from the same initial weights for `steps` steps at rate
/// `lr` on a larger problem than the suite's (8 features, 4 classes, two hidden layers, 8
/// batches of 32 rows in a seeded order) and returns the worst relative difference of their
/// losses over the steps: the long-run drift the backends' parity tests bound.
pub fn long_run_drift(
    candidate: &dyn Backend,
    reference: &dyn Backend,
    kind: OptimizerKind,
    steps: usize,
    lr: f32,
) -> f32 {
    const ROWS: usize = 32;
    const FEATURES: usize = 8;
    const CLASSES: usize = 4;
    let mut run = run(
        vec![dense(16, Activation::Relu), dense(12, Activation::Tanh)],
        OutputHead::SoftmaxCrossEntropy,
        kind,
    );
    run.optimizer.learning_rate = f64::from(lr);
    let network = Network::new(&run.model, FEATURES, CLASSES);
    let init = crate::init::initial_weights(&network, &run.init, 11).unwrap();
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
    let (mut ours, mut theirs) = (build(candidate), build(reference));
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
        let a = ours.train_batch(&batch, lr).unwrap().loss;
        let b = theirs.train_batch(&batch, lr).unwrap().loss;
        assert!(a.is_finite(), "{}: step {step} loss {a}", candidate.name());
        worst = worst.max((a - b).abs() / b.abs().max(1e-3));
    }
    println!(
        "{} {}: {steps} steps, worst relative loss difference {worst:e}",
        candidate.name(),
        kind.name()
    );
    worst
}

/// The conformance suite's small CNN (convolutions with same, valid, strided and padded
/// windows, max and average pooling, flatten, dense) on 10×10 bar images, 100 steps of SGD
/// and of Adam from the same initial weights: the loss at every step and the final weights
/// stay within 1e-4 (SGD) and 1e-3 (Adam) of the reference's, relative.
pub fn a_cnn_follows_the_reference_over_100_steps(pair: Pair<'_>) {
    let (mut run, network) = crate::conformance::small_cnn();
    if pair.candidate.check(&run).is_err() {
        return;
    }
    const ROWS: usize = 24;
    let (inputs, labels) = crate::conformance::bar_images(ROWS * 4, 21);
    let targets = encode_targets(&labels, 3);
    for (kind, lr, bound) in [(OptimizerKind::Sgd, 0.05f32, 1e-4f32), (ADAM, 0.005, 1e-3)] {
        run.optimizer.kind = kind;
        run.optimizer.learning_rate = f64::from(lr);
        run.training.record_grad_norms = true;
        if declares_optimizer_difference(pair.candidate, &run) {
            continue;
        }
        let init = crate::init::initial_weights(&network, &run.init, 5).unwrap();
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
        let (mut ours, mut theirs) = (build(pair.candidate), build(pair.reference));
        let mut worst = 0.0f32;
        for step in 0..100 {
            let rows = (step % 4) * ROWS..(step % 4 + 1) * ROWS;
            let batch = Batch {
                inputs: &inputs[rows.start * 100..rows.end * 100],
                rows: ROWS,
                features: 100,
                labels: &labels[rows.clone()],
                targets: &targets[rows.start * 3..rows.end * 3],
            };
            let a = ours.train_batch(&batch, lr).unwrap();
            let b = theirs.train_batch(&batch, lr).unwrap();
            assert!(a.loss.is_finite(), "step {step}: loss {}", a.loss);
            worst = worst.max((a.loss - b.loss).abs() / b.loss.abs().max(1e-3));
            if step == 0 {
                let (na, nb) = (a.grad_norms.unwrap(), b.grad_norms.unwrap());
                let diff = max_difference(&na, &nb);
                assert!(
                    diff <= 1e-4 * nb.iter().fold(1.0, |m, v| v.max(m)),
                    "{na:?} vs {nb:?}"
                );
            }
        }
        let (_, weights) = ours
            .weights()
            .unwrap()
            .max_difference(&theirs.weights().unwrap());
        println!(
            "{} cnn {}: 100 steps, worst relative loss difference {worst:e}, final weights \
             {weights:e}",
            pair.candidate.name(),
            kind.name()
        );
        assert!(
            worst <= bound && weights <= bound,
            "{} cnn {}: loss drifts by {worst:e}, weights by {weights:e} (bound {bound:e})",
            pair.candidate.name(),
            kind.name()
        );
        let pa = ours.predict(&inputs[..ROWS * 100], ROWS).unwrap();
        let pb = theirs.predict(&inputs[..ROWS * 100], ROWS).unwrap();
        assert!(max_difference(&pa, &pb) <= 10.0 * bound);
    }
}
