//! The shared loop, driven with a scripted backend: batch order, learning rates, divergence,
//! failures, early stopping and step limits are the harness's job, so they are tested here
//! once for every backend.

use std::sync::{Arc, Mutex};

use nnbench_core::capability::{Capability, Category, Support};
use nnbench_core::data::{Dataset, Split};
use nnbench_core::spec::*;
use nnbench_core::train::{self, Quiet, Status, UnitRequest};
use nnbench_core::{
    Backend, BackendError, Batch, StepStats, Trainer, TrainerSetup, TrainingSplit, Weights,
};

/// What the scripted trainer saw.
#[derive(Default, Debug)]
struct Log {
    batches: Vec<Vec<u32>>,
    rates: Vec<f32>,
    init: Option<Weights>,
    /// Each gathered batch's inputs.
    inputs: Vec<Vec<f32>>,
    /// The inputs of each `predict` call.
    predicted: Vec<Vec<f32>>,
    /// Steps taken on row indices into a kept training split.
    row_steps: usize,
}

#[derive(Clone)]
struct Script {
    log: Arc<Mutex<Log>>,
    /// Loss reported at each step (repeats the last one when exhausted).
    losses: Vec<f32>,
    /// Validation outputs get worse with each epoch when set.
    worsening_predictions: bool,
    panic_at_step: Option<usize>,
    fail_build: bool,
    unsupported_adam: bool,
    /// Keeps the training split and takes this many row steps ahead (0: gathered batches).
    ahead: usize,
    /// Keeps the training split when offered (as the Python peers do), stepping on rows.
    keeps_split: bool,
}

impl Script {
    fn new() -> Script {
        Script {
            log: Arc::default(),
            losses: vec![0.5],
            worsening_predictions: false,
            panic_at_step: None,
            fail_build: false,
            unsupported_adam: false,
            ahead: 0,
            keeps_split: false,
        }
    }
}

impl Backend for Script {
    fn name(&self) -> &'static str {
        "script"
    }
    fn framework_version(&self) -> String {
        "script 1".into()
    }
    fn capabilities(&self) -> Vec<Capability> {
        let mut caps = vec![
            Capability::new(Category::Layer, "dense", Support::Framework),
            Capability::new(Category::Activation, "tanh", Support::Framework),
            Capability::new(Category::Head, "softmax_cross_entropy", Support::Framework),
            Capability::new(Category::Optimizer, "sgd", Support::Framework),
        ];
        caps.push(Capability::new(
            Category::Optimizer,
            "adam",
            if self.unsupported_adam {
                Support::Unsupported("no Adam here".into())
            } else {
                Support::Adapter
            },
        ));
        caps
    }
    fn build(&self, setup: &TrainerSetup<'_>) -> Result<Box<dyn Trainer>, BackendError> {
        if self.fail_build {
            return Err(BackendError::Framework {
                framework: "script",
                message: "no device".into(),
            });
        }
        self.log.lock().unwrap().init = setup.init.cloned();
        Ok(Box::new(ScriptTrainer {
            script: self.clone(),
            steps: 0,
            outputs: setup.network.outputs,
            kept_labels: Vec::new(),
            in_flight: std::collections::VecDeque::new(),
        }))
    }
}

struct ScriptTrainer {
    script: Script,
    steps: usize,
    outputs: usize,
    /// Labels of the kept training split, when the script keeps it.
    kept_labels: Vec<u32>,
    /// Steps sent ahead, not received yet.
    in_flight: std::collections::VecDeque<StepStats>,
}

impl ScriptTrainer {
    fn step(&mut self, labels: Vec<u32>, lr: f32) -> Result<StepStats, BackendError> {
        if self.script.panic_at_step == Some(self.steps) {
            panic!("scripted panic");
        }
        let mut log = self.script.log.lock().unwrap();
        log.batches.push(labels);
        log.rates.push(lr);
        let loss = *self
            .script
            .losses
            .get(self.steps)
            .or(self.script.losses.last())
            .unwrap();
        self.steps += 1;
        Ok(StepStats {
            loss,
            grad_norms: None,
        })
    }
}

