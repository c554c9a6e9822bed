//! Update rules, all behind candle's [`Optimizer`] trait.
//!
//! - `sgd`: candle's [`SGD`];
//! - `adam`: candle's [`AdamW`] with `weight_decay = 0`, which is Adam exactly as the spec
//!   writes it (bias-corrected m̂ / (√v̂ + ε));
//! - `momentum` / `nesterov` and `rmsprop`: candle has no such optimizers, so the adapter
//!   writes them here on candle tensors, in PyTorch's form ([`Momentum`], [`RmsProp`]).
//!
//! The learning rate of each step is set with `set_learning_rate` just before the step.

use candle_core::backprop::GradStore;
use candle_core::{Result, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, SGD};
use nnbench_core::spec::OptimizerKind;

/// One of the optimizers above, chosen by the run's [`OptimizerKind`].
pub enum AnyOptimizer {
    Sgd(SGD),
    Momentum(Momentum),
    RmsProp(RmsProp),
    Adam(AdamW),
}

impl AnyOptimizer {
    pub fn new(kind: OptimizerKind, vars: Vec<Var>, learning_rate: f64) -> Result<AnyOptimizer> {
        Ok(match kind {
            OptimizerKind::Sgd => AnyOptimizer::Sgd(SGD::new(vars, learning_rate)?),
            OptimizerKind::Momentum { momentum, nesterov } => {
                let config = MomentumConfig {
                    learning_rate,
                    momentum,
                    nesterov,
                };
                AnyOptimizer::Momentum(Momentum::new(vars, config)?)
            }
            OptimizerKind::Rmsprop { alpha, epsilon } => {
                let config = RmsPropConfig {
                    learning_rate,
                    alpha,
                    epsilon,
                };
                AnyOptimizer::RmsProp(RmsProp::new(vars, config)?)
            }
            OptimizerKind::Adam {
                beta1,
                beta2,
                epsilon,
            } => {
                let params = ParamsAdamW {
                    lr: learning_rate,
                    beta1,
                    beta2,
                    eps: epsilon,
                    weight_decay: 0.0,
                };
                AnyOptimizer::Adam(AdamW::new(vars, params)?)
            }
        })
    }

    /// One update with `grads` at `learning_rate`.
    pub fn step(&mut self, grads: &GradStore, learning_rate: f64) -> Result<()> {
        match self {
            AnyOptimizer::Sgd(opt) => step_with(opt, grads, learning_rate),
            AnyOptimizer::Momentum(opt) => step_with(opt, grads, learning_rate),
            AnyOptimizer::RmsProp(opt) => step_with(opt, grads, learning_rate),
            AnyOptimizer::Adam(opt) => step_with(opt, grads, learning_rate),
        }
    }
}

fn step_with(opt: &mut impl Optimizer, grads: &GradStore, learning_rate: f64) -> Result<()> {
    opt.set_learning_rate(learning_rate);
    opt.step(grads)
}

#[derive(Debug, Clone, Copy)]
pub struct MomentumConfig {
    pub learning_rate: f64,
    pub momentum: f64,
    pub nesterov: bool,
}

/// Heavy-ball momentum, PyTorch's form: v ← μv + g; w ← w − ηv, or with Nesterov
/// w ← w − η(g + μv).
#[derive(Debug)]
pub struct Momentum {
    vars: Vec<(Var, Var)>,
    config: MomentumConfig,
}

impl Optimizer for Momentum {
    type Config = MomentumConfig;

    fn new(vars: Vec<Var>, config: MomentumConfig) -> Result<Self> {
        let vars = with_state(vars)?;
        Ok(Momentum { vars, config })
    }

    fn step(&mut self, grads: &GradStore) -> Result<()> {
        let MomentumConfig {
            learning_rate,
            momentum,
            nesterov,
        } = self.config;
        for (var, velocity) in &self.vars {
            let Some(g) = grads.get(var) else { continue };
            let v = ((velocity.as_tensor() * momentum)? + g)?;
            let direction = if nesterov {
                (g + (&v * momentum)?)?
            } else {
                v.clone()
            };
            var.set(&(var.as_tensor() - (direction * learning_rate)?)?)?;
            velocity.set(&v)?;
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.learning_rate = lr;
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RmsPropConfig {
    pub learning_rate: f64,
    pub alpha: f64,
    pub epsilon: f64,
}

/// RMSprop, PyTorch's form (ε outside the root): s ← αs + (1−α)g²; w ← w − ηg / (√s + ε).
#[derive(Debug)]
pub struct RmsProp {
    vars: Vec<(Var, Var)>,
    config: RmsPropConfig,
}

impl Optimizer for RmsProp {
    type Config = RmsPropConfig;

    fn new(vars: Vec<Var>, config: RmsPropConfig) -> Result<Self> {
        let vars = with_state(vars)?;
        Ok(RmsProp { vars, config })
    }

    fn step(&mut self, grads: &GradStore) -> Result<()> {
        let RmsPropConfig {
            learning_rate,
            alpha,
            epsilon,
        } = self.config;
        for (var, square) in &self.vars {
            let Some(g) = grads.get(var) else { continue };
            let s = ((square.as_tensor() * alpha)? + (g.sqr()? * (1.0 - alpha))?)?;
            let denominator = (s.sqrt()? + epsilon)?;
            let update = ((g / denominator)? * learning_rate)?;
            var.set(&(var.as_tensor() - update)?)?;
            square.set(&s)?;
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.learning_rate = lr;
    }
}

/// Each float variable with a zero state tensor of its shape.
fn with_state(vars: Vec<Var>) -> Result<Vec<(Var, Var)>> {
    vars.into_iter()
        .filter(|var| var.dtype().is_float())
        .map(|var| {
            let state = Var::zeros(var.shape(), var.dtype(), var.device())?;
            Ok((var, state))
        })
        .collect()
}
