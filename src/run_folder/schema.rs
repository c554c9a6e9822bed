//! The schema of every CSV file of a run folder: one serde row struct per file, whose fields
//! are the file's columns in order. Headers are derived from the structs ([`columns`]), so the
//! writer, the reader and the README's file table cannot disagree about a column.

use nnbench_core::train::Status;
use serde::{Deserialize, Serialize};

use crate::shard::UnitKey;

/// A CSV file of a run folder: its name and its row type.
pub trait Table: Serialize + for<'de> Deserialize<'de> {
    /// The file name inside the run folder.
    const FILE: &'static str;
    /// What one row is, for people (the README's file table is generated from it).
    const ROW: &'static str;
    /// Columns added since the first run folders were written: a file without them still
    /// reads, each row taking the field's serde default.
    const ADDED: &'static [&'static str] = &[];
}

/// A file with one or more rows per unit: its rows belong to the unit they name, so resume
/// drops those of unfinished units and merge takes each unit's rows from its shard.
pub trait UnitTable: Table {
    fn key(&self) -> UnitKey;
}

macro_rules! unit_key {
    ($($row:ty),*) => {$(
        impl UnitTable for $row {
            fn key(&self) -> UnitKey {
                UnitKey {
                    variant: self.variant.clone(),
                    backend: self.backend.clone(),
                    seed: self.seed,
                }
            }
        }
    )*};
}

/// `epochs.csv`: one row per variant, backend, seed and epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
    /// From 1.
    pub epoch: u64,
    pub lr: f64,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    pub step_loss: f64,
    pub epoch_s: f64,
    pub eval_s: f64,
    pub samples_per_s: f64,
    /// Units of the run that ran side by side while this was measured (`--jobs`): 1, the unit
    /// had the machine to itself (other processes aside); more, its times were measured
    /// sharing the cores with up to that many units. Files from before `--jobs` read as 1.
    #[serde(default = "alone")]
    pub jobs: u64,
}

impl Table for EpochRow {
    const FILE: &'static str = "epochs.csv";
    const ROW: &'static str = "one row per variant, backend, seed and epoch";
    const ADDED: &'static [&'static str] = &["jobs"];
}

/// `units.csv`: one row per finished unit (variant, backend, seed); a unit counts as finished
/// once its row is here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitRow {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
    #[serde(with = "status_name")]
    pub status: Status,
    pub epochs_run: u64,
    pub stopped_early: bool,
    pub test_loss: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub epoch_s_median: Option<f64>,
    /// Units of the run that ran side by side while this was measured (`--jobs`): 1, the unit
    /// had the machine to itself (other processes aside); more, its times were measured
    /// sharing the cores with up to that many units. Files from before `--jobs` read as 1.
    #[serde(default = "alone")]
    pub jobs: u64,
    pub reason: String,
}

impl Table for UnitRow {
    const FILE: &'static str = "units.csv";
    const ROW: &'static str = "one row per variant, backend and seed";
    const ADDED: &'static [&'static str] = &["jobs"];
}

/// `summary.csv`: one row per variant and backend, over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub variant: String,
    pub backend: String,
    /// `ok` when every seed ended ok, else the first other status met.
    #[serde(with = "status_name")]
    pub status: Status,
    pub seeds: u64,
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
    /// The most units that ran side by side while one of its seeds was measured (see
    /// [`UnitRow::jobs`]).
    #[serde(default = "alone")]
    pub jobs: u64,
    pub reason: String,
}

impl Table for SummaryRow {
    const FILE: &'static str = "summary.csv";
    const ROW: &'static str = "one row per variant and backend (mean and spread over seeds)";
    const ADDED: &'static [&'static str] = &["jobs"];
}

/// `grad_norms.csv`: each dense layer's weight-gradient norm, averaged over an epoch's steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradNormRow {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
    pub epoch: u64,
    /// Dense layer, from 0 on the input side.
    pub layer: u64,
    pub grad_norm: f64,
}

