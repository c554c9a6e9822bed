//! The learning-rate schedule, owned by the harness: every backend receives the same rate for
//! every step, whatever its framework's own schedulers would do.

use crate::spec::Schedule;

/// Below this the adaptive schedule stops dividing (scikit-learn's floor).
const ADAPTIVE_FLOOR: f64 = 1e-6;

#[derive(Debug, Clone)]
pub struct LearningRate {
    initial: f64,
    schedule: Schedule,
    current: f64,
    best_loss: f64,
    epochs_without_improvement: usize,
}

impl LearningRate {
    pub fn new(initial: f64, schedule: Schedule) -> LearningRate {
        LearningRate {
            initial,
            schedule,
            current: initial,
            best_loss: f64::INFINITY,
            epochs_without_improvement: 0,
        }
    }

    /// The rate for every step of epoch `epoch` (from 0), after `examples_seen` training
    /// examples in earlier epochs. Rates change between epochs only, as in scikit-learn.
    pub fn for_epoch(&mut self, epoch: usize, examples_seen: usize) -> f64 {
        self.current = match self.schedule {
            Schedule::Constant | Schedule::Adaptive { .. } => self.current,
            Schedule::Step { step_epochs, gamma } => {
                self.initial * gamma.powi((epoch / step_epochs) as i32)
            }
            Schedule::InvScaling { power_t } => {
                self.initial / ((examples_seen + 1) as f64).powf(power_t)
            }
        };
        self.current
    }

    /// Tells the schedule the epoch's training loss (used by `adaptive`).
    pub fn end_epoch(&mut self, train_loss: f64) {
        let Schedule::Adaptive {
            factor,
            patience,
            tol,
        } = self.schedule
        else {
            return;
        };
        if train_loss > self.best_loss - tol {
            self.epochs_without_improvement += 1;
        } else {
            self.epochs_without_improvement = 0;
        }
        self.best_loss = self.best_loss.min(train_loss);
        if self.epochs_without_improvement >= patience && self.current > ADAPTIVE_FLOOR {
            self.current /= factor;
            self.epochs_without_improvement = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_decays_every_step_epochs() {
        let mut lr = LearningRate::new(
            1.0,
            Schedule::Step {
                step_epochs: 2,
                gamma: 0.5,
            },
        );
        let rates: Vec<f64> = (0..5).map(|e| lr.for_epoch(e, 0)).collect();
        assert_eq!(rates, [1.0, 1.0, 0.5, 0.5, 0.25]);
    }

    #[test]
    fn invscaling_follows_examples_seen() {
        let mut lr = LearningRate::new(0.1, Schedule::InvScaling { power_t: 0.5 });
        assert_eq!(lr.for_epoch(0, 0), 0.1);
        assert!((lr.for_epoch(1, 99) - 0.01).abs() < 1e-12);
    }

    #[test]
    fn adaptive_divides_after_patience_epochs_without_improvement() {
        let mut lr = LearningRate::new(
            1.0,
            Schedule::Adaptive {
                factor: 5.0,
                patience: 2,
                tol: 0.1,
            },
        );
        for loss in [1.0, 0.5, 0.45] {
            assert_eq!(lr.for_epoch(0, 0), 1.0);
            lr.end_epoch(loss);
        }
        // 0.45 failed to improve 0.5 by tol once; one more failure triggers the division.
        lr.end_epoch(0.44);
        assert!((lr.for_epoch(0, 0) - 0.2).abs() < 1e-12);
    }
}
