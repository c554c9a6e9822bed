//! `nnbench bench`: the measured numbers behind the README's speed claims. Time per MNIST epoch
//! of mnist_adam's model for each backend through the harness (first epoch excluded as
//! warm-up), and the time to load full MNIST from its IDX files.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
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
    for backend in registry::built() {
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
        println!(
            "  {:<8} {:.3} s/epoch ({:.0} samples/s), test accuracy {:.4} after {} epochs",
            backend.name(),
            epoch_s,
            dataset.train.rows as f64 / epoch_s,
            outcome.test.map_or(f64::NAN, |t| t.accuracy),
            outcome.epochs.len()
        );
    }
    Ok(())
}
