"""The PyTorch adapter (backend `pytorch`): written as a PyTorch user writes a training step.

The network is `torch.nn` modules (`nn.Linear`, `nn.Conv2d`, `nn.MaxPool2d`, `nn.AvgPool2d`,
`nn.Flatten`, the activation modules, `nn.Dropout`, `nn.BatchNorm1d`, whose running statistics
follow the spec's convention; flat rows become NCHW images through `nn.Unflatten`; a residual
block is a small `nn.Module` adding its input to an `nn.Linear` and its activation), the loss is
`torch.nn.functional`'s, gradients come from `loss.backward()`, and the step is a `torch.optim`
optimizer (SGD with momentum and Nesterov, RMSprop, Adam) with every constant of the scenario
passed explicitly. Between backward and the step, in the spec's order: the L1/L2 penalty's
gradient on dense weights only (added by the adapter: torch's `weight_decay` would come after
clipping and cover biases too), then `torch.nn.utils.clip_grad_value_` and `clip_grad_norm_`.

Weights cross in the canonical layout: `{i}.weight` is [fan_in, fan_out] (nn.Linear stores the
transpose), a conv kernel [out, in, kh, kw] (nn.Conv2d's own). float32 throughout. Dropout draws from torch's generator, seeded per unit (one
worker process per unit, so the process-wide generator is the unit's own).
"""

import time

import numpy as np

from . import lenet

FRAMEWORK = "pytorch"

_torch = None


def configure_threads(threads):
    """Intra-op and inter-op threads, set before torch does any parallel work."""
    global _torch
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already fixed in this process: keep the first setting
        pass
    _torch = torch


def _t():
    global _torch
    if _torch is None:
        import torch

        _torch = torch
    return _torch


def versions():
    return {"torch": _t().__version__, "numpy": np.__version__}


def _activation(name):
    nn = _t().nn
    modules = {
        "identity": nn.Identity,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(0.01),
        "elu": lambda: nn.ELU(alpha=1.0),
        "selu": nn.SELU,
    }
    if name not in modules:
        raise ValueError(f"activation {name!r} is not supported by the pytorch backend")
    return modules[name]()


def _residual(linear, activation):
    """A residual block, y = x + f(linear(x)): torch has no such module, so the adapter writes
    its `forward` (the skip connection of a ResNet, on a linear layer)."""
    nn = _t().nn

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = linear
            self.activation = activation

        def forward(self, x):
            return x + self.activation(self.linear(x))

    return Residual()


