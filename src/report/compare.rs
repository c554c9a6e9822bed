//! `nnbench compare <run-a> <run-b>`: what changed per (variant, backend) between two runs,
//! read from their `summary.csv` files.

use std::path::Path;

use crate::run_folder::read::read_table;
use crate::run_folder::{RunFolderError, SummaryRow};

/// One (variant, backend) of either run.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub variant: String,
    pub backend: String,
    pub a: Option<SummaryRow>,
    pub b: Option<SummaryRow>,
}

/// Every (variant, backend) of run `a` in its order, then those only in `b`.
pub fn compare(a: &Path, b: &Path) -> Result<Vec<Change>, RunFolderError> {
    let a_rows = read_table::<SummaryRow>(a, true)?.unwrap_or_default();
    let b_rows = read_table::<SummaryRow>(b, true)?.unwrap_or_default();
    let find = |rows: &[SummaryRow], variant: &str, backend: &str| {
        rows.iter()
            .find(|r| r.variant == variant && r.backend == backend)
            .cloned()
    };
    let mut changes: Vec<Change> = a_rows
        .iter()
        .map(|row| Change {
            variant: row.variant.clone(),
            backend: row.backend.clone(),
            a: Some(row.clone()),
            b: find(&b_rows, &row.variant, &row.backend),
        })
        .collect();
    for row in &b_rows {
        if find(&a_rows, &row.variant, &row.backend).is_none() {
            changes.push(Change {
                variant: row.variant.clone(),
                backend: row.backend.clone(),
                a: None,
                b: Some(row.clone()),
            });
        }
    }
    Ok(changes)
}

fn value(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

impl Change {
    /// The table cells: variant, backend, status, test accuracy (Δ), epoch_s (ratio), note.
    pub fn cells(&self) -> [String; 6] {
        let (a, b) = (self.a.as_ref(), self.b.as_ref());
        let status = match (a, b) {
            (Some(a), Some(b)) if a.status == b.status => a.status.name().to_string(),
            (Some(a), Some(b)) => format!("{} → {}", a.status.name(), b.status.name()),
            (Some(a), None) => a.status.name().to_string(),
            (None, Some(b)) => b.status.name().to_string(),
            (None, None) => "-".into(),
        };
        let accuracy = match (
            a.and_then(|r| r.test_accuracy),
            b.and_then(|r| r.test_accuracy),
        ) {
            (Some(x), Some(y)) => format!("{x:.4} → {y:.4} ({:+.4})", y - x),
            (x, y) => format!("{} → {}", value(x, 4), value(y, 4)),
        };
        let time = match (
            a.and_then(|r| r.epoch_s_median),
            b.and_then(|r| r.epoch_s_median),
        ) {
            (Some(x), Some(y)) if x > 0.0 => format!("{x:.4} → {y:.4} (×{:.2})", y / x),
            (x, y) => format!("{} → {}", value(x, 4), value(y, 4)),
        };
        let mut notes = Vec::new();
        match (a, b) {
            (Some(_), None) => notes.push("only in a".to_string()),
            (None, Some(_)) => notes.push("only in b".to_string()),
            _ => {}
        }
        // A time measured with units side by side is not a unit's time alone.
        for (name, row) in [("a", a), ("b", b)] {
            if let Some(row) = row.filter(|row| row.jobs > 1) {
                notes.push(format!("{name}'s epoch_s under --jobs {}", row.jobs));
            }
        }
        let note = notes.join("; ");
        [
            self.variant.clone(),
            self.backend.clone(),
            status,
            accuracy,
            time,
            note,
        ]
    }
}

const COLUMNS: [&str; 6] = [
    "variant",
    "backend",
    "status",
    "test_accuracy a → b (Δ)",
    "epoch_s_median a → b (ratio)",
    "note",
];

/// The comparison as an aligned plain-text table.
pub fn table(changes: &[Change]) -> String {
    let body: Vec<[String; 6]> = changes.iter().map(Change::cells).collect();
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
            .map(|(cell, width)| {
                let pad = width.saturating_sub(cell.chars().count());
                format!("{cell}{}", " ".repeat(pad))
            })
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
