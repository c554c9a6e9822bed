//! The caps of a quick run (`--quick`): a smoke test of any scenario in seconds. The caps are
//! applied to the raw table before the file's `[quick]` table, and again after it and after
//! each sweep value, so neither can raise them.

use toml::{Table, Value};

use super::schema::{
    BLOBS_TEST_PER_CLASS, BLOBS_TRAIN_PER_CLASS, DATASET, DATASET_NAME, DATASET_TEST_SIZE,
    DATASET_TRAIN_SIZE, TRAINING, TRAINING_EPOCHS, TRAINING_SEEDS,
};

pub const MAX_EPOCHS: i64 = 2;
pub const MAX_SEEDS: usize = 2;
/// Training and test examples of MNIST and Fashion-MNIST.
pub const MAX_IDX_TRAIN: i64 = 2000;
pub const MAX_IDX_TEST: i64 = 500;
/// Training and test examples per class of blobs.
pub const MAX_BLOBS_PER_CLASS: i64 = 50;

/// The caps, in a sentence (for the reference).
pub fn describe() -> String {
    format!(
        "at most {MAX_EPOCHS} epochs and {MAX_SEEDS} seeds; MNIST and Fashion-MNIST cut to at \
         most {MAX_IDX_TRAIN} training and {MAX_IDX_TEST} test examples; blobs to at most \
         {MAX_BLOBS_PER_CLASS} training and test examples per class"
    )
}

/// Applies the caps of a quick run to a raw scenario table.
pub(crate) fn apply_caps(root: &mut Table) {
    if let Some(Value::Table(training)) = root.get_mut(TRAINING.name) {
        if let Some(Value::Integer(epochs)) = training.get_mut(TRAINING_EPOCHS.name) {
            *epochs = (*epochs).min(MAX_EPOCHS);
        }
        if let Some(Value::Array(seeds)) = training.get_mut(TRAINING_SEEDS.name) {
            seeds.truncate(MAX_SEEDS);
        }
    }
    if let Some(Value::Table(dataset)) = root.get_mut(DATASET.name) {
        let name = dataset
            .get(DATASET_NAME.name)
            .and_then(Value::as_str)
            .map(str::to_owned);
        match name.as_deref() {
            Some("mnist" | "fashion_mnist") => {
                cap(dataset, DATASET_TRAIN_SIZE.name, MAX_IDX_TRAIN);
                cap(dataset, DATASET_TEST_SIZE.name, MAX_IDX_TEST);
            }
            Some("blobs") => {
                cap(dataset, BLOBS_TRAIN_PER_CLASS.name, MAX_BLOBS_PER_CLASS);
                cap(dataset, BLOBS_TEST_PER_CLASS.name, MAX_BLOBS_PER_CLASS);
            }
            _ => {}
        }
    }
}

fn cap(table: &mut Table, key: &str, max: i64) {
    match table.get_mut(key) {
        Some(Value::Integer(n)) => *n = (*n).min(max),
        Some(_) => {}
        None => {
            table.insert(key.to_string(), Value::Integer(max));
        }
    }
}
