//! Job slots of units run side by side, and (with the `rayon` feature) the rayon pools shared
//! by the adapters whose frameworks compute on rayon (burn, candle): one per thread count and
//! job slot, made on first use. The harness enters a backend's pool once per unit
//! ([`Backend::with_threads`](crate::Backend::with_threads)); a trainer's own entries from
//! inside it then run inline, where entering a pool from outside hands the work to another
//! thread at every step.
//!
//! Units run side by side (`nnbench scenario --jobs N`) each run in a job slot of their own
//! ([`in_job_slot`]), and each slot has its own pools: two units entering one pool from two
//! threads would queue behind each other, and a worker of that pool waiting inside one unit
//! may pick up the other unit's whole work (rayon steals queued jobs while it waits), which
//! would count that unit's time in the first one's epoch.

use std::cell::Cell;
#[cfg(feature = "rayon")]
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(feature = "rayon")]
use std::sync::{Arc, Mutex, OnceLock};

#[cfg(feature = "rayon")]
use crate::BackendError;

thread_local! {
    /// The job slot of the unit running on this thread (0 outside [`in_job_slot`]); the
    /// workers of a slot's pools carry their slot too.
    static SLOT: Cell<usize> = const { Cell::new(0) };
}

/// Job slots entered now, by [`in_job_slot`].
static SLOTS_IN_USE: AtomicUsize = AtomicUsize::new(0);

/// Runs `work` on the calling thread as job slot `slot`: the rayon pools handed out inside it
/// (`rayon_pool`, with the `rayon` feature) are that slot's own.
pub fn in_job_slot<R>(slot: usize, work: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            SLOT.with(|s| s.set(self.0));
            SLOTS_IN_USE.fetch_sub(1, Ordering::Relaxed);
        }
    }
    SLOTS_IN_USE.fetch_add(1, Ordering::Relaxed);
    let _restore = Restore(SLOT.with(|s| s.replace(slot)));
    work()
}

/// How many units this process runs at once now: the job slots entered, 1 outside any. An
/// adapter that would keep a core busy while its framework works (the Python bridge's polling
/// for a reply) asks whether the units beside it leave one.
pub fn units_side_by_side() -> usize {
    SLOTS_IN_USE.load(Ordering::Relaxed).max(1)
}

/// Rayon pools by (threads, job slot).
#[cfg(feature = "rayon")]
type Pools = Mutex<HashMap<(usize, usize), Arc<rayon::ThreadPool>>>;

/// The calling thread's rayon pool of `threads` threads (at least one), that of its job slot
/// (see the module docs).
#[cfg(feature = "rayon")]
pub fn rayon_pool(threads: usize) -> Result<Arc<rayon::ThreadPool>, BackendError> {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    let threads = threads.max(1);
    let slot = SLOT.with(Cell::get);
    let mut pools = POOLS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(pool) = pools.get(&(threads, slot)) {
        return Ok(Arc::clone(pool));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(move |_| SLOT.with(|s| s.set(slot)))
        .build()
        .map_err(|error| BackendError::Framework {
            framework: "rayon",
            message: format!("cannot start {threads} threads: {error}"),
        })?;
    Ok(Arc::clone(
        pools.entry((threads, slot)).or_insert(Arc::new(pool)),
    ))
}

/// Runs `work` inside [`rayon_pool`]`(threads)`, or directly when that pool cannot start (the
/// trainer then reports the error when it asks for the pool itself).
#[cfg(feature = "rayon")]
pub fn run_in_rayon_pool(threads: usize, work: &mut (dyn FnMut() + Send)) {
    match rayon_pool(threads) {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "rayon")]
    fn each_job_slot_has_its_own_pools_and_their_workers_find_them_again() {
        let main = rayon_pool(2).unwrap();
        assert!(Arc::ptr_eq(&main, &rayon_pool(2).unwrap()));
        let other = in_job_slot(3, || rayon_pool(2).unwrap());
        assert!(!Arc::ptr_eq(&main, &other));
        // A trainer asking for its pool from inside the slot's pool gets the same one back.
        let inside = other.install(|| rayon_pool(2).unwrap());
        assert!(Arc::ptr_eq(&other, &inside));
        assert!(Arc::ptr_eq(&main, &rayon_pool(2).unwrap()), "slot restored");
    }

    #[test]
    fn units_side_by_side_counts_the_job_slots_entered_now() {
        let both_inside = std::sync::Barrier::new(2);
        let counted = std::thread::scope(|scope| {
            let slots: Vec<_> = (1..=2)
                .map(|slot| {
                    let both_inside = &both_inside;
                    scope.spawn(move || {
                        in_job_slot(10 + slot, || {
                            both_inside.wait();
                            let counted = units_side_by_side();
                            both_inside.wait();
                            counted
                        })
                    })
                })
                .collect();
            slots
                .into_iter()
                .map(|slot| slot.join().unwrap())
                .collect::<Vec<_>>()
        });
        // Other tests of this binary may hold a slot of their own meanwhile.
        assert!(counted.iter().all(|&units| units >= 2), "{counted:?}");
        assert!(units_side_by_side() >= 1);
    }
}
