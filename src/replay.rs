//! What a run needs to be replayed outside nnbench: the initial weights every backend loaded,
//! as safetensors (the format candle, burn and PyTorch all read), and the order of the
//! training rows in every epoch. `nnbench parity` writes them for each variant it checks, and
//! `nnbench scenario --export-replay` for every variant and seed.
//!
//! `replay/<variant>-seed<seed>/init.safetensors` holds the canonical tensors (`"{i}.weight"`
//! of shape `[fan_in, fan_out]` with `y = x·W + b`, `"{i}.bias"`, batch-norm statistics;
//! `i` is the layer's index in the network), and `batch_order.safetensors` one `I64` tensor
//! `epoch_{n}` per epoch: the indices of the training split's rows in the order the harness
//! visits them, batch after batch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nnbench_core::batch_order::BatchOrder;
use nnbench_core::data::Dataset;
use nnbench_core::init::initial_weights;
use nnbench_core::network::Network;
use nnbench_core::spec::Variant;
use safetensors::{Dtype, tensor::TensorView};

use crate::report::stats::slug;

/// The folder, inside a run folder, that one unit's replay files go to.
pub fn folder(dir: &Path, variant: &str, seed: u64) -> PathBuf {
    dir.join("replay")
        .join(format!("{}-seed{seed}", slug(variant)))
}

/// Writes the replay files of `variant` trained from `seed` on `dataset`; returns their
/// folder. A variant on the frameworks' own default initialisation has no initial weights to
/// write: only its batch order is.
pub fn write(dir: &Path, variant: &Variant, dataset: &Dataset, seed: u64) -> Result<PathBuf> {
    let out = folder(dir, &variant.name, seed);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let run = &variant.run;
    let network = Network::for_run(run, dataset.features, dataset.classes)?;
    let metadata = HashMap::from([
        ("variant".to_string(), variant.name.clone()),
        ("seed".to_string(), seed.to_string()),
        ("dataset".to_string(), dataset.name.clone()),
    ]);
    if let Some(weights) = initial_weights(&network, &run.init, seed) {
        let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = weights
            .tensors
            .iter()
            .map(|t| {
                let data = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
                (t.name.clone(), data, t.shape.clone())
            })
            .collect();
        let mut layout = metadata.clone();
        layout.insert(
            "layout".into(),
            "dense {i}.weight is [fan_in, fan_out] (y = x @ W + b): torch.nn.Linear's weight is its transpose".into(),
        );
        save(&out.join("init.safetensors"), Dtype::F32, &bytes, layout)?;
    }
    let mut order = BatchOrder::new(dataset.train.rows, seed, run.training.shuffle);
    let epochs: Vec<(String, Vec<u8>, Vec<usize>)> = (1..=run.training.epochs)
        .map(|epoch| {
            let rows = order.next_epoch();
            let data = rows
                .iter()
                .flat_map(|&r| (r as i64).to_le_bytes())
                .collect();
            (format!("epoch_{epoch}"), data, vec![rows.len()])
        })
        .collect();
    let mut batches = metadata;
    batches.insert(
        "batch_size".into(),
        run.training.batch.rows(dataset.train.rows).to_string(),
    );
    save(
        &out.join("batch_order.safetensors"),
        Dtype::I64,
        &epochs,
        batches,
    )?;
    Ok(out)
}

fn save(
    path: &Path,
    dtype: Dtype,
    tensors: &[(String, Vec<u8>, Vec<usize>)],
    metadata: HashMap<String, String>,
) -> Result<()> {
    let views = tensors
        .iter()
        .map(|(name, data, shape)| {
            TensorView::new(dtype, shape.clone(), data).map(|view| (name.clone(), view))
        })
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("preparing {}", path.display()))?;
    let bytes = safetensors::serialize(views, Some(metadata))
        .with_context(|| format!("preparing {}", path.display()))?;
    let parent = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("replay");
    crate::run_folder::write_file(parent, name, &bytes)
}
