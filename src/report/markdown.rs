//! `report.md`: what was run, where, the summary table (mean and 95 % interval over seeds),
//! and every plot, all from the run folder's files.

use serde_json::Value;

use super::RunData;
use super::plots::{Plot, SOLVED};
use super::stats::{Estimate, distinct};
use crate::run_folder::{EpochRow, SummaryRow};

/// The run's own description files, when present (`scenario.resolved.json`,
/// `environment.json`); a report of CSV files alone still works without them.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub scenario: Option<Value>,
    pub environment: Option<Value>,
}

fn text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => compact(other),
    }
}

/// A JSON value on one short line: `{"kind":"sgd"}` as `kind=sgd`.
fn compact(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(compact).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                Value::Object(_) => format!("{k}({})", compact(v)),
                _ => format!("{k}={}", compact(v)),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn what_was_run(out: &mut String, scenario: &Value) {
    let variants = scenario
        .get("variants")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    out.push_str("## What was run\n\n");
    out.push_str(&format!("{} variant(s); every value as used is in `scenario.resolved.json`, the file as written in `scenario.toml`.\n\n", variants.len()));
    out.push_str("| variant | dataset | model | optimizer | training | backends |\n|---|---|---|---|---|---|\n");
    for variant in &variants {
        let run = variant.get("run");
        let at = |key: &str| run.and_then(|r| r.get(key));
        let training = at("training").map_or_else(
            || "-".into(),
            |t| {
                format!(
                    "epochs={} batch={} seeds={}",
                    text(t.get("epochs")),
                    text(t.get("batch")),
                    text(t.get("seeds"))
                )
            },
        );
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            cell(&text(variant.get("name"))),
            cell(&text(at("dataset"))),
            cell(&text(at("model"))),
            cell(&text(at("optimizer"))),
            cell(&training),
            cell(&text(at("backends"))),
        ));
    }
    out.push('\n');
}

fn environment(out: &mut String, environment: &Value) {
    out.push_str("## Environment\n\n");
    if let Value::Object(map) = environment {
        for (key, value) in map {
            out.push_str(&format!("- {key}: {}\n", text(Some(value))));
        }
    }
    out.push('\n');
}

fn format_estimate(estimate: Option<Estimate>) -> (String, String) {
    match estimate {
        None => ("-".into(), "-".into()),
        Some(e) if e.n > 1 => (
            format!("{:.4}", e.mean),
            format!("[{:.4}, {:.4}]", e.low(), e.high()),
        ),
        Some(e) => (format!("{:.4}", e.mean), "-".into()),
    }
}

