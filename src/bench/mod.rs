//! `nnbench bench`: the measured numbers behind the README's speed claims, written to
//! `bench.csv` (one row per workload, backend and thread count, with the machine) so that two
//! machines or two commits compare. Two workloads:
//! - `mnist_epoch`: time per MNIST epoch of mnist_adam's model through the harness, beside the
//!   same epoch trained by the framework's own hand-written loop (the ratio is what the harness
//!   costs) and beside the epoch's GEMM floor ([`floor`]: its matrix products alone, timed in the
//!   same rounds), and the time to load full MNIST;
//! - `xor_step`: time per SGD step of a 2-4-1 tanh network on XOR's four points, through the
//!   harness and through the framework's own loop: at that size a step is all per-call cost.
//!
//! The sides are measured in alternating rounds, each round a fresh model on each side, the
//! order swapped every round: a slow spell of a shared machine then lands on every side instead
//! of on whichever ran last. One warm-up round is not counted. Each backend is measured in a
//! child process of its own, one after another (bench never runs two measurements at once):
//! measured in one process one after another, burn's harness side was 4–7 % slower when native
//! had run before it than when it ran alone, so the order of the list changed the numbers.

pub mod floor;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use nnbench_core::Backend;
use nnbench_core::baseline::{BaselineModel, BaselineTask, TinyTask};
use nnbench_core::data::{self, DataOptions, Dataset, fetch::Silent};
use nnbench_core::spec::parse::{self, LoadOptions};
use nnbench_core::spec::{Activation, LayerSpec, OptimizerSpec, RunSpec};
use nnbench_core::train::{self, Quiet, Status, UnitRequest};

use crate::args::{BenchArgs, BenchWorkload, UsageError};
use crate::environment::{self, Environment};
use crate::run_folder::{self, schema::BenchRow};
use crate::{registry, scenarios, stats};

use floor::{EpochShape, Floor};

pub fn run(args: &BenchArgs) -> Result<()> {
    let rounds = args.rounds as usize;
    let options = args.data.options()?;
    if let Some(name) = &args.measure_one {
        let backend = selected(Some(std::slice::from_ref(name)))?.remove(0);
        let workload = args.workloads[0];
        let threads = args.threads[0] as usize;
        let dataset = load(workload, &options)?;
        let row = measure_row(backend.as_ref(), workload, threads, &dataset, args);
        println!("{}", serde_json::to_string(&row)?);
        return Ok(());
    }
    let backends = selected(args.backends.as_deref())?;
    let dir = run_folder::create_run_dir(args.out.as_deref(), Path::new("results"), "bench")?;
    let max_threads = args.threads.iter().copied().max().unwrap_or(1) as usize;
    let environment = Environment::capture(max_threads, 1);
    run_folder::write_file(
        &dir,
        run_folder::ENVIRONMENT_FILE,
        serde_json::to_string_pretty(&environment)?.as_bytes(),
    )?;
    println!("machine: {}", environment.one_line());
    println!("gemm: {}", environment.gemm_kernels);
    let mut rows = Vec::new();
    for &workload in &args.workloads {
        // The first load may fetch; it is not timed.
        let dataset = load(workload, &options)?;
        if workload == BenchWorkload::MnistEpoch {
            let mut load_times = Vec::new();
            for _ in 0..args.loads.max(1) {
                let started = Instant::now();
                drop(load(workload, &options)?);
                load_times.push(started.elapsed().as_secs_f64());
            }
            println!(
                "full MNIST load (60000 + 10000 images, IDX → f32 in [0,1]): median {:.3} s over {} loads",
                stats::median(&load_times).unwrap_or(0.0),
                load_times.len()
            );
        }
        for &threads in &args.threads {
            let threads = threads as usize;
            let sittings = args.sittings as usize;
            println!(
                "{} at {threads} thread(s), {sittings} sitting(s) of {rounds} rounds after a warm-up, medians:",
                describe(workload, args)
            );
            let done = rows.len();
            let mut measured: Vec<Vec<BenchRow>> = vec![Vec::new(); backends.len()];
            for sitting in 1..=sittings {
                for (index, backend) in backends.iter().enumerate() {
                    let row = if args.in_process {
                        measure_row(backend.as_ref(), workload, threads, &dataset, args)
                    } else {
                        measure_in_child(backend.name(), workload, threads, args, &options)
                    };
                    let label = if sittings > 1 {
                        format!("{} ({sitting}/{sittings})", backend.name())
                    } else {
                        backend.name().to_string()
                    };
                    println!("  {label:<8} {}", line(&row));
                    measured[index].push(row);
                    // Written after every sitting: an interrupted bench keeps what it measured.
                    rows.truncate(done);
                    rows.extend(measured.iter().filter_map(|rows| over_sittings(rows)));
                    run_folder::write::write_table(&dir, &rows)?;
                }
            }
            if sittings > 1 {
                println!("  over the {sittings} sittings:");
                for row in &rows[done..] {
                    println!("  {:<8} {}", row.backend, line(row));
                }
            }
        }
    }
    println!("results: {}", dir.join("bench.csv").display());
    Ok(())
}

