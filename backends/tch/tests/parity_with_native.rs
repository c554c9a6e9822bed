//! The tch trainer against the hand-written reference (nnbench-native): the shared
//! step-parity suite ([`nnbench_core::step_parity`]), tch's own default init, and long runs of
//! plain SGD and Adam on a larger problem.

use nnbench_core::spec::{Activation, InitScheme, OptimizerKind, OutputHead};
use nnbench_core::step_parity::{ADAM, dense, long_run_drift, run};
use nnbench_core::{Backend, Network, TrainerSetup};
use nnbench_native::NativeBackend;
use nnbench_tch::TchBackend;

nnbench_core::step_parity_suite!(TchBackend, NativeBackend);

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
    let worst = long_run_drift(&TchBackend, &NativeBackend, kind, steps, lr);
    assert!(worst <= relative, "{}: drifts by {worst:e}", kind.name());
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
