//! Running a scenario: every variant × backend × seed as one unit through the core loop, the
//! rows of each unit written as soon as it ends, then the summary and the report.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nnbench_core::data::{self, DataOptions, Dataset};
use nnbench_core::spec::{DatasetSpec, Scenario};
use nnbench_core::train::{self, Status, UnitOutcome, UnitRequest};

use crate::environment::Environment;
use crate::progress::{DownloadProgress, Mode, UnitProgress};
use crate::registry;
use crate::results::{self, RunFiles, UnitRecord};
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

pub struct RunResult {
    pub dir: PathBuf,
    pub units: Vec<UnitRecord>,
    pub summary: Vec<SummaryRow>,
    pub environment: Environment,
}

pub fn run(request: &RunRequest<'_>) -> Result<RunResult> {
    let scenario = request.scenario;
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
    let mut files = RunFiles::create(&dir)?;

    let total_units: usize = scenario
        .variants
        .iter()
        .map(|v| v.run.backends.len() * v.run.training.seeds.len())
        .sum();
    let mut units = Vec::with_capacity(total_units);
    for variant in &scenario.variants {
        let dataset = &datasets
            .iter()
            .find(|(spec, _)| *spec == variant.run.dataset)
            .expect("loaded above")
            .1;
        for backend_name in &variant.run.backends {
            let backend = registry::find(backend_name);
            for &seed in &variant.run.training.seeds {
                let label = format!(
                    "[{}/{total_units}] {} · {backend_name} · seed {seed}",
                    units.len() + 1,
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
                        backend.as_ref(),
                        &UnitRequest::new(&variant.run, dataset, seed),
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
                units.push(unit);
            }
        }
    }

    let summary = summary::summarize(&units);
    results::write_summary(&dir, &summary)?;
    results::write_file(&dir, "report.md", &report(scenario, &environment, &summary))?;
    Ok(RunResult {
        dir,
        units,
        summary,
        environment,
    })
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
