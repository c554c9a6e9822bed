//! The stable order of a scenario's units and the share of them a shard runs.
//!
//! A scenario's units are its variants × backends × seeds, in that nesting and in file order:
//! unit `i` (from 0) of that order belongs to shard `k/n` when `i % n == k - 1`. The order
//! depends only on the resolved scenario, so `--shard 1/4` … `--shard 4/4` started on four
//! machines run disjoint sets of units that together cover the scenario exactly once, and
//! `nnbench merge` puts their folders back together. (The `--shard` value itself is
//! [`crate::args::Shard`].)

use std::fmt;

use nnbench_core::spec::Scenario;

/// One unit's identity: which variant, backend and seed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitKey {
    pub variant: String,
    pub backend: String,
    pub seed: u64,
}

impl fmt::Display for UnitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} · {} · seed {}",
            self.variant, self.backend, self.seed
        )
    }
}

/// Every unit of `scenario`, in the stable order runs, shards and merges use.
pub fn units(scenario: &Scenario) -> Vec<UnitKey> {
    let mut out = Vec::new();
    for variant in &scenario.variants {
        for backend in &variant.run.backends {
            for &seed in &variant.run.training.seeds {
                out.push(UnitKey {
                    variant: variant.name.clone(),
                    backend: backend.clone(),
                    seed,
                });
            }
        }
    }
    out
}

/// The same list read from a run folder's `scenario.resolved.json` (see [`units`]); `None`
/// when the JSON does not have the shape nnbench writes.
pub fn units_from_resolved(resolved: &serde_json::Value) -> Option<Vec<UnitKey>> {
    let mut out = Vec::new();
    for variant in resolved.get("variants")?.as_array()? {
        let name = variant.get("name")?.as_str()?;
        let run = variant.get("run")?;
        let seeds: Vec<u64> = run
            .get("training")?
            .get("seeds")?
            .as_array()?
            .iter()
            .map(serde_json::Value::as_u64)
            .collect::<Option<_>>()?;
        for backend in run.get("backends")?.as_array()? {
            let backend = backend.as_str()?;
            for &seed in &seeds {
                out.push(UnitKey {
                    variant: name.to_string(),
                    backend: backend.to_string(),
                    seed,
                });
            }
        }
    }
    Some(out)
}
