//! Numerical gradient checks: for every activation × loss pair (and through batch norm,
//! residual blocks, convolution and pooling), the gradient the native backward pass applies
//! equals the central difference of the loss.
//!
//! The gradient is read back through the public boundary: one plain SGD step with learning
//! rate 1 moves each parameter by exactly minus its gradient.

use nnbench_core::metrics::encode_targets;
use nnbench_core::rng::Rng;
use nnbench_core::spec::{Activation, LayerSpec, OptimizerKind, OutputHead, Padding, RunSpec};
use nnbench_core::{Backend, Batch, Network, TrainerSetup, Weights};
use nnbench_native::NativeBackend;

const ROWS: usize = 5;
const FEATURES: usize = 3;

/// The step-parity suite's run (full batch, no shuffle, Glorot init with random biases), as
/// plain SGD at rate 1 on native.
fn run(layers: Vec<LayerSpec>, head: OutputHead) -> RunSpec {
    let mut run = nnbench_core::step_parity::run(layers, head, OptimizerKind::Sgd);
    run.optimizer.learning_rate = 1.0;
    run.training.record_grad_norms = false;
    run.backends = vec!["native".into()];
    run
}

struct Problem {
    inputs: Vec<f32>,
    labels: Vec<u32>,
    targets: Vec<f32>,
    features: usize,
}

impl Problem {
    fn new(network: &Network, classes: usize) -> Problem {
        let mut rng = Rng::new(42);
        let features = network.inputs;
        let inputs = (0..ROWS * features).map(|_| rng.normal() as f32).collect();
        let labels: Vec<u32> = (0..ROWS).map(|row| (row % classes) as u32).collect();
        let targets = encode_targets(&labels, network.outputs);
        Problem {
            inputs,
            labels,
            targets,
            features,
        }
    }

    fn batch(&self) -> Batch<'_> {
        Batch {
            inputs: &self.inputs,
            rows: ROWS,
            features: self.features,
            labels: &self.labels,
            targets: &self.targets,
        }
    }
}

/// Loss at `weights` and the weights after one SGD step of rate 1.
fn step(run: &RunSpec, network: &Network, weights: &Weights, problem: &Problem) -> (f64, Weights) {
    let setup = TrainerSetup {
        run,
        network,
        init: Some(weights),
        seed: 0,
        threads: 1,
    };
    let mut trainer = NativeBackend.build(&setup).unwrap();
    let stats = trainer.train_batch(&problem.batch(), 1.0).unwrap();
    (f64::from(stats.loss), trainer.weights().unwrap())
}

fn check(layers: Vec<LayerSpec>, head: OutputHead, classes: usize) {
    check_shaped(layers, head, classes, &[FEATURES], 1e-2);
}

