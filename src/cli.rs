//! The commands' dispatch and the one classification of errors into exit codes
//! ([`exit_code`], over the table in [`crate::exit_codes`]). Arguments are defined in
//! [`crate::args`]; each command lives in its own module.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use nnbench_core::data::DataError;
use nnbench_core::data::fetch::{self, ImageSet};
use nnbench_core::spec::parse::{self, LoadOptions, ScenarioError};

use crate::args::{Cli, Command, FetchDataset, MergeArgs, ScenarioArgs, UsageError};
use crate::exit_codes;
use crate::progress::Mode;
use crate::run_folder::RunFolderError;
use crate::scenarios::{self, ScenarioNotFound};
use crate::{bench, registry, runner, summary};

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                exit_codes::USAGE
            } else {
                exit_codes::SUCCESS
            });
        }
    };
    match execute(cli) {
        Ok(()) => ExitCode::from(exit_codes::SUCCESS),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit_code(&error))
        }
    }
}

/// The exit code of a failed command: the first cause in the error's chain that has a code
/// of its own decides; anything else is an unexpected failure.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.is::<UsageError>() {
            return exit_codes::USAGE;
        }
        if cause.is::<ScenarioError>() || cause.is::<ScenarioNotFound>() {
            return exit_codes::SCENARIO;
        }
        if cause.is::<DataError>() {
            return exit_codes::DATASET;
        }
        if cause.is::<RunFolderError>() {
            return exit_codes::RUN_FOLDER;
        }
        if cause.is::<CourseIncomplete>() {
            return exit_codes::COURSE_INCOMPLETE;
        }
    }
    exit_codes::FAILURE
}

/// A course run in which some scenario could not run (exit code 6); its index says which.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("some scenarios of the course could not run: index.md says which and why")]
pub struct CourseIncomplete;

fn execute(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Scenario(args) => run_scenario(&args),
        Command::Course(args) => {
            if crate::course::command(&args)? {
                Ok(())
            } else {
                Err(CourseIncomplete.into())
            }
        }
        Command::List => {
            list();
            Ok(())
        }
        Command::Show {
            scenario,
            overrides,
        } => {
            let (scenario, _) = scenarios::load(&scenario, &overrides)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&scenario).context("serializing the scenario")?
            );
            Ok(())
        }
        Command::Backends { long } => {
            if long {
                print!("{}", backends_table());
            } else {
                print!("{}", backends_matrix());
            }
            Ok(())
        }
        Command::Bench(args) => bench::run(&args),
        Command::Merge(args) => merge(&args),
        Command::Parity(args) => {
            let (scenario, text) = scenarios::load(&args.scenario, &args.overrides)?;
            crate::parity::command(&scenario, &text, &args)
        }
        Command::Report { run } => crate::report::command_report(&run),
        Command::Compare { a, b } => crate::report::command_compare(&a, &b),
        Command::Fetch { dataset, data } => {
            let set = match dataset {
                FetchDataset::Mnist => ImageSet::Mnist,
                FetchDataset::FashionMnist => ImageSet::FashionMnist,
            };
            let progress = crate::progress::DownloadProgress::new(Mode::detect());
            let options = data.options()?;
            let files = fetch::ensure(set, &options, &progress)?;
            let dir = files.train_images.parent().unwrap_or(&options.data_dir);
            println!("{} is in {}", set.name(), dir.display());
            Ok(())
        }
    }
}

fn run_scenario(args: &ScenarioArgs) -> Result<()> {
    let (scenario, text) = scenarios::load(&args.scenario, &args.overrides)?;
    let data = args.data.options()?;
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
            export_replay: args.export_replay,
            jobs: args.jobs.jobs,
        },
    )?;
    println!("\n{}", summary::terminal_table(&result.summary));
    if let Some(note) = summary::jobs_note(&result.summary) {
        println!("{note}");
    }
    println!("results: {}", result.dir.display());
    Ok(())
}

fn merge(args: &MergeArgs) -> Result<()> {
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
            .and_then(|text| {
                // The path, not just the text: a scenario may name files beside it.
                let origin = path.display().to_string();
                parse::parse_scenario(&name, &origin, &text, &LoadOptions::default()).ok()
            })
            .map_or_else(
                || "(does not validate: run `nnbench show` to see why)".to_string(),
                |scenario| scenario.description,
            );
        println!("{name:<28} {description}");
    }
}

/// Features × built backends, one letter a cell: `F` the framework's own, `A` built by the
/// adapter on the framework's tensors, `-` unsupported (`--long` says why).
pub fn backends_matrix() -> String {
    let backends = registry::built();
    let tables: Vec<Vec<nnbench_core::Capability>> =
        backends.iter().map(|b| b.capabilities()).collect();
    let mut features: Vec<(nnbench_core::Category, &'static str)> = Vec::new();
    for table in &tables {
        for cap in table {
            if !features.contains(&(cap.category, cap.name)) {
                features.push((cap.category, cap.name));
            }
        }
    }
    // Stable: the category order, then each feature in the order the backends list it.
    features.sort_by_key(|(category, _)| *category);
    let label =
        |(category, name): &(nnbench_core::Category, &str)| format!("{} {name}", category.name());
    let first_width = features.iter().map(|f| label(f).len()).max().unwrap_or(0);
    let widths: Vec<usize> = backends.iter().map(|b| b.name().len().max(1)).collect();
    let mut out = format!("{:<first_width$}", "");
    for backend in &backends {
        out.push_str(&format!("  {}", backend.name()));
    }
    out.push('\n');
    let mut last_category = None;
    for feature in &features {
        if last_category.is_some_and(|c| c != feature.0) {
            out.push('\n');
        }
        last_category = Some(feature.0);
        out.push_str(&format!("{:<first_width$}", label(feature)));
        for (table, width) in tables.iter().zip(&widths) {
            let cell = match table
                .iter()
                .find(|cap| cap.category == feature.0 && cap.name == feature.1)
                .map(|cap| &cap.support)
            {
                Some(nnbench_core::Support::Framework) => "F",
                Some(nnbench_core::Support::Adapter) => "A",
                Some(nnbench_core::Support::Unsupported(_)) => "-",
                None => "-",
            };
            out.push_str(&format!("  {cell:^width$}"));
        }
        out.push('\n');
    }
    out.push_str(
        "\nF: the framework's own   A: built by the adapter on the framework's tensors   \
         -: unsupported (`nnbench backends --long` says why)\n",
    );
    for backend in &backends {
        if let Err(reason) = backend.availability() {
            out.push_str(&format!(
                "{}: built, not available here ({reason})\n",
                backend.name()
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
