//! End-to-end tests of the `nnbench` command: what a user types, what files they get.

mod common;
use common::{nnbench, read_csv, stderr};

use std::path::Path;

/// Runs `nnbench scenario ARGS --out <parent>/run`, checks it succeeded, returns the folder.
fn run_scenario(parent: &Path, args: &[&str]) -> std::path::PathBuf {
    let out = parent.join("run");
    let mut all = vec!["scenario"];
    all.extend_from_slice(args);
    all.extend(["--out", out.to_str().unwrap()]);
    let output = nnbench(&all);
    assert!(output.status.success(), "{}", stderr(&output));
    out
}

fn column<'a>(header: &[String], rows: &'a [Vec<String>], name: &str) -> Vec<&'a str> {
    let index = header
        .iter()
        .position(|h| h == name)
        .expect("column exists");
    rows.iter().map(|row| row[index].as_str()).collect()
}

#[test]
fn list_names_every_bundled_scenario_with_its_description() {
    let output = nnbench(&["list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    for name in ["mnist_adam", "perceptron_logic", "xor_mlp"] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    assert!(!text.contains("does not validate"), "{text}");
}

#[test]
fn xor_mlp_writes_the_documented_files_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_scenario(dir.path(), &["xor_mlp", "--backends", "native,tch"]);
    for file in [
        "epochs.csv",
        "summary.csv",
        "units.csv",
        "scenario.toml",
        "scenario.resolved.json",
        "environment.json",
        "report.md",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let (header, rows) = read_csv(&out.join("summary.csv"));
    assert_eq!(
        header,
        [
            "variant",
            "backend",
            "status",
            "seeds",
            "epochs_run",
            "test_accuracy",
            "test_accuracy_std",
            "final_train_loss",
            "epoch_s_median",
            "jobs",
            "reason"
        ]
    );
    let backends = column(&header, &rows, "backend");
    let statuses = column(&header, &rows, "status");
    let native = backends.iter().position(|b| *b == "native").unwrap();
    assert_eq!(statuses[native], "ok");
    let tch = backends.iter().position(|b| *b == "tch").unwrap();
    if cfg!(feature = "tch") {
        assert_eq!(statuses[tch], "ok");
    } else {
        assert_eq!(statuses[tch], "not_built");
        assert!(column(&header, &rows, "reason")[tch].contains("--features tch"));
    }

    let (header, rows) = read_csv(&out.join("epochs.csv"));
    assert_eq!(
        header,
        [
            "variant",
            "backend",
            "seed",
            "epoch",
            "lr",
            "train_loss",
            "train_accuracy",
            "val_loss",
            "val_accuracy",
            "step_loss",
            "epoch_s",
            "eval_s",
            "samples_per_s",
            "jobs"
        ]
    );
    assert!(!rows.is_empty());
    let environment = std::fs::read_to_string(out.join("environment.json")).unwrap();
    for key in [
        "cpu_model",
        "cores",
        "threads",
        "rustc",
        "git_commit",
        "build_profile",
    ] {
        assert!(
            environment.contains(key),
            "{key} missing from {environment}"
        );
    }
}

#[test]
fn results_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("summary.csv"), "precious").unwrap();
    let output = nnbench(&[
        "scenario",
        "xor_mlp",
        "--quick",
        "--backends",
        "native",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("never overwritten"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("summary.csv")).unwrap(),
        "precious"
    );
}

#[test]
fn an_unknown_scenario_names_the_available_ones() {
    let output = nnbench(&["scenario", "mnist_adma"]);
    assert_eq!(output.status.code(), Some(3));
    let message = stderr(&output);
    assert!(message.contains("no scenario `mnist_adma`"), "{message}");
    assert!(message.contains("mnist_adam"), "{message}");
}

#[test]
fn an_invalid_override_is_reported_with_its_key_and_range() {
    let output = nnbench(&[
        "show",
        "mnist_adam",
        "--set",
        "optimizer.beta1=1.5",
        "--epochs",
        "0",
    ]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("optimizer.beta1"), "{message}");
    assert!(message.contains("training.epochs"), "{message}");
}

#[test]
fn backends_prints_one_matrix_that_agrees_with_the_long_lists() {
    let output = nnbench(&["backends"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let built = nnbench::registry::built();
    let names: Vec<&str> = built.iter().map(|b| b.name()).collect();
    assert_eq!(header, names, "{text}");
    // Every cell says what the backend's capability table says.
    let mut rows = 0;
    for line in lines.take_while(|l| !l.starts_with("F:")) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.is_empty() {
            continue;
        }
        rows += 1;
        assert_eq!(cells.len(), 2 + names.len(), "{line}");
        for (backend, cell) in built.iter().zip(&cells[2..]) {
            let support = backend
                .capabilities()
                .into_iter()
                .find(|c| c.category.name() == cells[0] && c.name == cells[1])
                .map(|c| c.support);
            let expected = match support {
                Some(nnbench_core::Support::Framework) => "F",
                Some(nnbench_core::Support::Adapter) => "A",
                _ => "-",
            };
            assert_eq!(*cell, expected, "{} {line}", backend.name());
        }
    }
    assert!(rows > 10, "{text}");
    assert!(text.contains("optimizer adam"), "{text}");

    let output = nnbench(&["backends", "--long"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("native"), "{text}");
    assert!(text.contains("adam"), "{text}");
    if cfg!(feature = "tch") {
        assert!(text.contains("tch (tch "), "{text}");
    } else {
        assert!(text.contains("tch: not built"), "{text}");
    }
}

#[test]
fn bench_rejects_a_backend_it_cannot_time_before_loading_anything() {
    let output = nnbench(&["bench", "--backends", "native,nope"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("--backends: unknown backend `nope`"),
        "{message}"
    );
    assert!(message.contains("built: native"), "{message}");
    let output = nnbench(&["bench", "--backends", "linear"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("`linear` is a reference model"),
        "{}",
        stderr(&output)
    );
}

/// Real MNIST (CI fetches it before the tests), one measured round per backend, workload and
/// thread count, each in a process of its own, and bench.csv with a row for each.
#[cfg(feature = "burn")]
#[test]
fn bench_measures_each_backend_in_a_process_of_its_own() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("bench");
    let output = nnbench(&[
        "bench",
        "--backends",
        "native,burn",
        "--rounds",
        "1",
        "--loads",
        "1",
        "--threads",
        "1",
        "--tiny-steps",
        "50",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    let rows = |name: &str| -> Vec<String> {
        text.lines()
            .filter(|line| line.trim_start().starts_with(name))
            .map(str::to_string)
            .collect()
    };
    let native = rows("native");
    assert_eq!(native.len(), 2, "{text}");
    assert!(
        native[0].contains(" s/epoch") && native[0].contains("GEMM floor"),
        "{text}"
    );
    assert!(
        native[1].contains("µs/step") && native[1].contains("harness/own"),
        "{text}"
    );
    let burn = rows("burn");
    assert!(burn[0].contains("harness/own"), "{text}");
    let csv = std::fs::read_to_string(out_dir.join("bench.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
    assert!(out_dir.join("environment.json").exists());
}

/// Real MNIST (CI fetches it before the tests), the quick subsets.
#[test]
fn dead_relu_records_each_hidden_layers_dead_units_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_scenario(
        dir.path(),
        &["dead_relu", "--quick", "--backends", "native"],
    );
    let (header, rows) = read_csv(&out.join("dead_units.csv"));
    assert_eq!(
        header,
        [
            "variant",
            "backend",
            "seed",
            "epoch",
            "layer",
            "dead_fraction"
        ]
    );
    let layers = column(&header, &rows, "layer");
    assert!(layers.contains(&"0") && layers.contains(&"1"), "{layers:?}");
    assert!(!layers.contains(&"2"), "the output layer is left out");
    for fraction in column(&header, &rows, "dead_fraction") {
        let value: f64 = fraction.parse().unwrap();
        assert!((0.0..=1.0).contains(&value), "{fraction}");
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Dead units"), "{report}");
    let plots: Vec<String> = std::fs::read_dir(out.join("plots"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        plots.iter().any(|name| name.starts_with("dead_units_")),
        "{plots:?}"
    );
}

#[test]
fn an_error_is_printed_with_one_error_prefix() {
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("core/tests/bad_scenarios/zero_epochs.toml");
    let output = nnbench(&["show", scenario.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.starts_with("error: "), "{message}");
    assert_eq!(message.matches("error:").count(), 1, "{message}");
}

#[test]
fn a_backends_name_that_is_no_backend_is_a_wrong_command_line_everywhere() {
    for command in [
        &[
            "scenario",
            "xor_mlp",
            "--quick",
            "--backends",
            "native,nope",
        ][..],
        &["show", "xor_mlp", "--backends", "nope"][..],
        &["bench", "--backends", "nope"][..],
    ] {
        let output = nnbench(command);
        assert_eq!(
            output.status.code(),
            Some(nnbench::exit_codes::USAGE as i32),
            "{command:?}: {}",
            stderr(&output)
        );
        let message = stderr(&output);
        assert!(message.contains("--backends"), "{message}");
        assert!(message.contains("`nope`"), "{message}");
    }
}

#[test]
fn parity_writes_the_initial_weights_and_batch_order_for_a_replay() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parity");
    let output = nnbench(&[
        "parity",
        "xor_mlp",
        "--quick",
        "--backends",
        "native",
        "--steps",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let replay = out.join("replay/base-seed0");
    let init = std::fs::read(replay.join("init.safetensors")).unwrap();
    let init = safetensors::SafeTensors::deserialize(&init).unwrap();
    let mut names = init.names();
    names.sort();
    assert_eq!(names, ["0.bias", "0.weight", "1.bias", "1.weight"]);
    assert_eq!(init.tensor("0.weight").unwrap().shape(), [2, 4]);
    let order = std::fs::read(replay.join("batch_order.safetensors")).unwrap();
    let order = safetensors::SafeTensors::deserialize(&order).unwrap();
    let epoch = order.tensor("epoch_1").unwrap();
    let mut rows: Vec<i64> = epoch
        .data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    rows.sort_unstable();
    assert_eq!(rows, [0, 1, 2, 3], "a permutation of XOR's four rows");
}
