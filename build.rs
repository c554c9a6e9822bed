//! Records how this binary was built (rustc, profile, git commit) for the environment file
//! written next to every run's results.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = command_output(&rustc, &["-V"]).unwrap_or_else(|| "unknown".into());
    let commit = command_output("git", &["rev-parse", "--short=12", "HEAD"])
        .unwrap_or_else(|| "unknown".into());
    let dirty = command_output("git", &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    println!("cargo:rustc-env=NNBENCH_RUSTC_VERSION={rustc_version}");
    println!(
        "cargo:rustc-env=NNBENCH_GIT_COMMIT={commit}{}",
        if dirty { "-dirty" } else { "" }
    );
    println!(
        "cargo:rustc-env=NNBENCH_PROFILE={}",
        std::env::var("PROFILE").unwrap_or_default()
    );
    println!(
        "cargo:rustc-env=NNBENCH_OPT_LEVEL={}",
        std::env::var("OPT_LEVEL").unwrap_or_default()
    );
    // Asked of git, not assumed to be under .git/: in a worktree .git is a file, and a build
    // that watched .git/HEAD there kept the commit of its first build.
    let branch = command_output("git", &["rev-parse", "--symbolic-full-name", "HEAD"]);
    for name in ["HEAD", "index"]
        .into_iter()
        .map(str::to_string)
        .chain(branch.filter(|b| b.starts_with("refs/")))
    {
        if let Some(path) = command_output("git", &["rev-parse", "--git-path", &name])
            && std::path::Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    libtorch_runpath();
}

/// With the `tch` feature, gives the binary and its tests a RUNPATH to libtorch
/// (`$LIBTORCH/lib`, set by .cargo/config.toml): torch-sys links against it but leaves the
/// final executable no way to find it at run time, and a dependency's link arguments do not
/// reach this package's targets.
fn libtorch_runpath() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if std::env::var_os("CARGO_FEATURE_TCH").is_none() {
        return;
    }
    if let Ok(libtorch) = std::env::var("LIBTORCH") {
        let lib = std::path::Path::new(&libtorch).join("lib");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}
