//! The run folder: `results/<scenario>/<run-id>/` (or `--out DIR`), created fresh for every
//! run so an earlier run is never overwritten. This module is the one place that knows its
//! files: their schema ([`schema`], one serde row struct per CSV file), the one writer
//! ([`write`](mod@write)) and the one reader ([`read`]) with its one error type
//! ([`RunFolderError`]). The runner, `merge`, `report`, `compare` and `--resume` all go through
//! it.
//!
//! Every write of a whole file goes through a temporary file renamed over the old one
//! ([`write_file`]); per-unit rows are appended unit by unit in one write of whole lines, so a
//! run killed at any moment leaves files that read back.

pub mod boundary;
pub mod read;
pub mod schema;
pub mod write;

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nnbench_core::train::UnitOutcome;

pub use read::RunFolder;
pub use schema::{
    BoundaryRow, DeadUnitsRow, EpochRow, GradNormRow, GradientRow, PointRow, SummaryRow, Table,
    UnitRow, UnitTable, columns,
};
pub use write::RunWriter;

/// The scenario file as written.
pub const SCENARIO_FILE: &str = "scenario.toml";
/// Every value of the scenario as used, one entry per variant.
pub const RESOLVED_FILE: &str = "scenario.resolved.json";
/// The machine and build the run happened on.
pub const ENVIRONMENT_FILE: &str = "environment.json";
/// The shard this folder ran (`{"shard": "k/n"}`), or the folders it was merged from.
pub const RUN_FILE: &str = "run.json";
/// The human report.
pub const REPORT_FILE: &str = "report.md";
/// The folder of the report's SVG plots.
pub const PLOTS_DIR: &str = "plots";

/// The run folder's files that are not CSV tables, with what they hold (for the README).
const OTHER_FILES: [(&str, &str); 5] = [
    (
        SCENARIO_FILE,
        "the scenario file as written (`scenario.resolved.json`: every value as used)",
    ),
    (
        ENVIRONMENT_FILE,
        "CPU, cores, threads, units run side by side (`--jobs`), rustc, build profile, git \
         commit, framework versions",
    ),
    (
        RUN_FILE,
        "the shard this folder ran (`--shard`), or the folders it was merged from",
    ),
    (
        REPORT_FILE,
        "the summary, what was run and every plot, for people (`nnbench report` rewrites it)",
    ),
    (PLOTS_DIR, "the report's SVG plots"),
];

/// The README's table of a run folder's files, generated from the schema: every CSV file
/// with its columns, then the other files.
pub fn files_markdown() -> String {
    fn row<T: Table>(out: &mut String) {
        let columns: Vec<String> = columns::<T>().iter().map(|c| format!("`{c}`")).collect();
        out.push_str(&format!(
            "| `{}` | {}: {} |\n",
            T::FILE,
            T::ROW,
            columns.join(", ")
        ));
    }
    let mut out = String::from("| file | content |\n|---|---|\n");
    row::<EpochRow>(&mut out);
    row::<UnitRow>(&mut out);
    row::<SummaryRow>(&mut out);
    row::<GradNormRow>(&mut out);
    row::<DeadUnitsRow>(&mut out);
    row::<GradientRow>(&mut out);
    row::<BoundaryRow>(&mut out);
    row::<PointRow>(&mut out);
    row::<schema::ParityCsvRow>(&mut out);
    row::<schema::BenchRow>(&mut out);
    for (name, content) in OTHER_FILES {
        out.push_str(&format!("| `{name}` | {content} |\n"));
    }
    out
}

/// A run folder that cannot be read, resumed or merged (exit code 5): the file, the line and
/// column when the problem is on one, and what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RunFolderError {
    pub path: Option<PathBuf>,
    /// 1-based line in the file.
    pub line: Option<u64>,
    pub column: Option<String>,
    pub message: String,
}

impl RunFolderError {
    /// A problem with the folder as a whole (a refused resume or merge).
    pub fn new(message: impl Into<String>) -> RunFolderError {
        RunFolderError {
            path: None,
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// A problem with the file at `path`.
    pub fn in_file(path: &Path, message: impl Into<String>) -> RunFolderError {
        RunFolderError {
            path: Some(path.to_path_buf()),
            ..RunFolderError::new(message)
        }
    }
}

impl fmt::Display for RunFolderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}", path.display())?;
            if let Some(line) = self.line {
                write!(f, ", line {line}")?;
            }
            if let Some(column) = &self.column {
                write!(f, ", column `{column}`")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

/// One finished unit: a variant trained by one backend from one seed.
#[derive(Debug, Clone)]
pub struct UnitRecord {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
    /// Units of the run that ran side by side with it (`--jobs`; see [`UnitRow::jobs`]).
    pub jobs: u64,
    pub outcome: UnitOutcome,
}

/// Creates a new, empty run folder: `dir` itself when given (refused if it holds anything),
/// else `<root>/<scenario>/<run-id>` with a `-2`, `-3`… suffix if that id is taken.
pub fn create_run_dir(explicit: Option<&Path>, root: &Path, scenario: &str) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        if dir.exists() {
            let occupied = std::fs::read_dir(dir)
                .with_context(|| format!("reading {}", dir.display()))?
                .next()
                .is_some();
            if occupied {
                bail!(
                    "{} already holds files; results are never overwritten: \
                     choose an empty or new folder for --out",
                    dir.display()
                );
            }
            return Ok(dir.to_path_buf());
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        return Ok(dir.to_path_buf());
    }
    let parent = root.join(scenario);
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let id = crate::clock::run_id();
    for attempt in 1..1000 {
        let name = if attempt == 1 {
            id.clone()
        } else {
            format!("{id}-{attempt}")
        };
        let dir = parent.join(name);
        // create_dir, not create_dir_all: it fails when the folder exists, so two runs started
        // in the same second still get folders of their own.
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                return Err(error).with_context(|| format!("creating {}", dir.display()));
            }
        }
    }
    bail!(
        "could not find a free run folder under {}",
        parent.display()
    )
}

/// Writes `name` in `dir`: into `.name.tmp` first, then renamed over `name`, so a reader (or a
/// run killed meanwhile) sees the old file or the new one, never half of one.
pub fn write_file(dir: &Path, name: &str, contents: &[u8]) -> Result<()> {
    let path = dir.join(name);
    let temporary = dir.join(format!(".{name}.tmp"));
    let mut file =
        File::create(&temporary).with_context(|| format!("creating {}", temporary.display()))?;
    file.write_all(contents)
        .with_context(|| format!("writing {}", temporary.display()))?;
    drop(file);
    std::fs::rename(&temporary, &path).with_context(|| format!("writing {}", path.display()))
}

/// What a run folder says about itself before any unit ran: the scenario as written and as
/// resolved, the environment, and the shard or merged folders (`run.json`).
pub struct Description<'a> {
    pub source_text: &'a str,
    pub resolved: &'a serde_json::Value,
    pub environment: Option<&'a str>,
    pub run: serde_json::Value,
}

impl Description<'_> {
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_file(dir, SCENARIO_FILE, self.source_text.as_bytes())?;
        write_file(
            dir,
            RESOLVED_FILE,
            serde_json::to_string_pretty(self.resolved)?.as_bytes(),
        )?;
        if let Some(environment) = self.environment {
            write_file(dir, ENVIRONMENT_FILE, environment.as_bytes())?;
        }
        write_file(
            dir,
            RUN_FILE,
            serde_json::to_string_pretty(&self.run)?.as_bytes(),
        )
    }
}
