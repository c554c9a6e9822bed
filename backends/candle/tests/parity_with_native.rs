//! Candle against the native reference: from the same initial weights, on the same batches,
//! a few steps of every activation, head, layer, optimizer and regularizer the candle backend
//! supports end at the same weights and losses (to f32 rounding), without going through the
//! scenario parser.

use nnbench_candle::CandleBackend;
use nnbench_core::metrics::encode_targets;
use nnbench_core::rng::Rng;
use nnbench_core::spec::{
    Activation, InitScheme, LayerSpec, OptimizerKind, OutputHead, RegularizationSpec, RunSpec,
};
use nnbench_core::step_parity::{ADAM, run};
use nnbench_core::{Backend, Batch, Network, Support, TrainerSetup};
use nnbench_native::NativeBackend;

// The shared suite (see nnbench_core::step_parity), then candle's own checks below.
nnbench_core::step_parity_suite!(CandleBackend, NativeBackend);

const ROWS: usize = 8;
const FEATURES: usize = 4;

fn dense(units: usize, activation: Activation) -> LayerSpec {
    LayerSpec::Dense { units, activation }
}

/// Trains `run` for a few steps on both backends; returns the largest weight difference
/// relative to the weights' scale, and the largest loss and gradient-norm differences.
fn compare(run: &RunSpec, classes: usize) -> (f32, f32, f32) {
    let network = Network::new(&run.model, FEATURES, classes);
    let init = nnbench_core::init::initial_weights(&network, &run.init, 3).unwrap();
    let setup = TrainerSetup {
        run,
        network: &network,
        init: Some(&init),
        seed: 9,
        threads: 1,
    };
    assert!(
        CandleBackend.check(run).is_ok(),
        "{:?}",
        CandleBackend.check(run)
    );
    let mut candle = CandleBackend.build(&setup).unwrap();
    let mut native = NativeBackend.build(&setup).unwrap();
    let mut rng = Rng::new(42);
    let (mut loss_diff, mut norm_diff) = (0.0f32, 0.0f32);
    for step in 0..4 {
        let inputs: Vec<f32> = (0..ROWS * FEATURES).map(|_| rng.normal() as f32).collect();
        let labels: Vec<u32> = (0..ROWS).map(|_| rng.below(classes) as u32).collect();
        let targets = encode_targets(&labels, network.outputs);
        let batch = Batch {
            inputs: &inputs,
            rows: ROWS,
            features: FEATURES,
            labels: &labels,
            targets: &targets,
        };
        let lr = 0.1 / (1.0 + step as f32);
        let a = candle.train_batch(&batch, lr).unwrap();
        let b = native.train_batch(&batch, lr).unwrap();
        loss_diff = loss_diff.max((a.loss - b.loss).abs() / b.loss.abs().max(1.0));
        for (x, y) in a.grad_norms.unwrap().iter().zip(&b.grad_norms.unwrap()) {
            norm_diff = norm_diff.max((x - y).abs() / y.abs().max(1.0));
        }
    }
    let (a, b) = (candle.weights().unwrap(), native.weights().unwrap());
    assert_eq!(a.tensors.len(), b.tensors.len());
    for (x, y) in a.tensors.iter().zip(&b.tensors) {
        assert_eq!((&x.name, &x.shape), (&y.name, &y.shape));
    }
    let (absolute, _) = a.max_difference(&b);
    // Predictions agree too.
    let inputs: Vec<f32> = (0..ROWS * FEATURES).map(|_| rng.normal() as f32).collect();
    let p = candle.predict(&inputs, ROWS).unwrap();
    let q = native.predict(&inputs, ROWS).unwrap();
    assert_eq!(p.len(), ROWS * network.outputs);
    let pred_diff = p
        .iter()
        .zip(&q)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    (absolute.max(pred_diff), loss_diff, norm_diff)
}

fn assert_close(what: &str, run: &RunSpec, classes: usize) {
    let (weights, loss, norms) = compare(run, classes);
    assert!(
        weights < 2e-5 && loss < 2e-5 && norms < 2e-5,
        "{what}: weights/predictions differ by {weights}, losses by {loss}, grad norms by {norms}"
    );
}

