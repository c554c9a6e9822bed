//! The linfa trainer against the hand-written reference (nnbench-native): the shared
//! step-parity suite ([`nnbench_core::step_parity`]; what scikit-learn's network lacks is
//! skipped there) and scikit-learn's Glorot init.

use nnbench_core::spec::{Activation, InitScheme, OutputHead};
use nnbench_core::step_parity::{ADAM, dense, run};
use nnbench_core::{Backend, Network, TrainerSetup};
use nnbench_linfa::LinfaBackend;
use nnbench_native::NativeBackend;

nnbench_core::step_parity_suite!(LinfaBackend, NativeBackend);

#[test]
fn framework_default_init_is_seeded_and_sklearns_glorot() {
    for (activation, factor) in [(Activation::Relu, 6.0f32), (Activation::Sigmoid, 2.0)] {
        let mut run = run(
            vec![dense(20, activation)],
            OutputHead::SoftmaxCrossEntropy,
            ADAM,
        );
        run.init.weights = InitScheme::FrameworkDefault;
        let network = Network::new(&run.model, 10, 3);
        let build = |seed| {
            LinfaBackend
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
        // scikit-learn's _init_coef: weights and biases from U(±√(factor/(fan_in+fan_out))).
        for (name, fans) in [
            ("0.weight", 30.0f32),
            ("0.bias", 30.0),
            ("1.weight", 23.0),
            ("1.bias", 23.0),
        ] {
            let bound = (factor / fans).sqrt();
            let data = &a.get(name).unwrap().data;
            assert!(data.iter().all(|v| v.abs() <= bound), "{name}");
            assert!(data.iter().any(|v| v.abs() > 0.5 * bound), "{name}");
        }
    }
}
