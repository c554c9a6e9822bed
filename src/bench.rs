//! `nnbench bench`: the measured numbers behind the README's speed claims. Time per MNIST epoch
//! of mnist_adam's model (or, with `--model cnn`, mnist_cnn's LeNet-5) for each backend through
//! the harness, beside the same epoch trained
//! by that framework's own hand-written loop (the ratio is what the harness costs), and the time
//! to load full MNIST.
//!
//! The two sides are measured in alternating rounds, each round a fresh model trained for one
//! epoch on each side, the order swapped every round: a slow spell of a shared machine then
//! lands on both sides instead of on whichever ran second. One warm-up round is not counted.
//! Each backend is measured in a child process of its own: measured in one process one after
//! another, burn's harness side was 4–7 % slower when native had run before it than when it
//! ran alone, so the order of the list changed the numbers.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use nnbench_core::Backend;
use nnbench_core::baseline::BaselineTask;
use nnbench_core::data::{self, DataOptions, Dataset, fetch::Silent};
use nnbench_core::spec::parse::{self, LoadOptions};
use nnbench_core::spec::{OptimizerSpec, RunSpec};
use nnbench_core::train::{self, Quiet, Status, UnitRequest};

use crate::args::{BenchArgs, BenchModel, UsageError};
use crate::environment::Environment;
use crate::{registry, scenarios, stats};

pub fn run(args: &BenchArgs) -> Result<()> {
    let run = &one_epoch_of(args.model.scenario(), args.threads)?;
    let rounds = args.rounds.max(1);
    if let Some(name) = &args.measure_one {
        let backend = selected(Some(std::slice::from_ref(name)))?.remove(0);
        let dataset =
            data::load(&run.dataset, &args.data.options()?, &Silent).context("loading MNIST")?;
        let measured = measure(backend.as_ref(), run, &dataset, rounds, args.model)
            .map_err(anyhow::Error::msg)?;
        println!("{}", measured.line(&dataset));
        return Ok(());
    }
    let backends = selected(args.backends.as_deref())?;
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
        stats::median(&load_times).unwrap_or(0.0),
        load_times.len()
    );
    println!(
        "{}, {} threads, one epoch per side in each of {rounds} rounds after a warm-up, {}, medians:",
        args.model.describe(),
        run.threads,
        if args.in_process {
            "every backend in this process"
        } else {
            "each backend in a process of its own"
        }
    );
    for backend in backends {
        let line = if args.in_process {
            measure(backend.as_ref(), run, &dataset, rounds, args.model).map(|m| m.line(&dataset))
        } else {
            measure_in_child(backend.name(), args, &options)
        };
        match line {
            Ok(line) | Err(line) => println!("  {:<8} {line}", backend.name()),
        }
    }
    Ok(())
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

/// Runs `nnbench bench --measure-one NAME` and returns the line it prints, or why it failed.
fn measure_in_child(name: &str, args: &BenchArgs, options: &DataOptions) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|error| {
        format!("cannot find this program to start a child process ({error}); use --in-process")
    })?;
    let mut command = Command::new(exe);
    command
        .args(["bench", "--measure-one", name, "--model"])
        .arg(match args.model {
            BenchModel::Mlp => "mlp",
            BenchModel::Cnn => "cnn",
        })
        .arg("--rounds")
        .arg(args.rounds.max(1).to_string())
        .arg("--data-dir")
        .arg(&options.data_dir)
        // The parent has loaded (and if need be fetched) MNIST already.
        .arg("--no-fetch");
    if let Some(threads) = args.threads {
        command.args(["--threads", &threads.to_string()]);
    }
    let output = command
        .output()
        .map_err(|error| format!("cannot start a child process ({error}); use --in-process"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.success()
        && let Some(line) = stdout.lines().rfind(|line| !line.trim().is_empty())
    {
        return Ok(line.to_string());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Err(format!("failed ({}): {reason}", output.status))
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

/// The seconds of each measured round on each side, and the harness's last test accuracy.
#[derive(Debug, Default)]
struct Measured {
    harness_s: Vec<f64>,
    /// Empty when the backend has no hand-written loop.
    hand_written_s: Vec<f64>,
    test_accuracy: f64,
}

impl Measured {
    /// harness / hand-written per round, in round order.
    fn ratios(&self) -> Vec<f64> {
        self.harness_s
            .iter()
            .zip(&self.hand_written_s)
            .map(|(harness, hand)| harness / hand)
            .collect()
    }

    fn line(&self, dataset: &Dataset) -> String {
        let epoch_s = stats::median(&self.harness_s).unwrap_or(f64::NAN);
        let mut line = format!(
            "{epoch_s:.3} s/epoch ({:.0} samples/s), test accuracy {:.4} after one epoch",
            dataset.train.rows as f64 / epoch_s,
            self.test_accuracy
        );
        let ratios = self.ratios();
        if let (Some(hand_s), Some(ratio)) =
            (stats::median(&self.hand_written_s), stats::median(&ratios))
        {
            let (low, high) = ratios
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), &r| {
                    (low.min(r), high.max(r))
                });
            line.push_str(&format!(
                "; hand-written loop {hand_s:.3} s/epoch; harness/hand-written {ratio:.3} (rounds {low:.3}–{high:.3})"
            ));
        }
        line
    }
}

/// Rounds of one harness epoch and one hand-written epoch, the order swapped every round, the
/// first round a warm-up.
fn measure(
    backend: &dyn Backend,
    run: &RunSpec,
    dataset: &Dataset,
    rounds: usize,
    model: BenchModel,
) -> Result<Measured, String> {
    let task = baseline_task(run, dataset, model);
    let mut measured = Measured::default();
    let mut has_hand_written = true;
    for round in 0..=rounds {
        let warm_up = round == 0;
        let hand_first = round % 2 == 1;
        let mut hand_s = None;
        if hand_first && has_hand_written {
            hand_s = hand_written_epoch(backend, &task, &mut has_hand_written)?;
        }
        let (harness_s, accuracy) = harness_epoch(backend, run, dataset)?;
        if !hand_first && has_hand_written {
            hand_s = hand_written_epoch(backend, &task, &mut has_hand_written)?;
        }
        if warm_up {
            continue;
        }
        measured.harness_s.push(harness_s);
        measured.hand_written_s.extend(hand_s);
        measured.test_accuracy = accuracy;
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
    model: BenchModel,
) -> BaselineTask<'a> {
    let OptimizerSpec { learning_rate, .. } = run.optimizer;
    BaselineTask {
        model: match model {
            BenchModel::Mlp => nnbench_core::baseline::BaselineModel::Mlp,
            BenchModel::Cnn => nnbench_core::baseline::BaselineModel::LeNet,
        },
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
            let measured = measure(backend.as_ref(), &run, &dataset, 3, BenchModel::Mlp).unwrap();
            assert_eq!(measured.harness_s.len(), 3, "{}", backend.name());
            let hand_written = baseline_task(&run, &dataset, BenchModel::Mlp);
            let expected = match backend.hand_written_epoch(&hand_written) {
                Some(_) => 3,
                None => 0,
            };
            assert_eq!(
                measured.hand_written_s.len(),
                expected,
                "{}",
                backend.name()
            );
            assert_eq!(measured.ratios().len(), expected);
            assert!(measured.harness_s.iter().all(|s| *s > 0.0));
            let line = measured.line(&dataset);
            assert_eq!(
                line.contains("harness/hand-written"),
                expected > 0,
                "{line}"
            );
        }
    }
}