fn summary(out: &mut String, data: &RunData) {
    out.push_str("## Summary\n\n");
    out.push_str(
        "Means over seeds; the interval is mean ± 1.96·sd/√n (shown for several seeds). \
         `solved`: seeds whose test accuracy is 1.0. `converged`: the median first epoch \
         whose train accuracy is 1.0, over the seeds that got there (the perceptron's \
         convergence; `never` when none did). Final train accuracy is the last epoch's, \
         scored on the whole training split; `gap` is final train accuracy − test accuracy and \
         `loss gap` test loss − final train loss (overfitting shows in both).\n\n",
    );
    let jobs = data.units.iter().map(|u| u.jobs).max().unwrap_or(1);
    if jobs > 1 {
        out.push_str(&format!(
            "**Times shared the machine:** up to {jobs} units ran side by side (`--jobs \
             {jobs}`), so `epoch_s` is a unit's time while other units used the same cores, \
             not its time alone (the `jobs` column of `units.csv` and `epochs.csv` says under \
             how many each was measured). Measure speed with `--jobs 1` or `nnbench bench`.\n\n"
        ));
    }
    out.push_str("| variant | backend | status | seeds | test_accuracy | 95 % interval | final train_accuracy | final train_loss | gap | loss gap | solved | converged | epoch_s (median) | reason |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for line in &data.summary {
        let units: Vec<_> = data
            .units
            .iter()
            .filter(|u| u.variant == line.variant && u.backend == line.backend)
            .collect();
        let accuracies: Vec<f64> = units.iter().filter_map(|u| u.test_accuracy).collect();
        let (accuracy, interval) = if accuracies.is_empty() {
            (
                line.test_accuracy.map_or("-".into(), |a| format!("{a:.4}")),
                "-".into(),
            )
        } else {
            format_estimate(Estimate::of(&accuracies))
        };
        let last_epochs = |value: &dyn Fn(&EpochRow) -> f64| -> Vec<f64> {
            distinct(&units, |u| u.seed)
                .into_iter()
                .filter_map(|seed| {
                    data.epochs
                        .iter()
                        .filter(|e| {
                            e.variant == line.variant && e.backend == line.backend && e.seed == seed
                        })
                        .max_by_key(|e| e.epoch)
                        .map(value)
                })
                .collect()
        };
        let final_accuracy = Estimate::of(&last_epochs(&|e| e.train_accuracy));
        let final_loss = Estimate::of(&last_epochs(&|e| e.train_loss));
        let test_losses: Vec<f64> = units.iter().filter_map(|u| u.test_loss).collect();
        let gap = |train: Option<Estimate>, test: Option<Estimate>, sign: f64| match (train, test) {
            (Some(train), Some(test)) => format!("{:.4}", sign * (train.mean - test.mean)),
            _ => "-".into(),
        };
        let accuracy_gap = gap(final_accuracy, Estimate::of(&accuracies), 1.0);
        let loss_gap = gap(final_loss, Estimate::of(&test_losses), -1.0);
        let train_accuracy = format_estimate(final_accuracy).0;
        let train_loss = format_estimate(final_loss).0;
        let solved = if accuracies.is_empty() {
            "-".into()
        } else {
            format!(
                "{}/{}",
                accuracies.iter().filter(|&&a| a >= SOLVED).count(),
                accuracies.len()
            )
        };
        let converged = converged(data, line, &distinct(&units, |u| u.seed));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(&line.variant),
            cell(&line.backend),
            cell(line.status.name()),
            line.seeds,
            accuracy,
            interval,
            train_accuracy,
            train_loss,
            accuracy_gap,
            loss_gap,
            solved,
            converged,
            line.epoch_s_median
                .map_or("-".into(), |s| format!("{s:.4}")),
            cell(&line.reason),
        ));
    }
    out.push('\n');
}

/// `converged` of the summary: the median first epoch at train accuracy 1.0 over the seeds
/// that reached it, with how many did; `-` when no epoch was recorded.
fn converged(data: &RunData, line: &SummaryRow, seeds: &[u64]) -> String {
    let mut recorded = 0;
    let mut first: Vec<f64> = Vec::new();
    for &seed in seeds {
        let mut epochs = data
            .epochs
            .iter()
            .filter(|e| e.variant == line.variant && e.backend == line.backend && e.seed == seed)
            .peekable();
        if epochs.peek().is_none() {
            continue;
        }
        recorded += 1;
        if let Some(epoch) = epochs
            .filter(|e| e.train_accuracy >= SOLVED)
            .map(|e| e.epoch)
            .min()
        {
            first.push(epoch as f64);
        }
    }
    match (recorded, crate::stats::median(&first)) {
        (0, _) => "-".into(),
        (_, None) => format!("never (0/{recorded})"),
        (_, Some(median)) => format!("epoch {median} ({}/{recorded})", first.len()),
    }
}

