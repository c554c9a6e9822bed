//! The burn trainer against the hand-written reference (nnbench-native): the shared
//! step-parity suite ([`nnbench_core::step_parity`]) and burn's own default init.

use nnbench_burn::BurnBackend;
use nnbench_core::spec::{Activation, InitScheme, OutputHead};
use nnbench_core::step_parity::{ADAM, dense, run};
use nnbench_core::{Backend, Network, TrainerSetup};
use nnbench_native::NativeBackend;

nnbench_core::step_parity_suite!(BurnBackend, NativeBackend);

#[test]
fn framework_default_init_is_seeded_and_burns_own() {
    let mut run = run(
        vec![dense(20, Activation::Relu)],
        OutputHead::SoftmaxCrossEntropy,
        ADAM,
    );
    run.init.weights = InitScheme::FrameworkDefault;
    let network = Network::new(&run.model, 10, 3);
    let build = |seed| {
        BurnBackend
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
    // PyTorch's nn.Linear default, which burn follows: U(±1/√fan_in) for weights and biases.
    for (name, fan_in) in [("0.weight", 10.0f32), ("0.bias", 10.0), ("1.weight", 20.0)] {
        let bound = 1.0 / fan_in.sqrt();
        let data = &a.get(name).unwrap().data;
        assert!(data.iter().all(|v| v.abs() <= bound), "{name}");
        assert!(data.iter().any(|v| v.abs() > 0.5 * bound), "{name}");
    }
}
