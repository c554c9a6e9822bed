//! Running a scenario: every variant × backend × seed as one unit through the core loop, each
//! event handed to the run's sinks (CSV files, progress, report: see [`crate::sink`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use nnbench_core::data::{self, DataOptions, Dataset};
use nnbench_core::spec::{DatasetSpec, Scenario, Variant};
use nnbench_core::train::{self, Status, UnitOutcome, UnitRequest};

use crate::args::{Jobs, Shard};
use crate::environment::Environment;
use crate::progress::{DownloadProgress, Mode, RunProgress};
use crate::registry;
use crate::report::ReportSink;
use crate::run_folder::boundary::Probe;
use crate::run_folder::read::first_difference;
use crate::run_folder::write::write_table;
use crate::run_folder::{
    self, Description, RunFolder, RunFolderError, RunWriter, SummaryRow, UnitRecord,
};
use crate::shard::{self, UnitKey};
use crate::sink::{CsvSink, Fanout, Sink};
use crate::summary;

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
    /// `--export-replay`: write every variant's and seed's replay files (see
    /// [`crate::replay`]).
    pub export_replay: bool,
    /// `--jobs N`: run up to N units side by side (see [`crate::jobs`]).
    pub jobs: Jobs,
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
    let environment = Environment::capture(threads, options.jobs.get());

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

    let (dir, mut units) = match &previous {
        Some(previous) => {
            truncate_to_finished(previous)?;
            (previous.dir.clone(), previous.records()?)
        }
        None => {
            let dir =
                run_folder::create_run_dir(request.out, request.results_root, &scenario.name)?;
            Description {
                source_text: request.source_text,
                resolved: &serde_json::to_value(scenario)?,
                environment: Some(&serde_json::to_string_pretty(&environment)?),
                run: serde_json::json!({ "shard": shard.map(|s| s.to_string()) }),
            }
            .write(&dir)?;
            (dir, Vec::new())
        }
    };
    let mut csv = CsvSink::new(RunWriter::open(&dir)?);
    let mut report = ReportSink::new(&dir);
    let mut sinks = Fanout(vec![&mut csv, &mut report]);

    // The units to run now: this shard's, less those a resumed run finished.
    let order = shard::units(scenario);
    let finished = previous.as_ref().map(|p| p.finished()).unwrap_or_default();
    let todo: Vec<&UnitKey> = order
        .iter()
        .enumerate()
        .filter(|(position, key)| {
            shard.is_none_or(|s| s.contains(*position)) && !finished.contains(*key)
        })
        .map(|(_, key)| key)
        .collect();
    let built = match &options.backends {
        Some(_) => Vec::new(),
        None => registry::built(),
    };
    let backends: &[Box<dyn nnbench_core::Backend>] = options.backends.as_deref().unwrap_or(&built);
    let time_limit = scenario
        .unit_time_limit_s
        .and_then(|s| Duration::try_from_secs_f64(s).ok());
    let jobs = options.jobs.get();
    warn_if_oversubscribed(scenario, jobs, environment.cores, todo.len());

    // Every variant's dataset, probe grid and replay files before any unit: units of several
    // variants may run side by side.
    let mut prepared = Vec::with_capacity(scenario.variants.len());
    for variant in &scenario.variants {
        let dataset = &datasets
            .iter()
            .find(|(spec, _)| *spec == variant.run.dataset)
            .expect("loaded above")
            .1;
        // 2-D datasets: each trained network is probed on a grid for decision-boundary plots.
        let probe = Probe::for_dataset(dataset);
        sinks.variant_started(&variant.name, dataset, probe.as_ref())?;
        if options.export_replay {
            for &seed in &variant.run.training.seeds {
                crate::replay::write(&dir, variant, dataset, seed)?;
            }
        }
        prepared.push(PreparedVariant(variant, dataset, probe));
    }
    let planned: Vec<(&PreparedVariant, &UnitKey)> = todo
        .iter()
        .map(|key| {
            let variant = prepared
                .iter()
                .find(|PreparedVariant(variant, ..)| variant.name == key.variant)
                .expect("a unit of the scenario");
            (variant, *key)
        })
        .collect();
    let total_units = planned.len();
    let progress = RunProgress::new(request.progress, jobs);
    let run_one = |index: usize| {
        let (PreparedVariant(variant, dataset, probe), key) = planned[index];
        let mut progress = progress.for_unit();
        progress.unit_started(
            &format!(
                "[{}/{total_units}] {} · {} · seed {}",
                index + 1,
                variant.name,
                key.backend,
                key.seed
            ),
            variant.run.training.epochs,
        );
        let backend = backends.iter().find(|b| b.name() == key.backend.as_str());
        let outcome = match backend {
            None => UnitOutcome::without_training(
                Status::NotBuilt,
                registry::not_built_reason(&key.backend),
            ),
            Some(backend) => train::run_unit(
                &**backend,
                &UnitRequest {
                    time_limit,
                    probe: probe.as_ref().map(|p| p.inputs.as_slice()),
                    ..UnitRequest::new(&variant.run, dataset, key.seed)
                },
                &mut progress,
            ),
        };
        let unit = UnitRecord {
            variant: key.variant.clone(),
            backend: key.backend.clone(),
            seed: key.seed,
            jobs: jobs as u64,
            outcome,
        };
        // Progress says when the unit ended; the files take it in unit order.
        let _ = progress.unit_finished(&unit);
        unit
    };
    crate::jobs::run_in_order(total_units, jobs, run_one, |_, unit| {
        sinks.unit_finished(&unit)?;
        units.push(unit);
        Ok(())
    })?;

    // Finished units of earlier attempts first came from the files: put every unit back in
    // the stable order, so a resumed run summarizes exactly as an uninterrupted one.
    let position = |unit: &UnitRecord| {
        order.iter().position(|key| {
            key.variant == unit.variant && key.backend == unit.backend && key.seed == unit.seed
        })
    };
    units.sort_by_key(|unit| position(unit));
    let summary = summary::summarize(&units);
    sinks.run_finished(&summary)?;
    Ok(RunResult {
        dir,
        units,
        summary,
        environment,
    })
}