impl Trainer for ScriptTrainer {
    fn train_batch(&mut self, batch: &Batch<'_>, lr: f32) -> Result<StepStats, BackendError> {
        assert_eq!(batch.inputs.len(), batch.rows * batch.features);
        assert_eq!(batch.targets.len(), batch.rows * self.outputs);
        self.script
            .log
            .lock()
            .unwrap()
            .inputs
            .push(batch.inputs.to_vec());
        self.step(batch.labels.to_vec(), lr)
    }

    fn keep_training_split(&mut self, split: &TrainingSplit<'_>) -> Result<bool, BackendError> {
        self.kept_labels = split.labels.to_vec();
        Ok(self.script.ahead > 0 || self.script.keeps_split)
    }

    fn train_rows(&mut self, rows: &[usize], lr: f32) -> Result<StepStats, BackendError> {
        assert!(
            self.in_flight.is_empty(),
            "a synchronous step behind steps in flight"
        );
        self.script.log.lock().unwrap().row_steps += 1;
        self.step(rows.iter().map(|&r| self.kept_labels[r]).collect(), lr)
    }

    fn rows_ahead(&self) -> usize {
        self.script.ahead
    }

    fn send_rows(&mut self, rows: &[usize], lr: f32) -> Result<(), BackendError> {
        assert!(
            self.in_flight.len() <= self.script.ahead,
            "more steps in flight than allowed"
        );
        let stats = self.step(rows.iter().map(|&r| self.kept_labels[r]).collect(), lr)?;
        self.in_flight.push_back(stats);
        Ok(())
    }

    fn receive_step(&mut self) -> Result<StepStats, BackendError> {
        Ok(self.in_flight.pop_front().expect("a step in flight"))
    }

    fn predict(&mut self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError> {
        assert!(self.in_flight.is_empty(), "predict with steps in flight");
        self.script
            .log
            .lock()
            .unwrap()
            .predicted
            .push(inputs.to_vec());
        // Predicts class 0 with a confidence that falls as training goes on when worsening.
        let p0 = if self.script.worsening_predictions {
            (0.9 - 0.1 * self.steps as f32).max(0.05)
        } else {
            0.9
        };
        let mut out = vec![(1.0 - p0) / (self.outputs - 1) as f32; rows * self.outputs];
        for row in 0..rows {
            out[row * self.outputs] = p0;
        }
        Ok(out)
    }

    fn weights(&self) -> Result<Weights, BackendError> {
        Ok(Weights::default())
    }
}

fn dataset(rows: usize) -> Dataset {
    let split = |rows: usize| Split {
        inputs: (0..rows * 2).map(|i| i as f32).collect(),
        labels: (0..rows as u32).map(|i| i % 3).collect(),
        rows,
    };
    let mut train = split(rows);
    // Labels carry the row index so batch order is visible in the log.
    train.labels = (0..rows as u32).collect();
    // Validation rows are all class 0, whose predicted probability only falls.
    let mut validation = split(6);
    validation.labels = vec![0; 6];
    Dataset {
        name: "toy".into(),
        features: 2,
        classes: rows.max(3),
        train,
        validation: Some(validation),
        test: split(6),
    }
}

/// The step-parity suite's run, changed into a shuffled 2-3-softmax tanh net trained by
/// SGD at rate 0.5 in batches of `batch`.
fn run_spec(batch: usize, epochs: usize) -> RunSpec {
    let hidden = vec![LayerSpec::Dense {
        units: 3,
        activation: Activation::Tanh,
    }];
    let mut run =
        nnbench_core::step_parity::run(hidden, OutputHead::SoftmaxCrossEntropy, OptimizerKind::Sgd);
    run.init.biases = InitScheme::Zeros;
    run.optimizer.learning_rate = 0.5;
    run.training.epochs = epochs;
    run.training.batch = BatchSize::Size(batch);
    run.training.shuffle = true;
    run.training.record_grad_norms = false;
    run.backends = vec!["script".into()];
    run
}

fn batches(script: &Script, run: &RunSpec, seed: u64) -> Vec<Vec<u32>> {
    let data = dataset(10);
    let outcome = train::run_unit(script, &UnitRequest::new(run, &data, seed), &mut Quiet);
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.reason);
    std::mem::take(&mut script.log.lock().unwrap().batches)
}

