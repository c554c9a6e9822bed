//! How many threads libtorch uses, and how this adapter keeps it to the scenario's count.
//!
//! Intra-op parallelism (the OpenMP team of every matrix product and large element-wise
//! operation) is set with `tch::set_num_threads` to `setup.threads` before every step and
//! prediction whenever the calling thread's setting differs (OpenMP keeps the count per
//! thread). Inter-op parallelism is not used by this adapter; it is set once per process to
//! one thread with `tch::set_num_interop_threads` (libtorch accepts that call only once, before
//! its inter-op pool starts).
//!
//! OpenMP spin-waits between parallel regions: with two or more threads on a machine whose
//! cores are busy with other work, that spinning can make an epoch many times slower. libgomp
//! reads its policy once, when it is loaded, so only the environment of the process can change
//! it: `OMP_WAIT_POLICY=PASSIVE` set before the program starts (or one thread) avoids it.

use std::sync::Once;

static INTEROP: Once = Once::new();

/// Applies `threads` (at least one) to libtorch's intra-op pool for the calling thread, and
/// one inter-op thread for the process.
pub fn apply(threads: usize) {
    INTEROP.call_once(|| {
        // libtorch refuses the call (tch then panics) once its inter-op pool has started,
        // which only happens if something else in the process used it: keep its setting then.
        let _ = std::panic::catch_unwind(|| tch::set_num_interop_threads(1));
    });
    let threads = i32::try_from(threads.max(1)).unwrap_or(i32::MAX);
    if tch::get_num_threads() != threads {
        tch::set_num_threads(threads);
    }
}
