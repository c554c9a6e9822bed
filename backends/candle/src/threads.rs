//! How many threads candle uses, and how this adapter keeps it to the scenario's count.
//!
//! Candle's CPU matrix products run on `gemm` with `Parallelism::Rayon`, i.e. on the rayon
//! pool of the calling thread: the trainer runs every step and every prediction inside a
//! rayon pool of `setup.threads` threads ([`pool`]), which bounds them. Candle sizes the rest
//! once per process, from the `CANDLE_NUM_THREADS` / `RAYON_NUM_THREADS` environment variables
//! (default: the physical cores): the number of blocks a product is split into, and a pool
//! of spinning workers that runs large element-wise operations (64 Ki elements and more, such
//! as the optimizer's update of a 784 × 128 weight). That pool ignores rayon's; on a busy
//! machine its spinning makes a one-thread run several times slower. A program that runs
//! candle with one thread count calls [`set_process_threads`] first.
//!
//! candle 0.11 also asks, at every matrix product, how many threads to tell `gemm` about
//! (`candle_core::utils::get_num_threads`): from `RAYON_NUM_THREADS`, or else by reading
//! `/proc/cpuinfo` to count physical cores, every time. On the 2-4-1 XOR network that file read
//! was most of a step (356 µs per step in candle's own loop, measured by `nnbench bench`).
//! [`set_process_threads`] therefore also sets `RAYON_NUM_THREADS` to the count candle
//! computes itself, so every product gets the same number without the read.

use std::sync::Arc;

use nnbench_core::BackendError;

/// The process's rayon pool of `threads` threads (see [`nnbench_core::threads`]).
pub fn pool(threads: usize) -> Result<Arc<rayon::ThreadPool>, BackendError> {
    nnbench_core::threads::rayon_pool(threads)
}

/// Sets `CANDLE_NUM_THREADS` to `threads` unless the environment already sets it, so that
/// candle's process-wide pools match the runs' thread count, and `RAYON_NUM_THREADS` to the
/// count candle would compute at each product, unless set (see the module docs). It takes
/// effect only before candle's first tensor operation in the process.
///
/// # Safety
///
/// Writes the process environment: call it while no other thread can be reading or writing
/// the environment (at the start of `main`), as [`std::env::set_var`] requires.
pub unsafe fn set_process_threads(threads: usize) {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // SAFETY: the caller guarantees that no other thread touches the environment.
        unsafe { std::env::set_var("CANDLE_NUM_THREADS", threads.max(1).to_string()) };
    }
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let candle_default = candle_core::utils::get_num_threads();
        // SAFETY: as above.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", candle_default.to_string()) };
    }
}
