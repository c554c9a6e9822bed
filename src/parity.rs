//! `nnbench parity`: every built backend against the native reference on identical steps,
//! written to `parity.csv` in a new run folder and printed as a table.

use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::Args;
use nnbench_core::data::{self, fetch::Silent};
use nnbench_core::parity::{self, ParityRow};
use nnbench_core::spec::Scenario;

use crate::cli::{DataArgs, OverrideArgs};
use crate::registry;
use crate::results;

#[derive(Debug, Args)]
pub struct ParityArgs {
    /// Scenario name (in scenarios/) or path to a .toml file
    pub scenario: String,
    /// Training steps compared
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    #[command(flatten)]
    pub overrides: OverrideArgs,
    /// Write parity.csv into this folder (new or empty) instead of results/<scenario>/<run-id>
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
}

pub const PARITY_HEADER: [&str; 10] = [
    "variant",
    "backend",
    "optimizer",
    "status",
    "steps",
    "max_abs_loss_diff",
    "max_rel_loss_diff",
    "max_abs_weight_diff",
    "max_rel_weight_diff",
    "note",
];

/// Runs the check for every variant of `scenario`; rows are (variant, row).
pub fn run(scenario: &Scenario, args: &ParityArgs) -> Result<Vec<(String, ParityRow)>> {
    let options = args.data.options()?;
    let reference = registry::find("native").context("the native reference backend")?;
    let others: Vec<_> = registry::built()
        .into_iter()
        .filter(|backend| backend.name() != "native" && !backend.is_reference_model())
        .collect();
    if others.is_empty() {
        eprintln!("note: only the native backend is built; build others with --features");
    }
    let mut rows = Vec::new();
    for variant in &scenario.variants {
        let dataset = data::load(&variant.run.dataset, &options, &Silent)?;
        let wanted: Vec<&dyn nnbench_core::Backend> = others
            .iter()
            .filter(|backend| variant.run.backends.iter().any(|b| b == backend.name()))
            .map(|backend| backend.as_ref())
            .collect();
        let seed = variant.run.training.seeds[0];
        let found = parity::check(
            &variant.run,
            &dataset,
            reference.as_ref(),
            &wanted,
            args.steps,
            seed,
        )?;
        rows.extend(found.into_iter().map(|row| (variant.name.clone(), row)));
    }
    Ok(rows)
}

pub fn write_csv(dir: &Path, rows: &[(String, ParityRow)]) -> Result<()> {
    let mut writer = csv::Writer::from_path(dir.join("parity.csv"))?;
    writer.write_record(PARITY_HEADER)?;
    for (variant, row) in rows {
        writer.write_record([
            variant.as_str(),
            &row.backend,
            &row.optimizer,
            row.status.name(),
            &row.steps.to_string(),
            &row.max_abs_loss_diff.to_string(),
            &row.max_rel_loss_diff.to_string(),
            &row.max_abs_weight_diff.to_string(),
            &row.max_rel_weight_diff.to_string(),
            &row.note,
        ])?;
    }
    writer.flush()?;
    Ok(())
}

pub fn table(rows: &[(String, ParityRow)]) -> String {
    let mut out = format!(
        "{:<24} {:<8} {:<10} {:>6} {:>12} {:>12} {:>12}  note\n",
        "variant", "backend", "optimizer", "steps", "max_rel_loss", "max_abs_w", "max_rel_w"
    );
    for (variant, row) in rows {
        out.push_str(&format!(
            "{:<24} {:<8} {:<10} {:>6} {:>12.3e} {:>12.3e} {:>12.3e}  {}\n",
            variant,
            row.backend,
            row.optimizer,
            row.steps,
            row.max_rel_loss_diff,
            row.max_abs_weight_diff,
            row.max_rel_weight_diff,
            row.note
        ));
    }
    out
}

/// The `parity` command.
pub fn command(scenario: &Scenario, text: &str, args: &ParityArgs) -> Result<()> {
    if args.steps == 0 {
        bail!("--steps must be at least 1");
    }
    let rows = run(scenario, args)?;
    let dir = results::create_run_dir(
        args.out.as_deref(),
        Path::new("results"),
        &format!("{}-parity", scenario.name),
    )?;
    results::write_file(&dir, "scenario.toml", text)?;
    write_csv(&dir, &rows)?;
    print!("{}", table(&rows));
    println!("results: {}", dir.join("parity.csv").display());
    Ok(())
}
