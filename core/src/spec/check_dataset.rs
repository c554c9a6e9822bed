//! Checks the `[dataset]` table into a [`DatasetSpec`].

use toml::{Table, Value};

use super::check::{Check, join};
use super::schema::{
    self, BLOBS_CLASSES, BLOBS_FEATURES, BLOBS_SEED, BLOBS_SEPARATION, BLOBS_SPREAD,
    BLOBS_TEST_PER_CLASS, BLOBS_TRAIN_PER_CLASS, DATASET_INPUTS, DATASET_KEEP_CLASSES,
    DATASET_LABELS, DATASET_NAME, DATASET_SCALING, DATASET_TARGETS, DATASET_TEST_SIZE,
    DATASET_TRAIN_SIZE, DATASET_VALIDATION_FRACTION, DATASETS, DatasetKind, SCALINGS,
};
use super::{BlobsSpec, DatasetSource, DatasetSpec, LogicGate, RowsSpec};

const P: &str = "dataset";

pub(crate) fn check_dataset(c: &mut Check, t: &Table) -> Option<DatasetSpec> {
    c.unknown_keys(t, P, &schema::key_names(P), "");
    let kind = c.required(t, P, &DATASET_NAME, |c, k, v| {
        c.choice(k, v, &DATASET_NAME, &DATASETS)
    });
    let train_size = c.optional(t, P, &DATASET_TRAIN_SIZE, |c, k, v| {
        c.count(k, v, &DATASET_TRAIN_SIZE)
    });
    let test_size = c.optional(t, P, &DATASET_TEST_SIZE, |c, k, v| {
        c.count(k, v, &DATASET_TEST_SIZE)
    });
    let scaling = c.defaulted(t, P, &DATASET_SCALING, |c, k, v| {
        c.choice(k, v, &DATASET_SCALING, &SCALINGS)
    });
    let validation_fraction = c.defaulted(t, P, &DATASET_VALIDATION_FRACTION, |c, k, v| {
        c.float(k, v, &DATASET_VALIDATION_FRACTION)
    });

    let kind = kind?;
    let dataset_name = DATASETS
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("", |(name, _)| *name);
    let elsewhere = schema::KEYS
        .iter()
        .filter(|key| key.table == P && !key.applies_to(dataset_name));
    for key in elsewhere {
        if let Some(value) = t.get(key.name) {
            c.push(
                &key.path(),
                Some(value),
                format!(
                    "applies only to name = \"{}\", not {dataset_name}; remove it",
                    key.only_for.join("\" or \"")
                ),
            );
        }
    }
    let keep_classes = c.optional(t, P, &DATASET_KEEP_CLASSES, check_keep_classes);
    let own_rows = |c: &mut Check| {
        let rows = if dataset_name == "rows" {
            "rows"
        } else {
            "four rows"
        };
        for key in [DATASET_TRAIN_SIZE.name, DATASET_TEST_SIZE.name] {
            if let Some(value) = t.get(key) {
                c.push(
                        &join(P, key),
                        Some(value),
                        format!("not allowed for {dataset_name}: its {rows} are both the training and the test set; remove it"),
                    );
            }
        }
        if let Some(value) = t.get(DATASET_VALIDATION_FRACTION.name)
            && validation_fraction.is_some_and(|f| f > 0.0)
        {
            c.push(
                    &DATASET_VALIDATION_FRACTION.path(),
                    Some(value),
                    format!("not allowed for {dataset_name}: its {rows} are both the training and the test set; remove it"),
                );
        }
    };
    let source = match kind {
        DatasetKind::Mnist => Some(DatasetSource::Mnist),
        DatasetKind::FashionMnist => Some(DatasetSource::FashionMnist),
        DatasetKind::Logic(gate) => {
            own_rows(c);
            Some(DatasetSource::Logic { gate })
        }
        DatasetKind::TruthTable => {
            own_rows(c);
            let targets = c.required(t, P, &DATASET_TARGETS, check_targets);
            targets.map(|targets| DatasetSource::Logic {
                gate: LogicGate::TruthTable(targets),
            })
        }
        DatasetKind::Blobs => check_blobs(c, t).map(DatasetSource::Blobs),
        DatasetKind::Rows => {
            own_rows(c);
            check_rows(c, t).map(DatasetSource::Rows)
        }
    };
    Some(DatasetSpec {
        source: source?,
        train_size: train_size?,
        test_size: test_size?,
        scaling: scaling?,
        validation_fraction: validation_fraction?,
        keep_classes: keep_classes?,
    })
}

/// Integers of an array key, each checked into `min..=max`.
fn int_array(c: &mut Check, key: &str, value: &Value, example: &str, max: i64) -> Option<Vec<i64>> {
    let Value::Array(items) = value else {
        c.push(
            key,
            Some(value),
            format!("must be an array of integers (e.g. {example})"),
        );
        return None;
    };
    let mut out = Some(Vec::new());
    for (i, item) in items.iter().enumerate() {
        match (c.integer_in(&format!("{key}[{i}]"), item, 0, max), &mut out) {
            (Some(n), Some(list)) => list.push(n),
            _ => out = None,
        }
    }
    out
}

