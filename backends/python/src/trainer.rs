//! The Rust side of a Python trainer: checks what the harness hands over, ships it to the
//! worker and turns the replies back into the harness's types.

use std::cell::RefCell;

use nnbench_core::baseline::BaselineTask;
use nnbench_core::metrics::encode_targets;
use nnbench_core::spec::{BatchSize, InitScheme, RunSpec};
use nnbench_core::weights::Tensor;
use nnbench_core::{
    BackendError, Batch, Network, StepStats, Trainer, TrainerSetup, TrainingSplit, Weights,
};
use serde_json::{Map, Value, json};

use crate::Framework;
use crate::protocol::{ArrayRef, Message};
use crate::worker::{CheckedOut, Worker, error};

/// Row steps sent before the first one's reply is read: while the worker computes a step, the
/// next requests already wait in its input, so it never waits on a round trip (≈ 0.2 ms on
/// the 2-core machine), and since it flushes its replies only when its input is empty, this
/// process is woken once per run of steps rather than once per step (at 2 threads a wake-up
/// per step preempted one of the framework's threads). Sixteen requests of a 128-row batch
/// take 8.4 KB of the pipe's 64 KB; a divergence is seen at most this many steps late.
const STEPS_AHEAD: usize = 16;

pub struct PythonTrainer {
    framework: Framework,
    network: Network,
    /// `weights(&self)` also talks to the worker.
    worker: RefCell<CheckedOut>,
    /// Rows of the training split the worker keeps, once it keeps one.
    split_rows: Option<usize>,
    /// The current step's row indices, reused from step to step.
    row_indices: Vec<u32>,
}

impl PythonTrainer {
    pub fn new(
        framework: Framework,
        setup: &TrainerSetup<'_>,
    ) -> Result<PythonTrainer, BackendError> {
        let network = setup.network.clone();
        if let Some(init) = setup.init {
            for tensor in &Weights::zeros_for(&network).tensors {
                init.expect(&tensor.name, &tensor.shape)
                    .map_err(BackendError::WeightsMismatch)?;
            }
        }
        let mut worker = Worker::check_out(framework, setup.threads)?;
        let mut fields = Map::new();
        fields.insert("spec".into(), spec_json(setup.run, &network)?);
        fields.insert("seed".into(), json!(setup.seed));
        fields.insert("has_init".into(), json!(setup.init.is_some()));
        let tensors = setup.init.map_or(&[][..], |init| &init.tensors[..]);
        let arrays: Vec<(&str, &[usize], ArrayRef<'_>)> = tensors
            .iter()
            .map(|t| (t.name.as_str(), &t.shape[..], ArrayRef::F32(&t.data)))
            .collect();
        worker.request("build", fields, &arrays)?;
        Ok(PythonTrainer {
            framework,
            network,
            worker: RefCell::new(worker),
            split_rows: None,
            row_indices: Vec::new(),
        })
    }

    fn fail(&self, message: impl Into<String>) -> BackendError {
        error(self.framework, message)
    }

    /// The loss (and gradient norms) of a `train` or `train_rows` reply.
    fn step_stats(&self, mut reply: Message) -> Result<StepStats, BackendError> {
        let loss = reply
            .take("loss")
            .map(|a| a.into_f32())
            .and_then(|values| values.first().copied())
            .ok_or_else(|| self.fail("the worker's train reply has no loss"))?;
        let grad_norms = reply.take("grad_norms").map(|a| a.into_f32());
        Ok(StepStats { loss, grad_norms })
    }
}

impl Trainer for PythonTrainer {
    fn train_batch(
        &mut self,
        batch: &Batch<'_>,
        learning_rate: f32,
    ) -> Result<StepStats, BackendError> {
        batch.check(&self.network).map_err(|m| self.fail(m))?;
        let (rows, features, outputs) = (batch.rows, batch.features, self.network.outputs);
        let mut fields = Map::new();
        fields.insert("lr".into(), json!(learning_rate));
        let arrays = [
            (
                "x",
                &[rows, features][..],
                ArrayRef::F32(&batch.inputs[..rows * features]),
            ),
            ("labels", &[rows][..], ArrayRef::U32(&batch.labels[..rows])),
            (
                "targets",
                &[rows, outputs][..],
                ArrayRef::F32(&batch.targets[..rows * outputs]),
            ),
        ];
        let reply = self.worker.get_mut().request("train", fields, &arrays)?;
        self.step_stats(reply)
    }

