"""A plain numpy (float64) reference of core's spec for the Python adapters' tests: forward and
backward of the network (dense, activations, batch norm), the heads' losses, L1/L2 and
clipping, and each optimizer's formula, written from core/src/spec/mod.rs's documentation
and nothing else, so that an adapter that agrees with it agrees with the spec.

Also the formulas of the frameworks where they differ from the spec (Keras's Adam and RMSprop),
so that a test can tell a named difference from a bug.
"""

import numpy as np

LEAKY_RELU_SLOPE = 0.01
ELU_ALPHA = 1.0
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def activation(name, x):
    if name == "identity":
        return x
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        return np.where(x > 0, x, LEAKY_RELU_SLOPE * x)
    if name == "elu":
        return np.where(x > 0, x, ELU_ALPHA * np.expm1(np.minimum(x, 0.0)))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))
    raise ValueError(name)


def activation_derivative(name, x):
    if name == "identity":
        return np.ones_like(x)
    if name == "sigmoid":
        s = activation("sigmoid", x)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(x) ** 2
    if name == "relu":
        return (x > 0).astype(x.dtype)
    if name == "leaky_relu":
        return np.where(x > 0, 1.0, LEAKY_RELU_SLOPE)
    if name == "elu":
        return np.where(x > 0, 1.0, ELU_ALPHA * np.exp(np.minimum(x, 0.0)))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0.0)))
    raise ValueError(name)


def network(inputs, hidden, head, classes):
    """core's Network::new: `hidden` is a list of ("dense", units, activation),
    ("activation", function), ("dropout", rate) or ("batch_norm", momentum, epsilon)."""
    layers, width = [], inputs
    for spec in hidden:
        if spec[0] == "dense":
            layers.append({"type": "dense", "fan_in": width, "fan_out": spec[1],
                           "activation": spec[2]})
            width = spec[1]
        elif spec[0] == "activation":
            layers.append({"type": "activation", "function": spec[1], "width": width})
        elif spec[0] == "dropout":
            layers.append({"type": "dropout", "rate": spec[1], "width": width})
        elif spec[0] == "batch_norm":
            layers.append({"type": "batch_norm", "features": width, "momentum": spec[1],
                           "epsilon": spec[2]})
    outputs = {"softmax_cross_entropy": classes, "sigmoid_binary_cross_entropy": 1,
               "identity_mse": 1 if classes == 2 else classes}[head]
    layers.append({"type": "dense", "fan_in": width, "fan_out": outputs,
                   "activation": "identity"})
    return {"inputs": inputs, "outputs": outputs, "layers": layers, "head": head}


def initial_weights(net, seed, random_statistics=False):
    """Glorot-uniform weights, N(0, 0.3²) biases, γ near 1 and β near 0 (float32, canonical)."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for index, layer in enumerate(net["layers"]):
        if layer["type"] == "dense":
            a, b = layer["fan_in"], layer["fan_out"]
            limit = np.sqrt(6.0 / (a + b))
            tensors[f"{index}.weight"] = rng.uniform(-limit, limit, (a, b)).astype(np.float32)
            tensors[f"{index}.bias"] = rng.normal(0, 0.3, b).astype(np.float32)
        elif layer["type"] == "batch_norm":
            n = layer["features"]
            tensors[f"{index}.gamma"] = rng.uniform(0.8, 1.2, n).astype(np.float32)
            tensors[f"{index}.beta"] = rng.normal(0, 0.1, n).astype(np.float32)
            if random_statistics:
                tensors[f"{index}.running_mean"] = rng.normal(0, 1, n).astype(np.float32)
                tensors[f"{index}.running_var"] = rng.uniform(0.5, 2, n).astype(np.float32)
            else:
                tensors[f"{index}.running_mean"] = np.zeros(n, np.float32)
                tensors[f"{index}.running_var"] = np.ones(n, np.float32)
    return tensors


def targets_for(labels, outputs):
    """core's encode_targets: one-hot, or the label itself for one output."""
    if outputs == 1:
        return labels.astype(np.float32).reshape(-1, 1)
    return np.eye(outputs, dtype=np.float32)[labels]


