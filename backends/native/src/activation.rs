//! Activation functions and their derivatives, as one table (scikit-learn's `ACTIVATIONS` /
//! `DERIVATIVES` pair): forward on a slice, and the derivative from the input `x` and output
//! `y`, whichever is cheaper.

use nnbench_core::spec::Activation;

const SLOPE: f32 = Activation::LEAKY_RELU_SLOPE;
const ELU_ALPHA: f32 = Activation::ELU_ALPHA;
const SELU_ALPHA: f32 = Activation::SELU_ALPHA;
const SELU_SCALE: f32 = Activation::SELU_SCALE;

pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `y[i] = f(x[i])`.
pub fn forward(function: Activation, x: &[f32], y: &mut [f32]) {
    let pairs = x.iter().zip(y.iter_mut());
    match function {
        Activation::Identity => y.copy_from_slice(x),
        Activation::Sigmoid => pairs.for_each(|(&x, y)| *y = sigmoid(x)),
        Activation::Tanh => pairs.for_each(|(&x, y)| *y = x.tanh()),
        Activation::Relu => pairs.for_each(|(&x, y)| *y = x.max(0.0)),
        Activation::LeakyRelu => pairs.for_each(|(&x, y)| *y = if x > 0.0 { x } else { SLOPE * x }),
        Activation::Elu => {
            pairs.for_each(|(&x, y)| *y = if x > 0.0 { x } else { ELU_ALPHA * x.exp_m1() })
        }
        Activation::Selu => pairs.for_each(|(&x, y)| {
            *y = SELU_SCALE * if x > 0.0 { x } else { SELU_ALPHA * x.exp_m1() }
        }),
    }
}

/// `delta[i] *= f'(x[i])`, given `y = f(x)`.
pub fn backward(function: Activation, x: &[f32], y: &[f32], delta: &mut [f32]) {
    let triples = x.iter().zip(y).zip(delta.iter_mut());
    match function {
        Activation::Identity => {}
        Activation::Sigmoid => triples.for_each(|((_, &y), d)| *d *= y * (1.0 - y)),
        Activation::Tanh => triples.for_each(|((_, &y), d)| *d *= 1.0 - y * y),
        Activation::Relu => triples.for_each(|((&x, _), d)| {
            if x <= 0.0 {
                *d = 0.0;
            }
        }),
        Activation::LeakyRelu => triples.for_each(|((&x, _), d)| {
            if x <= 0.0 {
                *d *= SLOPE;
            }
        }),
        // For x ≤ 0, f(x) = α(eˣ − 1), so f'(x) = f(x) + α.
        Activation::Elu => triples.for_each(|((&x, &y), d)| {
            if x <= 0.0 {
                *d *= y + ELU_ALPHA;
            }
        }),
        Activation::Selu => triples.for_each(|((&x, &y), d)| {
            *d *= if x > 0.0 {
                SELU_SCALE
            } else {
                y + SELU_SCALE * SELU_ALPHA
            };
        }),
    }
}
