"""Rosenblatt's perceptron (the `step` head) on each framework's own tensors.

The rule is not the gradient of a loss (the step function's derivative is zero everywhere), so
it runs without autograd, as the course writes it: `valeur = x·w + b`, `prediction = valeur >
seuil`, and on the rows it gets wrong `w ← w + η (vrai − prediction) x`, `b ← b + η (vrai −
prediction)`, averaged over the batch (a batch of one row is the course's loop). The error is
divided by the rows before the product, in float32, as native's gradient is, so that the rule
agrees with native's weight for weight.

Each framework module supplies the handful of tensor operations (`Ops`); the rule is written
once here, the way the Rust adapters write it on burn, candle and tch tensors.
"""

import numpy as np


class Perceptron:
    def __init__(self, spec, init, ops):
        run, network = spec["run"], spec["network"]
        layers = network["layers"]
        if len(layers) != 1 or layers[0]["type"] != "dense":
            raise ValueError("the perceptron is one dense layer of threshold units")
        if init is None:
            raise ValueError("the perceptron starts from the harness's init")
        fan_in, fan_out = layers[0]["fan_in"], layers[0]["fan_out"]
        weight = np.asarray(init["0.weight"], dtype=np.float32)
        bias = np.asarray(init["0.bias"], dtype=np.float32)
        if weight.shape != (fan_in, fan_out) or bias.shape != (fan_out,):
            raise ValueError(
                f"perceptron init of shapes {list(weight.shape)} and {list(bias.shape)}, "
                f"expected [{fan_in}, {fan_out}] and [{fan_out}]"
            )
        self.ops = ops
        self.inputs = fan_in
        self.weight = ops.tensor(weight)
        self.bias = ops.tensor(bias.reshape(1, fan_out))
        # Absent from the resolved run when it is 0 (the course's default).
        self.threshold = np.float32(run["model"].get("threshold", 0.0))
        self.record_grad_norms = bool(run["training"]["record_grad_norms"])

    def _fire(self, x):
        ops = self.ops
        return ops.greater(ops.add(ops.matmul(x, self.weight), self.bias), self.threshold)

    def train_batch(self, x, labels, targets, lr):
        ops = self.ops
        rows = x.shape[0]
        x = ops.tensor(np.asarray(x, dtype=np.float32))
        truth = ops.tensor(np.asarray(targets, dtype=np.float32))
        error = ops.subtract(truth, self._fire(x))
        loss = float(ops.to_numpy(ops.sum(ops.abs(error)))) / rows
        error = ops.scale(error, np.float32(1.0 / rows))
        update = ops.matmul(ops.transpose(x), error)
        norms = None
        if self.record_grad_norms:
            norms = [float(np.sqrt(np.sum(np.square(ops.to_numpy(update), dtype=np.float64))))]
        rate = np.float32(lr)
        self.weight = ops.add(self.weight, ops.scale(update, rate))
        self.bias = ops.add(self.bias, ops.scale(ops.sum_rows(error), rate))
        return loss, norms

    def predict(self, x):
        ops = self.ops
        return ops.to_numpy(self._fire(ops.tensor(np.asarray(x, dtype=np.float32))))

    def weights(self):
        ops = self.ops
        return {
            "0.weight": np.asarray(ops.to_numpy(self.weight), dtype=np.float32),
            "0.bias": np.asarray(ops.to_numpy(self.bias), dtype=np.float32).reshape(-1),
        }
