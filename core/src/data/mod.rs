//! Datasets: the harness loads or generates them once, scales them, splits off validation,
//! and every backend trains on the very same `f32` rows.
//!
//! - [`idx`]: the IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed;
//! - [`fetch`]: which files make each image set and making sure they are there, getting them
//!   when missing from an ordered list of sources, verified (that part only with the `fetch`
//!   feature);
//! - [`synthetic`]: logic-gate truth tables and Gaussian blobs from a seed;
//! - [`load`](mod@load): turning a [`DatasetSpec`](crate::spec::DatasetSpec) into a [`Dataset`].

pub mod fetch;
pub mod idx;
pub mod load;
pub mod synthetic;

pub use fetch::{FetchProgress, Silent};
pub use load::{DATA_DIR_ENV, DataOptions, load};

/// Examples as `rows × features` `f32` values, row-major, with their class indices.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Split {
    pub inputs: Vec<f32>,
    pub labels: Vec<u32>,
    pub rows: usize,
}

impl Split {
    /// Row `index` as a slice of `features` values.
    pub fn row(&self, index: usize, features: usize) -> &[f32] {
        &self.inputs[index * features..(index + 1) * features]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Name for reports (`mnist`, `xor`, `blobs`...).
    pub name: String,
    pub features: usize,
    pub classes: usize,
    pub train: Split,
    /// Held out from the end of the training set when `validation_fraction > 0`.
    pub validation: Option<Split>,
    pub test: Split,
}

/// Errors while reading, fetching or generating data. Every message names the file or source
/// and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {message}")]
    Idx { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not get {dataset}; tried:\n{attempts}\n{hint}")]
    FetchFailed {
        dataset: String,
        attempts: String,
        hint: String,
    },
    #[error(
        "{dataset}: {missing} not found in {dir}, and fetching is disabled; allow fetching, or \
         place the files there by hand (raw IDX files, or gzip-compressed with .gz appended)"
    )]
    NotPresent {
        dataset: String,
        dir: String,
        missing: String,
    },
    /// A file is missing and this build of nnbench-core has no fetcher (the `fetch` feature).
    #[error(
        "{dataset}: {missing} not found in {dir}, and this build cannot download datasets \
         (fetching is a feature of the nnbench binary: `nnbench fetch {dataset}` gets them); \
         or place the files there by hand (raw IDX files, or gzip-compressed with .gz appended)"
    )]
    CannotFetch {
        dataset: String,
        dir: String,
        missing: String,
    },
    #[error("{0}")]
    Invalid(String),
}
