//! From a [`DatasetSpec`] to a [`Dataset`]: load (fetching if needed) or generate the
//! examples, keep the requested subsets, hold out the validation rows, then scale.
//!
//! The order matters for fairness and for leakage: the subset is taken first, the
//! validation rows are the last ones of that subset, and `Standard` scaling is fitted on the
//! remaining training rows only, then applied to every split.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::fetch::{self, FetchProgress, ImageSet};
use super::{DataError, Dataset, Split, idx, synthetic};
use crate::spec::{DatasetSource, DatasetSpec, Scaling};

/// Where datasets live and whether missing files may be fetched.
#[derive(Debug, Clone)]
pub struct DataOptions {
    pub data_dir: PathBuf,
    pub fetch: bool,
}

/// Environment variable naming the data directory when no flag does.
pub const DATA_DIR_ENV: &str = "NNBENCH_DATA";

impl DataOptions {
    pub fn new(data_dir: impl Into<PathBuf>, fetch: bool) -> DataOptions {
        DataOptions {
            data_dir: data_dir.into(),
            fetch,
        }
    }

    /// The data directory from, in order: `flag` (the command line), `$NNBENCH_DATA`, then
    /// the user cache directory (`$XDG_CACHE_HOME/nnbench`, else `$HOME/.cache/nnbench`).
    pub fn resolve(flag: Option<&Path>, fetch: bool) -> Result<DataOptions, DataError> {
        let env = |name: &str| std::env::var_os(name);
        default_data_dir(flag, env(DATA_DIR_ENV), env("XDG_CACHE_HOME"), env("HOME"))
            .map(|dir| DataOptions::new(dir, fetch))
            .ok_or_else(|| {
                DataError::Invalid(format!(
                    "no data directory: neither {DATA_DIR_ENV}, XDG_CACHE_HOME nor HOME is set; \
                 set {DATA_DIR_ENV} or give the directory on the command line"
                ))
            })
    }
}

/// The rule of [`DataOptions::resolve`] with the environment passed in. Empty values count
/// as unset; a relative `XDG_CACHE_HOME` is ignored, as the XDG specification asks.
pub fn default_data_dir(
    flag: Option<&Path>,
    nnbench_data: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(flag) = flag.filter(|f| !f.as_os_str().is_empty()) {
        return Some(flag.to_path_buf());
    }
    if let Some(dir) = set(nnbench_data) {
        return Some(dir);
    }
    if let Some(cache) = set(xdg_cache_home).filter(|p| p.is_absolute()) {
        return Some(cache.join("nnbench"));
    }
    set(home).map(|home| home.join(".cache").join("nnbench"))
}

