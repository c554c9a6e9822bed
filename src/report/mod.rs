//! Reports and plots of a run folder, made from its files alone so that `nnbench report
//! <run-dir>` regenerates exactly what the run wrote:
//!
//! - [`plots`]: the SVG pictures (curves, epoch time, success rates, gradient norms,
//!   decision boundaries), in `plots/`;
//! - [`markdown`]: `report.md`, the one writer of it;
//! - [`compare`]: `nnbench compare <run-a> <run-b>`;
//! - [`stats`]: means and 95 % intervals over seeds.
//!
//! The files are read by [`crate::run_folder`]; [`RunData`] is the view the plots and the
//! Markdown share.

pub mod compare;
pub mod markdown;
pub mod plots;
pub mod stats;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::run_folder::{
    self, BoundaryRow, EpochRow, GradientRow, PointRow, RunFolder, RunFolderError, SummaryRow,
    UnitRow, UnitTable,
};
use crate::shard::UnitKey;
use crate::sink::Sink;

/// One value per (unit, epoch, layer): a gradient norm or a share of dead units.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRow {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
    pub epoch: u64,
    pub layer: u64,
    pub value: f64,
}

impl LayerRow {
    fn new(unit: UnitKey, epoch: u64, layer: u64, value: f64) -> LayerRow {
        LayerRow {
            variant: unit.variant,
            backend: unit.backend,
            seed: unit.seed,
            epoch,
            layer,
            value,
        }
    }
}

/// Everything the report and the plots are made from.
#[derive(Debug, Clone, Default)]
pub struct RunData {
    pub epochs: Vec<EpochRow>,
    pub units: Vec<UnitRow>,
    pub summary: Vec<SummaryRow>,
    pub grad_norms: Vec<LayerRow>,
    pub dead_units: Vec<LayerRow>,
    pub gradients: Vec<GradientRow>,
    pub boundary: Vec<BoundaryRow>,
    pub points: Vec<PointRow>,
}

impl RunData {
    /// A finished run folder's data (its `summary.csv` must be there).
    pub fn from_folder(folder: RunFolder) -> Result<RunData, RunFolderError> {
        let summary = folder.summary()?.to_vec();
        Ok(RunData {
            grad_norms: folder
                .grad_norms
                .unwrap_or_default()
                .into_iter()
                .map(|r| LayerRow::new(r.key(), r.epoch, r.layer, r.grad_norm))
                .collect(),
            dead_units: folder
                .dead_units
                .unwrap_or_default()
                .into_iter()
                .map(|r| LayerRow::new(r.key(), r.epoch, r.layer, r.dead_fraction))
                .collect(),
            gradients: folder.gradients.unwrap_or_default(),
            epochs: folder.epochs,
            units: folder.units,
            summary,
            boundary: folder.boundary.unwrap_or_default(),
            points: folder.points.unwrap_or_default(),
        })
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct Generated {
    pub report: PathBuf,
    pub plots: Vec<PathBuf>,
}

/// (Re)writes `report.md` and every plot of the run folder `dir` from its files, each
/// replaced atomically.
pub fn generate(dir: &Path) -> Result<Generated> {
    let folder = RunFolder::read(dir)?;
    let context = markdown::Context {
        scenario: folder.resolved.clone(),
        environment: folder
            .environment
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok()),
    };
    let data = RunData::from_folder(folder)?;
    let plots = plots::all(&data).context("drawing the plots")?;
    let plots_dir = dir.join(run_folder::PLOTS_DIR);
    std::fs::create_dir_all(&plots_dir)
        .with_context(|| format!("creating {}", plots_dir.display()))?;
    let mut written = Vec::with_capacity(plots.len());
    for plot in &plots {
        run_folder::write_file(&plots_dir, &plot.file, plot.svg.as_bytes())?;
        written.push(plots_dir.join(&plot.file));
    }
    run_folder::write_file(
        dir,
        run_folder::REPORT_FILE,
        markdown::render(&data, &context, &plots).as_bytes(),
    )?;
    Ok(Generated {
        report: dir.join(run_folder::REPORT_FILE),
        plots: written,
    })
}

/// The report of a run: written once every unit has ended, from the files the CSV sink
/// wrote. A report that cannot be made is a warning: the run's CSV files stand without it.
pub struct ReportSink {
    dir: PathBuf,
}

impl ReportSink {
    pub fn new(dir: &Path) -> ReportSink {
        ReportSink {
            dir: dir.to_path_buf(),
        }
    }
}

impl Sink for ReportSink {
    fn run_finished(&mut self, _summary: &[SummaryRow]) -> Result<()> {
        if let Err(error) = generate(&self.dir) {
            eprintln!("warning: could not write the report and plots: {error:#}");
        }
        Ok(())
    }
}

/// `nnbench report <run-dir>`.
pub fn command_report(dir: &Path) -> Result<()> {
    let generated = generate(dir)?;
    println!(
        "wrote {} and {} plot(s) in {}",
        generated.report.display(),
        generated.plots.len(),
        dir.join(run_folder::PLOTS_DIR).display()
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
