//! The parity check: the same steps, from the same initial weights and batches, on every
//! backend, compared with a reference backend step by step.
//!
//! Because the harness owns init, data order and learning rates, two correct backends on a
//! deterministic run (no dropout) follow the same loss curve up to float rounding. What is left
//! is the frameworks' own arithmetic and, where a framework's optimizer formula differs on
//! purpose (ε placement, momentum form), that difference, which the backend names.

use serde::Serialize;

use crate::backend::Backend;
use crate::data::Dataset;
use crate::spec::{LayerSpec, RunSpec};
use crate::train::{self, Observer, Status, StepEvent, UnitRequest};

/// One backend's drift from the reference over the same steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParityRow {
    pub backend: String,
    pub optimizer: String,
    pub status: Status,
    pub steps: usize,
    /// Largest |loss − reference loss| over the steps.
    pub max_abs_loss_diff: f64,
    /// Largest |loss − reference loss| / |reference loss| over the steps.
    pub max_rel_loss_diff: f64,
    /// Largest |w − reference w| over every final parameter.
    pub max_abs_weight_diff: f64,
    /// Largest over the tensors of ‖w − reference w‖₂ / ‖reference w‖₂: each tensor's
    /// difference against its own size (see [`Weights::max_difference`](crate::Weights)).
    pub max_rel_weight_diff: f64,
    /// The formula difference the backend declares for this run, or why it did not run.
    pub note: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ParityError {
    #[error("the parity check needs a deterministic run, but layer {0} is dropout")]
    Dropout(usize),
    #[error("the reference backend {backend} did not finish: {reason}")]
    Reference { backend: String, reason: String },
}

/// Records every step's loss.
#[derive(Default)]
struct LossRecorder {
    losses: Vec<f64>,
}

impl Observer for LossRecorder {
    fn step_finished(&mut self, event: &StepEvent) {
        self.losses.push(f64::from(event.loss));
    }
}

/// Runs `steps` steps of `run` with `seed` on the reference and on each backend.
pub fn check(
    run: &RunSpec,
    data: &Dataset,
    reference: &dyn Backend,
    backends: &[&dyn Backend],
    steps: usize,
    seed: u64,
) -> Result<Vec<ParityRow>, ParityError> {
    if let Some(index) = run
        .model
        .layers
        .iter()
        .position(|layer| matches!(layer, LayerSpec::Dropout { rate } if *rate > 0.0))
    {
        return Err(ParityError::Dropout(index));
    }
    let mut request = UnitRequest::new(run, data, seed);
    request.max_steps = Some(steps);
    request.keep_weights = true;
    let train_on = |backend: &dyn Backend| {
        let mut recorder = LossRecorder::default();
        let outcome = train::run_unit(backend, &request, &mut recorder);
        (outcome, recorder.losses)
    };
    let (reference_outcome, reference_losses) = train_on(reference);
    let reference_weights = match (&reference_outcome.status, &reference_outcome.final_weights) {
        (Status::Ok, Some(weights)) => weights.clone(),
        _ => {
            return Err(ParityError::Reference {
                backend: reference.name().to_string(),
                reason: reference_outcome.reason.unwrap_or_default(),
            });
        }
    };
    let mut rows = Vec::new();
    for backend in backends {
        let (outcome, losses) = train_on(*backend);
        let mut row = ParityRow {
            backend: backend.name().to_string(),
            optimizer: run.optimizer.kind.name().to_string(),
            status: outcome.status,
            steps: losses.len(),
            max_abs_loss_diff: f64::NAN,
            max_rel_loss_diff: f64::NAN,
            max_abs_weight_diff: f64::NAN,
            max_rel_weight_diff: f64::NAN,
            note: backend.formula_difference(run).unwrap_or_default(),
        };
        if outcome.status != Status::Ok {
            row.note = outcome.reason.unwrap_or_default();
            rows.push(row);
            continue;
        }
        let (mut abs, mut rel) = (0.0f64, 0.0f64);
        for (ours, theirs) in losses.iter().zip(&reference_losses) {
            let diff = (ours - theirs).abs();
            abs = abs.max(diff);
            rel = rel.max(diff / theirs.abs().max(1e-12));
        }
        row.max_abs_loss_diff = abs;
        row.max_rel_loss_diff = rel;
        if let Some(weights) = &outcome.final_weights {
            let (abs, rel) = weights.max_difference(&reference_weights);
            row.max_abs_weight_diff = f64::from(abs);
            row.max_rel_weight_diff = f64::from(rel);
        }
        rows.push(row);
    }
    Ok(rows)
}