impl Table for GradNormRow {
    const FILE: &'static str = "grad_norms.csv";
    const ROW: &'static str = "per dense layer and epoch, the mean weight-gradient norm (when the scenario sets `training.record_grad_norms`)";
}

/// `dead_units.csv`: each hidden dense layer's share of units whose pre-activation is ≤ 0 on
/// every one of the first 2 000 training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadUnitsRow {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
    pub epoch: u64,
    pub layer: u64,
    pub dead_fraction: f64,
}

impl Table for DeadUnitsRow {
    const FILE: &'static str = "dead_units.csv";
    const ROW: &'static str = "per hidden layer and epoch, the share of units whose pre-activation is ≤ 0 on every one of the first 2 000 training rows (when the scenario sets `training.record_dead_units`)";
}

/// `gradients.csv`: one parameter's gradient of a unit's single training step, read off the
/// weights before and after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientRow {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
    /// The layer's index in the network (the `i` of the canonical tensor names).
    pub layer: u64,
    /// `weight` or `bias` (or a batch-norm tensor's name).
    pub tensor: String,
    /// Row-major index into the tensor: `in * fan_out + out` for a dense weight.
    pub index: u64,
    pub gradient: f64,
}

impl Table for GradientRow {
    const FILE: &'static str = "gradients.csv";
    const ROW: &'static str = "per parameter, its gradient of the unit's one step, (w_before − w_after) / η (when the scenario sets `training.record_gradients`)";
}

/// `boundary.csv`: a trained 2-D model's output at one point of the probe grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundaryRow {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
    #[serde(serialize_with = "single_precision")]
    pub x: f64,
    #[serde(serialize_with = "single_precision")]
    pub y: f64,
    /// Probability of class 1 for a two-output softmax head, the output itself for a one-unit
    /// head, the predicted class for more than two classes.
    #[serde(serialize_with = "single_precision")]
    pub p: f64,
}

impl Table for BoundaryRow {
    const FILE: &'static str = "boundary.csv";
    const ROW: &'static str =
        "for 2-D datasets, each trained model's output on a 41×41 grid (decision-boundary plots)";
}

unit_key!(
    EpochRow,
    UnitRow,
    GradNormRow,
    DeadUnitsRow,
    GradientRow,
    BoundaryRow
);

/// `points.csv`: a training or test example of a 2-D dataset (the same in every shard).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointRow {
    pub variant: String,
    /// `train` or `test`.
    pub split: String,
    #[serde(serialize_with = "single_precision")]
    pub x: f64,
    #[serde(serialize_with = "single_precision")]
    pub y: f64,
    pub label: u32,
}

impl Table for PointRow {
    const FILE: &'static str = "points.csv";
    const ROW: &'static str =
        "for 2-D datasets, each example of each split (the points on the boundary plots)";
}

/// `parity.csv` (in the folder `nnbench parity` writes): one backend's drift from the native
/// reference over the same steps from the same initial weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParityCsvRow {
    pub variant: String,
    pub backend: String,
    pub optimizer: String,
    #[serde(with = "status_name")]
    pub status: Status,
    pub steps: u64,
    pub max_abs_loss_diff: f64,
    pub max_rel_loss_diff: f64,
    pub max_abs_weight_diff: f64,
    pub max_rel_weight_diff: f64,
    /// The formula difference the backend declares for this run, or why it did not run.
    pub note: String,
}

impl Table for ParityCsvRow {
    const FILE: &'static str = "parity.csv";
    const ROW: &'static str = "(`nnbench parity` folders) one row per variant and backend: the largest loss and weight differences against native";
}

