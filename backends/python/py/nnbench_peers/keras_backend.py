"""The Keras adapter (backend `keras`): Keras 3 on its TensorFlow engine, written as a Keras user
writes a custom training step.

The network is a functional `keras.Model` of `keras.layers.Dense` and `Conv2D` (with their
activation), `MaxPooling2D`, `AveragePooling2D`, `Flatten`, `Activation`, `Dropout` (seeded per
unit and layer), `BatchNormalization` and, for a residual block, `Add` of a `Dense` output to its
input. Convolutions run on Keras's default channels_last (NHWC) images: the harness's NCHW
rows are reshaped and permuted in, and kernels cross as [out, in, kh, kw], transposed to
Keras's [kh, kw, in, out]. `Flatten` flattens channels last, as in Keras's own examples; the
dense layer after it has its kernel's rows permuted from the canonical (NCHW) order at load and
back at export, as a user porting channels-first weights does (a batch norm or other layer
right after `Flatten` gets a `Permute` back to channels first instead). An integer padding that
is not Keras's "same" is a `ZeroPadding2D` before a "valid" convolution. The losses are
`keras.losses`'; the step is a `tf.function` around a `tf.GradientTape` that hands the
gradients to a `keras.optimizers` optimizer (SGD with momentum and Nesterov, RMSprop, Adam)
built with every constant of the scenario. The harness's rate is assigned to the optimizer's
`learning_rate` variable when it changes (no retracing).

Regularization, in the spec's order: L1/L2 are Keras's `kernel_regularizer=L1L2(l1, l2/2)` on
dense kernels only (Keras's L2 penalty is l2·Σw², the spec's ½·l2·Σw²), whose gradient is added
to the data gradient (taken apart so that gradient norms are the data loss's); then clipping by
the optimizer's own `clipvalue` or `global_clipnorm`. Keras allows only one of them per
optimizer: when a scenario asks for both, the adapter clips by value with `tf.clip_by_value`
and leaves the global norm to the optimizer.

Where Keras's conventions differ from the spec and a mapping makes the numbers agree, the
adapter maps:
- `BatchNormalization(momentum=1 − m)`: Keras's momentum is the weight of the old running value;
  its moving variance averages the biased batch variance, so after each step the adapter rescales
  that step's contribution by n/(n−1) (the spec's, PyTorch's, unbiased variance);
- SGD with momentum: Keras keeps the velocity with the rate folded in (m ← μm − ηg; w ← w + m),
  which is PyTorch's form while the rate is constant; when the harness changes the rate, the
  adapter rescales the velocity by η_new/η_old first, which makes it PyTorch's form exactly
  (after a step at rate 0 the velocity cannot be recovered and stays as Keras has it).
Where no constant can map, the capability file's [formula_difference] says so: Adam adds ε to
√v, not to √v̂, and RMSprop divides by √(s + ε), not √s + ε.

`framework_default` init is Keras's Dense default (Glorot uniform kernels, zero biases), seeded.
float32 throughout (Keras's floatx).
"""

import os
import time

import numpy as np

from . import lenet
from .batch import check_batch, step_truth

FRAMEWORK = "keras"

_modules_cache = None
_threads_applied = None


def configure_threads(threads):
    """TensorFlow's intra-op pool of `threads` threads and one inter-op thread, set before
    TensorFlow starts its runtime."""
    global _threads_applied
    threads = max(int(threads), 1)
    if _threads_applied is not None:
        if threads != _threads_applied:
            raise RuntimeError(
                f"tensorflow already started with {_threads_applied} threads in this process; "
                f"{threads} needs a new process"
            )
        return
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    _threads_applied = threads
    _modules()


def _modules():
    """tensorflow and keras, imported on first use (after configure_threads)."""
    global _modules_cache
    if _modules_cache is None:
        os.environ["KERAS_BACKEND"] = "tensorflow"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
        import keras

        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(f"keras runs on {keras.backend.backend()}, not tensorflow")
        _modules_cache = (tf, keras)
    return _modules_cache


