"""The JAX adapter (backend `jax`): written as a JAX user writes a training step.

Parameters are a pytree (one dict per layer of the network: `weight` [fan_in, fan_out] and
`bias` for a dense layer or a residual block, `weight` [out, in, kh, kw] (OIHW) and `bias` for a convolution,
`gamma` and `beta` for batch norm), the forward pass is a pure function of `jax.numpy`,
`jax.lax` (`conv_general_dilated` on NHWC images, JAX's and XLA's own layout, `reduce_window`
for pooling) and `jax.nn`
(activations; a residual block adds its input to its dense output), the losses are optax's, the gradient comes
from `jax.value_and_grad` and the whole step (forward, backward, regularization, clipping,
optimizer update) is one `jax.jit`-compiled function. The optimizer is an optax chain with
every constant of the scenario passed explicitly, in the spec's order:

    add_decayed_weights(l2, dense weights only)   # coupled L2: g += l2·w (optax's)
    l1 sign term (dense weights only)              # g += l1·sign(w) (optax has none: adapter)
    clip(c)                                        # by value (optax's)
    clip_by_global_norm(c)                         # (optax's)
    sgd(momentum, nesterov) | rmsprop(eps_in_sqrt=False) | adam

wrapped in `optax.inject_hyperparams`, so the harness's rate for each step is written into the
optimizer state as a traced value: a new rate never recompiles the step.

Pure JAX has no dropout or batch-norm layer (those live in Flax and others), so the adapter
writes them on jax.numpy: inverted dropout with masks from `jax.random` keys derived from the
unit's seed (split once per step), and batch norm with the spec's convention (biased batch
variance to normalise, PyTorch's momentum and the unbiased variance for the running
statistics, which are carried beside the parameters, never differentiated).

`framework_default` init is what Flax's `nn.Dense` draws, from `jax.nn.initializers`: LeCun
normal (truncated) weights, zero biases, from a key derived from the seed. float32 throughout
(jax's default, x64 off).
"""

import functools
import os
import time

import numpy as np

from . import lenet
from .batch import check_batch, step_truth

FRAMEWORK = "jax"

_jax = None
_threads_applied = None


def configure_threads(threads):
    """XLA's CPU threads, through XLA_FLAGS, which XLA reads once when jax starts its backend:
    one thread turns Eigen's pool off; more set its size."""
    global _threads_applied
    threads = max(int(threads), 1)
    if _threads_applied is not None:
        if threads != _threads_applied:
            raise RuntimeError(
                f"jax already started with {_threads_applied} threads in this process; "
                f"{threads} needs a new process"
            )
        return
    if threads == 1:
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    else:
        flags = f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={threads}"
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    _threads_applied = threads
    _modules()


def _modules():
    """jax, jax.numpy and optax, imported on first use (after configure_threads)."""
    global _jax
    if _jax is None:
        import jax
        import jax.numpy as jnp
        import optax

        _jax = (jax, jnp, optax)
    return _jax


def versions():
    import jaxlib

    jax, _, optax = _modules()
    return {
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "optax": optax.__version__,
        "numpy": np.__version__,
    }


# The spec's constants (core/src/spec/mod.rs, Activation).
LEAKY_RELU_SLOPE = 0.01
ELU_ALPHA = 1.0


def _activation(name):
    jax, _, _ = _modules()
    functions = {
        "identity": lambda x: x,
        "sigmoid": jax.nn.sigmoid,
        "tanh": jax.numpy.tanh,
        "relu": jax.nn.relu,
        "leaky_relu": functools.partial(jax.nn.leaky_relu, negative_slope=LEAKY_RELU_SLOPE),
        "elu": functools.partial(jax.nn.elu, alpha=ELU_ALPHA),
        "selu": jax.nn.selu,  # Klambauer et al.'s constants, as the spec
    }
    if name not in functions:
        raise ValueError(f"activation {name!r} is not supported by the jax backend")
    return functions[name]


HEADS = ("softmax_cross_entropy", "sigmoid_binary_cross_entropy", "identity_mse")


