//! Units run side by side (`--jobs N`): up to N run at once, each on a thread of its own in a
//! job slot of its own (its own rayon pools: see [`nnbench_core::threads`]), and each result is
//! handed on in unit order, so that a run's files are written exactly as a run of one unit at
//! a time writes them.
//!
//! A unit that ends while an earlier one still runs waits in memory until that one ends: a run
//! killed meanwhile loses it (it has no `units.csv` row yet) and `--resume` runs it again, as it
//! runs any unit that did not finish.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use anyhow::Result;

/// Runs `work(i)` for every `i` in `0..count`, up to `jobs` at once, and hands each result to
/// `commit` in the order of `i`. With one job (or one task), everything runs on the calling
/// thread, one task after another. When `commit` fails, no further task starts; those running
/// finish, and the error is returned.
pub fn run_in_order<T: Send>(
    count: usize,
    jobs: usize,
    work: impl Fn(usize) -> T + Sync,
    mut commit: impl FnMut(usize, T) -> Result<()>,
) -> Result<()> {
    if jobs <= 1 || count <= 1 {
        for task in 0..count {
            commit(task, work(task))?;
        }
        return Ok(());
    }
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel();
        for slot in 0..jobs.min(count) {
            let sender = sender.clone();
            let (next, stop, work) = (&next, &stop, &work);
            let spawned = std::thread::Builder::new()
                .name(format!("nnbench-job-{slot}"))
                .spawn_scoped(scope, move || {
                    nnbench_core::threads::in_job_slot(slot, || {
                        while !stop.load(Ordering::Relaxed) {
                            let task = next.fetch_add(1, Ordering::Relaxed);
                            if task >= count || sender.send((task, work(task))).is_err() {
                                break;
                            }
                        }
                    })
                });
            if let Err(error) = spawned {
                stop.store(true, Ordering::Relaxed);
                anyhow::bail!("cannot start a thread for --jobs: {error}");
            }
        }
        drop(sender);
        let mut ready = BTreeMap::new();
        let mut due = 0;
        for (task, result) in receiver {
            ready.insert(task, result);
            while let Some(result) = ready.remove(&due) {
                if let Err(error) = commit(due, result) {
                    stop.store(true, Ordering::Relaxed);
                    return Err(error);
                }
                due += 1;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn results_are_committed_in_order_whatever_order_they_end_in() {
        for jobs in [1, 2, 3, 8] {
            let mut committed = Vec::new();
            run_in_order(
                7,
                jobs,
                |task| {
                    // Early tasks take longest, so later ones end first.
                    std::thread::sleep(Duration::from_millis(5 * (7 - task as u64)));
                    task * 10
                },
                |task, value| {
                    committed.push((task, value));
                    Ok(())
                },
            )
            .unwrap();
            let expected: Vec<(usize, usize)> = (0..7).map(|t| (t, t * 10)).collect();
            assert_eq!(committed, expected, "jobs {jobs}");
        }
    }

    #[test]
    fn tasks_run_side_by_side_up_to_the_number_of_jobs() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        run_in_order(
            6,
            3,
            |_| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(30));
                running.fetch_sub(1, Ordering::SeqCst);
            },
            |_, ()| Ok(()),
        )
        .unwrap();
        let most = most.load(Ordering::SeqCst);
        assert!((2..=3).contains(&most), "{most}");
    }

    #[test]
    fn a_failed_commit_stops_new_tasks_and_is_returned() {
        let started = AtomicUsize::new(0);
        let error = run_in_order(
            50,
            2,
            |_| {
                started.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
            },
            |task, ()| {
                if task == 1 {
                    anyhow::bail!("disk full")
                }
                Ok(())
            },
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "disk full");
        assert!(started.load(Ordering::SeqCst) < 50);
    }
}
