//! Gives this crate's binaries and tests a RUNPATH to libtorch: torch-sys links against
//! `$LIBTORCH/lib` but does not tell the final executable where to find it at run time.
//! (`cargo:rustc-link-arg` applies to this crate's own targets only; the root `nnbench`
//! binary adds the same line in its build script when its `tch` feature is on.)

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Ok(libtorch) = std::env::var("LIBTORCH") {
        let lib = std::path::Path::new(&libtorch).join("lib");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
}