def versions():
    tf, keras = _modules()
    return {"keras": keras.__version__, "tensorflow": tf.__version__, "numpy": np.__version__}


# The spec's constants (core/src/spec/mod.rs, Activation).
LEAKY_RELU_SLOPE = 0.01


def _activation(name):
    """The Keras activation for a spec name (Keras's own "elu" has α = 1, "selu" Klambauer's
    constants, as the spec)."""
    _, keras = _modules()
    if name == "leaky_relu":
        def leaky_relu(x):
            return keras.activations.leaky_relu(x, negative_slope=LEAKY_RELU_SLOPE)

        return leaky_relu
    names = {"identity": "linear", "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu",
             "elu": "elu", "selu": "selu"}
    if name not in names:
        raise ValueError(f"activation {name!r} is not supported by the keras backend")
    return keras.activations.get(names[name])


HEADS = ("softmax_cross_entropy", "sigmoid_binary_cross_entropy", "identity_mse")


def _loss_function(head, outputs):
    """The head's Keras loss as f(truth, z) → mean data loss of the batch, where truth is the
    labels for softmax cross-entropy and the targets otherwise."""
    _, keras = _modules()
    if head == "softmax_cross_entropy":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if head == "sigmoid_binary_cross_entropy":
        return keras.losses.BinaryCrossentropy(from_logits=True)
    if head == "identity_mse":
        # The spec's loss is the mean over rows of the sum over outputs of ½(y − ŷ)².
        loss = keras.losses.MeanSquaredError()
        return lambda targets, z: loss(targets, z) * (outputs / 2.0)
    raise ValueError(
        f"head {head!r} is not supported by the keras backend (the perceptron rule is not a "
        "gradient)"
    )


def _head_output(head, z):
    _, keras = _modules()
    if head == "softmax_cross_entropy":
        return keras.activations.softmax(z, axis=-1)
    if head == "sigmoid_binary_cross_entropy":
        return keras.activations.sigmoid(z)
    return z


def _layer_seed(seed, index):
    """A 31-bit seed for layer `index` of a unit seeded `seed`."""
    return (int(seed) * 1_000_003 + 7919 * (index + 1)) % (2**31 - 1)


