//! The backends this binary was built with, and why the others are missing.

use nnbench_core::{Backend, KNOWN_BACKENDS};

/// Every backend compiled into this binary, in report order.
pub fn built() -> Vec<Box<dyn Backend>> {
    let mut backends: Vec<Box<dyn Backend>> = vec![Box::new(nnbench_native::NativeBackend)];
    #[cfg(feature = "burn")]
    backends.push(Box::new(nnbench_burn::BurnBackend));
    #[cfg(feature = "candle")]
    backends.push(Box::new(nnbench_candle::CandleBackend));
    #[cfg(feature = "linfa")]
    backends.push(Box::new(nnbench_linfa::LinfaBackend));
    #[cfg(feature = "linfa")]
    backends.push(Box::new(nnbench_linfa::LinearBackend));
    #[cfg(feature = "tch")]
    backends.push(Box::new(nnbench_tch::TchBackend));
    #[cfg(feature = "python")]
    backends.extend(nnbench_python::PythonBackend::all().map(|b| Box::new(b) as Box<dyn Backend>));
    backends
}

/// The built backend called `name`.
pub fn find(name: &str) -> Option<Box<dyn Backend>> {
    built().into_iter().find(|backend| backend.name() == name)
}

/// Why `name` is not in this binary, with the command that builds it.
pub fn not_built_reason(name: &str) -> String {
    if KNOWN_BACKENDS.contains(&name) {
        // The linear baseline comes with the linfa adapter (linfa-logistic); the Python
        // frameworks share one bridge.
        let feature = match name {
            "linear" => "linfa",
            "pytorch" | "jax" | "keras" => "python",
            _ => name,
        };
        format!(
            "this binary was built without the `{name}` backend; rebuild with \
             `cargo run --release --features {feature} -- ...`"
        )
    } else {
        format!("unknown backend `{name}`")
    }
}
