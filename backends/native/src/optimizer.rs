//! The update rules, apart from the model (as in scikit-learn's `_stochastic_optimizers`):
//! regularization and clipping of the gradient, then one optimizer step, all over the flat
//! parameter and gradient vectors of the network.
//!
//! Order, as documented on [`RegularizationSpec`]: g ← g + l2·w + l1·sign(w) on dense weights,
//! then clipping by value, then by global norm, then the optimizer's formula
//! ([`OptimizerSpec`](nnbench_core::spec::OptimizerSpec), PyTorch's forms).

use std::ops::Range;

use nnbench_core::spec::{OptimizerKind, RegularizationSpec};

/// Adds the L1/L2 penalties' gradient on `weight_ranges` and clips the whole gradient.
pub fn regularize(
    regularization: &RegularizationSpec,
    params: &[f32],
    grads: &mut [f32],
    weight_ranges: &[Range<usize>],
) {
    for range in weight_ranges {
        penalize(
            regularization,
            &params[range.clone()],
            &mut grads[range.clone()],
        );
    }
    clip_values(regularization, grads);
    if let Some(max_norm) = regularization.clip_norm {
        let norm = grads
            .iter()
            .map(|&g| f64::from(g) * f64::from(g))
            .sum::<f64>()
            .sqrt();
        if norm > max_norm {
            let scale = (max_norm / norm) as f32;
            grads.iter_mut().for_each(|g| *g *= scale);
        }
    }
}

/// Adds the L1/L2 penalties' gradient for the dense weights `weights` to theirs.
pub fn penalize(regularization: &RegularizationSpec, weights: &[f32], grads: &mut [f32]) {
    let (l1, l2) = (regularization.l1 as f32, regularization.l2 as f32);
    if l1 == 0.0 && l2 == 0.0 {
        return;
    }
    for (g, &w) in grads.iter_mut().zip(weights) {
        let sign = if w > 0.0 {
            1.0
        } else if w < 0.0 {
            -1.0
        } else {
            0.0
        };
        *g += l2 * w + l1 * sign;
    }
}

/// Clips each gradient by value, when the regularization asks for it.
pub fn clip_values(regularization: &RegularizationSpec, grads: &mut [f32]) {
    if let Some(limit) = regularization.clip_value {
        let limit = limit as f32;
        grads.iter_mut().for_each(|g| *g = g.clamp(-limit, limit));
    }
}

/// An optimizer with its state for every parameter.
pub struct Optimizer {
    kind: OptimizerKind,
    /// First moment / velocity / squared average, depending on the kind.
    first: Vec<f32>,
    /// Adam's second moment.
    second: Vec<f32>,
    step: i32,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, parameters: usize) -> Optimizer {
        let first = match kind {
            OptimizerKind::Sgd => Vec::new(),
            _ => vec![0.0; parameters],
        };
        let second = match kind {
            OptimizerKind::Adam { .. } => vec![0.0; parameters],
            _ => Vec::new(),
        };
        Optimizer {
            kind,
            first,
            second,
            step: 0,
        }
    }

    /// One step over every parameter, in `threads` contiguous shares run side by side when
    /// there are enough parameters to pay for it (each element's update is independent, so the
    /// result does not depend on the thread count).
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], learning_rate: f32, threads: usize) {
        let rule = self.begin_step(learning_rate).update.0;
        let len = params.len();
        let shares = if len >= PARALLEL_MIN_PARAMETERS {
            threads.max(1)
        } else {
            1
        };
        if shares == 1 {
            rule.apply(params, grads, &mut self.first, &mut self.second);
            return;
        }
        let share = len.div_ceil(shares);
        let firsts = state_shares(&mut self.first, share, shares);
        let seconds = state_shares(&mut self.second, share, shares);
        rayon::scope(|scope| {
            let parts = params
                .chunks_mut(share)
                .zip(grads.chunks(share))
                .zip(firsts.into_iter().zip(seconds));
            for ((p, g), (m, v)) in parts {
                scope.spawn(move |_| rule.apply(p, g, m, v));
            }
        });
    }
}

impl Optimizer {
    /// Starts the next step, for a caller that applies its update part by part (each part
    /// of the parameters once, in any order or side by side: each element's update is
    /// independent of the others).
    pub fn begin_step(&mut self, learning_rate: f32) -> StepParts<'_> {
        self.step = self.step.saturating_add(1);
        StepParts {
            update: Update(Rule::new(self.kind, self.step, learning_rate)),
            first: &mut self.first,
            second: &mut self.second,
        }
    }
}

/// A step begun by [`Optimizer::begin_step`]: its update and the optimizer's state for every
/// parameter (each empty where the rule keeps none).
pub struct StepParts<'a> {
    pub update: Update,
    pub first: &'a mut [f32],
    pub second: &'a mut [f32],
}

/// One step's update of the parameters.
#[derive(Clone, Copy)]
pub struct Update(Rule);

impl Update {
    /// Updates `params` from `grads` and their part of the optimizer's state (`first`,
    /// `second`: empty where the rule keeps none).
    pub fn apply(self, params: &mut [f32], grads: &[f32], first: &mut [f32], second: &mut [f32]) {
        self.0.apply(params, grads, first, second);
    }
}

