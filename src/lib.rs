//! The `nnbench` command-line tool: runs scenarios on every built backend and writes results.
//!
//! - [`cli`]: command parsing and exit codes;
//! - [`registry`]: which backends this binary was built with;
//! - [`scenarios`]: finding scenario files by name;
//! - [`runner`]: a scenario's units, run one after the other through the core loop;
//! - [`results`]: the run folder and its CSV files; [`summary`]: the aggregated table;
//! - [`shard`]: the stable unit order and `--shard k/n`; [`merge`]: reading run folders back
//!   (`--resume`) and merging shard folders;
//! - [`environment`]: the machine and build a run happened on; [`progress`]: terminal output.

pub mod bench;
pub mod cli;
pub mod clock;
pub mod environment;
pub mod merge;
pub mod parity;
pub mod progress;
pub mod registry;
pub mod report;
pub mod results;
pub mod runner;
pub mod scenarios;
pub mod shard;
pub mod summary;
