//! Synthetic sets: logic-gate truth tables and Gaussian blobs, through `load`.

use nnbench_core::data::synthetic::{self, blob_centres};
use nnbench_core::data::{DataOptions, Dataset, Silent, load};
use nnbench_core::spec::{BlobsSpec, DatasetSource, DatasetSpec, LogicGate, Scaling};

fn options() -> DataOptions {
    // Synthetic sets never touch the data directory.
    DataOptions::new("/nonexistent/nnbench-data", false)
}

fn spec(source: DatasetSource, scaling: Scaling) -> DatasetSpec {
    DatasetSpec {
        source,
        train_size: None,
        test_size: None,
        scaling,
        validation_fraction: 0.0,
        keep_classes: None,
    }
}

fn blobs_spec(seed: u64) -> BlobsSpec {
    BlobsSpec {
        classes: 3,
        features: 4,
        train_per_class: 50,
        test_per_class: 20,
        separation: 5.0,
        spread: 0.5,
        seed,
    }
}

fn load_blobs(blobs: BlobsSpec, scaling: Scaling) -> Dataset {
    load(
        &spec(DatasetSource::Blobs(blobs), scaling),
        &options(),
        &Silent,
    )
    .unwrap()
}

#[test]
fn truth_tables() {
    for (gate, name, labels) in [
        (LogicGate::And, "and", [0, 0, 0, 1]),
        (LogicGate::Or, "or", [0, 1, 1, 1]),
        (LogicGate::Xor, "xor", [0, 1, 1, 0]),
    ] {
        // Unit is the identity on synthetic data.
        for scaling in [Scaling::None, Scaling::Unit] {
            let data = load(
                &spec(DatasetSource::Logic { gate }, scaling),
                &options(),
                &Silent,
            )
            .unwrap();
            assert_eq!(data.name, name);
            assert_eq!((data.features, data.classes), (2, 2));
            assert_eq!(data.train.inputs, vec![0., 0., 0., 1., 1., 0., 1., 1.]);
            assert_eq!(data.train.labels, labels);
            assert_eq!(data.train, data.test);
            assert!(data.validation.is_none());
        }
    }
}

#[test]
fn blobs_are_deterministic_per_seed() {
    let a = load_blobs(blobs_spec(7), Scaling::None);
    let b = load_blobs(blobs_spec(7), Scaling::None);
    let c = load_blobs(blobs_spec(8), Scaling::None);
    assert_eq!(a, b);
    assert_ne!(a.train.inputs, c.train.inputs);
    // The test set does not depend on how many training rows are drawn.
    let mut more = blobs_spec(7);
    more.train_per_class = 80;
    assert_eq!(load_blobs(more, Scaling::None).test, a.test);
}

#[test]
fn blobs_have_the_requested_counts_and_means() {
    let mut blobs = blobs_spec(1);
    blobs.train_per_class = 2000;
    let data = load_blobs(blobs.clone(), Scaling::None);
    assert_eq!(data.name, "blobs");
    assert_eq!((data.features, data.classes), (4, 3));
    assert_eq!((data.train.rows, data.test.rows), (6000, 60));
    assert_eq!(data.train.inputs.len(), 6000 * 4);
    // Interleaved by class, so every prefix is balanced.
    assert_eq!(&data.train.labels[..6], &[0, 1, 2, 0, 1, 2]);
    let centres = blob_centres(&blobs);
    for class in 0..3 {
        let rows: Vec<&[f32]> = (0..data.train.rows)
            .filter(|&r| data.train.labels[r] == class)
            .map(|r| data.train.row(r, 4))
            .collect();
        assert_eq!(rows.len(), 2000);
        for j in 0..4 {
            let values: Vec<f64> = rows.iter().map(|r| f64::from(r[j])).collect();
            let mean = values.iter().sum::<f64>() / 2000.0;
            let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 2000.0).sqrt();
            let centre = centres[class as usize * 4 + j];
            // Standard error of the mean: 0.5/√2000 ≈ 0.011.
            assert!(
                (mean - centre).abs() < 0.05,
                "class {class} feature {j}: {mean} vs {centre}"
            );
            assert!(
                (std - 0.5).abs() < 0.05,
                "class {class} feature {j}: std {std}"
            );
        }
    }
}

