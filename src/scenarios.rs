//! Finding scenario files (by path, or by name in the scenarios folder) and loading them with
//! the command line's overrides.

use std::path::{Path, PathBuf};

use nnbench_core::spec::Scenario;
use nnbench_core::spec::parse;

use crate::args::OverrideArgs;

/// A scenario file that cannot be found or read (exit code 3, like one that does not
/// validate).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScenarioNotFound(pub String);

/// The scenario `name` (a bundled name or a path) with `overrides` applied, and its text as
/// written.
pub fn load(name: &str, overrides: &OverrideArgs) -> anyhow::Result<(Scenario, String)> {
    let path = resolve(name).map_err(ScenarioNotFound)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|error| ScenarioNotFound(format!("cannot read {}: {error}", path.display())))?;
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

/// The folder of bundled scenarios: `NNBENCH_SCENARIOS`, else `./scenarios` when it exists,
/// else the one in the source tree this binary was built from.
pub fn scenarios_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NNBENCH_SCENARIOS") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("scenarios");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// Every `*.toml` in the scenarios folder, sorted by name.
pub fn bundled() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The file for `name_or_path`: an existing path as given, else `<scenarios>/<name>.toml`.
pub fn resolve(name_or_path: &str) -> Result<PathBuf, String> {
    let as_path = Path::new(name_or_path);
    if as_path.is_file() {
        return Ok(as_path.to_path_buf());
    }
    let dir = scenarios_dir();
    let candidate = dir.join(format!("{name_or_path}.toml"));
    if candidate.is_file() {
        return Ok(candidate);
    }
    let names: Vec<String> = bundled()
        .iter()
        .filter_map(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    Err(format!(
        "no scenario `{name_or_path}`: not a file, and not in {} (available: {}); \
         run `nnbench list` to see them with descriptions",
        dir.display(),
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    ))
}