class _Model:
    """The network as an `nn.Sequential`, with each nnbench layer index's parameter modules."""

    def __init__(self, network):
        nn = _t().nn
        modules = []
        self.dense = {}  # layer index -> nn.Linear
        self.convs = {}  # layer index -> nn.Conv2d
        self.norms = {}  # layer index -> nn.BatchNorm1d
        flat = True  # rows arrive flat; images are NCHW once a conv or pool layer needs them
        for index, layer in enumerate(network["layers"]):
            kind = layer["type"]
            if kind in ("conv2d", "max_pool2d", "avg_pool2d") and flat:
                image = layer["input"]
                modules.append(nn.Unflatten(1, (image["channels"], image["height"], image["width"])))
                flat = False
            if kind == "conv2d":
                conv = nn.Conv2d(
                    layer["input"]["channels"], layer["output"]["channels"], layer["kernel_size"],
                    stride=layer["stride"], padding=layer["padding"],
                )
                self.convs[index] = conv
                modules.append(conv)
                if layer["activation"] != "identity":
                    modules.append(_activation(layer["activation"]))
            elif kind == "max_pool2d":
                modules.append(nn.MaxPool2d(layer["size"], stride=layer["stride"]))
            elif kind == "avg_pool2d":
                modules.append(nn.AvgPool2d(layer["size"], stride=layer["stride"]))
            elif kind == "flatten":
                modules.append(nn.Flatten())
                flat = True
            elif kind == "dense":
                linear = nn.Linear(layer["fan_in"], layer["fan_out"])
                self.dense[index] = linear
                modules.append(linear)
                if layer["activation"] != "identity":
                    modules.append(_activation(layer["activation"]))
            elif kind == "residual":
                linear = nn.Linear(layer["width"], layer["width"])
                self.dense[index] = linear
                function = layer["activation"]
                activation = nn.Identity() if function == "identity" else _activation(function)
                modules.append(_residual(linear, activation))
            elif kind == "activation":
                modules.append(_activation(layer["function"]))
            elif kind == "dropout":
                modules.append(nn.Dropout(p=layer["rate"]))
            elif kind == "batch_norm":
                norm = nn.BatchNorm1d(
                    layer["features"], eps=layer["epsilon"], momentum=layer["momentum"]
                )
                self.norms[index] = norm
                modules.append(norm)
            else:
                raise ValueError(f"layer type {kind!r} is not supported by the pytorch backend")
        self.sequential = nn.Sequential(*modules)

    def load(self, init):
        torch = _t()
        with torch.no_grad():
            for index, linear in self.dense.items():
                linear.weight.copy_(torch.from_numpy(init[f"{index}.weight"]).T)
                linear.bias.copy_(torch.from_numpy(init[f"{index}.bias"]))
            for index, conv in self.convs.items():
                # The canonical kernel layout [out, in, kh, kw] is nn.Conv2d's own.
                conv.weight.copy_(torch.from_numpy(init[f"{index}.weight"]))
                conv.bias.copy_(torch.from_numpy(init[f"{index}.bias"]))
            for index, norm in self.norms.items():
                norm.weight.copy_(torch.from_numpy(init[f"{index}.gamma"]))
                norm.bias.copy_(torch.from_numpy(init[f"{index}.beta"]))
                norm.running_mean.copy_(torch.from_numpy(init[f"{index}.running_mean"]))
                norm.running_var.copy_(torch.from_numpy(init[f"{index}.running_var"]))

    def weights(self):
        tensors = {}
        for index in sorted(list(self.dense) + list(self.convs) + list(self.norms)):
            if index in self.dense:
                linear = self.dense[index]
                tensors[f"{index}.weight"] = linear.weight.detach().T.contiguous().numpy()
                tensors[f"{index}.bias"] = linear.bias.detach().numpy().copy()
            elif index in self.convs:
                conv = self.convs[index]
                tensors[f"{index}.weight"] = conv.weight.detach().numpy().copy()
                tensors[f"{index}.bias"] = conv.bias.detach().numpy().copy()
            else:
                norm = self.norms[index]
                tensors[f"{index}.gamma"] = norm.weight.detach().numpy().copy()
                tensors[f"{index}.beta"] = norm.bias.detach().numpy().copy()
                tensors[f"{index}.running_mean"] = norm.running_mean.numpy().copy()
                tensors[f"{index}.running_var"] = norm.running_var.numpy().copy()
        return tensors


def _optimizer(parameters, optimizer):
    """The torch.optim optimizer of the spec, every constant mapped."""
    optim = _t().optim
    lr = optimizer["learning_rate"]
    kind = optimizer["kind"]
    if kind["kind"] == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=0.0)
    if kind["kind"] == "momentum":
        return optim.SGD(
            parameters, lr=lr, momentum=kind["momentum"], dampening=0.0,
            nesterov=kind["nesterov"],
        )
    if kind["kind"] == "rmsprop":
        return optim.RMSprop(
            parameters, lr=lr, alpha=kind["alpha"], eps=kind["epsilon"], momentum=0.0,
            centered=False,
        )
    if kind["kind"] == "adam":
        return optim.Adam(
            parameters, lr=lr, betas=(kind["beta1"], kind["beta2"]), eps=kind["epsilon"],
            amsgrad=False,
        )
    raise ValueError(f"optimizer {kind['kind']!r} is not supported by the pytorch backend")


