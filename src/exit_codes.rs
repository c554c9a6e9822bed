//! Every exit code of `nnbench`, named, in one table. The README's list is generated from
//! [`TABLE`] (a test fails when they drift); `cli::exit_code` is the one function that maps
//! an error to its code.

/// The command did what was asked. A run whose units failed or diverged still succeeds: its
/// summary says so.
pub const SUCCESS: u8 = 0;
/// An unexpected failure, such as an unwritable results folder.
pub const FAILURE: u8 = 1;
/// A wrong command line: an unknown flag, a bad value, a `--backends` name that is no backend.
pub const USAGE: u8 = 2;
/// A scenario that cannot be found or does not validate.
pub const SCENARIO: u8 = 3;
/// A dataset that cannot be read or fetched.
pub const DATASET: u8 = 4;
/// A run folder that cannot be read, resumed or merged.
pub const RUN_FOLDER: u8 = 5;

/// A `course` run in which some scenario could not run (its dataset is missing, say): the
/// others ran, and the index says which did not and why.
pub const COURSE_INCOMPLETE: u8 = 6;

/// One exit code and what it means, for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitCode {
    pub code: u8,
    pub name: &'static str,
    pub meaning: &'static str,
}

/// Every exit code, in order.
pub const TABLE: [ExitCode; 7] = [
    ExitCode {
        code: SUCCESS,
        name: "SUCCESS",
        meaning: "success (a run whose units failed still succeeds: read its summary)",
    },
    ExitCode {
        code: FAILURE,
        name: "FAILURE",
        meaning: "an unexpected failure such as an unwritable results folder",
    },
    ExitCode {
        code: USAGE,
        name: "USAGE",
        meaning: "a wrong command line (an unknown flag, a bad value, a `--backends` name that \
                  is no backend or one the command cannot use)",
    },
    ExitCode {
        code: SCENARIO,
        name: "SCENARIO",
        meaning: "a scenario that cannot be found or does not validate",
    },
    ExitCode {
        code: DATASET,
        name: "DATASET",
        meaning: "a dataset that cannot be read or fetched",
    },
    ExitCode {
        code: RUN_FOLDER,
        name: "RUN_FOLDER",
        meaning: "a run folder that cannot be read, resumed or merged (the scenario changed \
                  since, a unit is in two shard folders, a results file is damaged: the \
                  message names the file, line and column, or the key or unit)",
    },
    ExitCode {
        code: COURSE_INCOMPLETE,
        name: "COURSE_INCOMPLETE",
        meaning: "a `course` run in which some scenario could not run (a missing dataset, \
                  say): the others ran, and `index.md` says which did not and why; fix the \
                  cause and `--resume` the course folder",
    },
];

/// The README's list of exit codes, generated from [`TABLE`].
pub fn markdown() -> String {
    let mut out = String::from("| code | meaning |\n|---|---|\n");
    for entry in TABLE {
        out.push_str(&format!("| `{}` | {} |\n", entry.code, entry.meaning));
    }
    out
}