#[test]
fn batch_order_is_seeded_and_covers_every_row_each_epoch() {
    let run = run_spec(4, 2);
    let script = Script::new();
    let first = batches(&script, &run, 1);
    let again = batches(&script, &run, 1);
    let other = batches(&script, &run, 2);
    assert_eq!(first, again);
    assert_ne!(first, other);
    // 10 rows in batches of 4: 4, 4, 2 per epoch; every row once per epoch.
    assert_eq!(
        first.iter().map(Vec::len).collect::<Vec<_>>(),
        [4, 4, 2, 4, 4, 2]
    );
    for epoch in first.chunks(3) {
        let mut rows: Vec<u32> = epoch.concat();
        rows.sort_unstable();
        assert_eq!(rows, (0..10).collect::<Vec<_>>());
    }
    assert_ne!(first[..3], first[3..], "reshuffled each epoch");
}

#[test]
fn without_shuffle_rows_come_in_order_and_full_batch_is_one_step() {
    let mut run = run_spec(4, 1);
    run.training.shuffle = false;
    let script = Script::new();
    assert_eq!(batches(&script, &run, 0)[0], [0, 1, 2, 3]);
    run.training.batch = BatchSize::Full;
    assert_eq!(batches(&script, &run, 0), [(0..10).collect::<Vec<u32>>()]);
}

#[test]
fn the_harness_draws_the_init_and_passes_each_steps_rate() {
    let mut run = run_spec(5, 4);
    run.training.schedule = Schedule::Step {
        step_epochs: 2,
        gamma: 0.1,
    };
    let script = Script::new();
    batches(&script, &run, 3);
    let log = script.log.lock().unwrap();
    assert_eq!(log.rates, [0.5, 0.5, 0.5, 0.5, 0.05, 0.05, 0.05, 0.05]);
    let init = log.init.as_ref().expect("init handed over");
    let network = nnbench_core::Network::new(&run.model, 2, 10);
    assert_eq!(
        Some(init),
        nnbench_core::init::initial_weights(&network, &run.init, 3).as_ref()
    );
}

#[test]
fn a_nan_loss_ends_the_unit_as_diverged_keeping_earlier_epochs() {
    let run = run_spec(5, 5);
    let mut script = Script::new();
    script.losses = vec![1.0, 0.9, 0.8, 0.7, f32::NAN];
    let data = dataset(10);
    let outcome = train::run_unit(&script, &UnitRequest::new(&run, &data, 0), &mut Quiet);
    assert_eq!(outcome.status, Status::Diverged);
    assert_eq!(outcome.epochs.len(), 2);
    assert!(outcome.reason.unwrap().contains("epoch 3, step 1"));

    let mut run = run_spec(5, 5);
    run.training.divergence_loss = 0.75;
    script.losses = vec![0.5, 0.5, 0.9];
    let outcome = train::run_unit(&script, &UnitRequest::new(&run, &data, 0), &mut Quiet);
    assert_eq!(outcome.status, Status::Diverged);
}

#[test]
fn a_panicking_or_failing_backend_becomes_a_failed_unit() {
    let run = run_spec(5, 2);
    let data = dataset(10);
    let mut script = Script::new();
    script.panic_at_step = Some(1);
    let outcome = train::run_unit(&script, &UnitRequest::new(&run, &data, 0), &mut Quiet);
    assert_eq!(outcome.status, Status::Failed);
    assert!(outcome.reason.unwrap().contains("scripted panic"));

    let mut script = Script::new();
    script.fail_build = true;
    let outcome = train::run_unit(&script, &UnitRequest::new(&run, &data, 0), &mut Quiet);
    assert_eq!(outcome.status, Status::Failed);
    assert!(outcome.reason.unwrap().contains("no device"));
}

