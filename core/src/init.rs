//! Initial weights, drawn once by the harness from the scenario's seed and scheme and handed
//! to every backend, so that all of them start from the same point.

use crate::network::{Layer, Network};
use crate::rng::Rng;
use crate::spec::{InitScheme, InitSpec};
use crate::weights::Weights;

/// The initial weights for `network`: those of `init.from_file` when it is set (checked
/// against the network when the scenario was read), else drawn; or `None` for `framework_default` (each backend then
/// initialises itself). Batch-norm layers start at γ = 1, β = 0, running mean 0, variance 1.
pub fn initial_weights(network: &Network, init: &InitSpec, seed: u64) -> Option<Weights> {
    if let Some(file) = &init.from_file {
        return Some(file.weights.clone());
    }
    if init.weights == InitScheme::FrameworkDefault {
        return None;
    }
    let mut rng = Rng::derive(seed, "init");
    let mut weights = Weights::zeros_for(network);
    for (index, layer) in network.layers.iter().enumerate() {
        let (fan_in, fan_out) = match *layer {
            // A residual block's weights are drawn like a dense layer's of its width.
            Layer::Dense {
                fan_in, fan_out, ..
            } => (fan_in, fan_out),
            Layer::Residual { width, .. } => (width, width),
            // A kernel's fans include its window: each output sees in·k·k inputs, each input
            // reaches out·k·k outputs (Keras' and PyTorch's convention).
            Layer::Conv2d {
                input,
                output,
                kernel_size: k,
                ..
            } => (input.channels * k * k, output.channels * k * k),
            _ => continue,
        };
        for (kind, scheme) in [("weight", init.weights), ("bias", init.biases)] {
            let name = format!("{index}.{kind}");
            let tensor = weights
                .tensors
                .iter_mut()
                .find(|tensor| tensor.name == name)
                .expect("zeros_for creates every dense and conv tensor");
            for value in &mut tensor.data {
                *value = draw(scheme, fan_in, fan_out, &mut rng) as f32;
            }
        }
    }
    Some(weights)
}

fn draw(scheme: InitScheme, fan_in: usize, fan_out: usize, rng: &mut Rng) -> f64 {
    let (fan_in, fan_out) = (fan_in as f64, fan_out as f64);
    let uniform = |rng: &mut Rng, limit: f64| rng.uniform_in(-limit, limit);
    match scheme {
        InitScheme::GlorotUniform => uniform(rng, (6.0 / (fan_in + fan_out)).sqrt()),
        InitScheme::GlorotNormal => rng.normal() * (2.0 / (fan_in + fan_out)).sqrt(),
        InitScheme::HeUniform => uniform(rng, (6.0 / fan_in).sqrt()),
        InitScheme::HeNormal => rng.normal() * (2.0 / fan_in).sqrt(),
        InitScheme::LecunUniform => uniform(rng, (3.0 / fan_in).sqrt()),
        InitScheme::LecunNormal => rng.normal() * (1.0 / fan_in).sqrt(),
        InitScheme::Zeros | InitScheme::FrameworkDefault => 0.0,
        InitScheme::Uniform { limit } => uniform(rng, limit),
        InitScheme::Normal { std } => rng.normal() * std,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Activation, LayerSpec, ModelSpec, OutputHead, OutputSpec};

    fn network() -> Network {
        let model = ModelSpec {
            layers: vec![LayerSpec::Dense {
                units: 300,
                activation: Activation::Relu,
            }],
            output: OutputSpec {
                head: OutputHead::SoftmaxCrossEntropy,
            },
            threshold: 0.0,
        };
        Network::new(&model, 500, 10)
    }

    #[test]
    fn glorot_uniform_stays_in_its_bound_and_is_seeded() {
        let init = InitSpec {
            weights: InitScheme::GlorotUniform,
            biases: InitScheme::Zeros,
            from_file: None,
        };
        let a = initial_weights(&network(), &init, 1).unwrap();
        let b = initial_weights(&network(), &init, 1).unwrap();
        let c = initial_weights(&network(), &init, 2).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let bound = (6.0f32 / 800.0).sqrt();
        let w = a.expect("0.weight", &[500, 300]).unwrap();
        assert!(w.data.iter().all(|v| v.abs() <= bound));
        assert!(w.data.iter().any(|v| v.abs() > 0.9 * bound));
        assert!(a.get("0.bias").unwrap().data.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn he_normal_has_its_standard_deviation() {
        let init = InitSpec {
            weights: InitScheme::HeNormal,
            biases: InitScheme::Zeros,
            from_file: None,
        };
        let w = initial_weights(&network(), &init, 0).unwrap();
        let data = &w.get("0.weight").unwrap().data;
        let var = data.iter().map(|v| v * v).sum::<f32>() / data.len() as f32;
        assert!((var.sqrt() / (2.0f32 / 500.0).sqrt() - 1.0).abs() < 0.02);
    }

    #[test]
    fn conv_kernels_use_their_window_in_both_fans() {
        use crate::spec::Padding;
        let model = ModelSpec {
            layers: vec![
                LayerSpec::Conv2d {
                    channels: 64,
                    kernel_size: 3,
                    stride: 1,
                    padding: Padding::Same,
                    activation: Activation::Relu,
                },
                LayerSpec::Flatten,
            ],
            output: OutputSpec {
                head: OutputHead::SoftmaxCrossEntropy,
            },
            threshold: 0.0,
        };
        let network = Network::shaped(&model, &[32, 8, 8], 10).unwrap();
        for (scheme, expected) in [
            // fan_in = 32·3·3 = 288, fan_out = 64·3·3 = 576.
            (InitScheme::HeNormal, (2.0f32 / 288.0).sqrt()),
            (InitScheme::GlorotNormal, (2.0f32 / (288.0 + 576.0)).sqrt()),
        ] {
            let init = InitSpec {
                weights: scheme,
                biases: InitScheme::Zeros,
                from_file: None,
            };
            let w = initial_weights(&network, &init, 3).unwrap();
            let data = &w.expect("0.weight", &[64, 32, 3, 3]).unwrap().data;
            let std = (data.iter().map(|v| v * v).sum::<f32>() / data.len() as f32).sqrt();
            assert!(
                (std / expected - 1.0).abs() < 0.03,
                "{scheme:?}: {std} vs {expected}"
            );
        }
    }

    #[test]
    fn framework_default_draws_nothing() {
        let init = InitSpec {
            weights: InitScheme::FrameworkDefault,
            biases: InitScheme::Zeros,
            from_file: None,
        };
        assert!(initial_weights(&network(), &init, 0).is_none());
    }
}