#[test]
fn every_activation_and_head_matches_native() {
    for activation in Activation::ALL {
        for (head, classes) in [
            (OutputHead::SoftmaxCrossEntropy, 3),
            (OutputHead::SigmoidBinaryCrossEntropy, 2),
            (OutputHead::IdentityMse, 2),
            (OutputHead::IdentityMse, 3),
        ] {
            let layers = vec![dense(5, activation), dense(4, Activation::Tanh)];
            let run = run(layers, head, OptimizerKind::Sgd);
            assert_close(
                &format!("{} + {}", activation.name(), head.name()),
                &run,
                classes,
            );
        }
    }
}

#[test]
fn every_optimizer_and_regularizer_matches_native() {
    let optimizers = [
        OptimizerKind::Sgd,
        OptimizerKind::Momentum {
            momentum: 0.9,
            nesterov: false,
        },
        OptimizerKind::Momentum {
            momentum: 0.9,
            nesterov: true,
        },
        OptimizerKind::Rmsprop {
            alpha: 0.9,
            epsilon: 1e-8,
        },
        ADAM,
    ];
    let regularizations = [
        (0.0, 0.0, None, None),
        (0.01, 0.0, None, None),
        (0.0, 0.1, None, None),
        (0.0, 0.0, Some(0.05), None),
        (0.0, 0.0, None, Some(0.1)),
        (0.01, 0.1, Some(0.2), Some(0.3)),
    ];
    for kind in optimizers {
        for (l1, l2, clip_value, clip_norm) in regularizations {
            let layers = vec![dense(6, Activation::Relu)];
            let mut run = run(layers, OutputHead::SoftmaxCrossEntropy, kind);
            run.regularization = RegularizationSpec {
                l1,
                l2,
                clip_value,
                clip_norm,
            };
            let what = format!("{} with {:?}", kind.name(), run.regularization);
            assert_close(&what, &run, 3);
        }
    }
}

#[test]
fn batch_norm_alone_matches_native() {
    let layers = vec![
        dense(6, Activation::Identity),
        LayerSpec::BatchNorm {
            momentum: 0.1,
            epsilon: 1e-5,
        },
    ];
    assert_close(
        "batch norm",
        &run(layers, OutputHead::SoftmaxCrossEntropy, OptimizerKind::Sgd),
        3,
    );
}

#[test]
fn dropout_alone_matches_native() {
    let layers = vec![dense(6, Activation::Relu), LayerSpec::Dropout { rate: 0.3 }];
    assert_close(
        "dropout",
        &run(layers, OutputHead::SoftmaxCrossEntropy, OptimizerKind::Sgd),
        3,
    );
}

#[test]
fn batch_norm_and_dropout_match_native() {
    let layers = vec![
        dense(6, Activation::Identity),
        LayerSpec::BatchNorm {
            momentum: 0.1,
            epsilon: 1e-5,
        },
        LayerSpec::Activation {
            function: Activation::Relu,
        },
        LayerSpec::Dropout { rate: 0.3 },
        dense(5, Activation::Elu),
        LayerSpec::BatchNorm {
            momentum: 0.2,
            epsilon: 1e-3,
        },
    ];
    // Not Adam: the bias of a dense layer feeding batch norm has a zero gradient up to
    // rounding noise, which Adam's normalisation turns into full-size steps that differ
    // between any two implementations.
    let momentum = OptimizerKind::Momentum {
        momentum: 0.9,
        nesterov: true,
    };
    assert_close(
        "batch norm + dropout",
        &run(layers, OutputHead::SoftmaxCrossEntropy, momentum),
        3,
    );
}