/// Each hidden layer's share of dead units after the first and after the last epoch, per
/// variant and backend (mean over seeds), when the run recorded them.
fn dead_units(out: &mut String, data: &RunData) {
    if data.dead_units.is_empty() {
        return;
    }
    let layers = data.dead_units.iter().map(|r| r.layer).max().unwrap_or(0) + 1;
    out.push_str(
        "## Dead units

",
    );
    out.push_str(&format!(
        "Share of each hidden dense layer's units whose pre-activation is ≤ 0 on every one of \
         the first {} training rows (`dead_units.csv`), computed by the harness from the \
         exported weights: behind a ReLU such a unit outputs 0 and gets no gradient for any \
         of them. After the first epoch → after the last, mean over seeds.\n\n",
        nnbench_core::dead_units::SAMPLE_ROWS
    ));
    out.push_str("| variant | backend |");
    for layer in 1..=layers {
        out.push_str(&format!(" hidden layer {layer} |"));
    }
    out.push_str(&format!("\n|---|---|{}\n", "---|".repeat(layers as usize)));
    for (variant, backend) in distinct(&data.dead_units, |r| (r.variant.clone(), r.backend.clone()))
    {
        out.push_str(&format!("| {variant} | {backend} |"));
        let rows: Vec<_> = data
            .dead_units
            .iter()
            .filter(|r| r.variant == variant && r.backend == backend)
            .collect();
        for layer in 0..layers {
            let mut first = Vec::new();
            let mut last = Vec::new();
            for seed in distinct(&rows, |r| r.seed) {
                let of_seed: Vec<_> = rows
                    .iter()
                    .filter(|r| r.seed == seed && r.layer == layer)
                    .collect();
                if let (Some(a), Some(b)) = (
                    of_seed.iter().min_by_key(|r| r.epoch),
                    of_seed.iter().max_by_key(|r| r.epoch),
                ) {
                    first.push(a.value);
                    last.push(b.value);
                }
            }
            let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
            if first.is_empty() {
                out.push_str(" - |");
            } else {
                out.push_str(&format!(
                    " {:.0} % → {:.0} % |",
                    100.0 * mean(&first),
                    100.0 * mean(&last)
                ));
            }
        }
        out.push('\n');
    }
    out.push('\n');
}

/// A gradient as the table prints it: 9 decimals, as hand computations are written.
fn gradient_text(value: f64) -> String {
    format!("{value:.9}")
}