/// Warns when the units run side by side ask for more threads than the machine has cores:
/// they then wait for each other's cores, and their epoch times show it. Not an error: on a
/// shared machine that may be the point (small units barely use their threads).
fn warn_if_oversubscribed(scenario: &Scenario, jobs: usize, cores: usize, units: usize) {
    let threads = scenario
        .variants
        .iter()
        .map(|variant| variant.run.threads)
        .max()
        .unwrap_or(1);
    let side_by_side = jobs.min(units);
    if side_by_side > 1 && side_by_side * threads > cores {
        eprintln!(
            "warning: --jobs {jobs} runs {side_by_side} units side by side with up to \
             {threads} thread(s) each on {cores} core(s): they will wait for each other's \
             cores, and their epoch times (marked `jobs` = {jobs}) will show it"
        );
    }
}

/// Reads the run folder to resume and checks it ran this scenario (and this shard).
fn check_resume(dir: &Path, scenario: &Scenario, shard: Option<Shard>) -> Result<RunFolder> {
    let folder = RunFolder::read(dir)?;
    let now = serde_json::to_value(scenario)?;
    if let Some((key, old, new)) = first_difference(folder.resolved()?, &now) {
        return Err(RunFolderError::new(format!(
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
        return Err(RunFolderError::new(format!(
            "cannot resume {} as shard {shard}: it ran {ran}; leave out --shard to resume it \
             as it was",
            dir.display()
        ))
        .into());
    }
    Ok(folder)
}

/// Rewrites a resumed run's per-unit files without the rows of units that did not finish
/// (and without a line cut short by the kill), so that appending continues whole files.
fn truncate_to_finished(folder: &RunFolder) -> Result<()> {
    let dir = &folder.dir;
    write_table(dir, &folder.units)?;
    write_table(dir, &folder.epochs)?;
    if let Some(rows) = &folder.grad_norms {
        write_table(dir, rows)?;
    }
    if let Some(rows) = &folder.dead_units {
        write_table(dir, rows)?;
    }
    if let Some(rows) = &folder.gradients {
        write_table(dir, rows)?;
    }
    if let Some(rows) = &folder.boundary {
        write_table(dir, rows)?;
    }
    Ok(())
}

/// A variant with its dataset and probe grid, ready for its units to run.
struct PreparedVariant<'a>(&'a Variant, &'a Dataset, Option<Probe>);