/// Loads or generates the dataset `spec` describes; see the module documentation for the
/// order of subsetting, validation hold-out and scaling.
pub fn load(
    spec: &DatasetSpec,
    options: &DataOptions,
    progress: &dyn FetchProgress,
) -> Result<Dataset, DataError> {
    if !(0.0..1.0).contains(&spec.validation_fraction) {
        return Err(DataError::Invalid(format!(
            "validation_fraction {} is outside [0, 1)",
            spec.validation_fraction
        )));
    }
    let unit = spec.scaling == Scaling::Unit;
    let (name, features, classes, train, test) = match &spec.source {
        DatasetSource::Mnist | DatasetSource::FashionMnist => {
            let set = if spec.source == DatasetSource::Mnist {
                ImageSet::Mnist
            } else {
                ImageSet::FashionMnist
            };
            let files = fetch::ensure(set, options, progress)?;
            let (train, features) = image_split(
                &files.train_images,
                &files.train_labels,
                spec.train_size,
                "train_size",
                unit,
            )?;
            let (test, test_features) = image_split(
                &files.test_images,
                &files.test_labels,
                spec.test_size,
                "test_size",
                unit,
            )?;
            if test_features != features {
                return Err(DataError::Idx {
                    path: files.test_images.display().to_string(),
                    message: format!(
                        "images of {test_features} pixels where the training images have {features}"
                    ),
                });
            }
            (set.name().to_string(), features, 10, train, test)
        }
        DatasetSource::Logic { gate } => {
            let table = synthetic::truth_table(*gate);
            let train = prefix(table.clone(), 2, spec.train_size, "train_size")?;
            let test = prefix(table, 2, spec.test_size, "test_size")?;
            (synthetic::gate_name(*gate).to_string(), 2, 2, train, test)
        }
        DatasetSource::Blobs(blobs) => {
            let (train, test) = synthetic::blobs(blobs)?;
            let f = blobs.features;
            let train = prefix(train, f, spec.train_size, "train_size")?;
            let test = prefix(test, f, spec.test_size, "test_size")?;
            ("blobs".to_string(), f, blobs.classes, train, test)
        }
        DatasetSource::Rows(rows) => {
            let features = rows.inputs.first().map_or(0, Vec::len);
            let split = Split {
                inputs: rows.inputs.concat(),
                labels: rows.labels.clone(),
                rows: rows.labels.len(),
            };
            (
                "rows".to_string(),
                features,
                rows.classes,
                split.clone(),
                split,
            )
        }
    };
    let (classes, train, test) = match &spec.keep_classes {
        Some(kept) => (
            kept.len(),
            keep_classes(train, features, kept),
            keep_classes(test, features, kept),
        ),
        None => (classes, train, test),
    };
    if train.rows == 0 {
        return Err(DataError::Invalid(format!(
            "{name}: the training set is empty; at least one row is needed"
        )));
    }
    if test.rows == 0 {
        return Err(DataError::Invalid(format!(
            "{name}: the test set is empty; at least one row is needed"
        )));
    }
    let (mut train, mut validation) = hold_out(train, features, spec.validation_fraction, &name)?;
    let mut test = test;
    if spec.scaling == Scaling::Standard {
        let (mean, std) = feature_moments(&train, features);
        for split in [Some(&mut train), validation.as_mut(), Some(&mut test)]
            .into_iter()
            .flatten()
        {
            standardize(split, features, &mean, &std);
        }
    }
    Ok(Dataset {
        name,
        features,
        classes,
        train,
        validation,
        test,
    })
}

/// The rows of `split` whose label is in `kept`, relabelled by their position there.
fn keep_classes(split: Split, features: usize, kept: &[u32]) -> Split {
    let mut out = Split {
        inputs: Vec::new(),
        labels: Vec::new(),
        rows: 0,
    };
    for (row, label) in split.labels.iter().enumerate() {
        if let Some(new) = kept.iter().position(|k| k == label) {
            out.inputs.extend_from_slice(split.row(row, features));
            out.labels.push(new as u32);
            out.rows += 1;
        }
    }
    out
}

/// Reads a pair of IDX files and converts the first `size` images (all when `None`) to
/// `f32`, divided by 255 when `unit`. Returns the split and the pixels per image.
fn image_split(
    images: &Path,
    labels: &Path,
    size: Option<usize>,
    key: &str,
    unit: bool,
) -> Result<(Split, usize), DataError> {
    let (images_set, label_bytes) = idx::read_pair(images, labels)?;
    let available = images_set.count;
    let rows = size.unwrap_or(available);
    if rows > available {
        return Err(DataError::Invalid(format!(
            "{key} is {rows} but {} holds only {available} examples",
            images.display()
        )));
    }
    if let Some(at) = label_bytes[..rows].iter().position(|&l| l >= 10) {
        return Err(DataError::Idx {
            path: labels.display().to_string(),
            message: format!(
                "label {} of example {at} is not a class of 0..=9",
                label_bytes[at]
            ),
        });
    }
    let features = images_set.features();
    let pixels = &images_set.pixels[..rows * features];
    // One pass over contiguous bytes; both forms vectorise.
    let inputs: Vec<f32> = if unit {
        pixels.iter().map(|&p| f32::from(p) / 255.0).collect()
    } else {
        pixels.iter().map(|&p| f32::from(p)).collect()
    };
    let labels = label_bytes[..rows].iter().map(|&l| u32::from(l)).collect();
    Ok((
        Split {
            inputs,
            labels,
            rows,
        },
        features,
    ))
}

