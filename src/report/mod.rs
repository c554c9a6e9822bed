//! Reports and plots of a run folder, made from its files alone so that `nnbench report
//! <run-dir>` regenerates exactly what the run wrote:
//!
//! - [`read`]: the CSV files read back, with errors naming file, line and column;
//! - [`plots`]: the SVG pictures (curves, epoch time, success rates, gradient norms,
//!   decision boundaries), in `plots/`;
//! - [`markdown`]: writes `report.md`;
//! - [`compare`]: `nnbench compare <run-a> <run-b>`;
//! - [`boundary`]: the grid 2-D datasets are probed on and `boundary.csv` / `points.csv`;
//! - [`stats`]: means and 95 % intervals over seeds.

pub mod boundary;
pub mod compare;
pub mod markdown;
pub mod plots;
pub mod read;
pub mod stats;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

pub use read::{ReadError, RunData};

/// The plots folder inside a run folder.
pub const PLOTS_DIR: &str = "plots";

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct Generated {
    pub report: PathBuf,
    pub plots: Vec<PathBuf>,
}

fn read_json(path: &Path) -> Result<Option<serde_json::Value>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|error| ReadError {
                path: path.to_path_buf(),
                line: Some(error.line() as u64),
                column: None,
                message: format!("not valid JSON: {error}"),
            })
            .map_err(anyhow::Error::from),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(ReadError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message: error.to_string(),
        }
        .into()),
    }
}

/// (Re)writes `report.md` and every plot of the run folder `dir` from its files.
pub fn generate(dir: &Path) -> Result<Generated> {
    let data = RunData::read(dir)?;
    let context = markdown::Context {
        scenario: read_json(&dir.join("scenario.resolved.json"))?,
        environment: read_json(&dir.join("environment.json"))?,
    };
    let plots = plots::all(&data).context("drawing the plots")?;
    let plots_dir = dir.join(PLOTS_DIR);
    std::fs::create_dir_all(&plots_dir)
        .with_context(|| format!("creating {}", plots_dir.display()))?;
    let mut written = Vec::with_capacity(plots.len());
    for plot in &plots {
        let path = plots_dir.join(&plot.file);
        std::fs::write(&path, &plot.svg).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    let report = dir.join("report.md");
    std::fs::write(&report, markdown::render(&data, &context, &plots))
        .with_context(|| format!("writing {}", report.display()))?;
    Ok(Generated {
        report,
        plots: written,
    })
}

/// The exit code of a `report` or `compare` failure: 4 when a run folder's file cannot be
/// read or is malformed, else 1.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    if error.chain().any(|cause| cause.is::<ReadError>()) {
        4
    } else {
        1
    }
}

/// `nnbench report <run-dir>`.
pub fn command_report(dir: &Path) -> Result<()> {
    let generated = generate(dir)?;
    println!(
        "wrote {} and {} plot(s) in {}",
        generated.report.display(),
        generated.plots.len(),
        dir.join(PLOTS_DIR).display()
    );
    Ok(())
}

/// `nnbench compare <run-a> <run-b>`.
pub fn command_compare(a: &Path, b: &Path) -> Result<()> {
    let changes = compare::compare(a, b)?;
    println!("a: {}\nb: {}\n", a.display(), b.display());
    print!("{}", compare::table(&changes));
    Ok(())
}
