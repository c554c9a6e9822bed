//! Errors of the estimator: invalid hyperparameters (each names the parameter and its allowed
//! range), data the estimator cannot fit, and solver failures.

/// Everything that can go wrong when checking parameters, fitting or predicting.
#[derive(Debug, thiserror::Error)]
pub enum MlpError {
    /// A numeric hyperparameter outside its range.
    #[error("{name} must be {range}, got {value}")]
    OutOfRange {
        name: &'static str,
        range: &'static str,
        value: f64,
    },
    /// A hidden layer with no units.
    #[error("hidden_layer_sizes[{index}] must be at least 1, got 0")]
    EmptyHiddenLayer { index: usize },
    /// The dataset has no rows.
    #[error("cannot fit on an empty dataset")]
    EmptyDataset,
    /// Records and targets of different lengths.
    #[error("{records} records but {targets} targets")]
    LengthMismatch { records: usize, targets: usize },
    /// Fewer than two distinct labels.
    #[error("the targets hold {0} distinct class(es); a classifier needs at least 2")]
    TooFewClasses(usize),
    /// A non-finite input value.
    #[error("the records contain a NaN or infinite value")]
    NonFinite,
    /// Records whose width differs from the model's.
    #[error("records have {got} features but the model was fit on {expected}")]
    FeatureMismatch { expected: usize, got: usize },
    /// warm_start with a dataset whose classes differ from the previous fit's.
    #[error("warm_start needs the same classes as the previous fit ({expected:?}), got {got:?}")]
    ClassMismatch {
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    /// early_stopping's validation split leaves one side empty.
    #[error(
        "validation_fraction {fraction} of {samples} samples leaves an empty training or \
         validation set"
    )]
    EmptySplit { fraction: f64, samples: usize },
    /// The L-BFGS solver (argmin) failed.
    #[error("L-BFGS (argmin) failed: {0}")]
    Lbfgs(String),
    /// linfa's own error.
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
}