def _data_loss(head, z, labels, targets):
    """Mean data loss of the raw outputs `z` (optax's losses; the spec's MSE is the mean over
    rows of the sum over outputs of ½(y − ŷ)², which is optax's l2_loss summed)."""
    _, _, optax = _modules()
    if head == "softmax_cross_entropy":
        return optax.softmax_cross_entropy_with_integer_labels(z, labels).mean()
    if head == "sigmoid_binary_cross_entropy":
        return optax.sigmoid_binary_cross_entropy(z, targets).sum(axis=-1).mean()
    if head == "identity_mse":
        return optax.l2_loss(z, targets).sum(axis=-1).mean()
    raise ValueError(
        f"head {head!r} is not supported by the jax backend (the perceptron rule is not a "
        "gradient)"
    )


def _head_output(head, z):
    jax, _, _ = _modules()
    if head == "softmax_cross_entropy":
        return jax.nn.softmax(z, axis=-1)
    if head == "sigmoid_binary_cross_entropy":
        return jax.nn.sigmoid(z)
    return z


def _forward(layers, params, stats, x, key, training):
    """Raw outputs of the network and the batch-norm running statistics after this batch."""
    jax, jnp, _ = _modules()
    new_stats = list(stats)
    for index, layer in enumerate(layers):
        kind = layer["type"]
        if kind == "dense":
            p = params[index]
            x = _activation(layer["activation"])(_flat(x) @ p["weight"] + p["bias"])
        elif kind == "residual":
            p = params[index]
            x = _flat(x)
            x = x + _activation(layer["activation"])(x @ p["weight"] + p["bias"])
        elif kind == "conv2d":
            p = params[index]
            stride, pad = layer["stride"], layer["padding"]
            z = jax.lax.conv_general_dilated(
                _images(x, layer["input"]), p["weight"], (stride, stride),
                ((pad, pad), (pad, pad)), dimension_numbers=("NHWC", "OIHW", "NHWC"),
            )
            x = _activation(layer["activation"])(z + p["bias"])
        elif kind in ("max_pool2d", "avg_pool2d"):
            size, stride = layer["size"], layer["stride"]
            window, strides = (1, size, size, 1), (1, stride, stride, 1)
            images = _images(x, layer["input"])
            if kind == "max_pool2d":
                x = jax.lax.reduce_window(images, -jnp.inf, jax.lax.max, window, strides, "VALID")
            else:
                x = jax.lax.reduce_window(images, 0.0, jax.lax.add, window, strides, "VALID")
                x = x / (size * size)
        elif kind == "flatten":
            x = _flat(x)
        elif kind == "activation":
            x = _activation(layer["function"])(x)
        elif kind == "dropout":
            rate = layer["rate"]
            if training and rate > 0.0:
                keep = jax.random.bernoulli(jax.random.fold_in(key, index), 1.0 - rate, x.shape)
                x = jnp.where(keep, x / (1.0 - rate), 0.0)
        elif kind == "batch_norm":
            p, s = params[index], stats[index]
            x = _flat(x)
            if training:
                rows = x.shape[0]
                mean = x.mean(axis=0)
                variance = x.var(axis=0)
                momentum = layer["momentum"]
                unbiased = variance * (rows / (rows - 1)) if rows > 1 else variance
                new_stats[index] = {
                    "running_mean": (1.0 - momentum) * s["running_mean"] + momentum * mean,
                    "running_var": (1.0 - momentum) * s["running_var"] + momentum * unbiased,
                }
            else:
                mean, variance = s["running_mean"], s["running_var"]
            x = (x - mean) * jax.lax.rsqrt(variance + layer["epsilon"]) * p["gamma"] + p["beta"]
        else:
            raise ValueError(f"layer type {kind!r} is not supported by the jax backend")
    return _flat(x), [jax.lax.stop_gradient(s) for s in new_stats]


def _images(x, image):
    """`x` as NHWC images of shape `image`: rows arrive flat in the canonical NCHW order (each
    channel's pixels row by row) and are transposed once, inside the compiled step."""
    if x.ndim == 4:
        return x
    images = x.reshape(x.shape[0], image["channels"], image["height"], image["width"])
    return images.transpose(0, 2, 3, 1)


def _flat(x):
    """NHWC images back to flat rows in the canonical NCHW order (what the next dense layer's
    canonical weights expect); flat rows unchanged."""
    if x.ndim != 4:
        return x
    return x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1)


