//! Running a scenario: every variant × backend × seed as one unit through the core loop, the
//! rows of each unit written as soon as it ends, then the summary and the report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use nnbench_core::data::{self, DataOptions, Dataset};
use nnbench_core::spec::{DatasetSpec, Scenario};
use nnbench_core::train::{self, Status, UnitOutcome, UnitRequest};

use crate::environment::Environment;
use crate::merge::{self, RunFolderError};
use crate::progress::{DownloadProgress, Mode, UnitProgress};
use crate::registry;
use crate::results::{self, RunFiles, UnitRecord};
use crate::shard::{self, Shard};
use crate::summary::{self, SummaryRow};

/// What to run and where to write it.
pub struct RunRequest<'a> {
    pub scenario: &'a Scenario,
    /// The scenario file as written, copied into the run folder.
    pub source_text: &'a str,
    /// `--out`: the run folder itself.
    pub out: Option<&'a Path>,
    /// Where `results/<scenario>/<run-id>` folders go when `out` is not given.
    pub results_root: &'a Path,
    pub data: &'a DataOptions,
    pub progress: Mode,
}

/// How to run beyond what to run: resuming, sharding, and the backends to use.
#[derive(Default)]
pub struct RunOptions<'a> {
    /// `--resume DIR`: continue the run in this folder, running only the units that have no
    /// `units.csv` row yet; refused when the scenario resolves differently than it did.
    pub resume: Option<&'a Path>,
    /// `--shard k/n`: run only the k-th share of the units (see [`crate::shard`]).
    pub shard: Option<Shard>,
    /// The backends to look names up in, instead of those built into this binary (tests use
    /// this to run a backend that panics).
    pub backends: Option<Vec<Box<dyn nnbench_core::Backend>>>,
}

pub struct RunResult {
    pub dir: PathBuf,
    pub units: Vec<UnitRecord>,
    pub summary: Vec<SummaryRow>,
    pub environment: Environment,
}

pub fn run(request: &RunRequest<'_>) -> Result<RunResult> {
    run_with(request, &RunOptions::default())
}

/// [`run`], resumed and/or sharded as `options` say.
pub fn run_with(request: &RunRequest<'_>, options: &RunOptions<'_>) -> Result<RunResult> {
    let scenario = request.scenario;
    // A resumed run must resolve to what was run, and keeps its shard.
    let previous = match options.resume {
        Some(dir) => Some(check_resume(dir, scenario, options.shard)?),
        None => None,
    };
    let shard = options
        .shard
        .or_else(|| previous.as_ref().and_then(|p| p.shard));
    let threads = scenario
        .variants
        .first()
        .map_or(1, |variant| variant.run.threads);
    let environment = Environment::capture(threads);

    // Data first: a missing dataset should fail before any folder is created.
    let downloads = DownloadProgress::new(request.progress);
    let mut datasets: Vec<(DatasetSpec, Dataset)> = Vec::new();
    for variant in &scenario.variants {
        let spec = &variant.run.dataset;
        if !datasets.iter().any(|(known, _)| known == spec) {
            let dataset = data::load(spec, request.data, &downloads)
                .with_context(|| format!("loading the dataset of variant {}", variant.name))?;
            datasets.push((spec.clone(), dataset));
        }
    }

    let (dir, mut files, mut units) = match &previous {
        Some(previous) => {
            let records = previous.records()?;
            (previous.dir.clone(), reopen(previous)?, records)
        }
        None => {
            let dir = results::create_run_dir(request.out, request.results_root, &scenario.name)?;
            results::write_file(&dir, "scenario.toml", request.source_text)?;
            results::write_file(
                &dir,
                "scenario.resolved.json",
                &serde_json::to_string_pretty(scenario)?,
            )?;
            results::write_file(
                &dir,
                "environment.json",
                &serde_json::to_string_pretty(&environment)?,
            )?;
            let shard_text = shard.map(|s| s.to_string());
            results::write_file(
                &dir,
                "run.json",
                &serde_json::to_string_pretty(&serde_json::json!({ "shard": shard_text }))?,
            )?;
            let files = RunFiles::create(&dir)?;
            (dir, files, Vec::new())
        }
    };

    // The units to run now: this shard's, less those a resumed run finished.
    let order = shard::units(scenario);
    let finished = previous.as_ref().map(|p| p.finished()).unwrap_or_default();
    let todo: Vec<&shard::UnitKey> = order
        .iter()
        .enumerate()
        .filter(|(position, key)| {
            shard.is_none_or(|s| s.contains(*position)) && !finished.contains(*key)
        })
        .map(|(_, key)| key)
        .collect();
    let total_units = todo.len();
    let built = match &options.backends {
        Some(_) => Vec::new(),
        None => registry::built(),
    };
    let backends: &[Box<dyn nnbench_core::Backend>] = options.backends.as_deref().unwrap_or(&built);
    let time_limit = scenario
        .unit_time_limit_s
        .and_then(|s| Duration::try_from_secs_f64(s).ok());
    let mut done_now = 0usize;
    // 2-D datasets: each trained network is probed on a grid for decision-boundary plots.
    let mut boundary = crate::report::boundary::BoundaryFiles::new(&dir);
    for variant in &scenario.variants {
        let dataset = &datasets
            .iter()
            .find(|(spec, _)| *spec == variant.run.dataset)
            .expect("loaded above")
            .1;
        let probe = crate::report::boundary::Probe::for_dataset(dataset);
        boundary.points(&dir, &variant.name, dataset)?;
        for backend_name in &variant.run.backends {
            let backend = backends.iter().find(|b| b.name() == backend_name.as_str());
            for &seed in &variant.run.training.seeds {
                let wanted = todo.iter().any(|key| {
                    key.variant == variant.name && key.backend == *backend_name && key.seed == seed
                });
                if !wanted {
                    continue;
                }
                done_now += 1;
                let label = format!(
                    "[{done_now}/{total_units}] {} · {backend_name} · seed {seed}",
                    variant.name
                );
                let mut progress =
                    UnitProgress::new(request.progress, label.clone(), variant.run.training.epochs);
                let outcome = match &backend {
                    None => UnitOutcome::without_training(
                        Status::NotBuilt,
                        registry::not_built_reason(backend_name),
                    ),
                    Some(backend) => train::run_unit(
                        &***backend,
                        &UnitRequest {
                            time_limit,
                            probe: probe.as_ref().map(|p| p.inputs.as_slice()),
                            ..UnitRequest::new(&variant.run, dataset, seed)
                        },
                        &mut progress,
                    ),
                };
                progress.finish(&unit_line(&label, &outcome));
                let unit = UnitRecord {
                    variant: variant.name.clone(),
                    backend: backend_name.clone(),
                    seed,
                    outcome,
                };
                files.record(&unit)?;
                if let Some(probe) = &probe {
                    boundary.record(&dir, &unit, probe)?;
                }
                units.push(unit);
            }
        }
    }

    // Finished units of earlier attempts first came from the files: put every unit back in
    // the stable order, so a resumed run summarizes exactly as an uninterrupted one.
    let position = |unit: &UnitRecord| {
        order.iter().position(|key| {
            key.variant == unit.variant && key.backend == unit.backend && key.seed == unit.seed
        })
    };
    units.sort_by_key(|unit| position(unit));
    let summary = summary::summarize(&units);
    results::write_summary(&dir, &summary)?;
    results::write_file(&dir, "report.md", &report(scenario, &environment, &summary))?;
    // The full report and plots, from the run folder's files (as `nnbench report` makes
    // them); if that fails the short report above stays and the run still succeeds.
    if let Err(error) = crate::report::generate(&dir) {
        eprintln!("warning: could not write the report and plots: {error:#}");
    }
    Ok(RunResult {
        dir,
        units,
        summary,
        environment,
    })
}

