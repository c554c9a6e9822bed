//! Run folders written by nnbench before the run folder had one schema module (commit
//! 5434b2b, kept in `tests/fixtures/run_folder_v0/`) still report, merge and resume.
//!
//! The fixtures are `nnbench scenario xor_mlp --quick --backends native,burn
//! --set training.record_grad_norms=true` as a whole run (`whole`), as two shards (`shard-1`,
//! `shard-2`), and as a run killed before its last unit (`killed`: its last `units.csv` row
//! removed and a torn line left at the end of `epochs.csv`).

mod common;
use common::{nnbench, stderr};

use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/run_folder_v0")
        .join(name)
}

/// A writable copy of a fixture folder.
fn copy(name: &str, to: &Path) -> PathBuf {
    let dir = to.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    dir
}

/// The (variant, backend, seed, status) of every row of a units.csv, sorted.
fn units(dir: &Path) -> Vec<(String, String, String, String)> {
    let mut reader = csv::Reader::from_path(dir.join("units.csv")).unwrap();
    let mut rows: Vec<_> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_string(),
                r[1].to_string(),
                r[2].to_string(),
                r[3].to_string(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn an_old_run_folder_still_reports() {
    let temp = tempfile::tempdir().unwrap();
    let dir = copy("whole", temp.path());
    let output = nnbench(&["report", dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        report.contains("native") && report.contains("burn"),
        "{report}"
    );
    assert!(dir.join("plots").read_dir().unwrap().count() > 0);
    let output = nnbench(&[
        "compare",
        fixture("whole").to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn old_shard_folders_still_merge() {
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("merged");
    let output = nnbench(&[
        "merge",
        out.to_str().unwrap(),
        fixture("shard-1").to_str().unwrap(),
        fixture("shard-2").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(units(&out), units(&fixture("whole")));
    for file in [
        "epochs.csv",
        "grad_norms.csv",
        "boundary.csv",
        "points.csv",
        "summary.csv",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
}

#[test]
fn an_old_killed_run_still_resumes() {
    let temp = tempfile::tempdir().unwrap();
    let dir = copy("killed", temp.path());
    let before = units(&dir).len();
    let output = nnbench(&[
        "scenario",
        "xor_mlp",
        "--quick",
        "--backends",
        "native,burn",
        "--set",
        "training.record_grad_norms=true",
        "--resume",
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let after = units(&dir);
    assert!(after.len() > before, "{before} → {}", after.len());
    let whole: Vec<_> = units(&fixture("whole"));
    let keys = |rows: &[(String, String, String, String)]| {
        rows.iter()
            .map(|(v, b, s, _)| (v.clone(), b.clone(), s.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&after), keys(&whole), "every unit exactly once");
}
