//! `nnbench merge`: the folders of several shards of one scenario run put back together into
//! one run folder, after checking they ran the same scenario and no unit twice.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::run_folder::read::first_difference;
use crate::run_folder::write::write_table;
use crate::run_folder::{self, Description, RunFolder, RunFolderError, UnitTable};
use crate::shard::{self, UnitKey};
use crate::summary;

/// Merges shard folders into `out` (new or empty): checks they ran the same scenario and no
/// unit twice, then writes every per-unit file in the stable unit order, with the scenario
/// and environment files of the first folder, the summary and the report.
/// Returns the number of units merged and those of the scenario that no folder holds.
pub fn merge(out: &Path, inputs: &[PathBuf]) -> Result<(usize, Vec<UnitKey>)> {
    let Some(first) = inputs.first() else {
        return Err(RunFolderError::new(
            "nothing to merge: give the output folder and at least one shard folder \
             (nnbench merge OUT DIR...)",
        )
        .into());
    };
    let folders: Vec<RunFolder> = inputs
        .iter()
        .map(|dir| RunFolder::read(dir))
        .collect::<Result<_, _>>()?;
    let reference = &folders[0];
    let resolved = reference.resolved()?;
    for folder in &folders[1..] {
        if let Some((key, old, new)) = first_difference(resolved, folder.resolved()?) {
            return Err(RunFolderError::new(format!(
                "{} and {} ran different scenarios: {key} is {old} in the first and {new} in \
                 the second; merge only shards of one scenario run with the same options",
                first.display(),
                folder.dir.display()
            ))
            .into());
        }
    }
    let mut owner: HashMap<UnitKey, &Path> = HashMap::new();
    for folder in &folders {
        if let Some(key) = folder.repeated.first() {
            return Err(RunFolderError::in_file(
                &folder
                    .dir
                    .join(<run_folder::UnitRow as run_folder::Table>::FILE),
                format!("unit {key} appears twice"),
            )
            .into());
        }
        for row in &folder.units {
            if let Some(previous) = owner.insert(row.key(), &folder.dir) {
                return Err(RunFolderError::new(format!(
                    "unit {} is in both {} and {}: each unit must come from one shard \
                     (were the same --shard given twice, or a folder listed twice?)",
                    row.key(),
                    previous.display(),
                    folder.dir.display()
                ))
                .into());
            }
        }
    }
    let order = shard::units_from_resolved(resolved).unwrap_or_default();
    let position: HashMap<&UnitKey, usize> =
        order.iter().enumerate().map(|(i, k)| (k, i)).collect();
    if let Some(key) = owner.keys().find(|key| !position.contains_key(key)) {
        return Err(RunFolderError::new(format!(
            "unit {key} is not a unit of the scenario in {}: the folder is damaged",
            first.display()
        ))
        .into());
    }
    let rank = |key: &UnitKey| position.get(key).copied().unwrap_or(usize::MAX);

    let dir = run_folder::create_run_dir(Some(out), Path::new("results"), "merged")?;
    let sources: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    Description {
        source_text: reference.source_text.as_deref().unwrap_or_default(),
        resolved,
        environment: reference.environment.as_deref(),
        run: serde_json::json!({ "merged_from": sources }),
    }
    .write(&dir)?;
    let units = merged(&folders, |f| Some(&f.units), &rank);
    write_table(&dir, units.iter().copied())?;
    write_table(&dir, merged(&folders, |f| Some(&f.epochs), &rank))?;
    if folders.iter().any(|f| f.grad_norms.is_some()) {
        write_table(&dir, merged(&folders, |f| f.grad_norms.as_ref(), &rank))?;
    }
    if folders.iter().any(|f| f.dead_units.is_some()) {
        write_table(&dir, merged(&folders, |f| f.dead_units.as_ref(), &rank))?;
    }
    if folders.iter().any(|f| f.gradients.is_some()) {
        write_table(&dir, merged(&folders, |f| f.gradients.as_ref(), &rank))?;
    }
    if folders.iter().any(|f| f.boundary.is_some()) {
        write_table(&dir, merged(&folders, |f| f.boundary.as_ref(), &rank))?;
    }
    // The dataset's examples are the same in every shard.
    if let Some(points) = folders.iter().find_map(|f| f.points.as_ref()) {
        write_table(&dir, points)?;
    }
    let mut records = Vec::new();
    for folder in &folders {
        records.extend(folder.records()?);
    }
    records.sort_by_key(|r| {
        rank(&UnitKey {
            variant: r.variant.clone(),
            backend: r.backend.clone(),
            seed: r.seed,
        })
    });
    write_table(&dir, &summary::summarize(&records))?;
    // The full report and plots, as a run makes them; the CSV files stand without them.
    if let Err(error) = crate::report::generate(&dir) {
        eprintln!("warning: could not write the report and plots: {error:#}");
    }
    let missing: Vec<UnitKey> = order
        .into_iter()
        .filter(|key| !owner.contains_key(key))
        .collect();
    Ok((units.len(), missing))
}

/// The rows of one per-unit file from every folder, in the stable unit order (a unit's rows
/// keep their order: the sort is stable).
fn merged<'f, R: UnitTable + 'f>(
    folders: &'f [RunFolder],
    pick: impl Fn(&'f RunFolder) -> Option<&'f Vec<R>>,
    rank: &dyn Fn(&UnitKey) -> usize,
) -> Vec<&'f R> {
    let mut rows: Vec<&R> = folders.iter().filter_map(pick).flatten().collect();
    rows.sort_by_key(|row| rank(&row.key()));
    rows
}
