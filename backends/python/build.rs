//! Embeds each framework's capability file (`py/nnbench_peers/capabilities/<framework>.toml`)
//! when it exists, so that a file not written yet leaves a placeholder instead of a build error.

use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("py/nnbench_peers/capabilities");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut code = String::new();
    for framework in ["pytorch", "jax", "keras"] {
        let file = dir.join(format!("{framework}.toml"));
        println!("cargo:rerun-if-changed={}", file.display());
        let value = if file.is_file() {
            format!("Some(include_str!({:?}))", file.display().to_string())
        } else {
            "None".to_string()
        };
        code.push_str(&format!(
            "pub const {}: Option<&str> = {value};\n",
            framework.to_uppercase()
        ));
    }
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("capability_files.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