#[test]
fn separation_and_spread_make_blobs_separable_or_not() {
    // Fraction of test rows whose nearest centre is their own class.
    let nearest_accuracy = |separation: f64, spread: f64| {
        let mut blobs = blobs_spec(3);
        blobs.separation = separation;
        blobs.spread = spread;
        let centres = blob_centres(&blobs);
        let data = load_blobs(blobs, Scaling::None);
        let hits = (0..data.test.rows)
            .filter(|&r| {
                let row = data.test.row(r, 4);
                let dist = |c: usize| {
                    (0..4)
                        .map(|j| (f64::from(row[j]) - centres[c * 4 + j]).powi(2))
                        .sum::<f64>()
                };
                let best = (0..3).min_by(|&a, &b| dist(a).total_cmp(&dist(b))).unwrap();
                best as u32 == data.test.labels[r]
            })
            .count();
        hits as f64 / data.test.rows as f64
    };
    assert_eq!(nearest_accuracy(10.0, 0.5), 1.0);
    assert!(nearest_accuracy(0.5, 3.0) < 0.8);
}

#[test]
fn validation_is_the_end_of_the_training_subset() {
    let full = load_blobs(blobs_spec(2), Scaling::None);
    let mut dataset = spec(DatasetSource::Blobs(blobs_spec(2)), Scaling::None);
    dataset.train_size = Some(100);
    dataset.test_size = Some(10);
    dataset.validation_fraction = 0.2;
    let data = load(&dataset, &options(), &Silent).unwrap();
    let validation = data.validation.unwrap();
    assert_eq!(
        (data.train.rows, validation.rows, data.test.rows),
        (80, 20, 10)
    );
    assert_eq!(data.train.inputs[..], full.train.inputs[..80 * 4]);
    assert_eq!(validation.inputs[..], full.train.inputs[80 * 4..100 * 4]);
    assert_eq!(validation.labels[..], full.train.labels[80..100]);
    assert_eq!(data.test.inputs[..], full.test.inputs[..10 * 4]);
}

#[test]
fn standard_scaling_is_fitted_on_the_training_rows() {
    let mut dataset = spec(DatasetSource::Blobs(blobs_spec(4)), Scaling::Standard);
    dataset.validation_fraction = 0.3;
    let data = load(&dataset, &options(), &Silent).unwrap();
    let n = data.train.rows as f64;
    for j in 0..4 {
        let values: Vec<f64> = (0..data.train.rows)
            .map(|r| f64::from(data.train.row(r, 4)[j]))
            .collect();
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 1e-5, "feature {j} mean {mean}");
        assert!((var - 1.0).abs() < 1e-4, "feature {j} variance {var}");
    }
    // Validation and test are transformed with the training statistics, not their own.
    let raw = load_blobs(blobs_spec(4), Scaling::None);
    let validation = data.validation.unwrap();
    assert_ne!(validation.inputs, raw.train.inputs[data.train.rows * 4..]);
    assert_ne!(data.test.inputs, raw.test.inputs);
}

#[test]
fn constant_feature_is_only_centred() {
    // Spread 0 and two classes on the first axis: feature 1 (and 2) is 0 everywhere.
    let blobs = BlobsSpec {
        classes: 2,
        features: 3,
        train_per_class: 3,
        test_per_class: 1,
        separation: 4.0,
        spread: 0.0,
        seed: 0,
    };
    let data = load_blobs(blobs, Scaling::Standard);
    for r in 0..data.train.rows {
        let row = data.train.row(r, 3);
        assert_eq!(row[0], if r % 2 == 0 { 1.0 } else { -1.0 });
        assert_eq!(&row[1..], &[0.0, 0.0]);
    }
}

#[test]
fn degenerate_blobs_are_errors_not_panics() {
    let mut blobs = blobs_spec(0);
    blobs.classes = 0;
    let err = load(
        &spec(DatasetSource::Blobs(blobs), Scaling::None),
        &options(),
        &Silent,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("at least one class"), "{err}");
    let mut blobs = blobs_spec(0);
    blobs.test_per_class = 0;
    let err = load(
        &spec(DatasetSource::Blobs(blobs), Scaling::None),
        &options(),
        &Silent,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("test set is empty"), "{err}");
    assert_eq!(synthetic::gate_name(LogicGate::Xor), "xor");
}