/// `state` in shares of `share` values, or `shares` empty slices when the rule keeps none.
fn state_shares(state: &mut [f32], share: usize, shares: usize) -> Vec<&mut [f32]> {
    if state.is_empty() {
        (0..shares).map(|_| &mut [][..]).collect()
    } else {
        state.chunks_mut(share).collect()
    }
}

/// Below this many parameters an optimizer step runs on one thread.
const PARALLEL_MIN_PARAMETERS: usize = 1 << 15;

/// One step's constants of an optimizer's formula.
#[derive(Clone, Copy)]
enum Rule {
    Sgd {
        lr: f32,
    },
    Momentum {
        lr: f32,
        mu: f32,
        nesterov: bool,
    },
    Rmsprop {
        lr: f32,
        alpha: f32,
        epsilon: f32,
    },
    Adam {
        beta1: f32,
        beta2: f32,
        epsilon: f32,
        step_size: f32,
        root_correction2: f32,
    },
}

impl Rule {
    fn new(kind: OptimizerKind, step: i32, lr: f32) -> Rule {
        match kind {
            OptimizerKind::Sgd => Rule::Sgd { lr },
            OptimizerKind::Momentum { momentum, nesterov } => Rule::Momentum {
                lr,
                mu: momentum as f32,
                nesterov,
            },
            OptimizerKind::Rmsprop { alpha, epsilon } => Rule::Rmsprop {
                lr,
                alpha: alpha as f32,
                epsilon: epsilon as f32,
            },
            OptimizerKind::Adam {
                beta1,
                beta2,
                epsilon,
            } => {
                let correction1 = 1.0 - beta1.powi(step);
                let correction2 = 1.0 - beta2.powi(step);
                Rule::Adam {
                    beta1: beta1 as f32,
                    beta2: beta2 as f32,
                    epsilon: epsilon as f32,
                    step_size: lr / correction1 as f32,
                    root_correction2: correction2.sqrt() as f32,
                }
            }
        }
    }

    /// Updates `params` from `grads` and the optimizer's state for those parameters
    /// (`first`, `second`: empty where the rule keeps none).
    ///
    /// The crate is compiled for baseline x86-64, where these loops run four lanes wide on
    /// SSE; Adam's square root and two divisions per parameter made its step 13 % of native's
    /// MNIST step. On a CPU with AVX2 the same loops run from a copy compiled for it, eight
    /// lanes wide. Both copies do the same IEEE operations in the same order (Rust never fuses
    /// a multiply and an add on its own), so the numbers are the same bit for bit.
    fn apply(self, params: &mut [f32], grads: &[f32], first: &mut [f32], second: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU running this has AVX2, checked just above.
            unsafe { self.apply_avx2(params, grads, first, second) };
            return;
        }
        self.apply_portable(params, grads, first, second);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn apply_avx2(self, params: &mut [f32], grads: &[f32], first: &mut [f32], second: &mut [f32]) {
        self.apply_portable(params, grads, first, second);
    }