fn check_shaped(
    layers: Vec<LayerSpec>,
    head: OutputHead,
    classes: usize,
    input_shape: &[usize],
    epsilon: f32,
) {
    let run = run(layers, head);
    let network = Network::shaped(&run.model, input_shape, classes).unwrap();
    let weights = nnbench_core::init::initial_weights(&network, &run.init, 3).unwrap();
    let problem = Problem::new(&network, classes);
    let (_, stepped) = step(&run, &network, &weights, &problem);
    let mut checked = 0;
    for (t, tensor) in weights.tensors.iter().enumerate() {
        if tensor.name.ends_with("running_mean") || tensor.name.ends_with("running_var") {
            continue;
        }
        for i in 0..tensor.data.len() {
            let analytic = f64::from(tensor.data[i] - stepped.tensors[t].data[i]);
            let mut shifted = weights.clone();
            shifted.tensors[t].data[i] += epsilon;
            let (plus, _) = step(&run, &network, &shifted, &problem);
            shifted.tensors[t].data[i] -= 2.0 * epsilon;
            let (minus, _) = step(&run, &network, &shifted, &problem);
            let numeric = (plus - minus) / (2.0 * f64::from(epsilon));
            let tolerance = 5e-4 + 5e-3 * numeric.abs();
            assert!(
                (analytic - numeric).abs() <= tolerance,
                "{head:?} {}[{i}]: backprop {analytic}, numeric {numeric}",
                tensor.name
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
}

fn hidden(activation: Activation) -> Vec<LayerSpec> {
    vec![
        LayerSpec::Dense {
            units: 4,
            activation,
        },
        LayerSpec::Dense {
            units: 3,
            activation,
        },
    ]
}

const HEADS: [(OutputHead, usize); 3] = [
    (OutputHead::SoftmaxCrossEntropy, 3),
    (OutputHead::SigmoidBinaryCrossEntropy, 2),
    (OutputHead::IdentityMse, 3),
];

#[test]
fn every_activation_and_loss_pair_backpropagates_the_true_gradient() {
    for activation in Activation::ALL {
        for (head, classes) in HEADS {
            check(hidden(activation), head, classes);
        }
    }
}

#[test]
fn standalone_activation_layers_backpropagate_the_true_gradient() {
    for activation in Activation::ALL {
        let layers = vec![
            LayerSpec::Dense {
                units: 4,
                activation: Activation::Identity,
            },
            LayerSpec::Activation {
                function: activation,
            },
        ];
        check(layers, OutputHead::SoftmaxCrossEntropy, 3);
    }
}

#[test]
fn batch_norm_backpropagates_the_true_gradient() {
    for (head, classes) in HEADS {
        let layers = vec![
            LayerSpec::Dense {
                units: 4,
                activation: Activation::Identity,
            },
            LayerSpec::BatchNorm {
                momentum: 0.1,
                epsilon: 1e-5,
            },
            LayerSpec::Activation {
                function: Activation::Tanh,
            },
        ];
        check(layers, head, classes);
    }
}

/// Residual blocks (`y = x + f(x·W + b)`) with every activation: first in the network (on
/// the inputs, where δ stops) and after a dense layer (δ flows through the skip connection and
/// the block to the layer before).
#[test]
fn residual_blocks_backpropagate_the_true_gradient() {
    let residual = |units, activation| LayerSpec::Residual { units, activation };
    for activation in Activation::ALL {
        let layers = vec![
            residual(FEATURES, activation),
            LayerSpec::Dense {
                units: 4,
                activation: Activation::Tanh,
            },
            residual(4, activation),
            residual(4, Activation::Sigmoid),
        ];
        for (head, classes) in HEADS {
            check(layers.clone(), head, classes);
        }
    }
}

fn conv(
    channels: usize,
    kernel_size: usize,
    stride: usize,
    padding: Padding,
    activation: Activation,
) -> LayerSpec {
    LayerSpec::Conv2d {
        channels,
        kernel_size,
        stride,
        padding,
        activation,
    }
}

/// Strided, padded convolutions, max and average pooling (overlapping windows too) and
/// flatten, between an image input and a dense layer. A step of 1e-3 keeps the max-pooling
/// windows' winners in place.
#[test]
fn convolution_and_pooling_backpropagate_the_true_gradient() {
    let stacks = [
        vec![
            conv(3, 3, 2, Padding::Explicit(1), Activation::Tanh),
            LayerSpec::MaxPool2d { size: 2, stride: 2 },
            LayerSpec::Flatten,
            LayerSpec::Dense {
                units: 4,
                activation: Activation::Tanh,
            },
        ],
        vec![
            conv(3, 3, 1, Padding::Same, Activation::Sigmoid),
            LayerSpec::AvgPool2d { size: 3, stride: 2 },
            conv(2, 2, 1, Padding::Valid, Activation::Elu),
            LayerSpec::MaxPool2d { size: 2, stride: 1 },
            LayerSpec::Flatten,
        ],
    ];
    for layers in stacks {
        for (head, classes) in HEADS {
            check_shaped(layers.clone(), head, classes, &[2, 7, 7], 1e-3);
        }
    }
}

#[test]
fn the_perceptron_rule_changes_weights_only_on_errors() {
    let run = run(Vec::new(), OutputHead::Step);
    let network = Network::new(&run.model, FEATURES, 2);
    let mut weights = Weights::zeros_for(&network);
    // w = (1, 0, 0), b = 0: predicts 1 exactly when x₀ ≥ 0.
    weights.tensors[0].data[0] = 1.0;
    let inputs = vec![1.0, 2.0, 3.0, -1.0, 0.5, 0.5];
    let setup = TrainerSetup {
        run: &run,
        network: &network,
        init: Some(&weights),
        seed: 0,
        threads: 1,
    };
    let mut trainer = NativeBackend.build(&setup).unwrap();
    // Both rows classified correctly: nothing moves, loss (error rate) 0.
    let labels = [1, 0];
    let targets = [1.0, 0.0];
    let batch = Batch {
        inputs: &inputs,
        rows: 2,
        features: FEATURES,
        labels: &labels,
        targets: &targets,
    };
    let stats = trainer.train_batch(&batch, 0.5).unwrap();
    assert_eq!(stats.loss, 0.0);
    assert_eq!(trainer.weights().unwrap(), weights);
    // Second row misclassified (predicted 0, label 1): w += η (y − ŷ) x / rows.
    let labels = [1, 1];
    let targets = [1.0, 1.0];
    let batch = Batch {
        labels: &labels,
        targets: &targets,
        ..batch
    };
    let stats = trainer.train_batch(&batch, 0.5).unwrap();
    assert_eq!(stats.loss, 0.5);
    let after = trainer.weights().unwrap();
    assert_eq!(after.tensors[0].data, vec![1.0 - 0.25, 0.125, 0.125]);
    assert_eq!(after.tensors[1].data, vec![0.25]);
}
