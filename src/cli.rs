//! Command-line parsing, dispatch and exit codes.
//!
//! Exit codes (also in the README):
//! - 0: success (a run whose units failed or diverged still succeeds: see its summary)
//! - 1: an unexpected failure (I/O error writing results, …)
//! - 2: the command line is wrong (unknown flag, bad value)
//! - 3: the scenario cannot be found or does not validate
//! - 4: a dataset cannot be read or fetched
//! - 5: a run folder cannot be resumed or merged (the scenario changed since, a unit is in two
//!   shard folders, a results file is damaged)

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use nnbench_core::data::fetch::{self, ImageSet};
use nnbench_core::data::{DataError, DataOptions};
use nnbench_core::spec::parse::{self, LoadOptions, ScenarioError};

use crate::progress::Mode;
use crate::{bench, registry, runner, scenarios, summary};

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
    /// List the bundled scenarios with a one-line description each
    List,
    /// Print a scenario fully resolved (every default filled in, one entry per variant)
    Show {
        /// Scenario name (in scenarios/) or path to a .toml file
        scenario: String,
        #[command(flatten)]
        overrides: OverrideArgs,
    },
    /// Print each built backend's capabilities: framework, adapter or unsupported
    Backends,
    /// Measure time per MNIST epoch of mnist_adam's model per backend, and MNIST load time
    Bench(bench::BenchArgs),
    /// Run the same steps on every built backend and compare each with the native reference
    Parity(crate::parity::ParityArgs),
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
        dataset: String,
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
    pub shard: Option<crate::shard::Shard>,
    #[command(flatten)]
    pub data: DataArgs,
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

impl DataArgs {
    pub fn options(&self) -> Result<DataOptions, DataError> {
        DataOptions::resolve(self.data_dir.as_deref(), !self.no_fetch)
    }
}

impl OverrideArgs {
    pub fn load_options(&self) -> Result<LoadOptions, ScenarioError> {
        let mut overrides = Vec::new();
        if let Some(backends) = &self.backends {
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

fn integer(value: u64) -> toml::Value {
    toml::Value::Integer(i64::try_from(value).unwrap_or(i64::MAX))
}

/// An error with the exit code it maps to.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        let code = if error.chain().any(|cause| cause.is::<ScenarioError>()) {
            3
        } else if error
            .chain()
            .any(|cause| cause.is::<crate::bench::BackendChoiceError>())
        {
            2
        } else if error.chain().any(|cause| cause.is::<DataError>()) {
            4
        } else if error
            .chain()
            .any(|cause| cause.is::<crate::merge::RunFolderError>())
        {
            5
        } else {
            1
        };
        Failure { code, error }
    }
}

impl From<ScenarioError> for Failure {
    fn from(error: ScenarioError) -> Failure {
        Failure {
            code: 3,
            error: error.into(),
        }
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}

fn execute(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Scenario(args) => run_scenario(&args),
        Command::List => {
            list();
            Ok(())
        }
        Command::Show {
            scenario,
            overrides,
        } => {
            let loaded = load(&scenario, &overrides)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&loaded.0).context("serializing the scenario")?
            );
            Ok(())
        }
        Command::Backends => {
            print!("{}", backends_table());
            Ok(())
        }
        Command::Bench(args) => Ok(bench::run(&args)?),
        Command::Merge(args) => merge(&args),
        Command::Parity(args) => {
            let (scenario, text) = load(&args.scenario, &args.overrides)?;
            Ok(crate::parity::command(&scenario, &text, &args)?)
        }
        Command::Report { run } => crate::report::command_report(&run).map_err(|error| Failure {
            code: crate::report::exit_code(&error),
            error,
        }),
        Command::Compare { a, b } => {
            crate::report::command_compare(&a, &b).map_err(|error| Failure {
                code: crate::report::exit_code(&error),
                error,
            })
        }
        Command::Fetch { dataset, data } => {
            let set = match dataset.as_str() {
                "mnist" => ImageSet::Mnist,
                "fashion_mnist" | "fashion-mnist" => ImageSet::FashionMnist,
                other => {
                    return Err(Failure {
                        code: 2,
                        error: anyhow::anyhow!(
                            "no dataset `{other}` to fetch: expected mnist or fashion_mnist"
                        ),
                    });
                }
            };
            let progress = crate::progress::DownloadProgress::new(Mode::detect());
            let options = data.options().map_err(anyhow::Error::from)?;
            let files = fetch::ensure(set, &options, &progress).map_err(anyhow::Error::from)?;
            let dir = files.train_images.parent().unwrap_or(&options.data_dir);
            println!("{} is in {}", set.name(), dir.display());
            Ok(())
        }
    }
}