/// The first `size` rows of `split` (all when `None`).
fn prefix(
    mut split: Split,
    features: usize,
    size: Option<usize>,
    key: &str,
) -> Result<Split, DataError> {
    let Some(rows) = size else {
        return Ok(split);
    };
    if rows > split.rows {
        return Err(DataError::Invalid(format!(
            "{key} is {rows} but the set has only {} examples",
            split.rows
        )));
    }
    split.inputs.truncate(rows * features);
    split.labels.truncate(rows);
    split.rows = rows;
    Ok(split)
}

/// Splits off the last ⌊fraction·rows⌋ rows as validation (`None` when `fraction` is 0).
fn hold_out(
    mut train: Split,
    features: usize,
    fraction: f64,
    name: &str,
) -> Result<(Split, Option<Split>), DataError> {
    if fraction == 0.0 {
        return Ok((train, None));
    }
    let held = (fraction * train.rows as f64).floor() as usize;
    if held == 0 || held >= train.rows {
        return Err(DataError::Invalid(format!(
            "{name}: validation_fraction {fraction} of {} training examples leaves {held} for \
             validation and {} for training; both need at least one",
            train.rows,
            train.rows.saturating_sub(held)
        )));
    }
    let kept = train.rows - held;
    let validation = Split {
        inputs: train.inputs.split_off(kept * features),
        labels: train.labels.split_off(kept),
        rows: held,
    };
    train.rows = kept;
    Ok((train, Some(validation)))
}

/// Per-feature mean and (population) standard deviation over the rows of `split`, in `f64`
/// and two passes for accuracy.
fn feature_moments(split: &Split, features: usize) -> (Vec<f64>, Vec<f64>) {
    let n = split.rows as f64;
    let mut mean = vec![0.0f64; features];
    for row in split.inputs.chunks_exact(features) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += f64::from(x);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0f64; features];
    for row in split.inputs.chunks_exact(features) {
        for ((v, &m), &x) in var.iter_mut().zip(&mean).zip(row) {
            let d = f64::from(x) - m;
            *v += d * d;
        }
    }
    let std = var.into_iter().map(|v| (v / n).sqrt()).collect();
    (mean, std)
}

/// `(x - mean) / std` per feature; a feature with std 0 is only centred.
fn standardize(split: &mut Split, features: usize, mean: &[f64], std: &[f64]) {
    let mean: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let std: Vec<f32> = std
        .iter()
        .map(|&s| if s > 0.0 { s as f32 } else { 1.0 })
        .collect();
    for row in split.inputs.chunks_exact_mut(features) {
        for ((x, &m), &s) in row.iter_mut().zip(&mean).zip(&std) {
            *x = (*x - m) / s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_precedence() {
        let os = |s: &str| Some(OsString::from(s));
        let dir = |flag: Option<&str>, data, xdg, home| {
            default_data_dir(flag.map(Path::new), data, xdg, home)
        };
        assert_eq!(
            dir(Some("/f"), os("/d"), os("/x"), os("/h")),
            Some(PathBuf::from("/f"))
        );
        assert_eq!(
            dir(None, os("/d"), os("/x"), os("/h")),
            Some(PathBuf::from("/d"))
        );
        assert_eq!(
            dir(None, os(""), os("/x"), os("/h")),
            Some(PathBuf::from("/x/nnbench"))
        );
        assert_eq!(
            dir(None, None, os("relative"), os("/h")),
            Some(PathBuf::from("/h/.cache/nnbench"))
        );
        assert_eq!(dir(None, None, None, None), None);
    }

    #[test]
    fn tiny_fraction_that_holds_out_nothing_is_an_error() {
        let split = synthetic::truth_table(crate::spec::LogicGate::Xor);
        let err = hold_out(split, 2, 0.1, "xor").unwrap_err().to_string();
        assert!(err.contains("leaves 0 for validation"), "{err}");
    }
}
