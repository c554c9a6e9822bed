//! (stub, being written)
use std::path::PathBuf;

use super::{DataError, Dataset};
use crate::spec::DatasetSpec;

/// Where datasets live and whether missing files may be fetched.
#[derive(Debug, Clone)]
pub struct DataOptions {
    pub data_dir: PathBuf,
    pub fetch: bool,
}

pub fn load(
    _spec: &DatasetSpec,
    _options: &DataOptions,
    _progress: &dyn super::fetch::FetchProgress,
) -> Result<Dataset, DataError> {
    todo!()
}