fn describe(workload: BenchWorkload, args: &BenchArgs) -> String {
    match workload {
        BenchWorkload::MnistEpoch => "mnist_epoch: one epoch of mnist_adam's model (784-128-10 relu, Adam, batch 128) through the harness, the framework's own loop and the GEMM floor".into(),
        BenchWorkload::XorStep => format!("xor_step: {} SGD steps of a 2-4-1 tanh network on XOR (batch 4) through the harness and the framework's own loop", args.tiny_steps),
        BenchWorkload::CnnEpoch => "cnn_epoch: one epoch of mnist_cnn's LeNet-5 (conv 6@5x5 same, max pool 2, conv 16@5x5, max pool 2, 120, 84, 10 relu; Adam, batch 128) through the harness and the framework's own loop".into(),
    }
}

/// The workload's dataset: full MNIST, or XOR's four points.
fn load(workload: BenchWorkload, options: &DataOptions) -> Result<Dataset> {
    let run = workload_run(workload, 1, 1)?;
    data::load(&run.dataset, options, &Silent)
        .with_context(|| format!("loading the data of {}", workload.name()))
}

/// The run the harness side trains: mnist_adam's for one epoch, or mlp_xor's 2-4-1 tanh
/// variant for `steps` one-step epochs, on `threads` threads.
fn workload_run(workload: BenchWorkload, threads: usize, steps: u64) -> Result<RunSpec> {
    match workload {
        BenchWorkload::MnistEpoch => one_epoch_of("mnist_adam", Some(threads)),
        BenchWorkload::XorStep => xor_tanh(threads, steps),
        BenchWorkload::CnnEpoch => one_epoch_of("mnist_cnn", Some(threads)),
    }
}

/// One row of bench.csv with the machine filled in and nothing measured yet.
fn empty_row(backend: &str, workload: BenchWorkload, threads: usize, rounds: usize) -> BenchRow {
    let environment = Environment::capture(threads, 1);
    BenchRow {
        workload: workload.name().into(),
        backend: backend.into(),
        threads: threads as u64,
        rounds: rounds as u64,
        status: Status::Ok,
        harness_s: None,
        own_loop_s: None,
        harness_over_own: None,
        harness_over_own_lowest: None,
        harness_over_own_highest: None,
        gemm_floor_s: None,
        floor_multiple: None,
        test_accuracy: None,
        sittings: 1,
        cpu_model: environment.cpu_model,
        cores: environment.cores as u64,
        cpu_simd: environment.cpu_simd,
        gemm_kernels: environment.gemm_kernels,
        load_average: environment::load_average(),
        git_commit: environment.git_commit.into(),
        build_profile: environment.build_profile.into(),
        started_at: environment.started_at,
        reason: String::new(),
    }
}

/// Measures one backend on one workload at one thread count, in this process.
fn measure_row(
    backend: &dyn Backend,
    workload: BenchWorkload,
    threads: usize,
    dataset: &Dataset,
    args: &BenchArgs,
) -> BenchRow {
    let rounds = args.rounds as usize;
    let mut row = empty_row(backend.name(), workload, threads, rounds);
    let measured = workload_run(workload, threads, args.tiny_steps)
        .map_err(|error| format!("{error:#}"))
        .and_then(|run| match workload {
            BenchWorkload::MnistEpoch => {
                measure_epochs(backend, &run, dataset, rounds, BaselineModel::Mlp)
            }
            BenchWorkload::XorStep => measure_tiny(backend, &run, dataset, rounds),
            BenchWorkload::CnnEpoch => {
                measure_epochs(backend, &run, dataset, rounds, BaselineModel::LeNet)
            }
        });
    match measured {
        Ok(measured) => measured.fill(&mut row),
        Err(reason) => {
            row.status = Status::Failed;
            row.reason = reason;
        }
    }
    row
}

