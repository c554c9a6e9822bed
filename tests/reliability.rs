//! Reliability: a failing unit does not stop a run, a killed run resumes without losing or
//! repeating a unit, shards merge into the unsharded run, time limits end units as `timeout`,
//! and bad command lines and folders get their documented exit codes.

mod common;
use common::{nnbench, read_csv, stderr};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nnbench::progress::Mode;
use nnbench::runner::{self, RunOptions, RunRequest};
use nnbench_core::data::DataOptions;
use nnbench_core::spec::RunSpec;
use nnbench_core::spec::parse::{self, LoadOptions};
use nnbench_core::{Backend, BackendError, Capability, Trainer, TrainerSetup, Unsupported};

/// The rows of a CSV file without its timing columns, which differ from run to run (and
/// without `jobs`, which says how the times were measured).
fn without_timing(path: &Path) -> Vec<Vec<String>> {
    let (header, rows) = read_csv(path);
    let timing: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, name)| {
            name.ends_with("_s")
                || name.ends_with("_s_median")
                || *name == "samples_per_s"
                || *name == "jobs"
        })
        .map(|(i, _)| i)
        .collect();
    rows.into_iter()
        .map(|row| {
            row.into_iter()
                .enumerate()
                .filter(|(i, _)| !timing.contains(i))
                .map(|(_, cell)| cell)
                .collect()
        })
        .collect()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---------------------------------------------------------------------------------------
// A backend that panics: the native backend, except that its second unit panics.
// ---------------------------------------------------------------------------------------

struct PanicsOnSecondUnit {
    built: AtomicUsize,
}

impl Backend for PanicsOnSecondUnit {
    fn name(&self) -> &'static str {
        "native"
    }
    fn framework_version(&self) -> String {
        nnbench_native::NativeBackend.framework_version()
    }
    fn capabilities(&self) -> Vec<Capability> {
        nnbench_native::NativeBackend.capabilities()
    }
    fn check(&self, run: &RunSpec) -> Result<(), Unsupported> {
        nnbench_native::NativeBackend.check(run)
    }
    fn build(&self, setup: &TrainerSetup<'_>) -> Result<Box<dyn Trainer>, BackendError> {
        if self.built.fetch_add(1, Ordering::SeqCst) == 1 {
            panic!("deliberate panic in the second unit");
        }
        nnbench_native::NativeBackend.build(setup)
    }
}

#[test]
fn a_panicking_unit_is_one_failed_row_and_the_others_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("scenarios/xor_mlp.toml")).unwrap();
    let options = LoadOptions {
        quick: false,
        overrides: vec![
            ("backends".into(), toml::Value::Array(vec!["native".into()])),
            ("training.epochs".into(), toml::Value::Integer(50)),
        ],
    };
    let scenario = parse::parse_scenario("xor_mlp", "xor_mlp.toml", &text, &options).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let data = DataOptions::new(dir.path().join("data"), false);
    let result = runner::run_with(
        &RunRequest {
            scenario: &scenario,
            source_text: &text,
            out: Some(&out),
            results_root: dir.path(),
            data: &data,
            progress: Mode::Silent,
        },
        &RunOptions {
            backends: Some(vec![Box::new(PanicsOnSecondUnit {
                built: AtomicUsize::new(0),
            })]),
            ..RunOptions::default()
        },
    )
    .expect("the run itself succeeds");
    let statuses: Vec<&str> = result
        .units
        .iter()
        .map(|u| u.outcome.status.name())
        .collect();
    assert_eq!(statuses.len(), 5);
    assert_eq!(statuses[1], "failed", "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == "ok").count(),
        4,
        "{statuses:?}"
    );
    let reason = result.units[1].outcome.reason.as_deref().unwrap_or("");
    assert!(reason.contains("deliberate panic"), "{reason}");
    // And on disk: one failed row, the others ok.
    let (header, units) = read_csv(&out.join("units.csv"));
    let status = header.iter().position(|h| h == "status").unwrap();
    let on_disk: Vec<&str> = units.iter().map(|row| row[status].as_str()).collect();
    assert_eq!(on_disk, statuses);
}

// ---------------------------------------------------------------------------------------
// Kill and resume
// ---------------------------------------------------------------------------------------

const LONG_RUN: [&str; 8] = [
    "scenario",
    "mlp_xor",
    "--backends",
    "native",
    "--seeds",
    "0,1,2,3",
    "--epochs",
    "6000",
];

