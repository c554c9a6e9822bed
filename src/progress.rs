//! Terminal progress: a bar per unit and per download when stderr is a terminal, and plain
//! lines (one per epoch, one per unit) when it is not, so logs of long runs still show life.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use nnbench_core::data::fetch::FetchProgress;
use nnbench_core::train::{EpochRecord, Observer, StepEvent, UnitOutcome};

use crate::run_folder::UnitRecord;
use crate::sink::Sink;
use crate::stats;

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bars on a terminal.
    Bars,
    /// One line per epoch and per unit.
    Lines,
    /// Nothing (tests).
    Silent,
}

impl Mode {
    pub fn detect() -> Mode {
        if std::io::stderr().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

/// Progress of a run's units: hands each unit a [`ProgressSink`]. Units run side by side
/// (`--jobs`) on a terminal get a bar each, one line per bar, redrawn together; as plain lines,
/// each line names its unit.
pub struct RunProgress {
    mode: Mode,
    bars: Option<MultiProgress>,
}

impl RunProgress {
    pub fn new(mode: Mode, jobs: usize) -> RunProgress {
        RunProgress {
            mode,
            bars: (mode == Mode::Bars && jobs > 1).then(MultiProgress::new),
        }
    }

    /// The progress of one unit.
    pub fn for_unit(&self) -> ProgressSink {
        ProgressSink {
            mode: self.mode,
            label: String::new(),
            epochs: 0,
            bar: None,
            bars: self.bars.clone(),
        }
    }
}

/// Progress of one unit: a bar on a terminal, else a line per epoch, and a line when it ends
/// with its status, test accuracy and epoch time.
pub struct ProgressSink {
    mode: Mode,
    label: String,
    epochs: usize,
    bar: Option<ProgressBar>,
    /// The bars of the units running side by side, this one's among them.
    bars: Option<MultiProgress>,
}

impl Observer for ProgressSink {
    fn step_finished(&mut self, event: &StepEvent) {
        Sink::step_finished(self, event);
    }

    fn epoch_finished(&mut self, record: &EpochRecord) {
        Sink::epoch_finished(self, record);
    }
}

impl Sink for ProgressSink {
    fn unit_started(&mut self, label: &str, epochs: usize) {
        self.label = label.to_string();
        self.epochs = epochs;
    }

    fn step_finished(&mut self, event: &StepEvent) {
        if self.mode != Mode::Bars {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new((self.epochs * event.steps_per_epoch) as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {percent:>3}% {msg} ({elapsed}, eta {eta})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(self.label.clone());
            match &self.bars {
                Some(bars) => bars.add(bar),
                None => bar,
            }
        });
        bar.inc(1);
        if event.step == 1 || event.step == event.steps_per_epoch {
            bar.set_message(format!(
                "epoch {}/{} loss {:.4}",
                event.epoch, self.epochs, event.loss
            ));
        }
    }

    fn epoch_finished(&mut self, record: &EpochRecord) {
        if self.mode == Mode::Lines {
            eprintln!(
                "  {} epoch {}/{}: train_loss {:.4} train_accuracy {:.4}{} ({:.2} s)",
                self.label,
                record.epoch,
                self.epochs,
                record.train_loss,
                record.train_accuracy,
                record
                    .val_accuracy
                    .map(|a| format!(" val_accuracy {a:.4}"))
                    .unwrap_or_default(),
                record.epoch_s
            );
        }
    }

    fn unit_finished(&mut self, unit: &UnitRecord) -> anyhow::Result<()> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            if let Some(bars) = &self.bars {
                bars.remove(&bar);
            }
        }
        match (&self.bars, self.mode) {
            (_, Mode::Silent) => {}
            // Printed above the bars of the units still running.
            (Some(bars), _) => {
                let _ = bars.println(unit_line(&self.label, &unit.outcome));
            }
            (None, _) => eprintln!("{}", unit_line(&self.label, &unit.outcome)),
        }
        Ok(())
    }
}

/// A finished unit in one line: status, test accuracy, epochs and seconds per epoch, reason.
fn unit_line(label: &str, outcome: &UnitOutcome) -> String {
    let mut line = format!("{label}: {}", outcome.status.name());
    if let Some(test) = outcome.test {
        line.push_str(&format!(", test_accuracy {:.4}", test.accuracy));
    }
    let times: Vec<f64> = outcome.epochs.iter().map(|e| e.epoch_s).collect();
    if let Some(epoch_s) = stats::median(&times) {
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

/// Progress of dataset downloads.
pub struct DownloadProgress {
    mode: Mode,
    bar: std::cell::RefCell<Option<ProgressBar>>,
}

impl DownloadProgress {
    pub fn new(mode: Mode) -> DownloadProgress {
        DownloadProgress {
            mode,
            bar: std::cell::RefCell::new(None),
        }
    }
}

impl FetchProgress for DownloadProgress {
    fn begin(&self, what: &str, total_bytes: Option<u64>) {
        match self.mode {
            Mode::Silent => {}
            Mode::Lines => eprintln!("downloading {what}"),
            Mode::Bars => {
                let bar = match total_bytes {
                    Some(total) => ProgressBar::new(total),
                    None => ProgressBar::new_spinner(),
                };
                bar.set_draw_target(ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                bar.set_prefix(what.to_string());
                bar.enable_steady_tick(Duration::from_millis(200));
                *self.bar.borrow_mut() = Some(bar);
            }
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = &*self.bar.borrow() {
            bar.inc(bytes);
        }
    }

    fn end(&self) {
        if let Some(bar) = self.bar.borrow_mut().take() {
            bar.finish_and_clear();
        }
    }

    fn note(&self, message: &str) {
        if self.mode != Mode::Silent {
            match &*self.bar.borrow() {
                Some(bar) => bar.println(message),
                None => eprintln!("{message}"),
            }
        }
    }
}