def _add_l1_sign(l1, mask):
    """g += l1·sign(w) where `mask` is true (optax has no L1 transform)."""
    jax, jnp, optax = _modules()

    def init(params):
        del params
        return optax.EmptyState()

    def update(updates, state, params=None):
        updates = jax.tree.map(
            lambda g, w, m: g + l1 * jnp.sign(w) if m else g, updates, params, mask
        )
        return updates, state

    return optax.GradientTransformation(init, update)


def _optimizer(run, mask):
    """The optax chain of the spec (see the module doc), with the rate injected."""
    _, _, optax = _modules()
    kind = run["optimizer"]["kind"]
    regularization = run["regularization"]

    def base(learning_rate):
        name = kind["kind"]
        if name == "sgd":
            return optax.sgd(learning_rate)
        if name == "momentum":
            return optax.sgd(learning_rate, momentum=kind["momentum"], nesterov=kind["nesterov"])
        if name == "rmsprop":
            # eps outside the square root and a zero initial average: the spec's (PyTorch's).
            return optax.rmsprop(
                learning_rate, decay=kind["alpha"], eps=kind["epsilon"], initial_scale=0.0,
                eps_in_sqrt=False, centered=False,
            )
        if name == "adam":
            return optax.adam(learning_rate, b1=kind["beta1"], b2=kind["beta2"],
                              eps=kind["epsilon"], eps_root=0.0)
        raise ValueError(f"optimizer {name!r} is not supported by the jax backend")

    def chain(learning_rate):
        parts = []
        if regularization["l2"]:
            parts.append(optax.add_decayed_weights(regularization["l2"], mask=mask))
        if regularization["l1"]:
            parts.append(_add_l1_sign(regularization["l1"], mask))
        if regularization["clip_value"] is not None:
            parts.append(optax.clip(regularization["clip_value"]))
        if regularization["clip_norm"] is not None:
            parts.append(optax.clip_by_global_norm(regularization["clip_norm"]))
        parts.append(base(learning_rate))
        return optax.chain(*parts)

    return optax.inject_hyperparams(chain)(learning_rate=run["optimizer"]["learning_rate"])


def _fresh_parameters(layers, key):
    """Flax `nn.Dense`'s defaults (LeCun normal weights, zero biases); batch norm γ=1, β=0."""
    jax, jnp, _ = _modules()
    init = jax.nn.initializers.lecun_normal()
    params, stats = [], []
    for index, layer in enumerate(layers):
        if _is_dense_like(layer):
            shape = _shapes(layer)["weight"]
            params.append({
                "weight": init(jax.random.fold_in(key, index), shape, jnp.float32),
                "bias": jnp.zeros(shape[1], jnp.float32),
            })
            stats.append({})
        elif layer["type"] == "conv2d":
            shape = _shapes(layer)["weight"]
            # OIHW: fan-in is in-channels × kernel area, as lecun_normal computes it here.
            conv_init = jax.nn.initializers.lecun_normal(in_axis=1, out_axis=0)
            params.append({
                "weight": conv_init(jax.random.fold_in(key, index), shape, jnp.float32),
                "bias": jnp.zeros(shape[0], jnp.float32),
            })
            stats.append({})
        elif layer["type"] == "batch_norm":
            n = layer["features"]
            params.append({"gamma": jnp.ones(n, jnp.float32), "beta": jnp.zeros(n, jnp.float32)})
            stats.append({"running_mean": jnp.zeros(n, jnp.float32),
                          "running_var": jnp.ones(n, jnp.float32)})
        else:
            params.append({})
            stats.append({})
    return params, stats


PARAMETER_NAMES = {"dense": ("weight", "bias"), "residual": ("weight", "bias"),
                   "conv2d": ("weight", "bias"), "batch_norm": ("gamma", "beta")}
STATISTIC_NAMES = ("running_mean", "running_var")


def _is_dense_like(layer):
    """A dense layer or a residual block (y = x + f(x·W + b)), whose weights are a dense layer's."""
    return layer["type"] in ("dense", "residual")