/// `gradients.csv` as a table, one column per backend (the first seed of each variant),
/// beside the hand computation of the scenario when nnbench has one.
fn gradients(out: &mut String, data: &RunData, scenario: &str) {
    if data.gradients.is_empty() {
        return;
    }
    let hand = crate::worked_examples::for_scenario(scenario);
    out.push_str("## Gradients of the step\n\n");
    out.push_str(
        "Each parameter's gradient of the one training step (`gradients.csv`), read off the \
         weights each backend exported before and after it: g = (w_before − w_after) / η, \
         exact for plain SGD. `layer.tensor[index]` is nnbench's layout (`index` = \
         `in · fan_out + out` for a dense weight).",
    );
    if let Some(hand) = hand {
        out.push_str(&format!(
            " The hand column is {}: g = (w − w′) / η from the updated weights w′ it prints, \
             η = {}.",
            hand.source, hand.learning_rate
        ));
    }
    out.push_str("\n\n");
    for variant in distinct(&data.gradients, |g| g.variant.clone()) {
        let rows: Vec<_> = data
            .gradients
            .iter()
            .filter(|g| g.variant == variant)
            .collect();
        let backends = distinct(&rows, |g| g.backend.clone());
        let seed_of = |backend: &str| rows.iter().find(|g| g.backend == backend).map(|g| g.seed);
        let params = distinct(&rows, |g| (g.layer, g.tensor.clone(), g.index));
        if data.gradients.iter().any(|g| g.variant != variant) {
            out.push_str(&format!("### {variant}\n\n"));
        }
        out.push_str("| parameter | hand |");
        for backend in &backends {
            out.push_str(&format!(" {backend} |"));
        }
        out.push_str(&format!("\n|---|---|{}\n", "---|".repeat(backends.len())));
        let mut largest = vec![None::<f64>; backends.len()];
        for (layer, tensor, index) in &params {
            let known = hand.and_then(|h| {
                h.parameters
                    .iter()
                    .find(|p| p.layer == *layer && p.tensor == tensor.as_str() && p.index == *index)
                    .map(|p| (p.name, p.gradient(h.learning_rate)))
            });
            let label = match known {
                Some((name, _)) => format!("{layer}.{tensor}[{index}] ({name})"),
                None => format!("{layer}.{tensor}[{index}]"),
            };
            out.push_str(&format!(
                "| {label} | {} |",
                known.map_or("–".to_string(), |(_, g)| gradient_text(g))
            ));
            for (column, backend) in backends.iter().enumerate() {
                let value = rows.iter().find(|g| {
                    g.backend == *backend
                        && Some(g.seed) == seed_of(backend)
                        && g.layer == *layer
                        && g.tensor == *tensor
                        && g.index == *index
                });
                match value {
                    Some(g) => {
                        out.push_str(&format!(" {} |", gradient_text(g.gradient)));
                        if let Some((_, h)) = known {
                            let d = (g.gradient - h).abs();
                            largest[column] = Some(largest[column].map_or(d, |l: f64| l.max(d)));
                        }
                    }
                    None => out.push_str(" – |"),
                }
            }
            out.push('\n');
        }
        out.push('\n');
        if let Some(hand) = hand {
            let parts: Vec<String> = backends
                .iter()
                .zip(&largest)
                .filter_map(|(b, d)| d.map(|d| format!("{b} {d:.1e}")))
                .collect();
            out.push_str(&format!(
                "Largest |gradient − hand value| (tolerance {:.0e}): {}.\n\n",
                hand.tolerance,
                parts.join(", ")
            ));
            let losses: Vec<String> = backends
                .iter()
                .filter_map(|b| {
                    let epoch = data.epochs.iter().find(|e| {
                        e.variant == variant && e.backend == *b && Some(e.seed) == seed_of(b)
                    })?;
                    Some(format!("{b} {:.9}", epoch.step_loss))
                })
                .collect();
            out.push_str(&format!(
                "Loss of the step as each backend computed it (`step_loss`): {}; the hand \
                 computation's: {:.9}.\n\n",
                losses.join(", "),
                hand.loss
            ));
        }
    }
}

/// The whole `report.md`.
pub fn render(data: &RunData, context: &Context, plots: &[Plot]) -> String {
    let scenario = context.scenario.as_ref();
    let mut out = format!(
        "# {}\n\n{}\n\n",
        text(scenario.and_then(|s| s.get("name"))),
        text(scenario.and_then(|s| s.get("description")))
    );
    if let Some(section) = scenario.and_then(|s| s.get("course_section")) {
        out.push_str(&format!("Course section: {}\n\n", text(Some(section))));
    }
    summary(&mut out, data);
    gradients(&mut out, data, &text(scenario.and_then(|s| s.get("name"))));
    dead_units(&mut out, data);
    if !plots.is_empty() {
        out.push_str("## Plots\n\n");
        for plot in plots {
            out.push_str(&format!(
                "### {}\n\n![{}](plots/{})\n\n",
                plot.title, plot.title, plot.file
            ));
        }
    }
    if let Some(scenario) = scenario {
        what_was_run(&mut out, scenario);
    }
    if let Some(env) = &context.environment {
        environment(&mut out, env);
    }
    out.push_str(
        "## Files\n\n`summary.csv` (the summary), `units.csv` (one row per seed), `epochs.csv` \
         (one row per epoch), `grad_norms.csv` (per-layer gradient norms, when recorded), \
         `dead_units.csv` (per-layer shares of dead units, when recorded), `gradients.csv` \
         (one step's gradients, when recorded), \
         `boundary.csv` and `points.csv` (2-D datasets: predictions on a grid, and the \
         examples), `plots/` (these pictures), `scenario.toml` and `scenario.resolved.json` \
         (what was run), `environment.json` (where). `nnbench report <this folder>` \
         regenerates this file and the plots from those files.\n",
    );
    out
}