/// Reads the run folder to resume and checks it ran this scenario (and this shard).
fn check_resume(dir: &Path, scenario: &Scenario, shard: Option<Shard>) -> Result<merge::RunFolder> {
    let folder = merge::read_run(dir)?;
    let now = serde_json::to_value(scenario)?;
    if let Some((key, old, new)) = merge::first_difference(&folder.resolved, &now) {
        return Err(RunFolderError(format!(
            "cannot resume {}: the scenario changed since it was run: {key} was {old} and is \
             now {new}; resume with the same scenario file and options (--epochs, --set, \
             --quick, ...), or start a new run",
            dir.display()
        ))
        .into());
    }
    if let Some(shard) = shard
        && folder.shard != Some(shard)
    {
        let ran = folder
            .shard
            .map_or("all units".to_string(), |s| format!("shard {s}"));
        return Err(RunFolderError(format!(
            "cannot resume {} as shard {shard}: it ran {ran}; leave out --shard to resume it \
             as it was",
            dir.display()
        ))
        .into());
    }
    Ok(folder)
}

/// Rewrites a resumed run's CSV files without the rows of units that did not finish (and
/// without a line cut short by the kill), then opens them to append.
fn reopen(folder: &merge::RunFolder) -> Result<RunFiles> {
    let dir = &folder.dir;
    fn rows(rows: &[merge::Row]) -> Vec<&merge::Row> {
        rows.iter().collect()
    }
    results::write_file(
        dir,
        "units.csv",
        &merge::csv_text(&results::UNITS_HEADER, &rows(&folder.units))?,
    )?;
    results::write_file(
        dir,
        "epochs.csv",
        &merge::csv_text(&results::EPOCHS_HEADER, &rows(&folder.epochs))?,
    )?;
    if let Some(grad_norms) = &folder.grad_norms {
        results::write_file(
            dir,
            "grad_norms.csv",
            &merge::csv_text(&merge::GRAD_NORMS_HEADER, &rows(grad_norms))?,
        )?;
    }
    // Other per-unit files (the report's boundary.csv) lose the same rows.
    for (name, header, unit_rows) in &folder.unit_files {
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        results::write_file(dir, name, &merge::csv_text(&header, &rows(unit_rows))?)?;
    }
    RunFiles::append(dir)
}

fn unit_line(label: &str, outcome: &UnitOutcome) -> String {
    let mut line = format!("{label}: {}", outcome.status.name());
    if let Some(test) = outcome.test {
        line.push_str(&format!(", test_accuracy {:.4}", test.accuracy));
    }
    let times: Vec<f64> = outcome.epochs.iter().map(|e| e.epoch_s).collect();
    if let Some(epoch_s) = summary::median(&times) {
        line.push_str(&format!(
            " ({} epochs, {epoch_s:.3} s/epoch)",
            outcome.epochs.len()
        ));
    }
    if let Some(reason) = &outcome.reason {
        line.push_str(&format!(" — {reason}"));
    }
    line
}

fn report(scenario: &Scenario, environment: &Environment, rows: &[SummaryRow]) -> String {
    format!(
        "# {name}\n\n{description}\n\nCourse section: {section}\n\n\
         Run on {environment}, started {started}.\n\n## Summary\n\n{table}\n\
         Files: `summary.csv` (this table), `units.csv` (one row per seed), `epochs.csv` (one \
         row per epoch), `scenario.toml` and `scenario.resolved.json` (what was run), \
         `environment.json` (where).\n",
        name = scenario.name,
        description = scenario.description,
        section = scenario.course_section,
        environment = environment.one_line(),
        started = environment.started_at,
        table = summary::markdown_table(rows),
    )
}