def _shapes(layer):
    if layer["type"] == "dense":
        return {"weight": (layer["fan_in"], layer["fan_out"]), "bias": (layer["fan_out"],)}
    if layer["type"] == "residual":
        return {"weight": (layer["width"], layer["width"]), "bias": (layer["width"],)}
    if layer["type"] == "conv2d":
        out, k = layer["output"]["channels"], layer["kernel_size"]
        return {"weight": (out, layer["input"]["channels"], k, k), "bias": (out,)}
    if layer["type"] == "batch_norm":
        return {name: (layer["features"],) for name in ("gamma", "beta") + STATISTIC_NAMES}
    return {}


def _loaded_parameters(layers, init):
    """The canonical tensors as the pytree, checked by name and shape."""
    _, jnp, _ = _modules()
    params, stats = [], []
    for index, layer in enumerate(layers):
        tensors = {}
        for kind, shape in _shapes(layer).items():
            name = f"{index}.{kind}"
            if name not in init:
                raise ValueError(f"missing tensor {name}")
            array = np.asarray(init[name], dtype=np.float32)
            if array.shape != shape:
                raise ValueError(f"tensor {name} has shape {list(array.shape)}, expected {list(shape)}")
            tensors[kind] = jnp.asarray(array)
        names = PARAMETER_NAMES.get(layer["type"], ())
        params.append({k: tensors[k] for k in names})
        stats.append({k: tensors[k] for k in STATISTIC_NAMES if k in tensors})
    return params, stats


def _seed_key(seed):
    """A jax.random key from the unit's 64-bit seed."""
    jax, _, _ = _modules()
    seed = int(seed) & 0xFFFF_FFFF_FFFF_FFFF
    return jax.random.fold_in(jax.random.key(seed & 0xFFFF_FFFF), seed >> 32)