def _loss(head, z, labels, targets, outputs):
    """Mean data loss of the raw outputs `z` (the spec's heads)."""
    F = _t().nn.functional
    if head == "softmax_cross_entropy":
        return F.cross_entropy(z, labels)
    if head == "sigmoid_binary_cross_entropy":
        return F.binary_cross_entropy_with_logits(z, targets)
    if head == "identity_mse":
        # The spec's loss is the mean over rows of the sum over outputs of ½(y − ŷ)².
        return F.mse_loss(z, targets) * (outputs / 2.0)
    raise ValueError(
        f"head {head!r} is not supported by the pytorch backend (the perceptron rule is not "
        "a gradient)"
    )


def _predict(head, z):
    torch = _t()
    if head == "softmax_cross_entropy":
        return torch.softmax(z, dim=1)
    if head == "sigmoid_binary_cross_entropy":
        return torch.sigmoid(z)
    return z


class Trainer:
    def __init__(self, spec, init, seed):
        torch = _t()
        run, network = spec["run"], spec["network"]
        self.head = network["head"]
        self.outputs = network["outputs"]
        # The worker gathers only what the step uses (labels or targets) from the kept split.
        self.uses_labels = self.head == "softmax_cross_entropy"
        # The kept split's labels are converted to this once (worker.py), not every step.
        self.label_dtype = np.int64
        # Seeds the default init (when init is None) and the dropout masks of this unit.
        torch.manual_seed(seed)
        self.model = _Model(network)
        if init is not None:
            self.model.load(init)
        self.model.sequential.train()
        self.parameters = list(self.model.sequential.parameters())
        self.dense_weights = [self.model.dense[i].weight for i in sorted(self.model.dense)]
        self.optimizer = _optimizer(self.parameters, run["optimizer"])
        regularization = run["regularization"]
        self.l1 = regularization["l1"]
        self.l2 = regularization["l2"]
        self.clip_value = regularization["clip_value"]
        self.clip_norm = regularization["clip_norm"]
        self.record_grad_norms = run["training"]["record_grad_norms"]

    def train_batch(self, x, labels, targets, lr):
        torch = _t()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        z = self.model.sequential(torch.from_numpy(x))
        if self.uses_labels:
            labels, targets = torch.from_numpy(labels.astype(np.int64, copy=False)), None
        else:
            labels, targets = None, torch.from_numpy(targets)
        loss = _loss(self.head, z, labels, targets, self.outputs)
        loss.backward()
        norms = None
        if self.record_grad_norms:
            norms = torch.stack(
                [torch.linalg.vector_norm(w.grad) for w in self.dense_weights]
            ).tolist()
        if self.l1 or self.l2:
            with torch.no_grad():
                for w in self.dense_weights:
                    if self.l2:
                        w.grad.add_(w, alpha=self.l2)
                    if self.l1:
                        w.grad.add_(torch.sign(w), alpha=self.l1)
        if self.clip_value is not None:
            torch.nn.utils.clip_grad_value_(self.parameters, self.clip_value)
        if self.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.parameters, self.clip_norm)
        self.optimizer.step()
        return loss.item(), norms

    def predict(self, x):
        torch = _t()
        sequential = self.model.sequential
        sequential.eval()
        try:
            with torch.no_grad():
                return _predict(self.head, sequential(torch.from_numpy(x))).numpy()
        finally:
            sequential.train()

    def weights(self):
        return self.model.weights()