def _build_model(network, regularization, seed):
    """The functional model; its dense, batch-norm and conv layers by network index; and, by
    network index, the (channels, height, width) of the images whose NHWC flattening a dense
    layer reads (see `_nhwc_rows`)."""
    _, keras = _modules()
    l1, l2 = regularization["l1"], regularization["l2"]
    regularizer = keras.regularizers.L1L2(l1=l1, l2=l2 / 2.0) if (l1 or l2) else None
    inputs = keras.Input(shape=(network["inputs"],), dtype="float32")
    x = inputs
    dense, norms, convs, nhwc_rows = {}, {}, {}, {}
    images = False  # NHWC images (Keras's channels_last) between the first conv/pool and flatten
    for index, layer in enumerate(network["layers"]):
        kind = layer["type"]
        if kind in ("conv2d", "max_pool2d", "avg_pool2d") and not images:
            # The harness's rows are NCHW, each channel's pixels row by row.
            image = layer["input"]
            x = keras.layers.Reshape((image["channels"], image["height"], image["width"]),
                                     name=f"images_{index}")(x)
            x = keras.layers.Permute((2, 3, 1), name=f"channels_last_{index}")(x)
            images = True
        if kind == "conv2d":
            k, stride, pad = layer["kernel_size"], layer["stride"], layer["padding"]
            if stride == 1 and k % 2 == 1 and pad == (k - 1) // 2:
                padding = "same"
            else:
                padding = "valid"
                if pad:
                    x = keras.layers.ZeroPadding2D(pad, name=f"pad_{index}")(x)
            convs[index] = keras.layers.Conv2D(
                layer["output"]["channels"], k, strides=stride, padding=padding,
                activation=_activation(layer["activation"]),
                kernel_initializer=keras.initializers.GlorotUniform(seed=_layer_seed(seed, index)),
                bias_initializer="zeros", name=f"conv_{index}",
            )
            x = convs[index](x)
        elif kind == "max_pool2d":
            x = keras.layers.MaxPooling2D(layer["size"], strides=layer["stride"],
                                          padding="valid", name=f"max_pool_{index}")(x)
        elif kind == "avg_pool2d":
            x = keras.layers.AveragePooling2D(layer["size"], strides=layer["stride"],
                                              padding="valid", name=f"avg_pool_{index}")(x)
        elif kind == "flatten":
            if images:
                following = network["layers"][index + 1:index + 2]
                if following and following[0]["type"] == "dense":
                    # Keras flattens channels last; a user porting channels-first weights
                    # permutes the next kernel's rows once rather than every batch's features.
                    _, height, width, channels = x.shape
                    nhwc_rows[index + 1] = (int(channels), int(height), int(width))
                else:
                    # Back to channels first, so that the flat order is the canonical one.
                    x = keras.layers.Permute((3, 1, 2), name=f"channels_first_{index}")(x)
                images = False
            x = keras.layers.Flatten(name=f"flatten_{index}")(x)
        elif kind == "dense":
            dense[index] = keras.layers.Dense(
                layer["fan_out"], activation=_activation(layer["activation"]),
                kernel_initializer=keras.initializers.GlorotUniform(seed=_layer_seed(seed, index)),
                bias_initializer="zeros", kernel_regularizer=regularizer, name=f"dense_{index}",
            )
            x = dense[index](x)
        elif kind == "residual":
            # The functional API's skip connection: Add the block's input to its Dense output.
            dense[index] = keras.layers.Dense(
                layer["width"], activation=_activation(layer["activation"]),
                kernel_initializer=keras.initializers.GlorotUniform(seed=_layer_seed(seed, index)),
                bias_initializer="zeros", kernel_regularizer=regularizer, name=f"residual_{index}",
            )
            x = keras.layers.Add(name=f"skip_{index}")([x, dense[index](x)])
        elif kind == "activation":
            x = keras.layers.Activation(_activation(layer["function"]), name=f"act_{index}")(x)
        elif kind == "dropout":
            x = keras.layers.Dropout(layer["rate"], seed=_layer_seed(seed, index),
                                     name=f"dropout_{index}")(x)
        elif kind == "batch_norm":
            norms[index] = keras.layers.BatchNormalization(
                momentum=1.0 - layer["momentum"], epsilon=layer["epsilon"],
                name=f"batch_norm_{index}",
            )
            x = norms[index](x)
        else:
            raise ValueError(f"layer type {kind!r} is not supported by the keras backend")
    return keras.Model(inputs, x), dense, norms, convs, nhwc_rows


def _nhwc_rows(kernel, image, to_nhwc):
    """A dense kernel (fan_in × fan_out) whose rows follow the canonical NCHW flattening of
    `image` = (channels, height, width), with its rows in Keras's NHWC flattening (to_nhwc), or
    back."""
    channels, height, width = image
    out = kernel.shape[1]
    if to_nhwc:
        rows = kernel.reshape(channels, height, width, out).transpose(1, 2, 0, 3)
    else:
        rows = kernel.reshape(height, width, channels, out).transpose(2, 0, 1, 3)
    return np.ascontiguousarray(rows.reshape(-1, out))


