//! The report and plots of a run, `nnbench report` and `nnbench compare`, through the binary.

mod common;
use common::nnbench;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `scenario` quickly on the native backend into a new folder under `root`.
fn run(root: &Path, name: &str, scenario: &str, extra: &[&str]) -> PathBuf {
    let out = root.join(name);
    let mut args = vec![
        "scenario",
        scenario,
        "--quick",
        "--backends",
        "native",
        "--no-fetch",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let output = nnbench(&args);
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert!(
        !text(&output.stderr).contains("warning: could not write the report"),
        "{}",
        text(&output.stderr)
    );
    out
}

/// Two runs made once for every test: xor_mlp with one seed and with two.
fn runs() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static RUNS: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    RUNS.get_or_init(|| {
        let root = tempfile::tempdir().unwrap();
        let a = run(root.path(), "a", "xor_mlp", &[]);
        let b = run(root.path(), "b", "xor_mlp", &["--seeds", "0,1"]);
        (root, a, b)
    })
}

/// A copy of a run folder (files and `plots/`), for tests that change it.
fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn svgs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .collect();
    files.sort();
    files
}

#[test]
fn a_run_writes_a_report_linking_plots_that_are_valid_svg() {
    let (_, a, b) = runs();
    for dir in [a, b] {
        let files = svgs(dir);
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for expected in ["curves_", "epoch_time.svg", "success.svg", "boundary_"] {
            assert!(
                names.iter().any(|n| n.starts_with(expected)),
                "no {expected} plot in {names:?}"
            );
        }
        let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
        for name in &names {
            assert!(
                report.contains(&format!("](plots/{name})")),
                "report.md does not link {name}:\n{report}"
            );
        }
        assert!(report.contains("## Summary"), "{report}");
        assert!(report.contains("## What was run"), "{report}");
        assert!(report.contains("## Environment"), "{report}");
        for file in &files {
            let svg = std::fs::read_to_string(file).unwrap();
            let document = roxmltree::Document::parse(&svg)
                .unwrap_or_else(|e| panic!("{}: not XML: {e}", file.display()));
            let root = document.root_element();
            assert_eq!(root.tag_name().name(), "svg", "{}", file.display());
            let shapes = root
                .descendants()
                .filter(|n| matches!(n.tag_name().name(), "path" | "polyline" | "rect"))
                .count();
            assert!(shapes > 0, "{} draws nothing", file.display());
        }
    }
    // Several seeds: the report gives a 95 % interval.
    let report = std::fs::read_to_string(b.join("report.md")).unwrap();
    assert!(report.contains("| 2 |"), "{report}");
}

#[test]
fn report_regenerates_identical_files_from_the_csvs() {
    let (root, _, b) = runs();
    let dir = root.path().join("regenerated");
    copy(b, &dir);
    let before: Vec<(PathBuf, Vec<u8>)> = svgs(&dir)
        .into_iter()
        .chain([dir.join("report.md")])
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    std::fs::remove_dir_all(dir.join("plots")).unwrap();
    std::fs::remove_file(dir.join("report.md")).unwrap();
    let output = nnbench(&["report", dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(svgs(&dir).len() + 1, before.len());
    for (path, bytes) in before {
        let now = std::fs::read(&path).unwrap_or_else(|_| panic!("{} missing", path.display()));
        assert!(now == bytes, "{} differs after `report`", path.display());
    }
}

#[test]
fn compare_lists_changes_and_rows_only_in_one_run() {
    let (root, a, b) = runs();
    let output = nnbench(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    assert!(table.contains("test_accuracy a → b (Δ)"), "{table}");
    assert!(table.contains("native"), "{table}");
    assert!(table.contains('×'), "no epoch-time ratio in:\n{table}");

    // A run with a variant the other lacks, and another status.
    let c = root.path().join("changed");
    copy(b, &c);
    let summary = std::fs::read_to_string(c.join("summary.csv")).unwrap();
    let mut lines: Vec<String> = summary.lines().map(String::from).collect();
    let extra = lines[1].replacen(",native,ok,", ",native,diverged,", 1);
    let extra = format!("renamed_variant{}", &extra[extra.find(',').unwrap()..]);
    lines[1] = lines[1].replacen(",native,ok,", ",native,diverged,", 1);
    lines.push(extra);
    std::fs::write(c.join("summary.csv"), lines.join("\n") + "\n").unwrap();
    let output = nnbench(&["compare", a.to_str().unwrap(), c.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    assert!(table.contains("ok → diverged"), "{table}");
    assert!(table.contains("only in b"), "{table}");
}

#[test]
fn a_corrupted_csv_is_an_error_naming_file_line_and_column() {
    let (root, a, _) = runs();
    let dir = root.path().join("corrupted");
    copy(a, &dir);
    let epochs = std::fs::read_to_string(dir.join("epochs.csv")).unwrap();
    let mut lines: Vec<String> = epochs.lines().map(String::from).collect();
    let mut fields: Vec<String> = lines[2].split(',').map(String::from).collect();
    fields[5] = "not-a-number".into(); // train_loss
    lines[2] = fields.join(",");
    std::fs::write(dir.join("epochs.csv"), lines.join("\n") + "\n").unwrap();
    let output = nnbench(&["report", dir.to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("epochs.csv"), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("train_loss"), "{stderr}");

    // A line cut short and a file that is not CSV at all.
    std::fs::write(dir.join("epochs.csv"), &epochs).unwrap();
    std::fs::write(dir.join("units.csv"), "variant,backend,seed\nbase,native\n").unwrap();
    let output = nnbench(&["report", dir.to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("units.csv"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let output = nnbench(&["compare", a.to_str().unwrap(), "/nonexistent/run"]);
    assert_eq!(output.status.code(), Some(5), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("/nonexistent/run"));
    let output = nnbench(&["report", "/nonexistent/run"]);
    assert_eq!(output.status.code(), Some(5), "{}", text(&output.stderr));
}

/// Two backends: a plot of each one's difference from native, its epoch axis in whole epochs.
#[cfg(feature = "burn")]
#[test]
fn a_run_with_native_and_another_backend_plots_their_difference_per_whole_epoch() {
    let root = tempfile::tempdir().unwrap();
    let dir = run(
        root.path(),
        "two",
        "xor_mlp",
        // `run` names native; a second --backends adds to the list.
        &["--backends", "burn", "--epochs", "7"],
    );
    let file = dir.join("plots/diff_base.svg");
    let svg = std::fs::read_to_string(&file).unwrap();
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("](plots/diff_base.svg)"), "{report}");
    let document = roxmltree::Document::parse(&svg).unwrap();
    let labels: Vec<&str> = document
        .descendants()
        .filter(|n| n.tag_name().name() == "text")
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    assert!(labels.contains(&"burn"), "{labels:?}");
    // The y axis is written 1e-8; any other number on the plot is an epoch, and whole.
    let epochs: Vec<&&str> = labels
        .iter()
        .filter(|l| l.parse::<f64>().is_ok() && !l.contains('e'))
        .collect();
    assert!(epochs.contains(&&"7"), "{labels:?}");
    for label in epochs {
        assert!(label.parse::<u64>().is_ok(), "epoch label {label}");
    }
}