#[test]
fn framework_default_init_builds_every_tensor() {
    let layers = vec![
        dense(6, Activation::Relu),
        LayerSpec::BatchNorm {
            momentum: 0.1,
            epsilon: 1e-5,
        },
    ];
    let mut run = run(layers, OutputHead::SoftmaxCrossEntropy, ADAM);
    run.init.weights = InitScheme::FrameworkDefault;
    let network = Network::new(&run.model, FEATURES, 3);
    let setup = TrainerSetup {
        run: &run,
        network: &network,
        init: None,
        seed: 0,
        threads: 1,
    };
    let trainer = CandleBackend.build(&setup).unwrap();
    let weights = trainer.weights().unwrap();
    let zeros = nnbench_core::Weights::zeros_for(&network);
    let names = |w: &nnbench_core::Weights| -> Vec<(String, Vec<usize>)> {
        w.tensors
            .iter()
            .map(|t| (t.name.clone(), t.shape.clone()))
            .collect()
    };
    assert_eq!(names(&weights), names(&zeros));
    let w = &weights.get("0.weight").unwrap().data;
    assert!(w.iter().any(|&v| v != 0.0) && w.iter().all(|v| v.is_finite()));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let run = run(vec![], OutputHead::SoftmaxCrossEntropy, OptimizerKind::Sgd);
    let network = Network::new(&run.model, FEATURES, 3);
    let setup = TrainerSetup {
        run: &run,
        network: &network,
        init: None,
        seed: 0,
        threads: 2,
    };
    let mut trainer = CandleBackend.build(&setup).unwrap();
    assert!(trainer.predict(&[1.0; 3], 1).is_err());
    let batch = Batch {
        inputs: &[0.0; FEATURES],
        rows: 1,
        features: FEATURES,
        labels: &[7],
        targets: &[0.0; 3],
    };
    assert!(trainer.train_batch(&batch, 0.1).is_err());
    let wrong = nnbench_core::Weights::default();
    let setup = TrainerSetup {
        init: Some(&wrong),
        ..setup
    };
    assert!(CandleBackend.build(&setup).is_err());
}

#[test]
fn the_perceptron_rule_runs_with_plain_sgd_only() {
    let run_with = |kind| run(vec![], OutputHead::Step, kind);
    assert!(CandleBackend.check(&run_with(OptimizerKind::Sgd)).is_ok());
    let error = CandleBackend.check(&run_with(ADAM)).unwrap_err();
    assert_eq!(error.feature, "adam");
    assert!(error.reason.contains("perceptron"), "{}", error.reason);
    let caps = CandleBackend.capabilities();
    let step = caps.iter().find(|c| c.name == "step").unwrap();
    assert_eq!(step.support, Support::Adapter);
}

#[test]
fn batch_norm_on_a_single_row_keeps_finite_statistics() {
    let layers = vec![
        dense(3, Activation::Identity),
        LayerSpec::BatchNorm {
            momentum: 0.1,
            epsilon: 1e-5,
        },
    ];
    let run = run(layers, OutputHead::SoftmaxCrossEntropy, OptimizerKind::Sgd);
    let network = Network::new(&run.model, FEATURES, 3);
    let init = nnbench_core::init::initial_weights(&network, &run.init, 3).unwrap();
    let setup = TrainerSetup {
        run: &run,
        network: &network,
        init: Some(&init),
        seed: 0,
        threads: 1,
    };
    let mut candle = CandleBackend.build(&setup).unwrap();
    let mut native = NativeBackend.build(&setup).unwrap();
    let batch = Batch {
        inputs: &[0.5, -1.0, 2.0, 0.25],
        rows: 1,
        features: FEATURES,
        labels: &[2],
        targets: &[0.0, 0.0, 1.0],
    };
    for _ in 0..2 {
        candle.train_batch(&batch, 0.1).unwrap();
        native.train_batch(&batch, 0.1).unwrap();
    }
    let (a, b) = (candle.weights().unwrap(), native.weights().unwrap());
    let running_var = &a.get("1.running_var").unwrap().data;
    assert!(running_var.iter().all(|v| v.is_finite()), "{running_var:?}");
    let (absolute, _) = a.max_difference(&b);
    assert!(absolute < 1e-5, "differs from native by {absolute}");
}