def _optimizer(run):
    """The Keras optimizer of the spec, every constant mapped (clipping: see the module doc)."""
    _, keras = _modules()
    kind = run["optimizer"]["kind"]
    lr = run["optimizer"]["learning_rate"]
    regularization = run["regularization"]
    clipping = {}
    if regularization["clip_norm"] is not None:
        clipping["global_clipnorm"] = regularization["clip_norm"]
    elif regularization["clip_value"] is not None:
        clipping["clipvalue"] = regularization["clip_value"]
    name = kind["kind"]
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=0.0, **clipping)
    if name == "momentum":
        return keras.optimizers.SGD(
            learning_rate=lr, momentum=kind["momentum"], nesterov=kind["nesterov"], **clipping
        )
    if name == "rmsprop":
        return keras.optimizers.RMSprop(
            learning_rate=lr, rho=kind["alpha"], momentum=0.0, epsilon=kind["epsilon"],
            centered=False, **clipping,
        )
    if name == "adam":
        return keras.optimizers.Adam(
            learning_rate=lr, beta_1=kind["beta1"], beta_2=kind["beta2"],
            epsilon=kind["epsilon"], amsgrad=False, **clipping,
        )
    raise ValueError(f"optimizer {name!r} is not supported by the keras backend")


class Trainer:
    def __init__(self, spec, init, seed):
        tf, keras = _modules()
        run, network = spec["run"], spec["network"]
        self.network = network
        head, outputs = network["head"], network["outputs"]
        loss_function = _loss_function(head, outputs)
        regularization = run["regularization"]
        self.model, self.dense, self.norms, self.convs, self.nhwc_rows = _build_model(
            network, regularization, seed
        )
        if init is not None:
            self._load(init)
        self.optimizer = _optimizer(run)
        variables = self.model.trainable_variables
        self.optimizer.build(variables)
        kernels = [self.dense[i].kernel for i in sorted(self.dense)]
        kernel_ids = {id(k) for k in kernels}
        kernel_positions = [i for i, v in enumerate(variables) if id(v) in kernel_ids]
        regularized = bool(regularization["l1"] or regularization["l2"])
        both_clips = (regularization["clip_norm"] is not None
                      and regularization["clip_value"] is not None)
        clip_value = regularization["clip_value"]
        self.record_grad_norms = bool(run["training"]["record_grad_norms"])
        record = self.record_grad_norms
        # (layer, Keras momentum) of each batch norm, for the unbiased running variance.
        norms = [(self.norms[i], 1.0 - network["layers"][i]["momentum"]) for i in sorted(self.norms)]
        kind = run["optimizer"]["kind"]["kind"]
        self.rescales_velocity = kind == "momentum" and run["optimizer"]["kind"]["momentum"] != 0
        self.last_lr = None
        model, optimizer = self.model, self.optimizer
        features = network["inputs"]
        # Only what the step uses crosses into it, as in a user's step: each argument of a
        # tf.function call costs a conversion, and the rate is assigned only when it changes.
        self.uses_labels = head == "softmax_cross_entropy"
        # The kept split's labels are converted to this once (worker.py), not every step.
        self.label_dtype = np.int32
        truth = (tf.TensorSpec([None], tf.int32) if self.uses_labels
                 else tf.TensorSpec([None, outputs], tf.float32))
        signature = [tf.TensorSpec([None, features], tf.float32), truth]

        @tf.function(input_signature=signature)
        def train_step(x, truth):
            old_variances = [norm.moving_variance.value + 0.0 for norm, _ in norms]
            with tf.GradientTape(persistent=regularized) as tape:
                z = model(x, training=True)
                loss = loss_function(truth, z)
                if regularized:
                    penalty = tf.add_n(model.losses)
            grads = tape.gradient(loss, variables)
            norms_out = tf.stack([tf.norm(grads[i]) for i in kernel_positions]) if record else None
            if regularized:
                penalty_grads = tape.gradient(penalty, [variables[i] for i in kernel_positions])
                for i, g in zip(kernel_positions, penalty_grads):
                    grads[i] = grads[i] + g
            if both_clips:
                grads = [tf.clip_by_value(g, -clip_value, clip_value) for g in grads]
            optimizer.apply_gradients(zip(grads, variables))
            if norms:
                rows = tf.cast(tf.shape(x)[0], tf.float32)
                correction = tf.where(rows > 1.0, rows / tf.maximum(rows - 1.0, 1.0), 1.0)
            for (norm, keep), old in zip(norms, old_variances):
                new = norm.moving_variance.value
                norm.moving_variance.assign(keep * old + (new - keep * old) * correction)
            return loss if norms_out is None else (loss, norms_out)

        @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
        def rescale_velocity(scale):
            for velocity in optimizer.momentums:
                velocity.assign(velocity * scale)

        @tf.function(input_signature=[signature[0]])
        def predict(x):
            return _head_output(head, model(x, training=False))

        self._train_step = train_step
        self._rescale_velocity = rescale_velocity
        self._predict = predict
        # Traced now, so that build, not the first step, pays for it.
        train_step.get_concrete_function()
        predict.get_concrete_function()
        if self.rescales_velocity:
            rescale_velocity.get_concrete_function()

    def _load(self, init):
        def tensor(name, shape):
            if name not in init:
                raise ValueError(f"missing tensor {name}")
            array = np.asarray(init[name], dtype=np.float32)
            if array.shape != tuple(shape):
                raise ValueError(
                    f"tensor {name} has shape {list(array.shape)}, expected {list(shape)}"
                )
            return array

        for index, layer in self.dense.items():
            spec = self.network["layers"][index]
            # A residual block's weights are a dense layer's of its width.
            width = spec.get("width")
            fan_in, fan_out = (width, width) if width else (spec["fan_in"], spec["fan_out"])
            kernel = tensor(f"{index}.weight", (fan_in, fan_out))
            if index in self.nhwc_rows:
                kernel = _nhwc_rows(kernel, self.nhwc_rows[index], to_nhwc=True)
            layer.kernel.assign(kernel)
            layer.bias.assign(tensor(f"{index}.bias", (fan_out,)))
        for index, conv in self.convs.items():
            spec = self.network["layers"][index]
            out, k = spec["output"]["channels"], spec["kernel_size"]
            kernel = tensor(f"{index}.weight", (out, spec["input"]["channels"], k, k))
            conv.kernel.assign(kernel.transpose(2, 3, 1, 0))  # OIHW -> Keras's HWIO
            conv.bias.assign(tensor(f"{index}.bias", (out,)))
        for index, norm in self.norms.items():
            n = (self.network["layers"][index]["features"],)
            norm.gamma.assign(tensor(f"{index}.gamma", n))
            norm.beta.assign(tensor(f"{index}.beta", n))
            norm.moving_mean.assign(tensor(f"{index}.running_mean", n))
            norm.moving_variance.assign(tensor(f"{index}.running_var", n))

    def _set_rate(self, lr):
        tf, _ = _modules()
        if self.rescales_velocity and self.last_lr and lr != self.last_lr:
            self._rescale_velocity(tf.constant(lr / self.last_lr, tf.float32))
        if lr != self.last_lr:
            self.optimizer.learning_rate.assign(lr)
        self.last_lr = lr

    def _step_stats(self, result):
        if self.record_grad_norms:
            loss, norms = result
            return float(loss), [float(n) for n in norms.numpy()]
        return float(result), None

    def train_batch(self, x, labels, targets, lr):
        check_batch(self.network, x, labels, targets)
        self._set_rate(lr)
        truth = step_truth(self.uses_labels, labels, targets)
        return self._step_stats(self._train_step(np.asarray(x, dtype=np.float32), truth))

    def keep_split(self, x, labels, targets):
        """The training split, once per unit, as TensorFlow tensors (what
        `tf.data.Dataset.from_tensor_slices` holds): each row step then hands the compiled step
        only its row indices (the harness checked them) and gathers its batch in the graph,
        instead of converting a batch of inputs and one of labels or targets every step."""
        check_batch(self.network, x, labels, targets)  # once: a step's rows are its rows
        tf, _ = _modules()
        truth = step_truth(self.uses_labels, labels, targets)
        split_x = tf.constant(np.asarray(x, dtype=np.float32))
        split_truth = tf.constant(truth)
        train_step = self._train_step

        # uint32, the wire's row indices as they come: one conversion a step.
        @tf.function(input_signature=[tf.TensorSpec([None], tf.uint32)])
        def train_rows_step(rows):
            rows = tf.cast(rows, tf.int32)
            return train_step(tf.gather(split_x, rows), tf.gather(split_truth, rows))

        train_rows_step.get_concrete_function()
        self._train_rows_step = train_rows_step

    def train_rows(self, rows, lr):
        """One step on the kept split's `rows`, uint32 (see keep_split)."""
        self._set_rate(lr)
        return self._step_stats(self._train_rows_step(rows))

    def predict(self, x):
        tf, _ = _modules()
        check_batch(self.network, x)
        return self._predict(tf.constant(np.asarray(x, dtype=np.float32))).numpy()

    def weights(self):
        tensors = {}
        for index in sorted(list(self.dense) + list(self.convs) + list(self.norms)):
            if index in self.dense:
                layer = self.dense[index]
                kernel = np.array(layer.kernel.numpy(), dtype=np.float32)
                if index in self.nhwc_rows:
                    kernel = _nhwc_rows(kernel, self.nhwc_rows[index], to_nhwc=False)
                tensors[f"{index}.weight"] = kernel
                tensors[f"{index}.bias"] = np.array(layer.bias.numpy(), dtype=np.float32)
            elif index in self.convs:
                conv = self.convs[index]
                kernel = np.array(conv.kernel.numpy(), dtype=np.float32).transpose(3, 2, 0, 1)
                tensors[f"{index}.weight"] = np.ascontiguousarray(kernel)  # HWIO -> OIHW
                tensors[f"{index}.bias"] = np.array(conv.bias.numpy(), dtype=np.float32)
            else:
                norm = self.norms[index]
                tensors[f"{index}.gamma"] = np.array(norm.gamma.numpy(), dtype=np.float32)
                tensors[f"{index}.beta"] = np.array(norm.beta.numpy(), dtype=np.float32)
                tensors[f"{index}.running_mean"] = np.array(norm.moving_mean.numpy(),
                                                            dtype=np.float32)
                tensors[f"{index}.running_var"] = np.array(norm.moving_variance.numpy(),
                                                           dtype=np.float32)
        return tensors


