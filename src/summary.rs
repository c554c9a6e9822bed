//! Aggregating units into one row per variant and backend (mean and spread over seeds), and
//! showing those rows as a table on the terminal (`report.md` has its own, richer one).

use nnbench_core::train::Status;

use crate::run_folder::{SummaryRow, UnitRecord};
use crate::stats::{mean, median, std_dev};

/// One row per (variant, backend), in the order units first appear.
pub fn summarize(units: &[UnitRecord]) -> Vec<SummaryRow> {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for unit in units {
        let key = (unit.variant.as_str(), unit.backend.as_str());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|(variant, backend)| {
            let group: Vec<&UnitRecord> = units
                .iter()
                .filter(|u| u.variant == variant && u.backend == backend)
                .collect();
            summarize_group(variant, backend, &group)
        })
        .collect()
}

fn summarize_group(variant: &str, backend: &str, group: &[&UnitRecord]) -> SummaryRow {
    let failing = group.iter().find(|u| u.outcome.status != Status::Ok);
    let accuracies: Vec<f64> = group
        .iter()
        .filter_map(|u| u.outcome.test.map(|t| t.accuracy))
        .collect();
    let final_losses: Vec<f64> = group
        .iter()
        .filter_map(|u| u.outcome.epochs.last().map(|e| e.train_loss))
        .collect();
    let epoch_times: Vec<f64> = group
        .iter()
        .flat_map(|u| u.outcome.epochs.iter().map(|e| e.epoch_s))
        .collect();
    let epochs: Vec<f64> = group
        .iter()
        .map(|u| u.outcome.epochs.len() as f64)
        .collect();
    SummaryRow {
        variant: variant.to_string(),
        backend: backend.to_string(),
        status: failing.map_or(Status::Ok, |u| u.outcome.status),
        seeds: group.len() as u64,
        epochs_run: mean(&epochs).unwrap_or(0.0),
        test_accuracy: mean(&accuracies),
        test_accuracy_std: std_dev(&accuracies),
        final_train_loss: mean(&final_losses),
        epoch_s_median: median(&epoch_times),
        jobs: group.iter().map(|u| u.jobs).max().unwrap_or(1),
        reason: failing
            .and_then(|u| u.outcome.reason.clone())
            .unwrap_or_default(),
    }
}

/// What the times of `rows` are worth when some units ran side by side (`--jobs`): `None`
/// when every unit ran alone.
pub fn jobs_note(rows: &[SummaryRow]) -> Option<String> {
    let most = rows
        .iter()
        .map(|row| row.jobs)
        .max()
        .filter(|&jobs| jobs > 1)?;
    Some(format!(
        "epoch_s: measured with up to {most} units running side by side (--jobs {most}), \
         sharing the machine: not the time of a unit alone (the `jobs` column of every CSV \
         file says which rows)"
    ))
}

const COLUMNS: [&str; 7] = [
    "variant",
    "backend",
    "status",
    "test_accuracy",
    "final_train_loss",
    "epoch_s",
    "reason",
];

fn cells(row: &SummaryRow) -> [String; 7] {
    let accuracy = match (row.test_accuracy, row.test_accuracy_std) {
        (Some(mean), Some(std)) if row.seeds > 1 => format!("{mean:.4} ± {std:.4}"),
        (Some(mean), _) => format!("{mean:.4}"),
        _ => "-".into(),
    };
    [
        row.variant.clone(),
        row.backend.clone(),
        row.status.name().to_string(),
        accuracy,
        row.final_train_loss
            .map_or("-".into(), |loss| format!("{loss:.4}")),
        row.epoch_s_median.map_or("-".into(), |s| format!("{s:.3}")),
        row.reason.clone(),
    ]
}

/// A plain-text table for the terminal.
pub fn terminal_table(rows: &[SummaryRow]) -> String {
    let body: Vec<[String; 7]> = rows.iter().map(cells).collect();
    let mut widths = COLUMNS.map(|c| c.chars().count());
    for row in &body {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(&COLUMNS.map(String::from));
    out.push('\n');
    for row in &body {
        out.push_str(&line(row));
        out.push('\n');
    }
    out
}
