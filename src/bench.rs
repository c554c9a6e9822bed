//! `nnbench bench`: the measured numbers behind the README's speed claims. Time per MNIST epoch
//! of mnist_adam's model for each backend through the harness (first epoch excluded as
//! warm-up), the same epoch trained by each framework's own hand-written loop in the same
//! process (the ratio is what the harness costs), and the time to load full MNIST.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use nnbench_core::baseline::BaselineTask;
use nnbench_core::data::{self, fetch::Silent};
use nnbench_core::spec::parse::{self, LoadOptions};
use nnbench_core::train::{self, Quiet, Status, UnitRequest};

use crate::cli::DataArgs;
use crate::environment::Environment;
use crate::{registry, scenarios, summary};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Epochs per backend; the first is a warm-up and is not counted
    #[arg(long, default_value_t = 4)]
    pub epochs: usize,
    /// Intra-op threads (default: the scenario's)
    #[arg(long)]
    pub threads: Option<usize>,
    /// Backends to measure (default: every built one)
    #[arg(long, value_delimiter = ',')]
    pub backends: Option<Vec<String>>,
    /// Times to load full MNIST
    #[arg(long, default_value_t = 5)]
    pub loads: usize,
    #[command(flatten)]
    pub data: DataArgs,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let path = scenarios::resolve("mnist_adam").map_err(anyhow::Error::msg)?;
    let text = std::fs::read_to_string(&path)?;
    let mut overrides = vec![(
        "training.epochs".to_string(),
        toml::Value::Integer(args.epochs.max(2) as i64),
    )];
    if let Some(threads) = args.threads {
        overrides.push(("threads".into(), toml::Value::Integer(threads as i64)));
    }
    let scenario = parse::parse_scenario(
        "mnist_adam",
        &path.display().to_string(),
        &text,
        &LoadOptions {
            quick: false,
            overrides,
        },
    )?;
    let run = &scenario.variants[0].run;
    let options = args.data.options()?;

    // The first load may fetch; it is not timed.
    let dataset = data::load(&run.dataset, &options, &Silent).context("loading MNIST")?;
    let mut load_times = Vec::new();
    for _ in 0..args.loads.max(1) {
        let started = Instant::now();
        let again = data::load(&run.dataset, &options, &Silent)?;
        load_times.push(started.elapsed().as_secs_f64());
        drop(again);
    }
    let environment = Environment::capture(run.threads);
    println!("machine: {}", environment.one_line());
    println!(
        "full MNIST load (60000 + 10000 images, IDX → f32 in [0,1]): median {:.3} s over {} loads",
        summary::median(&load_times).unwrap_or(0.0),
        load_times.len()
    );
    println!(
        "mnist_adam model (784-128-10 relu, Adam, batch 128), {} threads, median of epochs 2..{}:",
        run.threads, args.epochs
    );
    // A reference model (the linear baseline) is not mnist_adam's network: not timed here.
    for backend in registry::built()
        .into_iter()
        .filter(|backend| !backend.is_reference_model())
    {
        if let Some(wanted) = &args.backends
            && !wanted.iter().any(|name| name == backend.name())
        {
            continue;
        }
        let request = UnitRequest::new(run, &dataset, 0);
        let outcome = train::run_unit(backend.as_ref(), &request, &mut Quiet);
        if outcome.status != Status::Ok {
            println!(
                "  {:<8} {} {}",
                backend.name(),
                outcome.status.name(),
                outcome.reason.unwrap_or_default()
            );
            continue;
        }
        let times: Vec<f64> = outcome.epochs.iter().skip(1).map(|e| e.epoch_s).collect();
        let epoch_s = summary::median(&times).unwrap_or(f64::NAN);
        let overhead = match hand_written(backend.as_ref(), run, &dataset, args.epochs) {
            Some(Ok(hand_s)) => format!(
                "; hand-written {} loop {hand_s:.3} s/epoch, harness/hand-written {:.3}",
                backend.name(),
                epoch_s / hand_s
            ),
            Some(Err(error)) => format!("; hand-written loop failed: {error}"),
            None => String::new(),
        };
        println!(
            "  {:<8} {:.3} s/epoch ({:.0} samples/s), test accuracy {:.4} after {} epochs{overhead}",
            backend.name(),
            epoch_s,
            dataset.train.rows as f64 / epoch_s,
            outcome.test.map_or(f64::NAN, |t| t.accuracy),
            outcome.epochs.len()
        );
    }
    Ok(())
}

/// Median seconds per epoch of the backend's own hand-written loop on the same data, the first
/// epoch excluded as warm-up (`None` when the backend has no such loop).
fn hand_written(
    backend: &dyn nnbench_core::Backend,
    run: &nnbench_core::spec::RunSpec,
    dataset: &nnbench_core::data::Dataset,
    epochs: usize,
) -> Option<Result<f64, nnbench_core::BackendError>> {
    let nnbench_core::spec::OptimizerSpec { learning_rate, .. } = run.optimizer;
    let task = BaselineTask {
        inputs: &dataset.train.inputs,
        labels: &dataset.train.labels,
        features: dataset.features,
        hidden: 128,
        classes: dataset.classes,
        batch_size: 128,
        learning_rate,
        threads: run.threads,
        seed: 0,
    };
    let mut times = Vec::new();
    for _ in 0..epochs.max(2) {
        match backend.hand_written_epoch(&task)? {
            Ok(seconds) => times.push(seconds),
            Err(error) => return Some(Err(error)),
        }
    }
    summary::median(&times[1..]).map(Ok)
}
