//! Turning candle's errors into the harness's [`BackendError`].

use std::fmt::Display;

use nnbench_core::BackendError;

/// The framework name carried by [`BackendError::Framework`].
pub const FRAMEWORK: &str = "candle";

/// A [`BackendError::Framework`] with `message`.
pub fn framework_error(message: impl Display) -> BackendError {
    BackendError::Framework {
        framework: FRAMEWORK,
        message: message.to_string(),
    }
}

/// `?`-friendly conversion of candle results.
pub trait OrFramework<T> {
    fn or_framework(self) -> Result<T, BackendError>;
}

impl<T> OrFramework<T> for candle_core::Result<T> {
    fn or_framework(self) -> Result<T, BackendError> {
        self.map_err(framework_error)
    }
}
