//! Checks the `[training]` table (epochs, batches, seeds, the learning-rate schedule, early
//! stopping and what to record) into a [`TrainingSpec`].

use toml::{Table, Value};

use super::check::{Check, and_list, needs_hint};
use super::schema::{
    self, EARLY_STOPPING_MIN_DELTA, EARLY_STOPPING_MONITOR, EARLY_STOPPING_PATIENCE, Key, MONITORS,
    SCHEDULE_FACTOR, SCHEDULE_GAMMA, SCHEDULE_KIND, SCHEDULE_PATIENCE, SCHEDULE_POWER_T,
    SCHEDULE_STEP_EPOCHS, SCHEDULE_TOL, SCHEDULES, ScheduleKind, TRAINING_BATCH_SIZE,
    TRAINING_DIVERGENCE_LOSS, TRAINING_EARLY_STOPPING, TRAINING_EPOCHS, TRAINING_INPUT_NOISE,
    TRAINING_MAX_STEPS, TRAINING_RECORD_DEAD_UNITS, TRAINING_RECORD_GRAD_NORMS,
    TRAINING_RECORD_GRADIENTS, TRAINING_SCHEDULE, TRAINING_SEEDS, TRAINING_SHUFFLE, Type,
};
use super::{BatchSize, EarlyStopping, Schedule, TrainingSpec};

const P: &str = "training";

pub(crate) fn check_training(c: &mut Check, t: &Table) -> Option<TrainingSpec> {
    c.unknown_keys(t, P, &schema::key_names(P), "");
    let epochs = c.required(t, P, &TRAINING_EPOCHS, |c, k, v| {
        c.count(k, v, &TRAINING_EPOCHS)
    });
    let batch = c.required(t, P, &TRAINING_BATCH_SIZE, check_batch_size);
    let shuffle = c.defaulted(t, P, &TRAINING_SHUFFLE, |c, k, v| c.boolean(k, v));
    let seeds = c.defaulted(t, P, &TRAINING_SEEDS, check_seeds);
    let schedule = c.defaulted(t, P, &TRAINING_SCHEDULE, check_schedule);
    let early_stopping = c.optional(t, P, &TRAINING_EARLY_STOPPING, check_early_stopping);
    let record_grad_norms =
        c.defaulted(t, P, &TRAINING_RECORD_GRAD_NORMS, |c, k, v| c.boolean(k, v));
    let record_dead_units =
        c.defaulted(t, P, &TRAINING_RECORD_DEAD_UNITS, |c, k, v| c.boolean(k, v));
    let max_steps = c.optional(t, P, &TRAINING_MAX_STEPS, |c, k, v| {
        c.count(k, v, &TRAINING_MAX_STEPS)
    });
    let record_gradients = c.defaulted(t, P, &TRAINING_RECORD_GRADIENTS, |c, k, v| c.boolean(k, v));
    let divergence_loss = c.defaulted(t, P, &TRAINING_DIVERGENCE_LOSS, |c, k, v| {
        c.float(k, v, &TRAINING_DIVERGENCE_LOSS)
    });
    let input_noise = c.defaulted(t, P, &TRAINING_INPUT_NOISE, |c, k, v| {
        c.float(k, v, &TRAINING_INPUT_NOISE)
    });
    Some(TrainingSpec {
        epochs: epochs?,
        batch: batch?,
        shuffle: shuffle?,
        seeds: seeds?,
        schedule: schedule?,
        early_stopping: early_stopping?,
        record_grad_norms: record_grad_norms?,
        record_dead_units: record_dead_units?,
        max_steps: max_steps?,
        record_gradients: record_gradients?,
        divergence_loss: divergence_loss?,
        input_noise: input_noise?,
    })
}

fn check_batch_size(c: &mut Check, key: &str, value: &Value) -> Option<BatchSize> {
    let spec = &TRAINING_BATCH_SIZE;
    let Type::IntOrWord { min, words } = spec.ty else {
        c.push(
            key,
            None,
            "internal error: batch_size is not an integer or a word",
        );
        return None;
    };
    match value {
        Value::Integer(n) if *n >= min => usize::try_from(*n).ok().map(BatchSize::Size),
        Value::String(text) if words.contains(&text.as_str()) => Some(BatchSize::Full),
        other => {
            c.push(key, Some(other), spec.ty.phrase_as_rule());
            None
        }
    }
}

fn check_seeds(c: &mut Check, key: &str, value: &Value) -> Option<Vec<u64>> {
    let spec = &TRAINING_SEEDS;
    let Type::IntArray { min } = spec.ty else {
        c.push(
            key,
            None,
            "internal error: seeds is not an array of integers",
        );
        return None;
    };
    let items = match value {
        Value::Array(items) if !items.is_empty() => items,
        other => {
            c.push(
                key,
                Some(other),
                format!(
                    "{} (e.g. {} = {})",
                    spec.ty.phrase_as_rule(),
                    spec.name,
                    spec.example
                ),
            );
            return None;
        }
    };
    let mut out = Some(Vec::new());
    for (i, item) in items.iter().enumerate() {
        match c.integer_in(&format!("{key}[{i}]"), item, min, i64::MAX) {
            Some(seed) => {
                if let Some(list) = &mut out {
                    list.push(seed.unsigned_abs());
                }
            }
            None => out = None,
        }
    }
    out
}

