"""jax and keras against the pytorch adapter (torch_backend.py) where it loads: the same network
from the same initial weights on the same batches, for a few optimizers with a changing rate and
every regularizer. Optimizers whose formula a framework names as different (its capability file's
[formula_difference]) are left out for that framework."""

import numpy as np
import pytest

import reference
from conftest import load
from test_parity import ADAM, EVERY_REGULARIZER, FRAMEWORK_FORMULAS, KINDS, data, run_spec
from test_parity import weights_difference


@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov", "rmsprop", "adam"])
@pytest.mark.parametrize("framework", ["jax", "keras"])
def test_follows_pytorch_over_30_steps(framework, kind):
    if kind in FRAMEWORK_FORMULAS.get(framework, ()):
        pytest.skip(f"{framework}'s {kind} differs from PyTorch's by a named formula difference")
    torch_module = load("pytorch")
    module = load(framework)
    hidden = [("dense", 8, "relu"), ("batch_norm", 0.1, 1e-5), ("dense", 6, "elu")]
    net = reference.network(5, hidden, "softmax_cross_entropy", 4)
    run = run_spec(KINDS[kind], EVERY_REGULARIZER if kind != "adam" else None)
    init = reference.initial_weights(net, 2)
    x, labels, targets = data(64, 5, 4, 4)
    ours = module.Trainer({"run": run, "network": net}, init, 1)
    theirs = torch_module.Trainer({"run": run, "network": net}, init, 1)
    worst = 0.0
    for t in range(30):
        part = slice((t % 4) * 16, (t % 4 + 1) * 16)
        lr = 0.05 / (1 + 0.1 * t)
        a, na = ours.train_batch(x[part], labels[part], targets[part], lr)
        b, nb = theirs.train_batch(x[part], labels[part], targets[part], lr)
        worst = max(worst, abs(a - b) / abs(b))
        np.testing.assert_allclose(na, nb, rtol=1e-4, atol=1e-6)
    diff = weights_difference(ours.weights(), theirs.weights())
    print(f"\n{framework} vs pytorch, {kind}: 30 steps, loss {worst:.1e}, weights {diff:.1e}")
    # RMSprop and Adam divide by the gradient's running magnitude, so rounding noise on tiny
    # (clipped) gradients grows into visible steps; pytorch's clip_grad_norm_ also adds 1e-6
    # to the norm (its named difference): the Adam bound for both.
    tolerance = 1e-3 if kind in ("rmsprop", "adam") else 1e-4
    assert worst <= tolerance and diff <= tolerance
    predictions = ours.predict(x)
    assert np.max(np.abs(predictions - theirs.predict(x))) <= tolerance
