//! Where the Python peers live: the interpreter of the project's `.venv-peers/` (or
//! `$NNBENCH_PYTHON`), the `nnbench_peers` package beside this crate, and the installed versions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::Framework;

/// The command that installs the peers, named in every "not installed" reason.
pub const SETUP_COMMAND: &str = "scripts/setup-python-peers.sh";
/// Names another Python interpreter that has the frameworks (and numpy) installed.
pub const PYTHON_VARIABLE: &str = "NNBENCH_PYTHON";
/// Written by the set-up script into the environment once everything imported.
pub const READY_MARKER: &str = "nnbench-peers-ready";

/// The interpreter to start workers with and the directory holding `nnbench_peers`.
#[derive(Debug, Clone)]
pub struct Peers {
    pub python: PathBuf,
    pub package_dir: PathBuf,
}

/// The project root (this crate is `backends/python`).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project's virtual environment.
pub fn venv_dir() -> PathBuf {
    project_root().join(".venv-peers")
}

/// The peers, or why they cannot run, with the command that installs them.
pub fn locate() -> Result<Peers, String> {
    let package_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("py");
    if let Some(python) = std::env::var_os(PYTHON_VARIABLE).filter(|v| !v.is_empty()) {
        let python = PathBuf::from(python);
        if !python.is_file() {
            return Err(format!(
                "${PYTHON_VARIABLE} names {}, which does not exist",
                python.display()
            ));
        }
        return Ok(Peers {
            python,
            package_dir,
        });
    }
    let venv = venv_dir();
    let python = venv.join("bin/python");
    if !python.is_file() || !venv.join(READY_MARKER).is_file() {
        return Err(format!(
            "the Python frameworks are not installed: run `{SETUP_COMMAND}` (it installs \
             PyTorch, JAX and Keras/TensorFlow into .venv-peers/), or set ${PYTHON_VARIABLE}"
        ));
    }
    Ok(Peers {
        python,
        package_dir,
    })
}

/// Installed versions (`python` and each distribution), read once from the environment's
/// package metadata without importing any framework; empty when the peers are missing.
pub fn installed_versions() -> &'static BTreeMap<String, String> {
    static VERSIONS: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        let Ok(peers) = locate() else {
            return BTreeMap::new();
        };
        let names: Vec<&str> = Framework::ALL
            .iter()
            .flat_map(|f| f.distributions().iter().copied())
            .chain(["numpy"])
            .collect();
        let script = format!(
            "import importlib.metadata as m, json, platform\n\
             v = {{'python': platform.python_version()}}\n\
             for n in {names:?}:\n\
             \x20   try: v[n] = m.version(n)\n\
             \x20   except m.PackageNotFoundError: pass\n\
             print(json.dumps(v))"
        );
        Command::new(&peers.python)
            .args(["-c", &script])
            .output()
            .ok()
            .filter(|output| output.status.success())
            .and_then(|output| serde_json::from_slice(&output.stdout).ok())
            .unwrap_or_default()
    })
}

/// `torch 2.9.0 (Python 3.11.7, ...)`: the framework's versions for reports and
/// `environment.json`, or why they are unknown.
pub fn describe(framework: Framework) -> String {
    if let Err(reason) = locate() {
        let names = framework.distributions().join(", ");
        return format!("{names} (not installed: {reason})");
    }
    let versions = installed_versions();
    let parts: Vec<String> = framework
        .distributions()
        .iter()
        .map(|&name| match versions.get(name) {
            Some(version) => format!("{name} {version}"),
            None => format!("{name} (missing)"),
        })
        .collect();
    let python = versions.get("python").map_or("?", String::as_str);
    format!("{} (Python {python}, worker process)", parts.join(", "))
}

/// Set to `1` where the peers must be there (CI after the set-up script): tests that need them
/// then fail instead of skipping.
pub const REQUIRE_VARIABLE: &str = "NNBENCH_REQUIRE_PEERS";

/// For tests: `true` when `framework` can run here (the peers are installed and its capability
/// file is written); otherwise prints why and returns `false`, or panics when
/// `$NNBENCH_REQUIRE_PEERS` is `1`.
pub fn ready_for_tests(framework: Framework) -> bool {
    let missing = match locate() {
        Err(reason) => reason,
        Ok(_) if crate::capabilities::file_text(framework).is_none() => {
            format!("capabilities/{}.toml is not written yet", framework.name())
        }
        Ok(_) => return true,
    };
    let required = std::env::var(REQUIRE_VARIABLE).is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{}: ${REQUIRE_VARIABLE}=1 but {missing}",
        framework.name()
    );
    println!("skipped ({}): {missing}", framework.name());
    false
}
