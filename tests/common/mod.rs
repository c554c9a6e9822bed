//! Helpers the end-to-end tests share: running the `nnbench` binary and reading what it wrote.
// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs the `nnbench` binary from the project root.
pub fn nnbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnbench"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("nnbench runs")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A CSV file's header and rows, as text.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).expect("csv exists");
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .map(|row| row.expect("whole row").iter().map(String::from).collect())
        .collect();
    (header, rows)
}
