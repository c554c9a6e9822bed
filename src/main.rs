//! The `nnbench` command: everything lives in the library so tests can drive it.

/// One allocator for every backend, so allocation-heavy frameworks (candle allocates each
/// step's tensors) are not measured against the system allocator while others are not; the
/// choice is recorded in every run's `environment.json`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // candle sizes a process-wide pool of spinning workers for large element-wise operations
    // once, from the environment; its matrix products follow each scenario's thread count.
    // One worker keeps it from fighting the other threads on a busy machine.
    #[cfg(feature = "candle")]
    // SAFETY: no other thread exists yet.
    unsafe {
        nnbench_candle::threads::set_process_threads(1);
    }
    nnbench::cli::main()
}
