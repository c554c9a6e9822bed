//! The load pipeline: scenario text → validated [`Scenario`].
//!
//! The text is parsed as raw TOML; in a quick run it is capped ([`quick`](super::quick)) and
//! edited by its `[quick]` table; its `[sweep]` is expanded into one raw table per variant
//! ([`sweep`](super::sweep)); the caller's overrides are applied to every variant; and each
//! variant is checked field by field into a [`RunSpec`](super::RunSpec)
//! ([`check_run`](super::check_run)). Every problem found on the way is collected (none stops
//! the others) and reported together in a [`ScenarioError`].

use std::path::Path;

use toml::{Table, Value};

use super::check::{Check, parse_value};
use super::check_run::check_run;
use super::path::{self, Assignment, section_key};
use super::problem::{Problem, ScenarioError, shorten};
use super::schema::{QUICK, SWEEP};
use super::{Scenario, Variant, quick, sweep};

/// How to load a scenario.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Cap the run for a smoke test (at most 2 epochs and 2 seeds, small datasets), then apply
    /// the file's `[quick]` table.
    pub quick: bool,
    /// `dotted.path` → value, applied to every variant after the sweep.
    pub overrides: Vec<(String, toml::Value)>,
}

/// Reads and parses a scenario file; its name is the file stem.
pub fn load_scenario(path: &Path, options: &LoadOptions) -> Result<Scenario, ScenarioError> {
    let origin = path.display().to_string();
    let name = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_scenario(&name, &origin, &text, options),
        Err(error) => Err(ScenarioError::one(
            &origin,
            Problem::new("file", None, format!("cannot be read: {error}")),
        )),
    }
}

/// Parses a `key=value` override: the value is read as a TOML value (`3`, `[1, 2]`,
/// `{ kind = "sgd", learning_rate = 0.1 }`), or taken as a bare string when it is not one.
pub fn parse_override(assignment: &str) -> Result<(String, toml::Value), ScenarioError> {
    let fail = |message: String| {
        ScenarioError::one(
            "command line",
            Problem::new(shorten(assignment.trim()), None, message),
        )
    };
    let Some((key, value)) = assignment.split_once('=') else {
        return Err(fail(
            "expected key=value (e.g. training.epochs=3)".to_string(),
        ));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(fail(
            "empty key before '='; expected key=value (e.g. training.epochs=3)".to_string(),
        ));
    }
    path::parse_path(key).map_err(fail)?;
    let text = value.trim();
    let value = parse_value(text).unwrap_or_else(|| Value::String(text.to_string()));
    Ok((key.to_string(), value))
}

/// Parses scenario text. `name` names the scenario, `origin` is where the text came from (for
/// messages).
pub fn parse_scenario(
    name: &str,
    origin: &str,
    text: &str,
    options: &LoadOptions,
) -> Result<Scenario, ScenarioError> {
    let fail = |problems: Vec<Problem>| ScenarioError {
        origin: origin.to_string(),
        problems,
    };
    let mut root = match text.parse::<Table>() {
        Ok(root) => root,
        Err(error) => return Err(fail(vec![syntax_problem(text, &error)])),
    };
    let mut problems = Vec::new();

    let sweep_table = root.remove(SWEEP.name);
    let quick_table = root.remove(QUICK.name);
    let axes = sweep_table.as_ref().map_or_else(Vec::new, |value| {
        sweep::parse_axes(value, &sweep::key_order(text, SWEEP.name), &mut problems)
    });
    let quick_sets = quick_table.as_ref().map_or_else(Vec::new, |value| {
        sweep::parse_assignments(
            QUICK.name,
            value,
            &sweep::key_order(text, QUICK.name),
            &mut problems,
        )
    });
    let mut overrides = Vec::new();
    for (path, value) in &options.overrides {
        match path::resolve_path(path) {
            Ok(segments) => overrides.push(Assignment {
                path: path.clone(),
                segments,
                value: value.clone(),
            }),
            Err(message) => problems.push(Problem::new(
                shorten(path),
                None,
                format!("unknown key (in an override): {message}"),
            )),
        }
    }

    if options.quick {
        quick::apply_caps(&mut root);
        for set in &quick_sets {
            if let Err(message) = set.apply(&mut root) {
                problems.push(Problem::new(
                    section_key(QUICK.name, &set.path),
                    None,
                    message,
                ));
            }
        }
        // The [quick] table may lower the caps further, never raise them.
        quick::apply_caps(&mut root);
    }

    let raw_variants = sweep::expand(&root, &axes, &mut problems);
    let several = raw_variants.len() > 1;
    let mut variants = Vec::new();
    let mut meta = None;
    for raw in raw_variants {
        let (variant_name, assignment, mut table) = (raw.name, raw.assignment, raw.table);
        let mut check = Check {
            dir: Path::new(origin)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            ..Check::default()
        };
        if options.quick {
            // A sweep value must not undo the caps of a quick run either.
            quick::apply_caps(&mut table);
        }
        for set in &overrides {
            if let Err(message) = set.apply(&mut table) {
                check.problems.push(Problem::new(
                    shorten(&set.path),
                    None,
                    format!("cannot apply the override: {message}"),
                ));
            }
        }
        let checked = check_run(&mut check, &table);
        for mut problem in check.problems {
            let seen = problems.iter().any(|p: &Problem| {
                p.key == problem.key && p.value == problem.value && p.message == problem.message
            });
            if !seen {
                if several {
                    // The full assignment names the sweep point by the keys of the file.
                    problem.variant = Some(assignment.clone());
                }
                problems.push(problem);
            }
        }
        if let Some((found, run)) = checked {
            meta.get_or_insert(found);
            variants.push(Variant {
                name: variant_name,
                assignment,
                run,
            });
        }
    }

    match meta {
        Some(meta) if problems.is_empty() => Ok(Scenario {
            name: name.to_string(),
            description: meta.description,
            course_section: meta.course_section,
            unit_time_limit_s: meta.unit_time_limit_s,
            variants,
        }),
        _ if problems.is_empty() => Err(fail(vec![Problem::new(
            SWEEP.name,
            None,
            "no variant to run",
        )])),
        _ => Err(fail(problems)),
    }
}

fn syntax_problem(text: &str, error: &toml::de::Error) -> Problem {
    let start = error.span().map_or(0, |span| span.start);
    let before = text.get(..start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    let message = error.message().trim().replace('\n', "; ");
    Problem::new(
        format!("line {line}, column {column}"),
        None,
        format!("not valid TOML: {message}"),
    )
}