/// One row from the rows of one backend's sittings (`None` when there are none yet): every
/// figure the median of the sittings' figures, the first failed sitting's row if one failed.
fn over_sittings(sittings: &[BenchRow]) -> Option<BenchRow> {
    let first = sittings.first()?;
    let mut row = first.clone();
    row.sittings = sittings.len() as u64;
    row.load_average = sittings
        .iter()
        .filter_map(|row| row.load_average)
        .reduce(f64::max);
    if let Some(failed) = sittings.iter().find(|row| row.status != Status::Ok) {
        return Some(BenchRow {
            sittings: row.sittings,
            ..failed.clone()
        });
    }
    let median = |field: fn(&BenchRow) -> Option<f64>| {
        let values: Vec<f64> = sittings.iter().filter_map(field).collect();
        stats::median(&values)
    };
    row.harness_s = median(|row| row.harness_s);
    row.own_loop_s = median(|row| row.own_loop_s);
    row.harness_over_own = median(|row| row.harness_over_own);
    row.gemm_floor_s = median(|row| row.gemm_floor_s);
    row.floor_multiple = median(|row| row.floor_multiple);
    row.test_accuracy = median(|row| row.test_accuracy);
    let ratios = sittings.iter().filter_map(|row| row.harness_over_own);
    row.harness_over_own_lowest = ratios.clone().reduce(f64::min);
    row.harness_over_own_highest = ratios.reduce(f64::max);
    Some(row)
}

/// The terminal line of a row.
fn line(row: &BenchRow) -> String {
    if row.status != Status::Ok {
        return format!("{}: {}", row.status.name(), row.reason);
    }
    let (scale, unit) = if row.workload == BenchWorkload::XorStep.name() {
        (1e6, "µs/step")
    } else {
        (1.0, "s/epoch")
    };
    let mut line = format!("{:.3} {unit}", row.harness_s.unwrap_or(f64::NAN) * scale);
    if let (Some(multiple), Some(floor)) = (row.floor_multiple, row.gemm_floor_s) {
        line.push_str(&format!(", {multiple:.2}× the GEMM floor ({floor:.3} s)"));
    }
    if let Some(accuracy) = row.test_accuracy {
        line.push_str(&format!(", test accuracy {accuracy:.4}"));
    }
    if let (Some(own), Some(ratio)) = (row.own_loop_s, row.harness_over_own) {
        line.push_str(&format!(
            "; own loop {:.3} {unit}; harness/own {ratio:.3}",
            own * scale
        ));
        if let Some(spread) = sitting_spread(row) {
            line.push_str(&format!(" (sittings {spread})"));
        }
    }
    if !row.reason.is_empty() {
        line.push_str(&format!(" ({})", row.reason));
    }
    line
}