    #[inline(always)]
    fn apply_portable(
        self,
        params: &mut [f32],
        grads: &[f32],
        first: &mut [f32],
        second: &mut [f32],
    ) {
        match self {
            Rule::Sgd { lr } => {
                for (p, &g) in params.iter_mut().zip(grads) {
                    *p -= lr * g;
                }
            }
            Rule::Momentum { lr, mu, nesterov } => {
                let state = params.iter_mut().zip(grads).zip(first);
                for ((p, &g), v) in state {
                    *v = mu * *v + g;
                    *p -= lr * if nesterov { g + mu * *v } else { *v };
                }
            }
            Rule::Rmsprop { lr, alpha, epsilon } => {
                let state = params.iter_mut().zip(grads).zip(first);
                for ((p, &g), s) in state {
                    *s = alpha * *s + (1.0 - alpha) * g * g;
                    *p -= lr * g / (s.sqrt() + epsilon);
                }
            }
            Rule::Adam {
                beta1,
                beta2,
                epsilon,
                step_size,
                root_correction2,
            } => {
                let state = params
                    .iter_mut()
                    .zip(grads)
                    .zip(first.iter_mut().zip(second));
                for ((p, &g), (m, v)) in state {
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    *p -= step_size * *m / (v.sqrt() / root_correction2 + epsilon);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! One worked step per optimizer, the expected numbers worked out by hand from the
    //! formulas in the spec's documentation.

    use super::*;

    fn two_steps(kind: OptimizerKind) -> (f32, f32) {
        let mut optimizer = Optimizer::new(kind, 1);
        let mut w = [1.0f32];
        optimizer.step(&mut w, &[0.5], 0.1, 1);
        let first = w[0];
        optimizer.step(&mut w, &[0.5], 0.1, 1);
        (first, w[0])
    }

    fn close(a: f32, b: f64) {
        assert!((f64::from(a) - b).abs() < 1e-6, "{a} != {b}");
    }

    #[test]
    fn the_vector_copy_gives_the_portable_numbers_bit_for_bit() {
        let len = 1003;
        let grads: Vec<f32> = (0..len).map(|i| ((i as f32) * 0.37).sin() * 1e-3).collect();
        let kinds = [
            OptimizerKind::Sgd,
            OptimizerKind::Momentum {
                momentum: 0.9,
                nesterov: true,
            },
            OptimizerKind::Rmsprop {
                alpha: 0.99,
                epsilon: 1e-8,
            },
            OptimizerKind::Adam {
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 1e-8,
            },
        ];
        for kind in kinds {
            let run = |dispatched: bool| {
                let mut params: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
                let mut first = vec![0.0f32; len];
                let mut second = vec![0.0f32; len];
                for step in 1..=3 {
                    let rule = Rule::new(kind, step, 0.01);
                    if dispatched {
                        rule.apply(&mut params, &grads, &mut first, &mut second);
                    } else {
                        rule.apply_portable(&mut params, &grads, &mut first, &mut second);
                    }
                }
                params.iter().map(|p| p.to_bits()).collect::<Vec<_>>()
            };
            assert_eq!(run(true), run(false));
        }
    }

    #[test]
    fn shares_on_threads_give_the_same_numbers_as_one_thread() {
        let len = PARALLEL_MIN_PARAMETERS * 2 + 7;
        let grads: Vec<f32> = (0..len).map(|i| ((i as f32) * 0.37).sin()).collect();
        for kind in [
            OptimizerKind::Sgd,
            OptimizerKind::Adam {
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 1e-8,
            },
        ] {
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut optimizer = Optimizer::new(kind, len);
                let mut params = vec![0.5f32; len];
                pool.install(|| {
                    for _ in 0..3 {
                        optimizer.step(&mut params, &grads, 0.01, threads);
                    }
                });
                params
            };
            assert_eq!(run(1), run(3));
        }
    }

    #[test]
    fn sgd_moves_against_the_gradient() {
        let (one, two) = two_steps(OptimizerKind::Sgd);
        close(one, 0.95); // 1 − 0.1·0.5
        close(two, 0.90);
    }

    #[test]
    fn momentum_accumulates_velocity() {
        let kind = OptimizerKind::Momentum {
            momentum: 0.9,
            nesterov: false,
        };
        let (one, two) = two_steps(kind);
        close(one, 0.95); // v = 0.5
        close(two, 0.95 - 0.1 * 0.95); // v = 0.9·0.5 + 0.5 = 0.95
    }

    #[test]
    fn nesterov_looks_ahead() {
        let kind = OptimizerKind::Momentum {
            momentum: 0.9,
            nesterov: true,
        };
        let (one, two) = two_steps(kind);
        close(one, 1.0 - 0.1 * (0.5 + 0.9 * 0.5)); // 0.905
        close(two, 0.905 - 0.1 * (0.5 + 0.9 * 0.95)); // 0.7695
    }

    #[test]
    fn rmsprop_divides_by_the_root_mean_square() {
        let kind = OptimizerKind::Rmsprop {
            alpha: 0.9,
            epsilon: 1e-8,
        };
        let (one, two) = two_steps(kind);
        // s = 0.1·0.25 = 0.025; step = 0.1·0.5/√0.025 = 0.316228
        close(one, 1.0 - 0.1 * 0.5 / (0.025f64.sqrt() + 1e-8));
        // s = 0.9·0.025 + 0.025 = 0.0475
        close(two, f64::from(one) - 0.1 * 0.5 / (0.0475f64.sqrt() + 1e-8));
    }

    #[test]
    fn adam_first_step_is_the_learning_rate() {
        let kind = OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        };
        let (one, two) = two_steps(kind);
        // m̂ = g, v̂ = g², so the step is η·g/|g| = η (up to ε).
        close(one, 1.0 - 0.1 * 0.5 / (0.5 + 1e-8));
        // constant gradient: m̂ = g and v̂ = g² again.
        close(two, f64::from(one) - 0.1 * 0.5 / (0.5 + 1e-8));
    }

    #[test]
    fn penalties_apply_to_weights_and_clipping_to_everything() {
        let params = [2.0, -1.0, 0.0, 5.0];
        let mut grads = [0.0, 0.0, 0.0, 3.0];
        let regularization = RegularizationSpec {
            l1: 0.1,
            l2: 0.5,
            clip_value: Some(1.0),
            clip_norm: None,
        };
        let weights = [0..1, 1..3];
        regularize(&regularization, &params, &mut grads, &weights);
        // w = 2: 0.5·2 + 0.1 = 1.1 → clipped to 1; w = −1: −0.6; w = 0: 0; bias 3 → 1.
        assert_eq!(grads, [1.0, -0.6, 0.0, 1.0]);
        let regularization = RegularizationSpec {
            l1: 0.0,
            l2: 0.0,
            clip_value: None,
            clip_norm: Some(1.0),
        };
        let mut grads = [3.0, 4.0];
        let weights = [0..1, 1..2];
        regularize(&regularization, &[0.0, 0.0], &mut grads, &weights);
        close(grads[0], 0.6);
        close(grads[1], 0.8);
    }
}