fn load(
    name: &str,
    overrides: &OverrideArgs,
) -> Result<(nnbench_core::spec::Scenario, String), Failure> {
    let path = scenarios::resolve(name).map_err(|message| Failure {
        code: 3,
        error: anyhow::anyhow!(message),
    })?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(|error| Failure { code: 3, error })?;
    let stem = path
        .file_stem()
        .map_or_else(|| name.to_string(), |s| s.to_string_lossy().into_owned());
    let scenario = parse::parse_scenario(
        &stem,
        &path.display().to_string(),
        &text,
        &overrides.load_options()?,
    )?;
    Ok((scenario, text))
}

fn run_scenario(args: &ScenarioArgs) -> Result<(), Failure> {
    let (scenario, text) = load(&args.scenario, &args.overrides)?;
    let data = args.data.options().map_err(anyhow::Error::from)?;
    let result = runner::run_with(
        &runner::RunRequest {
            scenario: &scenario,
            source_text: &text,
            out: args.out.as_deref(),
            results_root: std::path::Path::new("results"),
            data: &data,
            progress: Mode::detect(),
        },
        &runner::RunOptions {
            resume: args.resume.as_deref(),
            shard: args.shard,
            backends: None,
        },
    )?;
    println!("\n{}", summary::terminal_table(&result.summary));
    println!("results: {}", result.dir.display());
    Ok(())
}

fn merge(args: &MergeArgs) -> Result<(), Failure> {
    let (out, inputs) = match &args.out {
        Some(out) => (out.clone(), args.dirs.clone()),
        None => (args.dirs[0].clone(), args.dirs[1..].to_vec()),
    };
    let (merged, missing) = crate::merge::merge(&out, &inputs)?;
    println!(
        "merged {merged} units from {} folders into {}",
        inputs.len(),
        out.display()
    );
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().take(5).map(|key| key.to_string()).collect();
        let more = if missing.len() > 5 { ", ..." } else { "" };
        eprintln!(
            "warning: {} units of the scenario are in none of these folders ({}{more}): a \
             shard has not finished; resume it (--resume) and merge again",
            missing.len(),
            names.join("; ")
        );
    }
    Ok(())
}

fn list() {
    for path in scenarios::bundled() {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let description = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| parse::parse_scenario(&name, "", &text, &LoadOptions::default()).ok())
            .map_or_else(
                || "(does not validate: run `nnbench show` to see why)".to_string(),
                |scenario| scenario.description,
            );
        println!("{name:<28} {description}");
    }
}

/// The capability table of every built backend.
pub fn backends_table() -> String {
    let mut out = String::new();
    for backend in registry::built() {
        out.push_str(&format!(
            "{} ({})\n",
            backend.name(),
            backend.framework_version()
        ));
        let mut capabilities = backend.capabilities();
        capabilities.sort_by_key(|cap| cap.category);
        for cap in capabilities {
            let reason = match &cap.support {
                nnbench_core::Support::Unsupported(reason) => format!("  ({reason})"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "  {:<12} {:<30} {}{reason}\n",
                cap.category.name(),
                cap.name,
                cap.support
            ));
        }
    }
    for name in nnbench_core::KNOWN_BACKENDS {
        if registry::find(name).is_none() {
            out.push_str(&format!(
                "{name}: not built ({})\n",
                registry::not_built_reason(name)
            ));
        }
    }
    out
}