#[test]
fn an_unsupported_feature_is_reported_with_its_reason() {
    let mut run = run_spec(5, 2);
    run.optimizer.kind = OptimizerKind::Adam {
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
    };
    let data = dataset(10);
    let mut script = Script::new();
    script.unsupported_adam = true;
    let outcome = train::run_unit(&script, &UnitRequest::new(&run, &data, 0), &mut Quiet);
    assert_eq!(outcome.status, Status::Unsupported);
    assert_eq!(
        outcome.reason.unwrap(),
        "optimizer `adam` is not supported: no Adam here"
    );
    run.model.layers.push(LayerSpec::Dropout { rate: 0.5 });
    script.unsupported_adam = false;
    let outcome = train::run_unit(&script, &UnitRequest::new(&run, &data, 0), &mut Quiet);
    assert_eq!(outcome.status, Status::Unsupported);
    assert!(outcome.reason.unwrap().contains("layer `dropout`"));
}

#[test]
fn early_stopping_ends_training_after_patience_epochs_without_improvement() {
    let mut run = run_spec(5, 20);
    run.training.early_stopping = Some(EarlyStopping {
        monitor: Monitor::ValLoss,
        patience: 3,
        min_delta: 0.0,
    });
    let data = dataset(10);
    let mut script = Script::new();
    script.worsening_predictions = true;
    let outcome = train::run_unit(&script, &UnitRequest::new(&run, &data, 0), &mut Quiet);
    assert_eq!(outcome.status, Status::Ok);
    assert!(outcome.stopped_early);
    // Validation loss rises after the first epoch: best at 1, then 3 epochs without gain.
    assert_eq!(outcome.epochs.len(), 4);
}

#[test]
fn max_steps_stops_mid_epoch() {
    let run = run_spec(4, 10);
    let data = dataset(10);
    let script = Script::new();
    let mut request = UnitRequest::new(&run, &data, 0);
    request.max_steps = Some(5);
    let outcome = train::run_unit(&script, &request, &mut Quiet);
    assert_eq!(outcome.status, Status::Ok);
    assert_eq!(script.log.lock().unwrap().batches.len(), 5);
    assert_eq!(outcome.epochs.len(), 2);
    assert!(outcome.test.is_some());
}

#[test]
fn dead_units_need_the_exported_weights_and_a_missing_tensor_fails_the_unit() {
    let mut run = run_spec(5, 2);
    run.training.record_dead_units = true;
    let data = dataset(10);
    // The script backend exports no tensors at all.
    let outcome = train::run_unit(
        &Script::new(),
        &UnitRequest::new(&run, &data, 0),
        &mut Quiet,
    );
    assert_eq!(outcome.status, Status::Failed);
    let reason = outcome.reason.unwrap_or_default();
    assert!(reason.contains("measuring dead units"), "{reason}");
    assert!(reason.contains("0.weight"), "{reason}");
}

#[test]
fn steps_sent_ahead_give_the_same_batches_rates_and_records_as_steps_one_by_one() {
    let mut run = run_spec(4, 3);
    run.training.schedule = Schedule::Step {
        step_epochs: 1,
        gamma: 0.5,
    };
    let data = dataset(10);
    let mut script = Script::new();
    script.losses = vec![1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];
    let one_by_one = train::run_unit(&script, &UnitRequest::new(&run, &data, 4), &mut Quiet);
    let log = std::mem::take(&mut *script.log.lock().unwrap());
    script.ahead = 2;
    let ahead = train::run_unit(&script, &UnitRequest::new(&run, &data, 4), &mut Quiet);
    let ahead_log = std::mem::take(&mut *script.log.lock().unwrap());
    assert_eq!(ahead.status, Status::Ok, "{:?}", ahead.reason);
    assert_eq!(ahead_log.batches, log.batches);
    assert_eq!(ahead_log.rates, log.rates);
    let losses = |o: &train::UnitOutcome| o.epochs.iter().map(|e| e.step_loss).collect::<Vec<_>>();
    assert_eq!(losses(&ahead), losses(&one_by_one));
}