/// The README's speed tables, generated from a `bench.csv`: per workload a row per backend
/// and thread count, under the machine, commit and load its rows were measured on (a
/// `bench.csv` may join the workloads of several sittings).
pub fn markdown(rows: &[BenchRow]) -> String {
    let mut out = String::new();
    let fmt = |value: Option<f64>, scale: f64, digits: usize| {
        value.map_or("-".to_string(), |v| format!("{:.*}", digits, v * scale))
    };
    let of = |workload: BenchWorkload| -> Vec<&BenchRow> {
        rows.iter()
            .filter(|row| row.workload == workload.name())
            .collect()
    };
    // The 1-thread epoch of the same backend, for the speed-up column.
    let speed_up = |rows: &[&BenchRow], row: &BenchRow| {
        let one_thread = rows
            .iter()
            .find(|other| other.backend == row.backend && other.threads == 1)
            .and_then(|other| other.harness_s);
        match (one_thread, row.harness_s) {
            (Some(one), Some(this)) if row.threads > 1 => Some(one / this),
            _ => None,
        }
    };
    let epochs = of(BenchWorkload::MnistEpoch);
    if !epochs.is_empty() {
        out.push_str(&sitting(&epochs));
        out.push_str(
            "MNIST epoch of mnist_adam's model (784-128-10 relu, Adam, batch 128):\n\n\
             | backend | threads | s/epoch | × GEMM floor | GEMM floor s | speed-up over 1 thread | own loop s/epoch | harness / own loop |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for row in &epochs {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                row.backend,
                row.threads,
                status_or(row, fmt(row.harness_s, 1.0, 3)),
                fmt(row.floor_multiple, 1.0, 2),
                fmt(row.gemm_floor_s, 1.0, 3),
                fmt(speed_up(&epochs, row), 1.0, 2),
                fmt(row.own_loop_s, 1.0, 3),
                ratio_cell(row),
            ));
        }
        out.push('\n');
    }
    let convolutional = of(BenchWorkload::CnnEpoch);
    if !convolutional.is_empty() {
        out.push_str(&sitting(&convolutional));
        out.push_str(
            "MNIST epoch of mnist_cnn's LeNet-5 (conv 6@5×5 same, max pool 2, conv 16@5×5, max \
             pool 2, 120, 84, 10 relu; Adam, batch 128); \"× fastest\" divides by the fastest \
             epoch at the same thread count, harness or own loop, of any backend:\n\n\
             | backend | threads | s/epoch | × fastest | speed-up over 1 thread | own loop s/epoch | harness / own loop |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for row in &convolutional {
            let fastest = convolutional
                .iter()
                .filter(|other| other.threads == row.threads)
                .flat_map(|other| [other.harness_s, other.own_loop_s])
                .flatten()
                .fold(f64::INFINITY, f64::min);
            let multiple = row.harness_s.map(|s| s / fastest);
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                row.backend,
                row.threads,
                status_or(row, fmt(row.harness_s, 1.0, 3)),
                fmt(multiple, 1.0, 2),
                fmt(speed_up(&convolutional, row), 1.0, 2),
                fmt(row.own_loop_s, 1.0, 3),
                ratio_cell(row),
            ));
        }
        out.push('\n');
    }
    let steps = of(BenchWorkload::XorStep);
    if !steps.is_empty() {
        out.push_str(&sitting(&steps));
        out.push_str(
            "Tiny net: one SGD step of a 2-4-1 tanh network on the four XOR points:\n\n\
             | backend | threads | µs/step | own loop µs/step | harness / own loop |\n\
             |---|---|---|---|---|\n",
        );
        for row in &steps {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                row.backend,
                row.threads,
                status_or(row, fmt(row.harness_s, 1e6, 1)),
                fmt(row.own_loop_s, 1e6, 1),
                ratio_cell(row),
            ));
        }
    }
    out
}

/// harness / own loop, with the lowest and highest sitting's in brackets when there were
/// several.
fn ratio_cell(row: &BenchRow) -> String {
    match (row.harness_over_own, sitting_spread(row)) {
        (Some(ratio), Some(spread)) => format!("{ratio:.3} ({spread})"),
        (Some(ratio), None) => format!("{ratio:.3}"),
        (None, _) => "-".into(),
    }
}

/// "lowest–highest" sitting ratio of a row measured in several sittings.
fn sitting_spread(row: &BenchRow) -> Option<String> {
    match (row.harness_over_own_lowest, row.harness_over_own_highest) {
        (Some(low), Some(high)) if row.sittings > 1 => Some(format!("{low:.3}–{high:.3}")),
        _ => None,
    }
}

/// The line that says where and when `rows` (one workload's, non-empty) were measured; rows
/// joined from several sittings name each.
fn sitting(rows: &[&BenchRow]) -> String {
    let first = rows[0];
    let loads = rows.iter().filter_map(|row| row.load_average);
    let (low, high) = loads.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    let distinct = |field: fn(&BenchRow) -> String| {
        let mut seen: Vec<String> = Vec::new();
        for row in rows {
            let value = field(row);
            if !seen.contains(&value) {
                seen.push(value);
            }
        }
        seen.join(" and ")
    };
    format!(
        "Measured on {} ({} cores; {}), {}; {} build of commit {}, {}; 1-minute load \
         average {:.1}–{:.1} during the measurements, medians of {}.\n\n",
        first.cpu_model,
        first.cores,
        first.cpu_simd,
        first.gemm_kernels,
        first.build_profile,
        distinct(|row| row.git_commit.clone()),
        started_between(rows),
        low,
        high,
        distinct(|row| {
            let rounds = match row.rounds {
                1 => "1 round".to_string(),
                rounds => format!("{rounds} rounds"),
            };
            match row.sittings {
                1 => rounds,
                sittings => format!("{sittings} sittings of {rounds} each"),
            }
        }),
    )
}

/// When the rows were measured: the first and last start (ISO 8601 strings sort by time).
fn started_between(rows: &[&BenchRow]) -> String {
    let first = rows.iter().map(|row| &row.started_at).min();
    let last = rows.iter().map(|row| &row.started_at).max();
    match (first, last) {
        (Some(first), Some(last)) if first != last => format!("{first} to {last}"),
        (Some(first), _) => first.clone(),
        _ => String::new(),
    }
}

