//! The `nnbench` command-line tool: runs scenarios on every built backend and writes results.
//!
//! Modules depend on each other one way (a test holds it):
//! - [`args`]: every command-line argument (depends on no other module);
//!   [`exit_codes`]: every exit code, named; [`stats`], [`clock`]: small helpers;
//!   [`worked_examples`]: the hand computations one-step gradients are checked against;
//! - [`shard`]: the stable unit order; [`registry`]: which backends this binary was built
//!   with; [`environment`]: the machine and build a run happened on; [`scenarios`]: finding
//!   and loading scenario files;
//! - [`run_folder`]: the run folder's files — their schema, the one writer, the one reader;
//!   [`jobs`]: units run side by side (`--jobs`), their results handed on in unit order;
//! - [`summary`]: the aggregated table; [`sink`]: where a run's events go (CSV, progress,
//!   report); [`progress`]: terminal output; [`report`]: `report.md`, plots, `compare`;
//! - the commands: [`runner`] (`scenario`), [`course`], [`merge`], [`bench`](mod@bench),
//!   [`parity`], and the [`replay`] files they export;
//! - [`cli`]: dispatch, and the one mapping of errors to exit codes.

pub mod args;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod course;
pub mod environment;
pub mod exit_codes;
pub mod jobs;
pub mod merge;
pub mod parity;
pub mod progress;
pub mod registry;
pub mod replay;
pub mod report;
pub mod run_folder;
pub mod runner;
pub mod scenarios;
pub mod shard;
pub mod sink;
pub mod stats;
pub mod summary;
pub mod worked_examples;
