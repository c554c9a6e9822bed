"""The harness's batch check (core's `Batch::check`) as a Python error, shared by the adapters
whose framework would otherwise fail later or not at all on a malformed batch, and the
choice of what a step's loss compares against."""

import numpy as np


def check_batch(network, x, labels=None, targets=None):
    """ValueError naming what does not fit: `x` must be a non-empty `rows × inputs` batch; a step
    gets only what its head uses, labels or targets, so either may be None."""
    inputs, outputs = network["inputs"], network["outputs"]
    if x.ndim != 2 or x.shape[1] != inputs or x.shape[0] == 0:
        raise ValueError(
            f"a batch of shape {list(x.shape)} does not fit a network with {inputs} inputs"
        )
    rows = x.shape[0]
    for what, array, shape in (("labels", labels, (rows,)), ("targets", targets, (rows, outputs))):
        if array is not None and array.shape != shape:
            raise ValueError(f"{array.size} {what} for {rows} rows of {outputs} outputs")
    if labels is not None and network["head"] == "softmax_cross_entropy":
        top = int(labels.max())
        if top >= outputs:
            raise ValueError(f"label {top} out of range for {outputs} classes")


def step_truth(uses_labels, labels, targets):
    """What a step's loss compares against, in the dtype the frameworks take: the labels as
    int32 for a softmax head (`uses_labels`), else the targets as float32."""
    if uses_labels:
        return np.asarray(labels, dtype=np.int32)
    return np.asarray(targets, dtype=np.float32)
