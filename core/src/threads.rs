//! Rayon pools shared by the adapters whose frameworks compute on rayon (burn, candle): one
//! per thread count, made on first use. The harness enters a backend's pool once per unit
//! ([`Backend::with_threads`](crate::Backend::with_threads)); a trainer's own entries from
//! inside it then run inline, where entering a pool from outside hands the work to another
//! thread at every step.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::BackendError;

/// The process's rayon pool of `threads` threads (at least one).
pub fn rayon_pool(threads: usize) -> Result<Arc<rayon::ThreadPool>, BackendError> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let threads = threads.max(1);
    let mut pools = POOLS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(pool) = pools.get(&threads) {
        return Ok(Arc::clone(pool));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|error| BackendError::Framework {
            framework: "rayon",
            message: format!("cannot start {threads} threads: {error}"),
        })?;
    Ok(Arc::clone(pools.entry(threads).or_insert(Arc::new(pool))))
}

/// Runs `work` inside [`rayon_pool`]`(threads)`, or directly when that pool cannot start (the
/// trainer then reports the error when it asks for the pool itself).
pub fn run_in_rayon_pool(threads: usize, work: &mut (dyn FnMut() + Send)) {
    match rayon_pool(threads) {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}