def hand_written_epoch(spec, init, x, labels, targets, batch_size, seed, lr):
    """One epoch as a plain Keras script trains it: a `keras.Sequential` (two Dense layers, or
    LeNet-5 on channels_last images, see `_lenet`), `keras.optimizers.Adam`,
    SparseCategoricalCrossentropy, a `tf.function` GradientTape step, the dataset held as
    TensorFlow tensors (what `tf.data.Dataset.from_tensor_slices` holds), batches from a
    seeded numpy permutation gathered inside the step, full batches only. The step is traced
    before the clock starts (as the harness's trainer traces at build)."""
    tf, keras = _modules()
    network = spec["network"]
    adam = spec["run"]["optimizer"]["kind"]
    inputs = np.asarray(x, dtype=np.float32)
    if lenet.is_convolutional(network):
        if init is not None:
            raise ValueError("the hand-written LeNet-5 starts from Keras's own init")
        model = _lenet(network, seed)
        # The images as a user's dataset holds them for Keras's channels_last default.
        image = network["layers"][0]["input"]
        inputs = np.ascontiguousarray(
            inputs.reshape(-1, image["channels"], image["height"], image["width"])
            .transpose(0, 2, 3, 1)
        )
    else:
        hidden = network["layers"][0]
        model = keras.Sequential([
            keras.Input(shape=(hidden["fan_in"],)),
            keras.layers.Dense(hidden["fan_out"], activation="relu",
                               kernel_initializer=keras.initializers.GlorotUniform(seed=seed)),
            keras.layers.Dense(network["outputs"],
                               kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1)),
        ])
        if init is not None:
            model.layers[0].set_weights([init["0.weight"], init["0.bias"]])
            model.layers[1].set_weights([init["1.weight"], init["1.bias"]])
    optimizer = keras.optimizers.Adam(learning_rate=lr, beta_1=adam["beta1"],
                                      beta_2=adam["beta2"], epsilon=adam["epsilon"])
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    classes = np.asarray(labels, dtype=np.int32)
    images, truth = tf.constant(inputs), tf.constant(classes)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def train_step(rows):
        x, y = tf.gather(images, rows), tf.gather(truth, rows)
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    train_step.get_concrete_function()
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    order = rng.permutation(len(classes)).astype(np.int32)
    for start in range(0, len(order) - batch_size + 1, batch_size):
        float(train_step(order[start:start + batch_size]))
    return time.perf_counter() - started