fn check_targets(c: &mut Check, key: &str, value: &Value) -> Option<[u8; 4]> {
    let example = DATASET_TARGETS.example;
    let values = int_array(c, key, value, example, 1)?;
    match <[i64; 4]>::try_from(values) {
        Ok(four) => Some(four.map(|v| v as u8)),
        Err(values) => {
            c.push(
                key,
                Some(value),
                format!(
                    "has {} values; a truth table of two inputs has 4, for (0,0) (0,1) (1,0) (1,1) (e.g. {example})",
                    values.len()
                ),
            );
            None
        }
    }
}

fn check_keep_classes(c: &mut Check, key: &str, value: &Value) -> Option<Vec<u32>> {
    let example = DATASET_KEEP_CLASSES.example;
    let values = int_array(c, key, value, example, 9)?;
    let mut seen = std::collections::HashSet::new();
    if values.len() < 2 || !values.iter().all(|v| seen.insert(*v)) {
        c.push(
            key,
            Some(value),
            format!("must list at least 2 distinct classes of 0..=9 (e.g. {example})"),
        );
        return None;
    }
    Some(values.into_iter().map(|v| v as u32).collect())
}

fn check_blobs(c: &mut Check, t: &Table) -> Option<BlobsSpec> {
    let count =
        |c: &mut Check, spec| c.defaulted(t, P, spec, |c, k, v: &Value| c.count(k, v, spec));
    let classes = count(c, &BLOBS_CLASSES);
    let features = count(c, &BLOBS_FEATURES);
    let train_per_class = count(c, &BLOBS_TRAIN_PER_CLASS);
    let test_per_class = count(c, &BLOBS_TEST_PER_CLASS);
    let separation = c.defaulted(t, P, &BLOBS_SEPARATION, |c, k, v| {
        c.float(k, v, &BLOBS_SEPARATION)
    });
    let spread = c.defaulted(t, P, &BLOBS_SPREAD, |c, k, v| c.float(k, v, &BLOBS_SPREAD));
    let seed = c.defaulted(t, P, &BLOBS_SEED, |c, k, v| {
        c.integer(k, v, &BLOBS_SEED).map(|n| n.unsigned_abs())
    });
    Some(BlobsSpec {
        classes: classes?,
        features: features?,
        train_per_class: train_per_class?,
        test_per_class: test_per_class?,
        separation: separation?,
        spread: spread?,
        seed: seed?,
    })
}

fn check_rows(c: &mut Check, t: &Table) -> Option<RowsSpec> {
    let classes = c.defaulted(t, P, &BLOBS_CLASSES, |c, k, v| {
        c.count(k, v, &BLOBS_CLASSES)
    });
    let inputs = c.required(t, P, &DATASET_INPUTS, check_matrix);
    let labels = c.required(t, P, &DATASET_LABELS, |c, k, v| {
        int_array(c, k, v, DATASET_LABELS.example, i64::from(u32::MAX))
    });
    let (classes, inputs, labels) = (classes?, inputs?, labels?);
    let mut good = true;
    if labels.len() != inputs.len() {
        c.push(
            &DATASET_LABELS.path(),
            t.get(DATASET_LABELS.name),
            format!(
                "has {} labels for {} rows of inputs; give one label per row",
                labels.len(),
                inputs.len()
            ),
        );
        good = false;
    }
    for (i, &label) in labels.iter().enumerate() {
        if label as usize >= classes {
            c.push(
                &format!("{}[{i}]", DATASET_LABELS.path()),
                None,
                format!(
                    "label {label} is not below dataset.classes = {classes}; raise classes or fix \
                     the label"
                ),
            );
            good = false;
        }
    }
    good.then(|| RowsSpec {
        inputs,
        labels: labels.into_iter().map(|l| l as u32).collect(),
        classes,
    })
}

/// A non-empty array of equally long, non-empty rows of finite numbers.
fn check_matrix(c: &mut Check, key: &str, value: &Value) -> Option<Vec<Vec<f32>>> {
    let rule = DATASET_INPUTS.ty.phrase_as_rule();
    let Value::Array(rows) = value else {
        c.push(key, Some(value), rule);
        return None;
    };
    if rows.is_empty() {
        c.push(key, Some(value), rule);
        return None;
    }
    let mut out: Option<Vec<Vec<f32>>> = Some(Vec::with_capacity(rows.len()));
    for (i, row) in rows.iter().enumerate() {
        let here = format!("{key}[{i}]");
        let numbers: Option<Vec<f32>> = match row {
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|item| match item {
                    Value::Float(x) if x.is_finite() => Some(*x as f32),
                    Value::Integer(n) => Some(*n as f32),
                    _ => None,
                })
                .collect(),
            _ => None,
        };
        match (numbers, &mut out) {
            (Some(numbers), Some(list)) => {
                if let Some(first) = list.first()
                    && first.len() != numbers.len()
                {
                    c.push(
                        &here,
                        Some(row),
                        format!(
                            "has {} values but row 0 has {}; every row needs as many",
                            numbers.len(),
                            first.len()
                        ),
                    );
                    out = None;
                } else {
                    list.push(numbers);
                }
            }
            (None, _) => {
                c.push(
                    &here,
                    Some(row),
                    "must be a non-empty array of finite numbers",
                );
                out = None;
            }
            _ => {}
        }
    }
    out
}