/// `value`, or the row's status when it was not measured.
fn status_or(row: &BenchRow, value: String) -> String {
    if row.status == Status::Ok {
        value
    } else {
        format!("{} ({})", row.status.name(), row.reason.replace('|', "/"))
    }
}

/// The backends `--backends` names (every built one by default), each checked: built, and
/// not a reference model (the linear baseline is not mnist_adam's network).
fn selected(wanted: Option<&[String]>) -> Result<Vec<Box<dyn Backend>>, UsageError> {
    let timed = || {
        registry::built()
            .into_iter()
            .filter(|backend| !backend.is_reference_model())
    };
    let Some(names) = wanted else {
        return Ok(timed().collect());
    };
    names
        .iter()
        .map(|name| match registry::find(name) {
            Some(backend) if backend.is_reference_model() => Err(UsageError {
                option: "--backends",
                message: format!(
                    "`{name}` is a reference model, not mnist_adam's network; bench does not time it"
                ),
            }),
            Some(backend) => Ok(backend),
            None => {
                let built: Vec<String> = timed().map(|b| b.name().to_string()).collect();
                Err(UsageError {
                option: "--backends",
                message: format!(
                    "{} (built: {})",
                    registry::not_built_reason(name),
                    built.join(", ")
                ),
                })
            }
        })
        .collect()
}

