//! Every command-line argument of `nnbench`, and nothing else: the leaf module the commands
//! depend on (never the other way round), so a command's options are read in one place.
// The doc comments below are also clap's `--help` text, where `results/<scenario>/<run-id>`
// reads as written: rustdoc's HTML check would have it escaped there.
#![allow(rustdoc::invalid_html_tags)]

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand};
use nnbench_core::data::{DataError, DataOptions};
use nnbench_core::spec::parse::{self, LoadOptions};

#[derive(Debug, Parser)]
#[command(
    name = "nnbench",
    version,
    about = "Runs the same neural-network experiments on several frameworks and compares them"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario on every backend it names and write its results
    Scenario(ScenarioArgs),
    /// Run every scenario of the course, in the course's order, and write one index report
    Course(CourseArgs),
    /// List the bundled scenarios with a one-line description each
    List,
    /// Print a scenario fully resolved (every default filled in, one entry per variant)
    Show {
        /// Scenario name (in scenarios/) or path to a .toml file
        scenario: String,
        #[command(flatten)]
        overrides: OverrideArgs,
    },
    /// Print a matrix of features × backends: framework, adapter or unsupported
    Backends {
        /// Print each backend's list of capabilities instead, with the reasons of what it
        /// does not support
        #[arg(long)]
        long: bool,
    },
    /// Measure time per MNIST epoch of mnist_adam's model per backend, and MNIST load time
    Bench(BenchArgs),
    /// Run the same steps on every built backend and compare each with the native reference
    Parity(ParityArgs),
    /// Merge the folders of shard runs (--shard k/n) into one run folder
    Merge(MergeArgs),
    /// Rewrite a run folder's report.md and plots/*.svg from its CSV files
    Report {
        /// The run folder (results/<scenario>/<run-id> or an --out folder)
        run: PathBuf,
    },
    /// Compare two runs per variant and backend: accuracy, epoch time, status
    Compare {
        /// The earlier run folder
        a: PathBuf,
        /// The later run folder
        b: PathBuf,
    },
    /// Download a dataset into the data folder ahead of time (mnist, fashion_mnist)
    Fetch {
        dataset: FetchDataset,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// Scenario name (in scenarios/) or path to a .toml file
    pub scenario: String,
    #[command(flatten)]
    pub overrides: OverrideArgs,
    /// Write the results into this folder (new or empty) instead of results/<scenario>/<run-id>
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue the run in this folder: run only the units units.csv does not list yet
    /// (refused if the scenario and options now resolve differently)
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// Run only the k-th of n shares of the units (unit i when i % n == k-1), e.g. 2/4
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Also write each variant's initial weights and every epoch's batch order (safetensors,
    /// in replay/), to replay the run outside nnbench
    #[arg(long)]
    pub export_replay: bool,
    #[command(flatten)]
    pub jobs: JobsArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct CourseArgs {
    /// Tiny subsets and few epochs for every scenario: a smoke test of the whole course
    #[arg(long)]
    pub quick: bool,
    /// Run only these backends in every scenario (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub backends: Option<Vec<String>>,
    /// Write the course into this folder (new or empty) instead of results/course/<run-id>
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue the course run in this folder: scenarios that finished are kept, a scenario
    /// cut short resumes unit by unit, the rest run
    #[arg(long, value_name = "COURSE_DIR")]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub jobs: JobsArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

/// `--jobs N` of the commands that run units (`scenario`, `course`).
#[derive(Debug, Args, Default)]
pub struct JobsArgs {
    /// Run up to N units side by side (default 1: one at a time). Results and CSV rows are
    /// those of a one-at-a-time run, in the same order; times are not: every row measured
    /// this way says so in its `jobs` column, and the report too. Warns when N × the
    /// scenario's threads exceeds the cores
    #[arg(long, value_name = "N", default_value_t = Jobs::ONE)]
    pub jobs: Jobs,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The merged run folder (new or empty) followed by the shard folders; with --out, every
    /// folder given is a shard folder
    #[arg(value_name = "DIRS", required = true)]
    pub dirs: Vec<PathBuf>,
    /// The merged run folder (new or empty)
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args, Default)]
pub struct OverrideArgs {
    /// Run only these backends (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub backends: Option<Vec<String>>,
    /// Train for this many epochs
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Run these seeds (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// Intra-op threads for every backend
    #[arg(long)]
    pub threads: Option<u64>,
    /// Tiny subsets and few epochs: a smoke test of the scenario
    #[arg(long)]
    pub quick: bool,
    /// End a unit as `timeout` once it has trained this many seconds (scenario key
    /// unit_time_limit; checked after every training step)
    #[arg(long, value_name = "SECONDS")]
    pub unit_time_limit: Option<f64>,
    /// Set any scenario key, e.g. --set optimizer.learning_rate=0.01 (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Args, Default)]
pub struct DataArgs {
    /// Dataset folder (default: $NNBENCH_DATA, else the user cache folder)
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Fail instead of downloading missing datasets
    #[arg(long)]
    pub no_fetch: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Measured rounds per backend, workload and thread count (every side once each), after
    /// one warm-up round
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
    /// Sittings per backend, workload and thread count: fresh child processes of `--rounds`
    /// rounds each, every backend's n-th sitting before any backend's (n+1)-th; figures are
    /// medians over the sittings (a process launch and a spell of a shared machine move a
    /// sitting's median more than its rounds differ)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub sittings: u64,
    /// Thread counts to measure (comma-separated)
    #[arg(long, value_delimiter = ',', default_value = "1,2",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Vec<u64>,
    /// Workloads to measure (comma-separated)
    #[arg(long, value_delimiter = ',', default_value = "mnist_epoch,xor_step")]
    pub workloads: Vec<BenchWorkload>,
    /// SGD steps per side and round of the `xor_step` workload
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    pub tiny_steps: u64,
    /// Backends to measure (default: every built one but the linear reference model)
    #[arg(long, value_delimiter = ',')]
    pub backends: Option<Vec<String>>,
    /// Times to load full MNIST
    #[arg(long, default_value_t = 5)]
    pub loads: usize,
    /// Measure every backend in this process, one after another, instead of each in a child
    /// process of its own
    #[arg(long)]
    pub in_process: bool,
    /// Write bench.csv and environment.json into this folder (new or empty) instead of
    /// results/bench/<run-id>
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only 1 is accepted: bench never shares the machine, it measures one backend at a time
    /// (`--jobs` runs units side by side in `scenario` and `course`)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = bench_jobs)]
    pub jobs: u64,
    /// Measure only this backend (on the first workload and thread count given) and print its
    /// row as JSON (what each child process runs)
    #[arg(long, hide = true)]
    pub measure_one: Option<String>,
    #[command(flatten)]
    pub data: DataArgs,
}

/// What `nnbench bench` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchWorkload {
    /// One epoch of mnist_adam's model (784-128-10 relu, Adam, batch 128) on full MNIST,
    /// beside the GEMM floor of that epoch
    #[value(name = "mnist_epoch")]
    MnistEpoch,
    /// One SGD step of a 2-4-1 tanh network on the four XOR points (latency-bound)
    #[value(name = "xor_step")]
    XorStep,
    /// One epoch of mnist_cnn's LeNet-5 (Adam, batch 128) on full MNIST
    #[value(name = "cnn_epoch")]
    CnnEpoch,
}

impl BenchWorkload {
    pub fn name(self) -> &'static str {
        match self {
            BenchWorkload::MnistEpoch => "mnist_epoch",
            BenchWorkload::XorStep => "xor_step",
            BenchWorkload::CnnEpoch => "cnn_epoch",
        }
    }
}

#[derive(Debug, Args)]
pub struct ParityArgs {
    /// Scenario name (in scenarios/) or path to a .toml file
    pub scenario: String,
    /// Training steps compared
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: u64,
    #[command(flatten)]
    pub overrides: OverrideArgs,
    /// Write parity.csv into this folder (new or empty) instead of results/<scenario>/<run-id>
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
}

/// A dataset `nnbench fetch` downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FetchDataset {
    Mnist,
    #[value(name = "fashion_mnist", alias = "fashion-mnist")]
    FashionMnist,
}

/// A command line that names something wrong (exit code 2), found after clap's own checks:
/// a `--backends` name that is not a backend, or one the command cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{option}: {message}")]
pub struct UsageError {
    pub option: &'static str,
    pub message: String,
}

impl DataArgs {
    pub fn options(&self) -> Result<DataOptions, DataError> {
        DataOptions::resolve(self.data_dir.as_deref(), !self.no_fetch)
    }
}

impl OverrideArgs {
    /// The overrides as scenario keys. A `--backends` name that is no backend at all is a wrong
    /// command line; one this binary lacks is not (its rows say `not_built`).
    pub fn load_options(&self) -> anyhow::Result<LoadOptions> {
        let mut overrides = Vec::new();
        if let Some(backends) = &self.backends {
            if let Some(unknown) = backends
                .iter()
                .find(|name| !nnbench_core::KNOWN_BACKENDS.contains(&name.as_str()))
            {
                return Err(UsageError {
                    option: "--backends",
                    message: format!(
                        "unknown backend `{unknown}` (backends: {})",
                        nnbench_core::KNOWN_BACKENDS.join(", ")
                    ),
                }
                .into());
            }
            let list = backends.iter().cloned().map(toml::Value::String).collect();
            overrides.push(("backends".to_string(), toml::Value::Array(list)));
        }
        if let Some(epochs) = self.epochs {
            overrides.push(("training.epochs".into(), integer(epochs)));
        }
        if let Some(seeds) = &self.seeds {
            let list = seeds.iter().map(|&seed| integer(seed)).collect();
            overrides.push(("training.seeds".into(), toml::Value::Array(list)));
        }
        if let Some(threads) = self.threads {
            overrides.push(("threads".into(), integer(threads)));
        }
        if let Some(seconds) = self.unit_time_limit {
            overrides.push(("unit_time_limit".into(), toml::Value::Float(seconds)));
        }
        for assignment in &self.set {
            overrides.push(parse::parse_override(assignment)?);
        }
        Ok(LoadOptions {
            quick: self.quick,
            overrides,
        })
    }
}

/// `--jobs N`: how many units run side by side, from 1 to [`Jobs::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jobs(pub usize);

impl Jobs {
    pub const ONE: Jobs = Jobs(1);
    /// More units at once than any machine this runs on has cores for.
    pub const MAX: usize = 256;

    pub fn get(self) -> usize {
        self.0
    }
}

impl Default for Jobs {
    fn default() -> Jobs {
        Jobs::ONE
    }
}

impl fmt::Display for Jobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Jobs {
    type Err = String;

    fn from_str(text: &str) -> Result<Jobs, String> {
        match text.trim().parse::<usize>() {
            Ok(n) if (1..=Jobs::MAX).contains(&n) => Ok(Jobs(n)),
            _ => Err(format!(
                "`{text}`: expected a whole number of units to run side by side, from 1 to {} \
                 (e.g. --jobs 2)",
                Jobs::MAX
            )),
        }
    }
}

/// `nnbench bench --jobs`: 1, or a refusal that says why.
fn bench_jobs(text: &str) -> Result<u64, String> {
    match text.trim() {
        "1" => Ok(1),
        _ => Err(format!(
            "`{text}`: bench never shares the machine: it measures one backend at a time, alone, \
             so only 1 is allowed (--jobs runs units side by side in `scenario` and `course`)"
        )),
    }
}

fn integer(value: u64) -> toml::Value {
    toml::Value::Integer(i64::try_from(value).unwrap_or(i64::MAX))
}

/// `--shard k/n`: the k-th of n shares of a scenario's units, k from 1 (see
/// the `shard` module for the order they share).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Whether unit number `position` (from 0, in the stable order) belongs to this shard.
    pub fn contains(self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let usage = "expected k/n with 1 <= k <= n (e.g. --shard 2/4, or \
                     --shard $SLURM_ARRAY_TASK_ID/4)";
        let Some((k, n)) = text.trim().split_once('/') else {
            return Err(format!("`{text}`: {usage}"));
        };
        let (Ok(index), Ok(count)) = (k.trim().parse::<usize>(), n.trim().parse::<usize>()) else {
            return Err(format!("`{text}`: {usage}"));
        };
        if count == 0 || index == 0 || index > count {
            return Err(format!("`{text}`: {usage}"));
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_units() {
        let shards: Vec<Shard> = (1..=3).map(|k| format!("{k}/3").parse().unwrap()).collect();
        for position in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.contains(position)).count(), 1);
        }
        for bad in ["0/3", "4/3", "1/0", "x/2", "3", "", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn jobs_are_a_whole_number_from_one_to_the_maximum() {
        assert_eq!("1".parse::<Jobs>(), Ok(Jobs(1)));
        assert_eq!(" 4 ".parse::<Jobs>(), Ok(Jobs(4)));
        assert_eq!(Jobs::MAX.to_string().parse::<Jobs>(), Ok(Jobs(Jobs::MAX)));
        for bad in ["0", "-1", "x", "", "1.5", "257"] {
            let error = bad.parse::<Jobs>().unwrap_err();
            assert!(error.contains("from 1 to 256"), "{bad}: {error}");
        }
        assert_eq!(bench_jobs("1"), Ok(1));
        assert!(
            bench_jobs("2")
                .unwrap_err()
                .contains("never shares the machine")
        );
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
