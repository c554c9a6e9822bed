//! Finding scenario files: by path, or by name in the scenarios folder.

use std::path::{Path, PathBuf};

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
