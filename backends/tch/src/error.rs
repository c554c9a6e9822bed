//! Turning tch's errors into the harness's [`BackendError`].

use std::fmt::Display;

use nnbench_core::BackendError;

/// The framework name carried by [`BackendError::Framework`].
pub const FRAMEWORK: &str = "tch";

/// A [`BackendError::Framework`] with `message`.
pub fn framework_error(message: impl Display) -> BackendError {
    BackendError::Framework {
        framework: FRAMEWORK,
        message: message.to_string(),
    }
}

/// `?`-friendly conversion of tch results (the `f_` variants of its tensor operations).
pub trait OrFramework<T> {
    fn or_framework(self) -> Result<T, BackendError>;
}

impl<T> OrFramework<T> for Result<T, tch::TchError> {
    fn or_framework(self) -> Result<T, BackendError> {
        self.map_err(framework_error)
    }
}
