//! Every bundled scenario runs with `--quick` on every backend this build has, and every unit
//! ends `ok`, except where the scenario means otherwise (listed in `EXPECTED`) or where a
//! framework backend cannot express it (`unsupported`, with its reason).
//!
//! A scenario whose dataset is not on this machine (exit code 4 with `--no-fetch`, e.g.
//! Fashion-MNIST offline) is reported and skipped, not failed: fetching is tested elsewhere.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// (scenario, variant, statuses allowed besides `ok`): outcomes the scenario intends.
const EXPECTED: &[(&str, &str, &[&str])] = &[
    // Too-large weights with no fix diverge: the point of the scenario (every fix is `ok`).
    ("exploding_gradient", "none", &["diverged"]),
    // ELU and SELU do not tame a too-large init (measured; the scenario says so).
    ("exploding_gradient", "elu", &["diverged"]),
    ("exploding_gradient", "selu", &["diverged"]),
    // The same SGD rate on raw 0-255 pixels: the point of the scenario.
    ("mnist_normalization", "none", &["diverged"]),
    // "Too large diverges": the top of the learning-rate grid.
    ("lr_sweep", "sgd lr=10.0", &["diverged"]),
    ("lr_sweep", "adam lr=1.0", &["diverged"]),
    ("lr_sweep", "adam lr=10.0", &["diverged"]),
    // The rate that kills most relu units makes leaky relu, whose units keep a gradient,
    // diverge.
    ("dead_relu", "leaky_relu lr=1.0", &["diverged"]),
    ("dead_relu", "leaky_relu lr=0.8", &["diverged"]),
];

fn allowed(scenario: &str, variant: &str, status: &str) -> bool {
    status == "ok"
        || EXPECTED
            .iter()
            .any(|(s, v, statuses)| *s == scenario && *v == variant && statuses.contains(&status))
}

#[test]
fn every_bundled_scenario_runs_quick_on_native() {
    run_every_scenario_quick("native", |_| false);
}

/// The framework backends may say a scenario asks for what they lack, never fail or crash.
#[test]
fn every_bundled_scenario_runs_quick_on_every_built_framework_backend() {
    // A backend whose framework is installed outside cargo (the Python peers) and missing
    // here reports `not_built`, which the CLI tests check; it is left out.
    let frameworks: Vec<&str> = nnbench::registry::built()
        .iter()
        .filter(|backend| backend.availability().is_ok())
        .map(|backend| backend.name())
        .filter(|&name| name != "native")
        .collect();
    if frameworks.is_empty() {
        eprintln!("no framework backend in this build");
        return;
    }
    run_every_scenario_quick(&frameworks.join(","), |row| {
        row.status == "unsupported" && !row.reason.is_empty()
    });
}

/// One `units.csv` row, as far as this test reads it.
struct UnitRow<'a> {
    status: &'a str,
    reason: &'a str,
}

fn run_every_scenario_quick(backends: &str, also_allowed: impl Fn(&UnitRow<'_>) -> bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let temp = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let started = Instant::now();
    for file in &files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let out = temp.path().join(&name);
        let unit_started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_nnbench"))
            .args(["scenario", file.to_str().unwrap(), "--quick"])
            .args(["--backends", backends, "--no-fetch", "--out"])
            .arg(&out)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!(
            "{name}: exit {:?} in {:.1} s",
            output.status.code(),
            unit_started.elapsed().as_secs_f64()
        );
        if output.status.code() == Some(4) {
            eprintln!("  skipped: its dataset is not available offline:\n  {stderr}");
            continue;
        }
        if !output.status.success() {
            problems.push(format!("{name}: exit {:?}: {stderr}", output.status.code()));
            continue;
        }
        if stderr.contains("warning: could not write the report") {
            problems.push(format!("{name}: {stderr}"));
        }
        let mut reader = csv::Reader::from_path(out.join("units.csv")).unwrap();
        let header = reader.headers().unwrap().clone();
        let column = |n: &str| header.iter().position(|h| h == n).unwrap();
        let (variant, backend, status, reason) = (
            column("variant"),
            column("backend"),
            column("status"),
            column("reason"),
        );
        for row in reader.records() {
            let row = row.unwrap();
            let unit = UnitRow {
                status: &row[status],
                reason: &row[reason],
            };
            if !allowed(&name, &row[variant], unit.status) && !also_allowed(&unit) {
                problems.push(format!(
                    "{name} · {} · {}: {} ({})",
                    &row[variant], &row[backend], unit.status, unit.reason
                ));
            }
        }
        assert!(out.join("report.md").exists(), "{name}: no report.md");
    }
    eprintln!(
        "{} scenarios in {:.1} s",
        files.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