def hand_written_epoch(spec, init, x, labels, targets, batch_size, seed, lr):
    """One epoch as a plain PyTorch script trains it: nn.Sequential (the MLP, or LeNet-5 on
    NCHW images, see `_lenet`), Adam, cross-entropy, batches from a seeded `torch.randperm` each
    gathered by indexing (what a DataLoader over a TensorDataset yields, without its per-row
    collation), full batches only."""
    torch = _t()
    nn = torch.nn
    network = spec["network"]
    adam = spec["run"]["optimizer"]["kind"]
    torch.manual_seed(seed)
    inputs = torch.from_numpy(x)
    if lenet.is_convolutional(network):
        if init is not None:
            raise ValueError("the hand-written LeNet-5 starts from PyTorch's own init")
        model = _lenet(network)
        # The images as a user's dataset holds them: [N, C, H, W].
        image = network["layers"][0]["input"]
        inputs = inputs.reshape(-1, image["channels"], image["height"], image["width"])
    else:
        hidden = network["layers"][0]
        model = nn.Sequential(
            nn.Linear(hidden["fan_in"], hidden["fan_out"]),
            nn.ReLU(),
            nn.Linear(hidden["fan_out"], network["outputs"]),
        )
        if init is not None:
            _load_sequential(model, init)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=lr, betas=(adam["beta1"], adam["beta2"]), eps=adam["epsilon"]
    )
    loss_fn = nn.CrossEntropyLoss()
    classes = torch.from_numpy(labels.astype(np.int64))
    generator = torch.Generator().manual_seed(seed)
    started = time.perf_counter()
    order = torch.randperm(len(classes), generator=generator)
    for start in range(0, len(order) - batch_size + 1, batch_size):
        rows = order[start:start + batch_size]
        optimizer.zero_grad()
        loss = loss_fn(model(inputs[rows]), classes[rows])
        loss.backward()
        optimizer.step()
        loss.item()
    return time.perf_counter() - started


def _lenet(network):
    """mnist_cnn's LeNet-5 as a PyTorch user writes it: an nn.Sequential of nn.Conv2d,
    nn.MaxPool2d, nn.Flatten and nn.Linear on NCHW images, with the spec's widths."""
    nn = _t().nn
    conv1, pool1, conv2, pool2, dense1, dense2, output = lenet.layers(network)
    return nn.Sequential(
        nn.Conv2d(conv1["input"]["channels"], conv1["output"]["channels"],
                  conv1["kernel_size"], padding=conv1["padding"]),
        nn.ReLU(),
        nn.MaxPool2d(pool1["size"]),
        nn.Conv2d(conv2["input"]["channels"], conv2["output"]["channels"],
                  conv2["kernel_size"], padding=conv2["padding"]),
        nn.ReLU(),
        nn.MaxPool2d(pool2["size"]),
        nn.Flatten(),
        nn.Linear(dense1["fan_in"], dense1["fan_out"]),
        nn.ReLU(),
        nn.Linear(dense2["fan_in"], dense2["fan_out"]),
        nn.ReLU(),
        nn.Linear(output["fan_in"], output["fan_out"]),
    )


def _load_sequential(model, init):
    torch = _t()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for index, linear in zip((0, 1), linears):
            linear.weight.copy_(torch.from_numpy(init[f"{index}.weight"]).T)
            linear.bias.copy_(torch.from_numpy(init[f"{index}.bias"]))


def perceptron_ops():
    """torch tensors for Rosenblatt's rule (nnbench_peers.perceptron), no autograd."""
    torch = _t()

    class Ops:
        tensor = staticmethod(torch.from_numpy)
        matmul = staticmethod(torch.matmul)
        add = staticmethod(torch.add)
        subtract = staticmethod(torch.sub)
        abs = staticmethod(torch.abs)
        sum = staticmethod(torch.sum)
        transpose = staticmethod(torch.t)

        @staticmethod
        def greater(a, threshold):
            return (a > float(threshold)).to(torch.float32)

        @staticmethod
        def scale(a, factor):
            return a * float(factor)

        @staticmethod
        def sum_rows(a):
            return a.sum(dim=0, keepdim=True)

        @staticmethod
        def to_numpy(a):
            return a.numpy()

    return Ops


def hand_written_tiny_steps(x, targets, hidden, steps, seed, lr):
    """The tiny net as a plain PyTorch script trains it: nn.Sequential(Linear, Tanh, Linear),
    optim.SGD, BCEWithLogitsLoss on the whole set each step; seconds of all the steps."""
    torch = _t()
    nn = torch.nn
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(x.shape[1], hidden), nn.Tanh(), nn.Linear(hidden, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    inputs, truth = torch.from_numpy(x), torch.from_numpy(targets)
    started = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), truth)
        loss.backward()
        optimizer.step()
        loss.item()
    return time.perf_counter() - started
