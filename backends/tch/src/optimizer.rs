//! libtorch's own optimizers (`torch::optim` through tch's [`COptimizer`], the fallible layer
//! under `nn::Optimizer`), every constant taken from the scenario:
//! - sgd: `SGD` with momentum 0;
//! - momentum / nesterov: `SGD` with the scenario's momentum, dampening 0, weight decay 0 and
//!   `nesterov` — PyTorch's form v ← μv + g; w ← w − η v (or w − η(g + μv)), as the spec;
//! - rmsprop: `RMSprop` with α and ε from the scenario, momentum 0, not centered, weight decay
//!   0 — s ← αs + (1−α)g²; w ← w − ηg / (√s + ε), as the spec;
//! - adam: `Adam` with β1, β2 and ε from the scenario, weight decay 0, no AMSGrad — PyTorch
//!   divides m/(1−β1ᵗ) by √v/√(1−β2ᵗ) + ε, i.e. m̂ / (√v̂ + ε), as the spec.
//!
//! Weight decay stays 0: libtorch applies it to every parameter of a group, biases included,
//! while the spec's L2 applies to dense weights only; the adapter adds it to the gradients
//! instead (see [`crate::regularization`]).
//!
//! The harness passes each step's learning rate; it is set with `set_learning_rate` before
//! every step.

use nnbench_core::spec::OptimizerKind;
use tch::{COptimizer, TchError, Tensor};

pub struct Optimizer {
    inner: COptimizer,
    learning_rate: f64,
}

impl Optimizer {
    /// libtorch's optimizer for `kind` over `parameters` (one group).
    pub fn new(
        kind: OptimizerKind,
        parameters: &[Tensor],
        learning_rate: f64,
    ) -> Result<Optimizer, TchError> {
        let mut inner = match kind {
            OptimizerKind::Sgd => COptimizer::sgd(learning_rate, 0.0, 0.0, 0.0, false)?,
            OptimizerKind::Momentum { momentum, nesterov } => {
                COptimizer::sgd(learning_rate, momentum, 0.0, 0.0, nesterov)?
            }
            OptimizerKind::Rmsprop { alpha, epsilon } => {
                COptimizer::rms_prop(learning_rate, alpha, epsilon, 0.0, 0.0, false)?
            }
            OptimizerKind::Adam {
                beta1,
                beta2,
                epsilon,
            } => COptimizer::adam(learning_rate, beta1, beta2, 0.0, epsilon, false)?,
        };
        for parameter in parameters {
            inner.add_parameters(parameter, 0)?;
        }
        Ok(Optimizer {
            inner,
            learning_rate,
        })
    }

    pub fn zero_grad(&self) -> Result<(), TchError> {
        self.inner.zero_grad()
    }

    /// One update of every parameter from its `.grad()`, with learning rate `learning_rate`.
    pub fn step(&mut self, learning_rate: f64) -> Result<(), TchError> {
        if learning_rate != self.learning_rate {
            self.inner.set_learning_rate(learning_rate)?;
            self.learning_rate = learning_rate;
        }
        self.inner.step()
    }
}