class Model:
    """The spec's network in float64, trained with the spec's formulas."""

    def __init__(self, net, weights, run, framework_formulas=None):
        self.net = net
        self.w = {k: np.asarray(v, np.float64).copy() for k, v in weights.items()}
        self.kind = run["optimizer"]["kind"]
        self.reg = run["regularization"]
        self.formulas = framework_formulas  # None (the spec) or "keras"
        self.state = {}
        self.t = 0
        self.last_lr = None

    def trainable(self):
        return [k for k in self.w if not k.endswith(("running_mean", "running_var"))]

    def forward(self, x, training):
        x = np.asarray(x, np.float64)
        cache = []
        for index, layer in enumerate(self.net["layers"]):
            kind = layer["type"]
            if kind == "dense":
                z = x @ self.w[f"{index}.weight"] + self.w[f"{index}.bias"]
                cache.append((x, z))
                x = activation(layer["activation"], z)
            elif kind == "activation":
                cache.append((x, None))
                x = activation(layer["function"], x)
            elif kind == "dropout":
                cache.append(None)
            elif kind == "batch_norm":
                if training:
                    mean, var = x.mean(0), x.var(0)
                    n, m = x.shape[0], layer["momentum"]
                    self.w[f"{index}.running_mean"] = (1 - m) * self.w[f"{index}.running_mean"] + m * mean
                    self.w[f"{index}.running_var"] = (1 - m) * self.w[f"{index}.running_var"] + m * var * n / (n - 1)
                else:
                    mean, var = self.w[f"{index}.running_mean"], self.w[f"{index}.running_var"]
                inv = 1 / np.sqrt(var + layer["epsilon"])
                x_hat = (x - mean) * inv
                cache.append((x_hat, inv))
                x = self.w[f"{index}.gamma"] * x_hat + self.w[f"{index}.beta"]
        return x, cache

    def loss_and_delta(self, z, labels, targets):
        head, rows = self.net["head"], z.shape[0]
        if head == "softmax_cross_entropy":
            shifted = z - z.max(1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
            loss = -log_p[np.arange(rows), labels].mean()
            return loss, (np.exp(log_p) - np.eye(z.shape[1])[labels]) / rows
        if head == "sigmoid_binary_cross_entropy":
            loss = (np.maximum(z, 0) - z * targets + np.log1p(np.exp(-np.abs(z)))).mean()
            return loss, (activation("sigmoid", z) - targets) / rows
        if head == "identity_mse":
            return (0.5 * (z - targets) ** 2).sum(1).mean(), (z - targets) / rows
        raise ValueError(head)

    def predict(self, x):
        z, _ = self.forward(x, False)
        head = self.net["head"]
        if head == "softmax_cross_entropy":
            e = np.exp(z - z.max(1, keepdims=True))
            return e / e.sum(1, keepdims=True)
        if head == "sigmoid_binary_cross_entropy":
            return activation("sigmoid", z)
        return z

    def gradients(self, x, labels, targets):
        z, cache = self.forward(x, True)
        loss, delta = self.loss_and_delta(z, labels, targets)
        grads = {}
        for index in reversed(range(len(self.net["layers"]))):
            layer = self.net["layers"][index]
            kind = layer["type"]
            if kind == "dense":
                inp, pre = cache[index]
                delta = delta * activation_derivative(layer["activation"], pre)
                grads[f"{index}.weight"] = inp.T @ delta
                grads[f"{index}.bias"] = delta.sum(0)
                delta = delta @ self.w[f"{index}.weight"].T
            elif kind == "activation":
                inp, _ = cache[index]
                delta = delta * activation_derivative(layer["function"], inp)
            elif kind == "batch_norm":
                x_hat, inv = cache[index]
                n = x_hat.shape[0]
                d_gamma, d_beta = (delta * x_hat).sum(0), delta.sum(0)
                grads[f"{index}.gamma"], grads[f"{index}.beta"] = d_gamma, d_beta
                gamma = self.w[f"{index}.gamma"]
                delta = gamma * inv / n * (n * delta - d_beta - x_hat * d_gamma)
        return loss, grads

    def dense_weight_names(self):
        return [f"{i}.weight" for i, l in enumerate(self.net["layers"]) if l["type"] == "dense"]

    def step(self, x, labels, targets, lr):
        """One training step; returns (loss, gradient norms) as the contract does."""
        loss, grads = self.gradients(x, labels, targets)
        norms = [float(np.linalg.norm(grads[k])) for k in self.dense_weight_names()]
        l1, l2 = self.reg["l1"], self.reg["l2"]
        for k in self.dense_weight_names():
            grads[k] = grads[k] + l2 * self.w[k] + l1 * np.sign(self.w[k])
        if self.reg["clip_value"] is not None:
            c = self.reg["clip_value"]
            grads = {k: np.clip(g, -c, c) for k, g in grads.items()}
        if self.reg["clip_norm"] is not None:
            c = self.reg["clip_norm"]
            total = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
            if total > c:
                grads = {k: g * (c / total) for k, g in grads.items()}
        self.t += 1
        for k, g in grads.items():
            self.w[k] = self.w[k] - self.update(k, g, lr)
        self.last_lr = lr
        return loss, norms

    def update(self, name, g, lr):
        """The amount subtracted from parameter `name`."""
        kind, s = self.kind, self.state
        if kind["kind"] == "sgd":
            return lr * g
        if kind["kind"] == "momentum":
            mu = kind["momentum"]
            v = s[name] = mu * s.get(name, 0.0) + g
            return lr * (g + mu * v if kind["nesterov"] else v)
        if kind["kind"] == "rmsprop":
            a, eps = kind["alpha"], kind["epsilon"]
            r = s[name] = a * s.get(name, 0.0) + (1 - a) * g * g
            if self.formulas == "keras":
                return lr * g / np.sqrt(r + eps)
            return lr * g / (np.sqrt(r) + eps)
        if kind["kind"] == "adam":
            b1, b2, eps, t = kind["beta1"], kind["beta2"], kind["epsilon"], self.t
            m = s[name + "m"] = b1 * s.get(name + "m", 0.0) + (1 - b1) * g
            v = s[name + "v"] = b2 * s.get(name + "v", 0.0) + (1 - b2) * g * g
            if self.formulas == "keras":
                return lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
            return lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        raise ValueError(kind)

    def weights(self):
        return {k: v.astype(np.float32) for k, v in self.w.items()}
