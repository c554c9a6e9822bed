//! Gradient changes between backward and the optimizer, built by the adapter on libtorch
//! tensors in the spec's order: L2 and L1 on dense weights, then clipping by value, then
//! clipping by global norm, both over all parameters.
//!
//! tch's own helpers are not used: its weight decay covers biases too (the spec's L2 is on
//! dense weights only), and its `clip_grad_norm` scales by c / (‖g‖ + 1e-6) where the spec
//! scales by c / ‖g‖.

use nnbench_core::spec::RegularizationSpec;
use tch::{Kind, TchError, Tensor};

/// Rewrites the `.grad()` of the parameters in place: g ← g + l2·w + l1·sign(w) for
/// `dense_weights`, then clamps every element of every gradient of `parameters` into [−c, c],
/// then scales them all by c / ‖g‖ when their global L2 norm exceeds c.
pub fn apply(
    spec: &RegularizationSpec,
    dense_weights: &[Tensor],
    parameters: &[Tensor],
) -> Result<(), TchError> {
    tch::no_grad(|| {
        if spec.l1 != 0.0 || spec.l2 != 0.0 {
            for w in dense_weights {
                let mut g = w.f_grad()?;
                if !g.defined() {
                    continue;
                }
                if spec.l2 != 0.0 {
                    let _ = g.f_add_(&w.f_mul_scalar(spec.l2)?)?;
                }
                if spec.l1 != 0.0 {
                    let _ = g.f_add_(&w.f_sign()?.f_mul_scalar(spec.l1)?)?;
                }
            }
        }
        if let Some(c) = spec.clip_value {
            for p in parameters {
                let mut g = p.f_grad()?;
                if g.defined() {
                    let _ = g.f_clamp_(-c, c)?;
                }
            }
        }
        if let Some(c) = spec.clip_norm {
            let mut squares = 0.0f64;
            for p in parameters {
                let g = p.f_grad()?;
                if g.defined() {
                    squares += squared_norm(&g)?;
                }
            }
            let norm = squares.sqrt();
            if norm > c {
                let scale = c / norm;
                for p in parameters {
                    let mut g = p.f_grad()?;
                    if g.defined() {
                        let _ = g.f_mul_scalar_(scale)?;
                    }
                }
            }
        }
        Ok(())
    })
}

/// L2 norm of each of `weights`' gradients (0 when a weight has none).
pub fn gradient_norms(weights: &[Tensor]) -> Result<Vec<f32>, TchError> {
    weights
        .iter()
        .map(|w| {
            let g = w.f_grad()?;
            if g.defined() {
                Ok(squared_norm(&g)?.sqrt() as f32)
            } else {
                Ok(0.0)
            }
        })
        .collect()
}

fn squared_norm(g: &Tensor) -> Result<f64, TchError> {
    g.f_square()?.f_sum(Kind::Float)?.f_double_value(&[])
}