/// `bench.csv` (in the folder `nnbench bench` writes): one workload measured on one backend at
/// one thread count, with the machine it ran on, so that two machines or two commits compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchRow {
    /// `mnist_epoch` (an epoch of mnist_adam's model), `cnn_epoch` (an epoch of mnist_cnn's
    /// LeNet-5) or `xor_step` (one SGD step of a 2-4-1 tanh network on the four XOR points).
    pub workload: String,
    pub backend: String,
    pub threads: u64,
    /// Measured rounds per sitting (after one warm-up round), each timing every side once.
    pub rounds: u64,
    /// Sittings: fresh child processes, each measuring `rounds` rounds, taken in turn with the
    /// other backends'; every figure below is the median over sittings of each sitting's
    /// median over its rounds.
    #[serde(default = "alone")]
    pub sittings: u64,
    #[serde(with = "status_name")]
    pub status: Status,
    /// Median seconds per epoch (`mnist_epoch`, `cnn_epoch`) or per step (`xor_step`) through
    /// the harness.
    pub harness_s: Option<f64>,
    /// The same through the framework's own hand-written loop, when the backend has one.
    pub own_loop_s: Option<f64>,
    /// Median of harness / own loop, the ratio taken in each round.
    pub harness_over_own: Option<f64>,
    /// The lowest and the highest sitting's harness / own loop.
    #[serde(default)]
    pub harness_over_own_lowest: Option<f64>,
    #[serde(default)]
    pub harness_over_own_highest: Option<f64>,
    /// Median seconds of the epoch's matrix products alone (`mnist_epoch`).
    pub gemm_floor_s: Option<f64>,
    /// Median of the harness epoch / the GEMM floor, the ratio taken in each round.
    pub floor_multiple: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub cpu_model: String,
    pub cores: u64,
    pub cpu_simd: String,
    pub gemm_kernels: String,
    /// The 1-minute load average when the backend's measurement started (the highest over
    /// its sittings).
    pub load_average: Option<f64>,
    pub git_commit: String,
    pub build_profile: String,
    pub started_at: String,
    pub reason: String,
}

impl Table for BenchRow {
    const FILE: &'static str = "bench.csv";
    const ROW: &'static str = "(`nnbench bench` folders) one row per workload, backend and thread count: seconds through the harness and the framework's own loop, and the multiple of the GEMM floor";
}

/// The `jobs` of a row written before `--jobs` existed (every unit ran alone), and the
/// `sittings` of a bench row written before `--sittings` existed (one).
fn alone() -> u64 {
    1
}

/// Writes a value computed in `f32` (network inputs and outputs) with the digits of an `f32`,
/// not the long expansion of its `f64` image.
fn single_precision<S: serde::Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f32(*value as f32)
}

/// The columns of `T`'s file, in order: the names of its row struct's fields.
pub fn columns<T: Table>() -> &'static [&'static str] {
    field_names::of::<T>()
}

/// Writes a unit's status as its name (`ok`, `not_built`…) and reads it back strictly.
mod status_name {
    use nnbench_core::train::Status;
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(status: &Status, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(status.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Status, D::Error> {
        let text = String::deserialize(deserializer)?;
        Status::parse(&text).ok_or_else(|| de::Error::custom(format!("unknown status `{text}`")))
    }
}

/// The field names of a plain struct, read from its `Deserialize` impl (which hands them to
/// `deserialize_struct`), so that headers need no second list.
mod field_names {
    use serde::de::{self, Deserialize, Deserializer, Visitor};

    struct Names(Option<&'static [&'static str]>);

    #[derive(Debug)]
    struct Stop;

    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("field names read")
        }
    }

    impl std::error::Error for Stop {}

    impl de::Error for Stop {
        fn custom<T: std::fmt::Display>(_: T) -> Stop {
            Stop
        }
    }

    impl<'de> Deserializer<'de> for &mut Names {
        type Error = Stop;

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    pub fn of<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
        let mut names = Names(None);
        let _ = T::deserialize(&mut names);
        names.0.unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_the_fields_in_order() {
        assert_eq!(
            columns::<UnitRow>(),
            [
                "variant",
                "backend",
                "seed",
                "status",
                "epochs_run",
                "stopped_early",
                "test_loss",
                "test_accuracy",
                "epoch_s_median",
                "jobs",
                "reason"
            ]
        );
        assert_eq!(columns::<GradNormRow>()[5], "grad_norm");
        assert_eq!(columns::<PointRow>().len(), 5);
    }
}