def _lenet(network, seed):
    """mnist_cnn's LeNet-5 built as Keras's mnist_convnet example builds its CNN: a
    `keras.Sequential` of Conv2D (with its activation), MaxPooling2D, Flatten and Dense on
    channels_last images, each kernel Glorot uniform (Keras's default) seeded, with the spec's
    widths. Keras pads only "valid" or "same"; another integer padding is ZeroPadding2D first."""
    _, keras = _modules()
    conv1, pool1, conv2, pool2, dense1, dense2, output = lenet.layers(network)
    image = conv1["input"]
    layers = [keras.Input(shape=(image["height"], image["width"], image["channels"]))]
    for offset, (conv, pool) in enumerate(((conv1, pool1), (conv2, pool2))):
        k, pad = conv["kernel_size"], conv["padding"]
        if pad == 0:
            padding = "valid"
        elif 2 * pad == k - 1:
            padding = "same"
        else:
            layers.append(keras.layers.ZeroPadding2D(pad))
            padding = "valid"
        layers.append(keras.layers.Conv2D(
            conv["output"]["channels"], k, padding=padding, activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + offset),
        ))
        layers.append(keras.layers.MaxPooling2D(pool["size"]))
    layers.append(keras.layers.Flatten())
    for offset, dense in enumerate((dense1, dense2, output), start=2):
        layers.append(keras.layers.Dense(
            dense["fan_out"], activation="relu" if dense is not output else None,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + offset),
        ))
    return keras.Sequential(layers)


