//! `nnbench parity`: every built backend against the native reference on identical steps,
//! written to `parity.csv` in a new run folder and printed as a table.

use std::path::Path;

use anyhow::{Context, Result};
use nnbench_core::data::{self, fetch::Silent};
use nnbench_core::parity::{self, ParityRow};
use nnbench_core::spec::Scenario;

use crate::args::ParityArgs;
use crate::registry;
use crate::run_folder::schema::ParityCsvRow;
use crate::run_folder::{self, write::write_table};

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
            usize::try_from(args.steps).unwrap_or(usize::MAX),
            seed,
        )?;
        rows.extend(found.into_iter().map(|row| (variant.name.clone(), row)));
    }
    Ok(rows)
}

/// Writes `parity.csv` in `dir`.
pub fn write_csv(dir: &Path, rows: &[(String, ParityRow)]) -> Result<()> {
    let rows: Vec<ParityCsvRow> = rows
        .iter()
        .map(|(variant, row)| ParityCsvRow {
            variant: variant.clone(),
            backend: row.backend.clone(),
            optimizer: row.optimizer.clone(),
            status: row.status,
            steps: row.steps as u64,
            max_abs_loss_diff: row.max_abs_loss_diff,
            max_rel_loss_diff: row.max_rel_loss_diff,
            max_abs_weight_diff: row.max_abs_weight_diff,
            max_rel_weight_diff: row.max_rel_weight_diff,
            note: row.note.clone(),
        })
        .collect();
    write_table(dir, &rows)
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
    let rows = run(scenario, args)?;
    let dir = run_folder::create_run_dir(
        args.out.as_deref(),
        Path::new("results"),
        &format!("{}-parity", scenario.name),
    )?;
    run_folder::write_file(&dir, run_folder::SCENARIO_FILE, text.as_bytes())?;
    write_csv(&dir, &rows)?;
    // The same start and batches, for a replay outside nnbench (README: "Replaying a run").
    let options = args.data.options()?;
    for variant in &scenario.variants {
        let dataset = data::load(&variant.run.dataset, &options, &Silent)?;
        crate::replay::write(&dir, variant, &dataset, variant.run.training.seeds[0])?;
    }
    print!("{}", table(&rows));
    println!(
        "results: {}",
        dir.join(<ParityCsvRow as run_folder::Table>::FILE)
            .display()
    );
    Ok(())
}