fn data_rows(path: &Path) -> usize {
    // Whole lines after the header.
    std::fs::read_to_string(path)
        .map(|text| text.matches('\n').count().saturating_sub(1))
        .unwrap_or(0)
}

#[test]
fn a_killed_run_resumes_to_the_same_summary_without_repeating_a_unit() {
    let dir = tempfile::tempdir().unwrap();
    let killed = dir.path().join("killed");
    let mut args: Vec<&str> = LONG_RUN.to_vec();
    args.extend(["--out", path(&killed)]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_nnbench"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while data_rows(&killed.join("units.csv")) < 1 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no unit finished in 60 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let total = 16; // 4 variants × 1 backend × 4 seeds
    let finished_before = data_rows(&killed.join("units.csv"));
    assert!(
        (1..total).contains(&finished_before),
        "killed after {finished_before} of {total} units"
    );
    assert!(!killed.join("summary.csv").exists());

    // A resume with other options is refused, naming the key.
    let mut changed: Vec<&str> = vec![
        "scenario",
        "mlp_xor",
        "--backends",
        "native",
        "--seeds",
        "0,1,2,3",
        "--epochs",
        "5999",
    ];
    changed.extend(["--resume", path(&killed)]);
    let refused = nnbench(&changed);
    assert_eq!(refused.status.code(), Some(5), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("training.epochs"),
        "{}",
        stderr(&refused)
    );

    let mut resume: Vec<&str> = LONG_RUN.to_vec();
    resume.extend(["--resume", path(&killed)]);
    let resumed = nnbench(&resume);
    assert!(resumed.status.success(), "{}", stderr(&resumed));

    let whole = dir.path().join("whole");
    let mut uninterrupted: Vec<&str> = LONG_RUN.to_vec();
    uninterrupted.extend(["--out", path(&whole)]);
    let output = nnbench(&uninterrupted);
    assert!(output.status.success(), "{}", stderr(&output));

    // Each unit once, in the same order, with the same results.
    let units = without_timing(&killed.join("units.csv"));
    assert_eq!(units.len(), total);
    let mut keys: Vec<&[String]> = units.iter().map(|row| &row[..3]).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), total, "a unit ran twice");
    assert_eq!(units, without_timing(&whole.join("units.csv")));
    assert_eq!(
        without_timing(&killed.join("epochs.csv")),
        without_timing(&whole.join("epochs.csv"))
    );
    assert_eq!(
        without_timing(&killed.join("summary.csv")),
        without_timing(&whole.join("summary.csv"))
    );
    // A second resume of a finished run runs nothing and changes nothing.
    let again = nnbench(&resume);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(without_timing(&killed.join("units.csv")), units);
}

#[test]
fn a_torn_last_line_is_dropped_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let base = [
        "scenario",
        "xor_mlp",
        "--backends",
        "native",
        "--epochs",
        "30",
    ];
    let mut args = base.to_vec();
    args.extend(["--out", path(&out)]);
    assert!(nnbench(&args).status.success());
    let complete = without_timing(&out.join("units.csv"));
    // Cut units.csv in the middle of its last row, as a kill during a write would.
    let text = std::fs::read_to_string(out.join("units.csv")).unwrap();
    let cut = text.trim_end().rfind(',').unwrap();
    std::fs::write(out.join("units.csv"), &text[..cut]).unwrap();
    let mut resume = base.to_vec();
    resume.extend(["--resume", path(&out)]);
    let output = nnbench(&resume);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(without_timing(&out.join("units.csv")), complete);
}

// ---------------------------------------------------------------------------------------
// Shards and merge
// ---------------------------------------------------------------------------------------