#[test]
fn a_divergence_or_step_limit_with_steps_in_flight_collects_them_before_evaluating() {
    // predict and train_rows assert that no step is in flight.
    let run = run_spec(4, 5);
    let data = dataset(10);
    let mut script = Script::new();
    script.ahead = 2;
    script.losses = vec![1.0, 0.9, 0.8, 0.7, f32::NAN];
    let outcome = train::run_unit(&script, &UnitRequest::new(&run, &data, 0), &mut Quiet);
    assert_eq!(outcome.status, Status::Diverged, "{:?}", outcome.reason);
    assert!(outcome.reason.unwrap().contains("epoch 2, step 2"));
    assert_eq!(outcome.epochs.len(), 1);

    let script = Script {
        ahead: 2,
        ..Script::new()
    };
    let mut request = UnitRequest::new(&run, &data, 0);
    request.max_steps = Some(5);
    let outcome = train::run_unit(&script, &request, &mut Quiet);
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.reason);
    assert_eq!(script.log.lock().unwrap().batches.len(), 5);
    assert_eq!(outcome.epochs.len(), 2);
}

#[test]
fn input_noise_is_seeded_the_same_for_every_backend_and_never_at_evaluation() {
    let data = dataset(10);
    let mut run = run_spec(4, 2);
    let trained = |script: &Script, run: &RunSpec, seed: u64| {
        let outcome = train::run_unit(script, &UnitRequest::new(run, &data, seed), &mut Quiet);
        assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.reason);
        std::mem::take(&mut *script.log.lock().unwrap())
    };
    let clean = trained(&Script::new(), &run, 7);
    run.training.input_noise = 0.1;
    let noisy = trained(&Script::new(), &run, 7);
    // A trainer that keeps the training split is not offered it: the noise is drawn here.
    let keeper = Script {
        keeps_split: true,
        ..Script::new()
    };
    let kept = trained(&keeper, &run, 7);
    assert_eq!(kept.row_steps, 0);
    assert_eq!(kept.inputs, noisy.inputs, "same seed, same noisy batches");
    assert_ne!(trained(&Script::new(), &run, 8).inputs, noisy.inputs);
    // The same rows in the same order, each value moved by noise of about the asked size.
    assert_eq!(noisy.batches, clean.batches);
    let moved: Vec<f64> = noisy
        .inputs
        .iter()
        .flatten()
        .zip(clean.inputs.iter().flatten())
        .map(|(n, c)| f64::from(n - c))
        .collect();
    let std = (moved.iter().map(|d| d * d).sum::<f64>() / moved.len() as f64).sqrt();
    assert!(
        moved.iter().all(|&d| d != 0.0) && (0.05..0.2).contains(&std),
        "{std}"
    );
    // Fresh noise at every step: a row seen in both epochs gets two different draws.
    let steps_per_epoch = noisy.batches.len() / 2;
    let first = noisy.batches[0][0];
    let again = noisy.batches[steps_per_epoch..]
        .iter()
        .zip(&noisy.inputs[steps_per_epoch..])
        .find_map(|(labels, inputs)| {
            let at = labels.iter().position(|&row| row == first)?;
            Some(inputs[at * 2..at * 2 + 2].to_vec())
        })
        .unwrap();
    assert_ne!(again, noisy.inputs[0][..2]);
    // Evaluation sees the clean splits.
    assert_eq!(noisy.predicted, clean.predicted);
    // Without noise, the split keeper steps on row indices.
    run.training.input_noise = 0.0;
    assert!(trained(&keeper, &run, 7).row_steps > 0);
}