/// Runs `nnbench bench --measure-one NAME` for one workload and thread count and reads the
/// row it prints; a failed child is a failed row that says why.
fn measure_in_child(
    name: &str,
    workload: BenchWorkload,
    threads: usize,
    args: &BenchArgs,
    options: &DataOptions,
) -> BenchRow {
    let outcome = (|| -> Result<BenchRow, String> {
        let exe = std::env::current_exe().map_err(|error| {
            format!("cannot find this program to start a child process ({error}); use --in-process")
        })?;
        let mut command = Command::new(exe);
        command
            .args([
                "bench",
                "--measure-one",
                name,
                "--workloads",
                workload.name(),
            ])
            .args(["--threads", &threads.to_string()])
            .args(["--rounds", &args.rounds.to_string()])
            .args(["--tiny-steps", &args.tiny_steps.to_string()])
            .arg("--data-dir")
            .arg(&options.data_dir)
            // The parent has loaded (and if need be fetched) the data already.
            .arg("--no-fetch");
        let output = command
            .output()
            .map_err(|error| format!("cannot start a child process ({error}); use --in-process"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if output.status.success()
            && let Some(last) = stdout.lines().rfind(|line| !line.trim().is_empty())
        {
            return serde_json::from_str(last)
                .map_err(|error| format!("unreadable result from the child process: {error}"));
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Err(format!("failed ({}): {reason}", output.status))
    })();
    outcome.unwrap_or_else(|reason| {
        let mut row = empty_row(name, workload, threads, args.rounds as usize);
        row.status = Status::Failed;
        row.reason = reason;
        row
    })
}

/// The run of scenario `name` (mnist_adam or mnist_cnn) with one epoch per unit (each round
/// trains a fresh model on both sides), on `threads` threads when given.
fn one_epoch_of(name: &str, threads: Option<usize>) -> Result<RunSpec> {
    let path = scenarios::resolve(name).map_err(anyhow::Error::msg)?;
    let text = std::fs::read_to_string(&path)?;
    let mut overrides = vec![("training.epochs".to_string(), toml::Value::Integer(1))];
    if let Some(threads) = threads {
        overrides.push(("threads".into(), toml::Value::Integer(threads as i64)));
    }
    let scenario = parse::parse_scenario(
        name,
        &path.display().to_string(),
        &text,
        &LoadOptions {
            quick: false,
            overrides,
        },
    )?;
    Ok(scenario.variants[0].run.clone())
}

/// mlp_xor's 2-4-1 tanh variant, one seed, `steps` one-step epochs (full batch of 4), on
/// `threads` threads.
fn xor_tanh(threads: usize, steps: u64) -> Result<RunSpec> {
    let path = scenarios::resolve("mlp_xor").map_err(anyhow::Error::msg)?;
    let text = std::fs::read_to_string(&path)?;
    let overrides = vec![
        (
            "training.epochs".to_string(),
            toml::Value::Integer(steps as i64),
        ),
        (
            "training.seeds".into(),
            toml::Value::Array(vec![toml::Value::Integer(0)]),
        ),
        ("threads".into(), toml::Value::Integer(threads as i64)),
    ];
    let scenario = parse::parse_scenario(
        "mlp_xor",
        &path.display().to_string(),
        &text,
        &LoadOptions {
            quick: false,
            overrides,
        },
    )?;
    let tanh_4 = [LayerSpec::Dense {
        units: 4,
        activation: Activation::Tanh,
    }];
    scenario
        .variants
        .into_iter()
        .find(|variant| variant.run.model.layers == tanh_4)
        .map(|variant| variant.run)
        .context("mlp_xor has no 2-4-1 tanh variant")
}

/// Per round, the seconds of each side; the own loop's list is empty when the backend has
/// none, the floor's when the workload has none.
#[derive(Debug, Default)]
struct Measured {
    harness_s: Vec<f64>,
    own_loop_s: Vec<f64>,
    floor_s: Vec<f64>,
    /// Seconds are divided by this: 1 per epoch, the step count per step.
    per: f64,
    test_accuracy: Option<f64>,
}

impl Measured {
    fn ratios(numerator: &[f64], denominator: &[f64]) -> Vec<f64> {
        numerator
            .iter()
            .zip(denominator)
            .map(|(a, b)| a / b)
            .collect()
    }

    fn fill(&self, row: &mut BenchRow) {
        let per = |values: &[f64]| stats::median(values).map(|s| s / self.per);
        row.harness_s = per(&self.harness_s);
        row.own_loop_s = per(&self.own_loop_s);
        row.gemm_floor_s = per(&self.floor_s);
        row.harness_over_own = stats::median(&Self::ratios(&self.harness_s, &self.own_loop_s));
        row.harness_over_own_lowest = row.harness_over_own;
        row.harness_over_own_highest = row.harness_over_own;
        row.floor_multiple = stats::median(&Self::ratios(&self.harness_s, &self.floor_s));
        row.test_accuracy = self.test_accuracy;
        if self.own_loop_s.is_empty() {
            row.reason = "no hand-written loop".into();
        }
    }
}

/// Rounds of one GEMM floor, one harness epoch and one hand-written epoch, the order reversed
/// every other round, the first round a warm-up.
fn measure_epochs(
    backend: &dyn Backend,
    run: &RunSpec,
    dataset: &Dataset,
    rounds: usize,
    model: BaselineModel,
) -> Result<Measured, String> {
    let task = baseline_task(run, dataset, model);
    let pool = nnbench_core::threads::rayon_pool(run.threads).map_err(|e| e.to_string())?;
    // The floor is the MLP epoch's matrix products; a convolutional epoch has none here.
    let mut floor = (model == BaselineModel::Mlp).then(|| {
        Floor::new(EpochShape {
            rows: dataset.train.rows,
            batch: task.batch_size,
            features: task.features,
            hidden: task.hidden,
            classes: task.classes,
        })
    });
    let floor_epoch = |floor: &mut Option<Floor>| {
        floor
            .as_mut()
            .map(|floor| pool.install(|| floor.epoch_s(run.threads)))
    };
    let mut measured = Measured {
        per: 1.0,
        ..Measured::default()
    };
    let mut has_hand_written = true;
    for round in 0..=rounds {
        let reversed = round % 2 == 1;
        let mut floor_s = None;
        let mut hand_s = None;
        if reversed && has_hand_written {
            hand_s = hand_written_epoch(backend, &task, &mut has_hand_written)?;
        } else if !reversed {
            floor_s = floor_epoch(&mut floor);
        }
        let (harness_s, accuracy) = harness_epoch(backend, run, dataset)?;
        if !reversed && has_hand_written {
            hand_s = hand_written_epoch(backend, &task, &mut has_hand_written)?;
        } else if reversed {
            floor_s = floor_epoch(&mut floor);
        }
        if round == 0 {
            continue;
        }
        measured.harness_s.push(harness_s);
        measured.own_loop_s.extend(hand_s);
        measured.floor_s.extend(floor_s);
        measured.test_accuracy = Some(accuracy);
    }
    Ok(measured)
}

/// Rounds of the tiny network's steps through the harness and through the backend's own
/// loop, the order swapped every round, the first round a warm-up.
fn measure_tiny(
    backend: &dyn Backend,
    run: &RunSpec,
    dataset: &Dataset,
    rounds: usize,
) -> Result<Measured, String> {
    let targets: Vec<f32> = dataset.train.labels.iter().map(|&l| l as f32).collect();
    let task = TinyTask {
        inputs: &dataset.train.inputs,
        targets: &targets,
        features: dataset.features,
        hidden: 4,
        learning_rate: run.optimizer.learning_rate,
        steps: run.training.epochs,
        threads: run.threads,
        seed: 0,
        run,
    };
    let mut measured = Measured {
        per: task.steps as f64,
        ..Measured::default()
    };
    let mut has_own = true;
    let mut own = |measured_own: &mut Option<f64>| -> Result<(), String> {
        if !has_own {
            return Ok(());
        }
        match backend.hand_written_tiny_steps(&task) {
            Some(Ok(seconds)) => *measured_own = Some(seconds),
            Some(Err(error)) => return Err(format!("hand-written loop failed: {error}")),
            None => has_own = false,
        }
        Ok(())
    };
    for round in 0..=rounds {
        let own_first = round % 2 == 1;
        let mut own_s = None;
        if own_first {
            own(&mut own_s)?;
        }
        let outcome = train::run_unit(backend, &UnitRequest::new(run, dataset, 0), &mut Quiet);
        if outcome.status != Status::Ok {
            return Err(format!(
                "{} {}",
                outcome.status.name(),
                outcome.reason.unwrap_or_default()
            ));
        }
        let harness_s: f64 = outcome.epochs.iter().map(|epoch| epoch.epoch_s).sum();
        if !own_first {
            own(&mut own_s)?;
        }
        if round == 0 {
            continue;
        }
        measured.harness_s.push(harness_s);
        measured.own_loop_s.extend(own_s);
        measured.test_accuracy = outcome.test.map(|test| test.accuracy);
    }
    Ok(measured)
}

/// The seconds of one epoch of a fresh unit through the harness, and its test accuracy.
fn harness_epoch(
    backend: &dyn Backend,
    run: &RunSpec,
    dataset: &Dataset,
) -> Result<(f64, f64), String> {
    let outcome = train::run_unit(backend, &UnitRequest::new(run, dataset, 0), &mut Quiet);
    if outcome.status != Status::Ok {
        return Err(format!(
            "{} {}",
            outcome.status.name(),
            outcome.reason.unwrap_or_default()
        ));
    }
    let epoch_s = outcome
        .epochs
        .first()
        .map(|epoch| epoch.epoch_s)
        .ok_or("the unit trained no epoch")?;
    Ok((epoch_s, outcome.test.map_or(f64::NAN, |t| t.accuracy)))
}

/// One epoch of the backend's hand-written loop; `None` (and `available` cleared) when it has
/// none.
fn hand_written_epoch(
    backend: &dyn Backend,
    task: &BaselineTask<'_>,
    available: &mut bool,
) -> Result<Option<f64>, String> {
    match backend.hand_written_epoch(task) {
        Some(Ok(seconds)) => Ok(Some(seconds)),
        Some(Err(error)) => Err(format!("hand-written loop failed: {error}")),
        None => {
            *available = false;
            Ok(None)
        }
    }
}

/// The timed model and optimizer as a [`BaselineTask`] on the training split.
fn baseline_task<'a>(
    run: &'a RunSpec,
    dataset: &'a Dataset,
    model: BaselineModel,
) -> BaselineTask<'a> {
    let OptimizerSpec { learning_rate, .. } = run.optimizer;
    BaselineTask {
        model,
        inputs: &dataset.train.inputs,
        labels: &dataset.train.labels,
        features: dataset.features,
        hidden: 128,
        classes: dataset.classes,
        batch_size: 128,
        learning_rate,
        threads: run.threads,
        seed: 0,
        run,
    }
}

#[cfg(test)]
mod tests {
    use nnbench_core::data::Split;

    use super::*;

    /// 384 rows of mnist_adam's shape: three full batches, noise for pixels.
    fn tiny_mnist() -> Dataset {
        let mut rng = nnbench_core::rng::Rng::new(7);
        let split = |rows: usize, rng: &mut nnbench_core::rng::Rng| Split {
            inputs: (0..rows * 784).map(|_| rng.uniform() as f32).collect(),
            labels: (0..rows).map(|row| (row % 10) as u32).collect(),
            rows,
        };
        Dataset {
            name: "mnist".into(),
            features: 784,
            classes: 10,
            train: split(384, &mut rng),
            validation: None,
            test: split(64, &mut rng),
        }
    }

    #[test]
    fn every_backend_is_measured_for_each_round_after_the_warm_up() {
        let run = one_epoch_of("mnist_adam", Some(1)).unwrap();
        assert_eq!(run.training.epochs, 1);
        let dataset = tiny_mnist();
        for backend in registry::built()
            .into_iter()
            .filter(|backend| !backend.is_reference_model())
            // A framework installed outside cargo and missing here cannot be timed.
            .filter(|backend| backend.availability().is_ok())
        {
            let measured =
                measure_epochs(backend.as_ref(), &run, &dataset, 3, BaselineModel::Mlp).unwrap();
            assert_eq!(measured.harness_s.len(), 3, "{}", backend.name());
            assert_eq!(measured.floor_s.len(), 3, "{}", backend.name());
            let hand_written = baseline_task(&run, &dataset, BaselineModel::Mlp);
            let expected = match backend.hand_written_epoch(&hand_written) {
                Some(_) => 3,
                None => 0,
            };
            assert_eq!(measured.own_loop_s.len(), expected, "{}", backend.name());
            assert!(measured.harness_s.iter().all(|s| *s > 0.0));
            assert!(measured.floor_s.iter().all(|s| *s > 0.0));
            let mut row = empty_row(backend.name(), BenchWorkload::MnistEpoch, 1, 3);
            measured.fill(&mut row);
            assert!(row.floor_multiple.is_some_and(|m| m > 0.0));
            assert_eq!(row.harness_over_own.is_some(), expected > 0);
            assert!(line(&row).contains("GEMM floor"), "{}", line(&row));
        }
    }

    #[test]
    fn a_row_over_sittings_takes_each_figure_s_median_and_the_sittings_ratio_range() {
        let sitting = |harness: f64, own: f64, load: f64| {
            let mut row = empty_row("native", BenchWorkload::MnistEpoch, 2, 4);
            row.harness_s = Some(harness);
            row.own_loop_s = Some(own);
            row.harness_over_own = Some(harness / own);
            row.harness_over_own_lowest = row.harness_over_own;
            row.harness_over_own_highest = row.harness_over_own;
            row.load_average = Some(load);
            row
        };
        let rows = [
            sitting(1.2, 1.0, 0.5),
            sitting(1.0, 1.0, 1.5),
            sitting(1.1, 1.0, 1.0),
        ];
        let row = over_sittings(&rows).unwrap();
        assert_eq!(row.sittings, 3);
        assert_eq!(row.harness_s, Some(1.1));
        assert_eq!(row.harness_over_own_lowest, Some(1.0));
        assert_eq!(row.harness_over_own_highest, Some(1.2));
        assert_eq!(row.load_average, Some(1.5));
        assert!(
            ratio_cell(&row).ends_with("(1.000–1.200)"),
            "{}",
            ratio_cell(&row)
        );
        assert!(
            line(&row).contains("(sittings 1.000–1.200)"),
            "{}",
            line(&row)
        );
        assert_eq!(ratio_cell(&rows[0]), "1.200");
        assert!(over_sittings(&[]).is_none());

        let mut failed = sitting(1.0, 1.0, 1.0);
        failed.status = Status::Failed;
        failed.reason = "the worker died".into();
        let row = over_sittings(&[rows[0].clone(), failed]).unwrap();
        assert_eq!(
            (row.status, row.reason.as_str()),
            (Status::Failed, "the worker died")
        );
        assert_eq!(row.sittings, 2);
    }

    #[test]
    fn every_backend_steps_the_tiny_network_through_the_harness_and_its_own_loop() {
        let run = xor_tanh(1, 20).unwrap();
        let options = DataOptions {
            data_dir: std::env::temp_dir(),
            fetch: false,
        };
        let dataset = data::load(&run.dataset, &options, &Silent).unwrap();
        assert_eq!(dataset.train.rows, 4);
        for backend in registry::built()
            .into_iter()
            .filter(|backend| !backend.is_reference_model())
            .filter(|backend| backend.availability().is_ok())
        {
            let measured = measure_tiny(backend.as_ref(), &run, &dataset, 2).unwrap();
            assert_eq!(measured.harness_s.len(), 2, "{}", backend.name());
            // The Python peers' bridge has no own loop for the tiny net yet.
            let rust = ["native", "burn", "candle", "linfa", "tch"].contains(&backend.name());
            if rust {
                let own = measured.own_loop_s.len();
                assert_eq!(own, 2, "{}: no own loop", backend.name());
            }
            let mut row = empty_row(backend.name(), BenchWorkload::XorStep, 1, 2);
            measured.fill(&mut row);
            // Seconds per step, not per round.
            assert!(
                row.harness_s.unwrap() < measured.harness_s[0],
                "{}",
                backend.name()
            );
            assert!(line(&row).contains("µs/step"));
        }
    }
}