    /// The split goes over once; each step then sends only its row indices (what a framework's
    /// own script does: its dataset sits in its process, and each step indexes it).
    fn keep_training_split(&mut self, split: &TrainingSplit<'_>) -> Result<bool, BackendError> {
        let (rows, features, outputs) = (split.rows, split.features, self.network.outputs);
        if split.inputs.len() != rows * features
            || split.labels.len() != rows
            || split.targets.len() != rows * outputs
        {
            return Err(self.fail(format!(
                "the training split has {} inputs, {} labels and {} targets for {rows} rows of \
                 {features} features and {outputs} outputs",
                split.inputs.len(),
                split.labels.len(),
                split.targets.len()
            )));
        }
        let arrays = [
            ("x", &[rows, features][..], ArrayRef::F32(split.inputs)),
            ("labels", &[rows][..], ArrayRef::U32(split.labels)),
            (
                "targets",
                &[rows, outputs][..],
                ArrayRef::F32(split.targets),
            ),
        ];
        self.worker
            .get_mut()
            .request("keep_split", Map::new(), &arrays)?;
        self.split_rows = Some(rows);
        Ok(true)
    }

    fn train_rows(
        &mut self,
        rows: &[usize],
        learning_rate: f32,
    ) -> Result<StepStats, BackendError> {
        self.send_rows(rows, learning_rate)?;
        self.receive_step()
    }

    fn rows_ahead(&self) -> usize {
        STEPS_AHEAD
    }

    fn send_rows(&mut self, rows: &[usize], learning_rate: f32) -> Result<(), BackendError> {
        let kept = self
            .split_rows
            .ok_or_else(|| self.fail("train_rows before the training split was kept"))?;
        self.row_indices.clear();
        for &row in rows {
            match u32::try_from(row) {
                Ok(index) if row < kept => self.row_indices.push(index),
                _ => {
                    return Err(self.fail(format!(
                        "row {row} is outside the kept training split of {kept} rows"
                    )));
                }
            }
        }
        self.worker
            .get_mut()
            .send_row_step(learning_rate, &self.row_indices)
    }

    fn receive_step(&mut self) -> Result<StepStats, BackendError> {
        let reply = self.worker.get_mut().receive()?;
        self.step_stats(reply)
    }

