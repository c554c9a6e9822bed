//! Gradient changes between backward and the optimizer, built by the adapter on candle
//! tensors (candle's optimizers have none of them), in the spec's order: L2 and L1 on dense
//! weights, then clipping by value, then clipping by global norm, both over all parameters.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use nnbench_core::spec::RegularizationSpec;

/// Rewrites the gradients of `grads` in place: g ← g + l2·w + l1·sign(w) for `dense_weights`,
/// then clamps every element of every gradient of `parameters` into [−c, c], then scales them
/// all by c / ‖g‖ when their global L2 norm exceeds c.
pub fn apply(
    spec: &RegularizationSpec,
    grads: &mut GradStore,
    dense_weights: &[Var],
    parameters: &[Var],
) -> Result<()> {
    if spec.l1 != 0.0 || spec.l2 != 0.0 {
        for w in dense_weights {
            let Some(g) = grads.get(w) else { continue };
            let mut g = g.clone();
            if spec.l2 != 0.0 {
                g = (g + (w.as_tensor() * spec.l2)?)?;
            }
            if spec.l1 != 0.0 {
                g = (g + (w.as_tensor().sign()? * spec.l1)?)?;
            }
            grads.insert(w, g);
        }
    }
    if let Some(c) = spec.clip_value {
        for p in parameters {
            let Some(g) = grads.get(p) else { continue };
            let clipped = g.clamp(-c as f32, c as f32)?;
            grads.insert(p, clipped);
        }
    }
    if let Some(c) = spec.clip_norm {
        let mut squares = 0.0f64;
        for p in parameters {
            if let Some(g) = grads.get(p) {
                squares += f64::from(squared_norm(g)?);
            }
        }
        let norm = squares.sqrt();
        if norm > c {
            let scale = c / norm;
            for p in parameters {
                let Some(g) = grads.get(p) else { continue };
                let scaled = (g * scale)?;
                grads.insert(p, scaled);
            }
        }
    }
    Ok(())
}

/// L2 norm of each of `weights`' gradients (0 when a weight has none).
pub fn gradient_norms(grads: &GradStore, weights: &[Var]) -> Result<Vec<f32>> {
    weights
        .iter()
        .map(|w| match grads.get(w) {
            Some(g) => Ok(squared_norm(g)?.sqrt()),
            None => Ok(0.0),
        })
        .collect()
}

fn squared_norm(g: &Tensor) -> Result<f32> {
    g.sqr()?.sum_all()?.to_scalar::<f32>()
}
