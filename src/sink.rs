//! Where a run's results go while it runs: the runner emits every event to a list of
//! [`Sink`]s, and each sink keeps what it is for. The CSV files ([`CsvSink`], here), the
//! terminal progress (`progress::ProgressSink`) and the report (`report::ReportSink`) are the
//! implementations, each beside what it writes; a new output is a new sink, not a change to
//! the runner. A unit's own events (it started, its steps and epochs) go to its progress on the
//! thread that runs it; finished units reach the other sinks in unit order, whether units ran
//! one at a time or side by side (`--jobs`).

use anyhow::Result;
use nnbench_core::data::Dataset;
use nnbench_core::train::{EpochRecord, Observer, StepEvent};

use crate::run_folder::boundary::Probe;
use crate::run_folder::{RunWriter, SummaryRow, UnitRecord};

/// One consumer of a run's events. Every method has a default that does nothing.
pub trait Sink: Send {
    /// Once per variant, before any unit runs (units of several variants may run side by
    /// side): its units will run on `dataset`; `probe` is the grid its 2-D networks will be
    /// probed on.
    fn variant_started(
        &mut self,
        _variant: &str,
        _dataset: &Dataset,
        _probe: Option<&Probe>,
    ) -> Result<()> {
        Ok(())
    }

    /// A unit starts: `label` names it for people, `epochs` is how many it may train.
    fn unit_started(&mut self, _label: &str, _epochs: usize) {}

    /// A training step of the unit in progress ended.
    fn step_finished(&mut self, _event: &StepEvent) {}

    /// An epoch of the unit in progress ended (after its evaluation).
    fn epoch_finished(&mut self, _record: &EpochRecord) {}

    /// A unit ended, whatever its status.
    fn unit_finished(&mut self, _unit: &UnitRecord) -> Result<()> {
        Ok(())
    }

    /// Every unit of this run ended; `summary` covers every finished unit of the folder
    /// (those of earlier attempts of a resumed run too).
    fn run_finished(&mut self, _summary: &[SummaryRow]) -> Result<()> {
        Ok(())
    }
}

/// Several sinks as one, in order: an event reaches each sink before the next. It is also the
/// observer the core loop reports steps and epochs to.
pub struct Fanout<'a>(pub Vec<&'a mut dyn Sink>);

impl Sink for Fanout<'_> {
    fn variant_started(
        &mut self,
        variant: &str,
        dataset: &Dataset,
        probe: Option<&Probe>,
    ) -> Result<()> {
        self.0
            .iter_mut()
            .try_for_each(|sink| sink.variant_started(variant, dataset, probe))
    }

    fn unit_started(&mut self, label: &str, epochs: usize) {
        for sink in &mut self.0 {
            sink.unit_started(label, epochs);
        }
    }

    fn step_finished(&mut self, event: &StepEvent) {
        for sink in &mut self.0 {
            sink.step_finished(event);
        }
    }

    fn epoch_finished(&mut self, record: &EpochRecord) {
        for sink in &mut self.0 {
            sink.epoch_finished(record);
        }
    }

    fn unit_finished(&mut self, unit: &UnitRecord) -> Result<()> {
        self.0
            .iter_mut()
            .try_for_each(|sink| sink.unit_finished(unit))
    }

    fn run_finished(&mut self, summary: &[SummaryRow]) -> Result<()> {
        self.0
            .iter_mut()
            .try_for_each(|sink| sink.run_finished(summary))
    }
}

impl Observer for Fanout<'_> {
    fn step_finished(&mut self, event: &StepEvent) {
        Sink::step_finished(self, event);
    }

    fn epoch_finished(&mut self, record: &EpochRecord) {
        Sink::epoch_finished(self, record);
    }
}

/// The run folder's CSV files: every unit's rows appended as soon as it ends, `points.csv`
/// per 2-D variant, `summary.csv` at the end.
pub struct CsvSink {
    writer: RunWriter,
    /// Each 2-D variant's probe grid, by variant name.
    probes: Vec<(String, Probe)>,
}

impl CsvSink {
    pub fn new(writer: RunWriter) -> CsvSink {
        CsvSink {
            writer,
            probes: Vec::new(),
        }
    }
}

impl Sink for CsvSink {
    fn variant_started(
        &mut self,
        variant: &str,
        dataset: &Dataset,
        probe: Option<&Probe>,
    ) -> Result<()> {
        if let Some(probe) = probe {
            self.probes.push((variant.to_string(), probe.clone()));
        }
        self.writer.points(variant, dataset)
    }

    fn unit_finished(&mut self, unit: &UnitRecord) -> Result<()> {
        let probe = self
            .probes
            .iter()
            .find(|(variant, _)| *variant == unit.variant)
            .map(|(_, probe)| probe);
        self.writer.record(unit, probe)
    }

    fn run_finished(&mut self, summary: &[SummaryRow]) -> Result<()> {
        self.writer.summary(summary)
    }
}