def perceptron_ops():
    """TensorFlow tensors (Keras's engine) for Rosenblatt's rule (nnbench_peers.perceptron),
    no GradientTape."""
    tf, _ = _modules()

    class Ops:
        tensor = staticmethod(tf.constant)
        matmul = staticmethod(tf.matmul)
        add = staticmethod(tf.add)
        subtract = staticmethod(tf.subtract)
        abs = staticmethod(tf.abs)
        sum = staticmethod(tf.reduce_sum)
        transpose = staticmethod(tf.transpose)

        @staticmethod
        def greater(a, threshold):
            return tf.cast(a > tf.constant(threshold, tf.float32), tf.float32)

        @staticmethod
        def scale(a, factor):
            return a * tf.constant(factor, tf.float32)

        @staticmethod
        def sum_rows(a):
            return tf.reduce_sum(a, axis=0, keepdims=True)

        @staticmethod
        def to_numpy(a):
            return a.numpy()

    return Ops


def hand_written_tiny_steps(x, targets, hidden, steps, seed, lr):
    """The tiny net as a plain Keras script trains it: a `keras.Sequential` of two Dense
    layers, `keras.optimizers.SGD`, BinaryCrossentropy(from_logits=True), a `tf.function`
    GradientTape step (traced before the clock starts) on the whole set; seconds of all the
    steps."""
    tf, keras = _modules()
    model = keras.Sequential([
        keras.Input(shape=(x.shape[1],)),
        keras.layers.Dense(hidden, activation="tanh",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=seed)),
        keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1)),
    ])
    optimizer = keras.optimizers.SGD(learning_rate=lr)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    inputs = tf.constant(np.asarray(x, dtype=np.float32))
    truth = tf.constant(np.asarray(targets, dtype=np.float32))

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    train_step.get_concrete_function(inputs, truth)
    started = time.perf_counter()
    for _ in range(steps):
        float(train_step(inputs, truth))
    return time.perf_counter() - started