    fn predict(&mut self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError> {
        let features = self.network.inputs;
        self.network
            .check_inputs(inputs.len(), rows, features)
            .map_err(|m| self.fail(m))?;
        let arrays = [(
            "x",
            &[rows, features][..],
            ArrayRef::F32(&inputs[..rows * features]),
        )];
        let mut reply = self
            .worker
            .get_mut()
            .request("predict", Map::new(), &arrays)?;
        let outputs = reply
            .take("outputs")
            .map(|a| a.into_f32())
            .ok_or_else(|| self.fail("the worker's predict reply has no outputs"))?;
        if outputs.len() != rows * self.network.outputs {
            return Err(self.fail(format!(
                "predict returned {} values for {rows} rows of {} outputs",
                outputs.len(),
                self.network.outputs
            )));
        }
        Ok(outputs)
    }

    fn weights(&self) -> Result<Weights, BackendError> {
        let reply: Message = self
            .worker
            .try_borrow_mut()
            .map_err(|_| self.fail("the worker is busy"))?
            .request("weights", Map::new(), &[])?;
        let tensors = reply
            .arrays
            .into_iter()
            .map(|array| Tensor {
                name: array.name.clone(),
                shape: array.shape.clone(),
                data: array.into_f32(),
            })
            .collect();
        Ok(Weights { tensors })
    }
}

/// `{"run": ..., "network": ...}`, as the Python modules read them.
fn spec_json(run: &RunSpec, network: &Network) -> Result<Value, BackendError> {
    let to_json = |what: &str, value: serde_json::Result<Value>| {
        value.map_err(|e| BackendError::Framework {
            framework: "nnbench-python",
            message: format!("cannot encode the {what}: {e}"),
        })
    };
    Ok(json!({
        "run": to_json("run", serde_json::to_value(run))?,
        "network": to_json("network", serde_json::to_value(network))?,
    }))
}

/// The loop a user of `framework` writes for the bench's model, run in a worker of its own;
/// the seconds of its epoch, measured in Python (model build excluded).
pub fn hand_written_epoch(
    framework: Framework,
    task: &BaselineTask<'_>,
) -> Result<f64, BackendError> {
    let mut run = task.run.clone();
    run.optimizer.learning_rate = task.learning_rate;
    run.init.weights = InitScheme::FrameworkDefault;
    run.training.batch = BatchSize::Size(task.batch_size);
    run.training.shuffle = true;
    run.training.record_grad_norms = false;
    run.threads = task.threads;
    let network = Network::for_run(&run, task.features, task.classes).map_err(|error| {
        BackendError::WeightsMismatch(format!("the model does not fit the data: {error}"))
    })?;
    let rows = task.rows();
    let targets = encode_targets(task.labels, network.outputs);
    let mut worker = Worker::start(framework, task.threads)?;
    let mut fields = Map::new();
    fields.insert("spec".into(), spec_json(&run, &network)?);
    fields.insert("seed".into(), json!(task.seed));
    fields.insert("batch_size".into(), json!(task.batch_size));
    fields.insert("lr".into(), json!(task.learning_rate));
    let arrays = [
        (
            "x",
            &[rows, task.features][..],
            ArrayRef::F32(&task.inputs[..rows * task.features]),
        ),
        ("labels", &[rows][..], ArrayRef::U32(task.labels)),
        (
            "targets",
            &[rows, network.outputs][..],
            ArrayRef::F32(&targets),
        ),
    ];
    let reply = worker.request("hand_written_epoch", fields, &arrays)?;
    reply
        .header
        .get("seconds")
        .and_then(Value::as_f64)
        .ok_or_else(|| error(framework, "the worker's epoch reply has no seconds"))
}

/// The tiny net's loop as a user of `framework` writes it (2-`hidden`-1 tanh, SGD, sigmoid
/// cross-entropy, the whole set each step), in a worker of its own; the seconds of all
/// `task.steps` steps, measured in Python (model build excluded).
pub fn hand_written_tiny_steps(
    framework: Framework,
    task: &nnbench_core::baseline::TinyTask<'_>,
) -> Result<f64, BackendError> {
    let rows = task.rows();
    let mut worker = Worker::check_out(framework, task.threads)?;
    let mut fields = Map::new();
    fields.insert("hidden".into(), json!(task.hidden));
    fields.insert("steps".into(), json!(task.steps));
    fields.insert("seed".into(), json!(task.seed));
    fields.insert("lr".into(), json!(task.learning_rate));
    let arrays = [
        (
            "x",
            &[rows, task.features][..],
            ArrayRef::F32(&task.inputs[..rows * task.features]),
        ),
        ("targets", &[rows, 1][..], ArrayRef::F32(task.targets)),
    ];
    let reply = worker.request("hand_written_tiny_steps", fields, &arrays)?;
    reply
        .header
        .get("seconds")
        .and_then(Value::as_f64)
        .ok_or_else(|| error(framework, "the worker's tiny-steps reply has no seconds"))
}