fn run_into(out: &Path, extra: &[&str]) {
    let mut args = vec![
        "scenario",
        "xor_mlp",
        "--backends",
        "native,tch",
        "--epochs",
        "40",
    ];
    args.extend_from_slice(extra);
    args.extend(["--out", path(out)]);
    let output = nnbench(&args);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn shards_merged_equal_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    run_into(&whole, &[]);
    let shards: Vec<PathBuf> = (1..=3)
        .map(|k| {
            let out = dir.path().join(format!("shard-{k}"));
            let shard = format!("{k}/3");
            // One shard runs its units side by side: it merges all the same.
            let jobs = if k == 2 { "2" } else { "1" };
            run_into(&out, &["--shard", &shard, "--jobs", jobs]);
            out
        })
        .collect();
    let counts: Vec<usize> = shards
        .iter()
        .map(|s| data_rows(&s.join("units.csv")))
        .collect();
    assert_eq!(counts, [4, 3, 3], "10 units dealt round-robin");

    let merged = dir.path().join("merged");
    let mut args = vec!["merge", path(&merged)];
    args.extend(shards.iter().rev().map(|s| path(s)));
    let output = nnbench(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    for file in ["units.csv", "epochs.csv", "summary.csv"] {
        assert_eq!(
            without_timing(&merged.join(file)),
            without_timing(&whole.join(file)),
            "{file}"
        );
    }

    // The same shard twice is refused, naming the unit.
    let twice = dir.path().join("twice");
    let output = nnbench(&[
        "merge",
        "--out",
        path(&twice),
        path(&shards[0]),
        path(&shards[0]),
    ]);
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("is in both"),
        "{}",
        stderr(&output)
    );

    // A shard of another scenario configuration is refused, naming the key.
    let other = dir.path().join("other");
    let mut args = vec![
        "scenario",
        "xor_mlp",
        "--backends",
        "native,tch",
        "--epochs",
        "41",
    ];
    args.extend(["--shard", "2/3", "--out", path(&other)]);
    assert!(nnbench(&args).status.success());
    let mismatched = dir.path().join("mismatched");
    let output = nnbench(&["merge", path(&mismatched), path(&shards[0]), path(&other)]);
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("training.epochs"),
        "{}",
        stderr(&output)
    );

    // Missing shards are merged with a warning.
    let partial = dir.path().join("partial");
    let output = nnbench(&["merge", path(&partial), path(&shards[0])]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("6 units"), "{}", stderr(&output));

    // Resuming a shard keeps it a shard.
    let output = nnbench(&[
        "scenario",
        "xor_mlp",
        "--backends",
        "native,tch",
        "--epochs",
        "40",
        "--resume",
        path(&shards[1]),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(data_rows(&shards[1].join("units.csv")), 3);
}

// ---------------------------------------------------------------------------------------
// Units side by side (--jobs)
// ---------------------------------------------------------------------------------------

/// XOR (2-D: boundary and points files too) in two variants on every default framework
/// backend, three seeds: 21 small units. The second variant has dropout and each framework's
/// own initialisation, which burn draws from a process-wide generator.
const SIDE_BY_SIDE: &str = r#"
description = "XOR, for units run side by side"
backends = ["native", "burn", "candle", "linfa"]

[dataset]
name = "xor"

[model]
layers = [{ type = "dense", units = 4, activation = "tanh" }]
output = "sigmoid_binary_cross_entropy"

[init]
weights = { scheme = "uniform", limit = 1.0 }

[optimizer]
kind = "adam"
learning_rate = 0.05
beta1 = 0.9
beta2 = 0.999
epsilon = 1e-8

[training]
epochs = 25
batch_size = "full"
shuffle = false
seeds = [0, 1, 2]
record_grad_norms = true

[sweep]
net = [
  { name = "plain" },
  { name = "dropout_own_init", "backends" = ["native", "burn", "linfa"], "model.layers" = [
    { type = "dense", units = 8, activation = "tanh" }, { type = "dropout", rate = 0.3 },
  ], "init.weights" = "framework_default" },
]
"#;

#[test]
fn units_run_side_by_side_write_the_rows_of_units_run_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("side_by_side.toml");
    std::fs::write(&scenario, SIDE_BY_SIDE).unwrap();
    let run = |jobs: &str| {
        let out = dir.path().join(format!("jobs-{jobs}"));
        let output = nnbench(&[
            "scenario",
            path(&scenario),
            "--jobs",
            jobs,
            "--out",
            path(&out),
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        (out, String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (one, one_stdout) = run("1");
    let (three, three_stdout) = run("3");
    assert_eq!(data_rows(&one.join("units.csv")), 21);
    for file in [
        "units.csv",
        "epochs.csv",
        "summary.csv",
        "grad_norms.csv",
        "boundary.csv",
        "points.csv",
    ] {
        assert_eq!(
            without_timing(&three.join(file)),
            without_timing(&one.join(file)),
            "{file}"
        );
    }
    // The dropout variant trained on burn in both (not a row that says why it could not).
    let (header, units) = read_csv(&three.join("units.csv"));
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert!(
        units
            .iter()
            .any(|row| row[at("variant")].starts_with("dropout")
                && row[at("backend")] == "burn"
                && row[at("status")] == "ok")
    );

    // Every timed row says how it was measured; the report, the console and the
    // environment too.
    for (dir, jobs) in [(&one, "1"), (&three, "3")] {
        for file in ["units.csv", "epochs.csv", "summary.csv"] {
            let (header, rows) = read_csv(&dir.join(file));
            let column = header.iter().position(|h| h == "jobs").expect(file);
            assert!(rows.iter().all(|row| row[column] == jobs), "{file}");
        }
        let environment: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("environment.json")).unwrap())
                .unwrap();
        assert_eq!(environment["jobs"].to_string(), jobs);
    }
    let shared = "Times shared the machine";
    assert!(
        std::fs::read_to_string(three.join("report.md"))
            .unwrap()
            .contains(shared)
    );
    assert!(
        !std::fs::read_to_string(one.join("report.md"))
            .unwrap()
            .contains(shared)
    );
    assert!(
        three_stdout.contains("3 units running side by side"),
        "{three_stdout}"
    );
    assert!(!one_stdout.contains("side by side"), "{one_stdout}");
}

// ---------------------------------------------------------------------------------------
// Time limit
// ---------------------------------------------------------------------------------------

#[test]
fn a_unit_past_its_time_limit_is_recorded_as_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = nnbench(&[
        "scenario",
        "mlp_xor",
        "--backends",
        "native",
        "--seeds",
        "0",
        "--unit-time-limit",
        "0.002",
        "--out",
        path(&out),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (header, units) = read_csv(&out.join("units.csv"));
    let status = header.iter().position(|h| h == "status").unwrap();
    let reason = header.iter().position(|h| h == "reason").unwrap();
    assert_eq!(units.len(), 4);
    for row in &units {
        assert_eq!(row[status], "timeout", "{row:?}");
        assert!(row[reason].contains("time limit of"), "{row:?}");
    }
    let (_, summary) = read_csv(&out.join("summary.csv"));
    assert!(summary.iter().all(|row| row[2] == "timeout"));
    let resolved = std::fs::read_to_string(out.join("scenario.resolved.json")).unwrap();
    assert!(
        resolved.contains("\"unit_time_limit_s\": 0.002"),
        "{resolved}"
    );

    // The scenario key says the same, and a bad value names the key and the range.
    let output = nnbench(&["show", "xor_mlp", "--set", "unit_time_limit=-1"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("unit_time_limit"),
        "{}",
        stderr(&output)
    );
}

// ---------------------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------------------

#[test]
fn bad_command_lines_and_folders_get_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    for shard in ["0/3", "4/3", "1-3", "a/b"] {
        let output = nnbench(&["scenario", "xor_mlp", "--shard", shard]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{shard}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("expected k/n"),
            "{}",
            stderr(&output)
        );
    }
    let missing = dir.path().join("missing");
    let output = nnbench(&["scenario", "xor_mlp", "--resume", path(&missing)]);
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("not a folder"),
        "{}",
        stderr(&output)
    );

    let output = nnbench(&["scenario", "xor_mlp", "--resume", "x", "--out", "y"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));

    // --jobs names itself and its range; bench refuses to share the machine.
    for jobs in ["0", "x", "257"] {
        for command in ["scenario", "course"] {
            let mut args = vec![command];
            if command == "scenario" {
                args.push("xor_mlp");
            }
            args.extend(["--jobs", jobs]);
            let output = nnbench(&args);
            assert_eq!(output.status.code(), Some(2), "{jobs}: {}", stderr(&output));
            let message = stderr(&output);
            assert!(
                message.contains("--jobs") && message.contains("from 1 to 256"),
                "{message}"
            );
        }
    }
    let output = nnbench(&["bench", "--jobs", "2"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("never shares the machine"),
        "{}",
        stderr(&output)
    );

    // A folder whose units.csv is not nnbench's.
    let fake = dir.path().join("fake");
    std::fs::create_dir(&fake).unwrap();
    std::fs::write(fake.join("scenario.toml"), "").unwrap();
    std::fs::write(fake.join("scenario.resolved.json"), r#"{"variants": []}"#).unwrap();
    std::fs::write(fake.join("units.csv"), "a,b\n1,2\n").unwrap();
    std::fs::write(fake.join("epochs.csv"), "").unwrap();
    let output = nnbench(&["merge", path(&dir.path().join("m")), path(&fake)]);
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("the header is"),
        "{}",
        stderr(&output)
    );
    let output = nnbench(&["merge"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}
