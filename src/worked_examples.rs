//! Hand computations that a scenario's one-step gradients are checked against
//! (`training.record_gradients`): each with the source that prints its figures, in one place
//! for the report and for the course's claim. It uses no other module of the crate.

/// One parameter as the source names it, with the value before the step and the value after
/// it that the source prints.
#[derive(Debug, Clone, Copy)]
pub struct HandParameter {
    /// The source's name for it (`w1`).
    pub name: &'static str,
    /// The layer's index in the network and the tensor (`weight`, `bias`), as in
    /// `gradients.csv`.
    pub layer: u64,
    pub tensor: &'static str,
    /// Row-major index into the canonical tensor (`in * fan_out + out` for a dense weight).
    pub index: u64,
    pub before: f64,
    /// The value after the step, as the source prints it.
    pub after: f64,
}

/// A source's hand computation of one SGD step.
#[derive(Debug, Clone, Copy)]
pub struct HandComputation {
    pub scenario: &'static str,
    /// Who computed it, and where.
    pub source: &'static str,
    pub learning_rate: f64,
    /// The loss before the step, as the source prints it.
    pub loss: f64,
    pub parameters: &'static [HandParameter],
    /// Largest difference allowed between a backend's gradient and the hand value: the
    /// source's rounding (9 decimals of the weights, so 2e-9 on a gradient at η = 0.5) plus
    /// f32 arithmetic (a weight of 0.5 is exact to 3e-8, which (w − w')/η doubles).
    pub tolerance: f64,
}

impl HandParameter {
    /// The gradient the source's step implies: w' = w − η·g.
    pub fn gradient(&self, learning_rate: f64) -> f64 {
        (self.before - self.after) / learning_rate
    }
}

const fn p(name: &'static str, layer: u64, index: u64, before: f64, after: f64) -> HandParameter {
    HandParameter {
        name,
        layer,
        tensor: "weight",
        index,
        before,
        after,
    }
}

/// Every hand computation nnbench checks.
pub const HAND_COMPUTATIONS: &[HandComputation] = &[HandComputation {
    scenario: "backprop_example",
    source: "Matt Mazur, “A Step by Step Backpropagation Example” (2015), the post the \
             course names (“Exemple avec des chiffres : a-step-by-step-backpropagation-example”); \
             the course itself gives no number",
    learning_rate: 0.5,
    loss: 0.298371109,
    // The updated weights the post prints (w5+ … w8+ for the output layer, then w1+ … w4+
    // computed with the original w5 … w8); in nnbench's layout w1 (i1→h1) is 0.weight[0],
    // w2 (i2→h1) 0.weight[2], w3 (i1→h2) 0.weight[1], w4 (i2→h2) 0.weight[3], and likewise
    // w5 … w8 in layer 1.
    parameters: &[
        p("w1", 0, 0, 0.15, 0.149780716),
        p("w2", 0, 2, 0.20, 0.19956143),
        p("w3", 0, 1, 0.25, 0.24975114),
        p("w4", 0, 3, 0.30, 0.29950229),
        p("w5", 1, 0, 0.40, 0.35891648),
        p("w6", 1, 2, 0.45, 0.408666186),
        p("w7", 1, 1, 0.50, 0.511301270),
        p("w8", 1, 3, 0.55, 0.561370121),
    ],
    tolerance: 1e-6,
}];

/// The hand computation of `scenario`, if nnbench has one.
pub fn for_scenario(scenario: &str) -> Option<&'static HandComputation> {
    HAND_COMPUTATIONS.iter().find(|h| h.scenario == scenario)
}
