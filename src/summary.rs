//! Aggregating units into one row per variant and backend (mean and spread over seeds), and
//! showing those rows as a terminal table and a Markdown report.

use nnbench_core::train::Status;

use crate::results::UnitRecord;

#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub variant: String,
    pub backend: String,
    /// `ok` when every seed ended ok, else the first other status met.
    pub status: Status,
    pub seeds: usize,
    /// Mean over seeds of the epochs trained.
    pub epochs_run: f64,
    /// Mean over the seeds that produced a test score.
    pub test_accuracy: Option<f64>,
    /// Sample standard deviation over those seeds (0 for one seed).
    pub test_accuracy_std: Option<f64>,
    /// Mean over seeds of the last epoch's training loss.
    pub final_train_loss: Option<f64>,
    /// Median over every epoch of every seed.
    pub epoch_s_median: Option<f64>,
    pub reason: Option<String>,
}

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
        seeds: group.len(),
        epochs_run: mean(&epochs).unwrap_or(0.0),
        test_accuracy: mean(&accuracies),
        test_accuracy_std: std_dev(&accuracies),
        final_train_loss: mean(&final_losses),
        epoch_s_median: median(&epoch_times),
        reason: failing.and_then(|u| u.outcome.reason.clone()),
    }
}

pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Sample standard deviation; 0 for a single value.
pub fn std_dev(values: &[f64]) -> Option<f64> {
    let mean = mean(values)?;
    if values.len() < 2 {
        return Some(0.0);
    }
    let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    Some((squares / (values.len() - 1) as f64).sqrt())
}

pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    })
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
        row.reason.clone().unwrap_or_default(),
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

/// The same table in Markdown.
pub fn markdown_table(rows: &[SummaryRow]) -> String {
    let mut out = format!("| {} |\n|{}\n", COLUMNS.join(" | "), "---|".repeat(7));
    for row in rows {
        let cells = cells(row).map(|cell| cell.replace('|', "\\|"));
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(std_dev(&[1.0]), Some(0.0));
        assert!((std_dev(&[1.0, 3.0]).unwrap() - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(mean(&[]), None);
    }
}