class Trainer:
    def __init__(self, spec, init, seed):
        jax, jnp, _ = _modules()
        run, network = spec["run"], spec["network"]
        self.network = network
        layers = network["layers"]
        head = network["head"]
        if head not in HEADS:
            _data_loss(head, None, None, None)  # raises the reason
        self.dense = [i for i, layer in enumerate(layers) if _is_dense_like(layer)]
        if init is None:
            self.params, self.stats = _fresh_parameters(layers, jax.random.fold_in(_seed_key(seed), 1))
        else:
            self.params, self.stats = _loaded_parameters(layers, init)
        mask = [
            {name: (_is_dense_like(layer) and name == "weight") for name in p}
            for layer, p in zip(layers, self.params)
        ]
        self.optimizer = _optimizer(run, mask)
        self.opt_state = self.optimizer.init(self.params)
        has_dropout = any(layer["type"] == "dropout" for layer in layers)
        # Only what the step uses crosses into it: each array argument costs a check and a
        # copy per call (a key's check alone was ≈ 30 µs of a 1 ms MNIST step); None is an
        # empty pytree to jax.
        self.key = jax.random.fold_in(_seed_key(seed), 2) if has_dropout else None
        # The step takes labels or targets, not both; the worker gathers only those (worker.py).
        self.uses_labels = head == "softmax_cross_entropy"
        # The kept split's labels are converted to this once (worker.py), not every step.
        self.label_dtype = np.int32
        self.record_grad_norms = bool(run["training"]["record_grad_norms"])
        optimizer, dense, record = self.optimizer, self.dense, self.record_grad_norms

        def train_step(params, stats, opt_state, key, x, labels, targets):
            # A fresh dropout key per step (split only where masks are drawn: it costs).
            key, step_key = jax.random.split(key) if has_dropout else (key, key)

            def loss_fn(p):
                z, new_stats = _forward(layers, p, stats, x, step_key, True)
                return _data_loss(head, z, labels, targets), new_stats

            (loss, new_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
            # None, an empty pytree, when not recorded: each output of the compiled call costs
            # it a buffer to hand back.
            norms = (jnp.stack([jnp.linalg.norm(grads[i]["weight"]) for i in dense])
                     if record else None)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = jax.tree.map(lambda w, u: w + u, params, updates)
            return params, new_stats, opt_state, key, loss, norms

        def predict(params, stats, x):
            z, _ = _forward(layers, params, stats, x, None, False)
            return _head_output(head, z)

        def train_rows_step(params, stats, opt_state, key, split_x, split_truth, rows):
            # The kept split's rows, gathered inside the compiled step (see keep_split).
            truth = split_truth[rows]
            labels, targets = (truth, None) if self.uses_labels else (None, truth)
            return train_step(params, stats, opt_state, key, split_x[rows], labels, targets)

        # params, statistics, optimizer state and key are replaced every step: donated.
        self._train_step = jax.jit(train_step, donate_argnums=(0, 1, 2, 3))
        self._train_rows_step = jax.jit(train_rows_step, donate_argnums=(0, 1, 2, 3))
        self._split = None  # (inputs, labels or targets) on the device, once kept
        self._compiled_rows = {}  # step rows -> train_rows_step compiled for them
        self._predict = jax.jit(predict)
        self._compiled = {}  # batch rows -> the step compiled for them
        # The rate optax's inject_hyperparams keeps in the optimizer state, written there (as
        # optax's documentation does it) only when the harness's rate changes: as an argument
        # of the step it was one more array for every call to check, and a numpy scalar one
        # cost the compiled call ≈ 5 µs more (of a 2-4-1 step's ≈ 45).
        self._lr = self.opt_state.hyperparams["learning_rate"].item()
        batch = run["training"]["batch"]
        self._batch_rows = int(batch["size"]) if isinstance(batch, dict) and "size" in batch else None
        if self._batch_rows is not None:
            self._step_for(self._batch_rows)

    def keep_split(self, x, labels, targets):
        """The training split, once per unit, put on the device as a JAX script puts its
        dataset there: each row step then passes only its row indices (the harness checked
        them) and gathers its batch inside the compiled step, instead of moving a batch of
        inputs and one of labels or targets to the device every step. The steps for the run's
        batch size and for an epoch's last, shorter batch are compiled now, before the clock
        starts, as the run's batch size was at build."""
        check_batch(self.network, x, labels, targets)  # once: a step's rows are its rows
        jax, _, _ = _modules()
        truth = step_truth(self.uses_labels, labels, targets)
        self._split = (jax.device_put(np.asarray(x, dtype=np.float32)), jax.device_put(truth))
        rows = len(truth)
        if self._batch_rows is None:
            self._rows_step_for(rows)
        else:
            self._rows_step_for(min(self._batch_rows, rows))
            if rows % self._batch_rows:
                self._rows_step_for(rows % self._batch_rows)

    def _rows_step_for(self, rows):
        compiled = self._compiled_rows.get(rows)
        if compiled is None:
            jax, jnp, _ = _modules()
            compiled = self._train_rows_step.lower(
                self.params, self.stats, self.opt_state, self.key, *self._split,
                jax.ShapeDtypeStruct((rows,), jnp.uint32),  # the wire's row indices as they come
            ).compile()
            self._compiled_rows[rows] = compiled
        return compiled

    def _set_rate(self, lr):
        jax, _, _ = _modules()
        self.opt_state.hyperparams["learning_rate"] = jax.device_put(np.float32(lr))
        self._lr = lr

    def _step_stats(self, loss, norms):
        return float(loss), ([float(n) for n in np.asarray(norms)] if self.record_grad_norms
                             else None)

    def train_rows(self, rows, lr):
        """One step on the kept split's `rows`, uint32 (see keep_split): the loss and gradient
        norms."""
        step = self._rows_step_for(len(rows))
        if lr != self._lr:
            self._set_rate(lr)
        (self.params, self.stats, self.opt_state, self.key, loss, norms) = step(
            self.params, self.stats, self.opt_state, self.key, *self._split, rows,
        )
        return self._step_stats(loss, norms)

    def _step_for(self, rows):
        """The step compiled ahead of time for batches of `rows` (at build for the run's batch
        size, so that build, not the first step, pays for XLA)."""
        compiled = self._compiled.get(rows)
        if compiled is None:
            jax, jnp, _ = _modules()
            outputs, inputs = self.network["outputs"], self.network["inputs"]
            labels = jax.ShapeDtypeStruct((rows,), jnp.int32) if self.uses_labels else None
            targets = (None if self.uses_labels
                       else jax.ShapeDtypeStruct((rows, outputs), jnp.float32))
            compiled = self._train_step.lower(
                self.params, self.stats, self.opt_state, self.key,
                jax.ShapeDtypeStruct((rows, inputs), jnp.float32), labels, targets,
            ).compile()
            self._compiled[rows] = compiled
        return compiled

    def train_batch(self, x, labels, targets, lr):
        check_batch(self.network, x, labels, targets)
        step = self._step_for(x.shape[0])
        truth = step_truth(self.uses_labels, labels, targets)
        labels, targets = (truth, None) if self.uses_labels else (None, truth)
        if lr != self._lr:
            self._set_rate(lr)
        (self.params, self.stats, self.opt_state, self.key, loss, norms) = step(
            self.params, self.stats, self.opt_state, self.key,
            np.asarray(x, dtype=np.float32), labels, targets,
        )
        return self._step_stats(loss, norms)

    def predict(self, x):
        check_batch(self.network, x)
        return np.asarray(self._predict(self.params, self.stats, np.asarray(x, dtype=np.float32)))

    def weights(self):
        tensors = {}
        for index, (p, s) in enumerate(zip(self.params, self.stats)):
            for name, value in list(p.items()) + list(s.items()):
                tensors[f"{index}.{name}"] = np.array(value, dtype=np.float32)
        return tensors


def hand_written_epoch(spec, init, x, labels, targets, batch_size, seed, lr):
    """One epoch as a plain JAX script trains it: a params pytree (the MLP, or LeNet-5 on NHWC
    images, see `_lenet`), optax.adam, a `jax.jit` step, the dataset put on the device once,
    batches from a seeded numpy permutation gathered inside the step, full batches only. The
    step is compiled ahead of time, before the clock starts (as the harness's trainer compiles
    at build)."""
    jax, jnp, optax = _modules()
    network = spec["network"]
    adam = spec["run"]["optimizer"]["kind"]
    key = jax.random.key(seed & 0xFFFF_FFFF)
    inputs = np.asarray(x, dtype=np.float32)
    if lenet.is_convolutional(network):
        if init is not None:
            raise ValueError("the hand-written LeNet-5 starts from its own init")
        params, forward = _lenet(network, key)
        # The images as a user's dataset holds them for lax's NHWC convolutions.
        image = network["layers"][0]["input"]
        inputs = np.ascontiguousarray(
            inputs.reshape(-1, image["channels"], image["height"], image["width"])
            .transpose(0, 2, 3, 1)
        )
    else:
        hidden = network["layers"][0]
        k1, k2 = jax.random.split(key)
        lecun = jax.nn.initializers.lecun_normal()
        params = {
            "hidden": {"w": lecun(k1, (hidden["fan_in"], hidden["fan_out"])),
                       "b": jnp.zeros(hidden["fan_out"])},
            "out": {"w": lecun(k2, (hidden["fan_out"], network["outputs"])),
                    "b": jnp.zeros(network["outputs"])},
        }
        if init is not None:
            params = {
                "hidden": {"w": jnp.asarray(init["0.weight"]),
                           "b": jnp.asarray(init["0.bias"])},
                "out": {"w": jnp.asarray(init["1.weight"]), "b": jnp.asarray(init["1.bias"])},
            }

        def forward(params, x):
            h = jax.nn.relu(x @ params["hidden"]["w"] + params["hidden"]["b"])
            return h @ params["out"]["w"] + params["out"]["b"]

    optimizer = optax.adam(lr, b1=adam["beta1"], b2=adam["beta2"], eps=adam["epsilon"])
    opt_state = optimizer.init(params)

    def loss_fn(params, x, y):
        logits = forward(params, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def train_step(params, opt_state, images, truth, rows):
        loss, grads = jax.value_and_grad(loss_fn)(params, images[rows], truth[rows])
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    images = jax.device_put(inputs)
    truth = jax.device_put(np.asarray(labels, dtype=np.int32))
    train_step = train_step.lower(params, opt_state, images, truth,
                                  jax.ShapeDtypeStruct((batch_size,), jnp.int32)).compile()
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    order = rng.permutation(len(labels)).astype(np.int32)
    for start in range(0, len(order) - batch_size + 1, batch_size):
        params, opt_state, loss = train_step(params, opt_state, images, truth,
                                             order[start:start + batch_size])
        float(loss)
    return time.perf_counter() - started


def _lenet(network, key):
    """mnist_cnn's LeNet-5 as a JAX user writes it without a layers library: a params pytree
    and a forward of `lax.conv_general_dilated` and `lax.reduce_window` on NHWC images with
    HWIO kernels (the layout of JAX's stax and Flax), LeCun-normal weights (Flax's default)
    and zero biases, with the spec's widths. Returns (params, forward)."""
    jax, jnp, _ = _modules()
    conv1, pool1, conv2, pool2, dense1, dense2, output = lenet.layers(network)
    lecun = jax.nn.initializers.lecun_normal()
    keys = jax.random.split(key, 5)

    def conv_params(key, layer):
        k = layer["kernel_size"]
        shape = (k, k, layer["input"]["channels"], layer["output"]["channels"])
        return {"w": lecun(key, shape), "b": jnp.zeros(shape[-1])}

    def dense_params(key, layer):
        return {"w": lecun(key, (layer["fan_in"], layer["fan_out"])),
                "b": jnp.zeros(layer["fan_out"])}

    params = {
        "conv1": conv_params(keys[0], conv1),
        "conv2": conv_params(keys[1], conv2),
        "dense1": dense_params(keys[2], dense1),
        "dense2": dense_params(keys[3], dense2),
        "out": dense_params(keys[4], output),
    }

    def conv(x, p, layer):
        pad = layer["padding"]
        y = jax.lax.conv_general_dilated(
            x, p["w"], (1, 1), ((pad, pad), (pad, pad)),
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        return jax.nn.relu(y + p["b"])

    def max_pool(x, layer):
        size = layer["size"]
        window = (1, size, size, 1)
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, window, "VALID")

    def forward(params, x):
        x = max_pool(conv(x, params["conv1"], conv1), pool1)
        x = max_pool(conv(x, params["conv2"], conv2), pool2)
        x = x.reshape(x.shape[0], -1)
        x = jax.nn.relu(x @ params["dense1"]["w"] + params["dense1"]["b"])
        x = jax.nn.relu(x @ params["dense2"]["w"] + params["dense2"]["b"])
        return x @ params["out"]["w"] + params["out"]["b"]

    return params, forward


def perceptron_ops():
    """jax.numpy arrays for Rosenblatt's rule (nnbench_peers.perceptron), no jax.grad."""
    _, jnp, _ = _modules()

    class Ops:
        tensor = staticmethod(jnp.asarray)
        matmul = staticmethod(jnp.matmul)
        add = staticmethod(jnp.add)
        subtract = staticmethod(jnp.subtract)
        abs = staticmethod(jnp.abs)
        sum = staticmethod(jnp.sum)
        transpose = staticmethod(jnp.transpose)

        @staticmethod
        def greater(a, threshold):
            return (a > jnp.float32(threshold)).astype(jnp.float32)

        @staticmethod
        def scale(a, factor):
            return a * jnp.float32(factor)

        @staticmethod
        def sum_rows(a):
            return a.sum(axis=0, keepdims=True)

        @staticmethod
        def to_numpy(a):
            return np.asarray(a)

    return Ops


def hand_written_tiny_steps(x, targets, hidden, steps, seed, lr):
    """The tiny net as a plain JAX script trains it: a params pytree, optax.sgd, a `jax.jit`
    step (compiled before the clock starts) on the whole set; seconds of all the steps."""
    jax, jnp, optax = _modules()
    k1, k2 = jax.random.split(jax.random.key(seed & 0xFFFF_FFFF))
    lecun = jax.nn.initializers.lecun_normal()
    params = {
        "hidden": {"w": lecun(k1, (x.shape[1], hidden)), "b": jnp.zeros(hidden)},
        "out": {"w": lecun(k2, (hidden, 1)), "b": jnp.zeros(1)},
    }
    optimizer = optax.sgd(lr)
    opt_state = optimizer.init(params)

    def loss_fn(params, x, y):
        h = jnp.tanh(x @ params["hidden"]["w"] + params["hidden"]["b"])
        z = h @ params["out"]["w"] + params["out"]["b"]
        return optax.sigmoid_binary_cross_entropy(z, y).mean()

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def train_step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    inputs, truth = jnp.asarray(x), jnp.asarray(targets)
    train_step = train_step.lower(params, opt_state, inputs, truth).compile()
    started = time.perf_counter()
    for _ in range(steps):
        params, opt_state, loss = train_step(params, opt_state, inputs, truth)
        float(loss)
    return time.perf_counter() - started