/// The name of a schedule kind.
fn schedule_name(kind: ScheduleKind) -> &'static str {
    SCHEDULES
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("", |(name, _)| *name)
}

/// The keys a schedule kind cannot do without.
fn required_for(kind: &str) -> Vec<&'static Key> {
    schema::KEYS
        .iter()
        .copied()
        .filter(|key| {
            key.table == SCHEDULE_KIND.table
                && !key.only_for.is_empty()
                && key.applies_to(kind)
                && key.default == schema::DefaultValue::Required
        })
        .collect()
}

/// `{ kind = "step", step_epochs = 10, gamma = 0.5 }`: the table form of `kind` with an example
/// value for each key it needs.
fn table_example(kind: &str) -> String {
    let mut out = format!("{{ kind = \"{kind}\"");
    for key in required_for(kind) {
        out.push_str(&format!(", {} = {}", key.name, key.example));
    }
    out.push_str(" }");
    out
}

fn check_schedule(c: &mut Check, key: &str, value: &Value) -> Option<Schedule> {
    match value {
        Value::String(_) => {
            let kind = c.choice(key, value, &SCHEDULE_KIND, &SCHEDULES)?;
            let name = schedule_name(kind);
            let needed = required_for(name);
            if needed.is_empty() {
                // A name alone is the table form with its defaults.
                let mut table = Table::new();
                table.insert(SCHEDULE_KIND.name.to_string(), value.clone());
                return check_schedule_table(c, key, &table);
            }
            let names: Vec<&str> = needed.iter().map(|key| key.name).collect();
            c.push(
                key,
                Some(value),
                format!(
                    "{name} needs {}; write {}",
                    and_list(&names),
                    table_example(name)
                ),
            );
            None
        }
        Value::Table(t) => check_schedule_table(c, key, t),
        other => {
            c.push(
                key,
                Some(other),
                format!(
                    "must be one of {} or a table (e.g. {})",
                    SCHEDULE_KIND.choices().join(", "),
                    table_example(schedule_name(ScheduleKind::Step))
                ),
            );
            None
        }
    }
}

fn check_schedule_table(c: &mut Check, key: &str, t: &Table) -> Option<Schedule> {
    let kind = c.required(t, key, &SCHEDULE_KIND, |c, k, v| {
        c.choice(k, v, &SCHEDULE_KIND, &SCHEDULES)
    })?;
    let name = schedule_name(kind);
    c.unknown_keys(
        t,
        key,
        &schema::key_names_for(SCHEDULE_KIND.table, name),
        &format!(" for schedule {name}"),
    );
    let needed: Vec<&str> = required_for(name).iter().map(|key| key.name).collect();
    let count =
        |c: &mut Check, spec: &Key| c.defaulted(t, key, spec, |c, k, v| c.count(k, v, spec));
    let float =
        |c: &mut Check, spec: &Key| c.defaulted(t, key, spec, |c, k, v| c.float(k, v, spec));
    match kind {
        ScheduleKind::Constant => Some(Schedule::Constant),
        ScheduleKind::Step => {
            let step_epochs = c.required_with(
                t,
                key,
                &SCHEDULE_STEP_EPOCHS,
                &needs_hint(name, &needed, &SCHEDULE_STEP_EPOCHS),
                |c, k, v| c.count(k, v, &SCHEDULE_STEP_EPOCHS),
            );
            let gamma = c.required_with(
                t,
                key,
                &SCHEDULE_GAMMA,
                &needs_hint(name, &needed, &SCHEDULE_GAMMA),
                |c, k, v| c.float(k, v, &SCHEDULE_GAMMA),
            );
            Some(Schedule::Step {
                step_epochs: step_epochs?,
                gamma: gamma?,
            })
        }
        ScheduleKind::InvScaling => {
            let power_t = float(c, &SCHEDULE_POWER_T);
            Some(Schedule::InvScaling { power_t: power_t? })
        }
        ScheduleKind::Adaptive => {
            let factor = float(c, &SCHEDULE_FACTOR);
            let patience = count(c, &SCHEDULE_PATIENCE);
            let tol = float(c, &SCHEDULE_TOL);
            Some(Schedule::Adaptive {
                factor: factor?,
                patience: patience?,
                tol: tol?,
            })
        }
    }
}

fn check_early_stopping(c: &mut Check, key: &str, value: &Value) -> Option<EarlyStopping> {
    let t = c.table(key, value, TRAINING_EARLY_STOPPING.example)?;
    c.unknown_keys(t, key, &schema::key_names(EARLY_STOPPING_MONITOR.table), "");
    let monitor = c.defaulted(t, key, &EARLY_STOPPING_MONITOR, |c, k, v| {
        c.choice(k, v, &EARLY_STOPPING_MONITOR, &MONITORS)
    });
    let patience = c.required(t, key, &EARLY_STOPPING_PATIENCE, |c, k, v| {
        c.count(k, v, &EARLY_STOPPING_PATIENCE)
    });
    let min_delta = c.defaulted(t, key, &EARLY_STOPPING_MIN_DELTA, |c, k, v| {
        c.float(k, v, &EARLY_STOPPING_MIN_DELTA)
    });
    Some(EarlyStopping {
        monitor: monitor?,
        patience: patience?,
        min_delta: min_delta?,
    })
}
