"""The jax and keras adapters against the numpy reference of core's spec (reference.py), from the
same initial weights on the same batches: one SGD step of a 2-layer MLP, every activation and
head, batch norm, each optimizer over 50 steps with a changing rate and the regularizers, the
weight round trip, evaluation mode, default init, bad batches and the hand-written epoch.

Where a framework's formula differs from the spec by name (the capability file's
[formula_difference]), the test holds it to the framework's own formula, written in the
reference too, and prints how far that formula drifts from the spec's."""

import numpy as np
import pytest

import reference
from conftest import load

# Named differences: framework → optimizer kinds whose reference is the framework's formula.
FRAMEWORK_FORMULAS = {"keras": {"rmsprop", "adam"}}

SGD = {"kind": "sgd"}
MOMENTUM = {"kind": "momentum", "momentum": 0.9, "nesterov": False}
NESTEROV = {"kind": "momentum", "momentum": 0.8, "nesterov": True}
RMSPROP = {"kind": "rmsprop", "alpha": 0.9, "epsilon": 1e-8}
ADAM = {"kind": "adam", "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
KINDS = {"sgd": SGD, "momentum": MOMENTUM, "nesterov": NESTEROV, "rmsprop": RMSPROP,
         "adam": ADAM}
NO_REGULARIZATION = {"l1": 0.0, "l2": 0.0, "clip_value": None, "clip_norm": None}
EVERY_REGULARIZER = {"l1": 0.01, "l2": 0.1, "clip_value": 0.05, "clip_norm": 0.1}


def run_spec(kind, regularization=None, lr=0.1, record=True, batch="full"):
    """The parts of a serialized RunSpec the adapters read (and a few they do not)."""
    return {
        "model": {},
        "init": {"weights": {"scheme": "glorot_uniform"}, "biases": {"scheme": "zeros"}},
        "optimizer": {"learning_rate": lr, "kind": kind},
        "regularization": dict(regularization or NO_REGULARIZATION),
        "training": {"epochs": 1, "batch": batch, "shuffle": False, "seeds": [0],
                     "schedule": {"kind": "constant"}, "early_stopping": None,
                     "record_grad_norms": record, "record_dead_units": False,
                     "divergence_loss": 1e30},
        "backends": [],
        "threads": 1,
    }


def data(rows, features, classes, outputs, seed=42):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    labels = (np.arange(rows) % classes).astype(np.uint32)
    rng.shuffle(labels)
    return x, labels, reference.targets_for(labels, outputs)


def relative(a, b):
    """Largest difference over the largest magnitude of the reference (per tensor)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-6))


def weights_difference(got, expected):
    assert sorted(got) == sorted(expected), (sorted(got), sorted(expected))
    for name in expected:
        assert got[name].shape == expected[name].shape, name
        assert got[name].dtype == np.float32, (name, got[name].dtype)
    return max(relative(got[name], expected[name]) for name in expected)


def train_both(module, net, run, steps, rows, seed=3, lr=lambda t: 0.1, formulas=None,
               tolerance=1e-5):
    """Trains the adapter and the reference side by side on cycling batches; checks loss and
    gradient norms at every step; returns (trainer, reference model, data, worst step diff)."""
    classes = net["outputs"] if net["outputs"] > 1 else 2
    x, labels, targets = data(4 * rows, net["inputs"], classes, net["outputs"])
    init = reference.initial_weights(net, seed)
    trainer = module.Trainer({"run": run, "network": net}, init, 9)
    model = reference.Model(net, init, run, formulas)
    worst = 0.0
    for t in range(steps):
        part = slice((t % 4) * rows, (t % 4 + 1) * rows)
        batch = (x[part], labels[part], targets[part])
        loss, norms = trainer.train_batch(*batch, lr(t))
        expected_loss, expected_norms = model.step(*batch, lr(t))
        assert isinstance(loss, float)
        diff = abs(loss - expected_loss) / max(abs(expected_loss), 1e-6)
        worst = max(worst, diff)
        assert diff <= tolerance, f"step {t}: loss {loss} vs {expected_loss}"
        if run["training"]["record_grad_norms"]:
            assert len(norms) == len(expected_norms)
            assert relative(norms, expected_norms) <= tolerance, (t, norms, expected_norms)
        else:
            assert norms is None
    return trainer, model, (x, labels, targets), worst


def test_one_sgd_step_of_a_two_layer_mlp_matches_numpy(backend):
    net = reference.network(4, [("dense", 6, "tanh")], "softmax_cross_entropy", 3)
    run = run_spec(SGD)
    trainer, model, (x, _, _), _ = train_both(backend, net, run, 1, 8)
    assert weights_difference(trainer.weights(), model.weights()) <= 1e-5
    predicted = trainer.predict(x)
    assert predicted.dtype == np.float32 and predicted.shape == (32, 3)
    assert relative(predicted, model.predict(x)) <= 1e-5


@pytest.mark.parametrize("activation", ["identity", "sigmoid", "tanh", "relu", "leaky_relu",
                                        "elu", "selu"])
def test_every_activation_matches_numpy(backend, activation):
    hidden = [("dense", 5, activation), ("dense", 4, "identity"), ("activation", activation)]
    net = reference.network(3, hidden, "softmax_cross_entropy", 3)
    trainer, model, (x, _, _), _ = train_both(backend, net, run_spec(SGD), 3, 6)
    assert weights_difference(trainer.weights(), model.weights()) <= 1e-5
    assert relative(trainer.predict(x), model.predict(x)) <= 1e-5


@pytest.mark.parametrize("head,classes", [("softmax_cross_entropy", 3),
                                          ("sigmoid_binary_cross_entropy", 2),
                                          ("identity_mse", 2), ("identity_mse", 3)])
def test_every_trainable_head_matches_numpy(backend, head, classes):
    net = reference.network(3, [("dense", 4, "tanh")], head, classes)
    trainer, model, (x, _, _), _ = train_both(backend, net, run_spec(SGD), 3, 6)
    assert weights_difference(trainer.weights(), model.weights()) <= 1e-5
    assert relative(trainer.predict(x), model.predict(x)) <= 1e-5


def test_the_step_head_is_refused(backend):
    net = reference.network(3, [("dense", 4, "tanh")], "identity_mse", 2)
    net["head"] = "step"
    with pytest.raises(ValueError, match="perceptron"):
        backend.Trainer({"run": run_spec(SGD), "network": net}, None, 0)


def test_batch_norm_matches_numpy_with_the_spec_convention(backend):
    hidden = [("dense", 5, "identity"), ("batch_norm", 0.1, 1e-5), ("activation", "relu"),
              ("dense", 4, "sigmoid"), ("batch_norm", 0.3, 1e-3)]
    net = reference.network(3, hidden, "softmax_cross_entropy", 3)
    run = run_spec(MOMENTUM)
    trainer, model, (x, _, _), _ = train_both(
        backend, net, run, 8, 6, lr=lambda t: 0.1 / (t + 1), tolerance=1e-4
    )
    diff = weights_difference(trainer.weights(), model.weights())
    print(f"\n{backend.FRAMEWORK} batch norm, 8 steps: weights and running stats {diff:.2e}")
    assert diff <= 1e-4
    assert relative(trainer.predict(x), model.predict(x)) <= 1e-4


CASES = [(name, "none") for name in KINDS] + [(name, "all") for name in KINDS] + [
    ("adam", "l1_l2"), ("adam", "clip_value"), ("adam", "clip_norm"),
    ("momentum", "clip_value"), ("nesterov", "clip_norm"),
]
REGULARIZATIONS = {
    "none": NO_REGULARIZATION,
    "all": EVERY_REGULARIZER,
    "l1_l2": {"l1": 0.01, "l2": 0.1, "clip_value": None, "clip_norm": None},
    "clip_value": {"l1": 0.0, "l2": 0.0, "clip_value": 0.05, "clip_norm": None},
    "clip_norm": {"l1": 0.0, "l2": 0.0, "clip_value": None, "clip_norm": 0.1},
}


@pytest.mark.parametrize("kind,regularization", CASES)
def test_optimizers_over_50_steps_match_their_formulas(backend, kind, regularization):
    net = reference.network(4, [("dense", 6, "relu"), ("dense", 5, "tanh")],
                            "softmax_cross_entropy", 3)
    run = run_spec(KINDS[kind], REGULARIZATIONS[regularization])
    named = kind in FRAMEWORK_FORMULAS.get(backend.FRAMEWORK, ())
    formulas = backend.FRAMEWORK if named else None
    lr = lambda t: 0.05 / (1 + 0.1 * t)  # noqa: E731 - the harness changes the rate each step
    # Adam divides by √v̂, so rounding noise on near-zero gradients (L1's sign flips around
    # zero) grows into visible steps: the Adam bound, 1e-3.
    tolerance = 1e-3 if kind == "adam" else 1e-4
    trainer, model, (x, _, _), worst_loss = train_both(
        backend, net, run, 50, 8, lr=lr, formulas=formulas, tolerance=tolerance
    )
    diff = weights_difference(trainer.weights(), model.weights())
    note = f" (against {backend.FRAMEWORK}'s own formula)" if named else ""
    print(f"\n{backend.FRAMEWORK} {kind} {regularization}: 50 steps, loss {worst_loss:.1e}, "
          f"weights {diff:.1e}{note}")
    assert diff <= tolerance
    assert relative(trainer.predict(x), model.predict(x)) <= tolerance
    if named:
        spec_model = reference.Model(net, reference.initial_weights(net, 3), run)
        _, _, (x, labels, targets), _ = train_both(backend, net, run, 0, 8)
        for t in range(50):
            part = slice((t % 4) * 8, (t % 4 + 1) * 8)
            spec_model.step(x[part], labels[part], targets[part], lr(t))
        drift = weights_difference(trainer.weights(), spec_model.weights())
        print(f"  named difference: {backend.FRAMEWORK} {kind} vs the spec's formula after "
              f"50 steps: weights {drift:.1e}")


@pytest.mark.parametrize("head,classes", [("softmax_cross_entropy", 3),
                                          ("sigmoid_binary_cross_entropy", 2)])
def test_row_steps_on_the_kept_split_match_gathered_batches(backend, head, classes):
    """The worker's `keep_split` then `train_rows`, which these adapters serve from the split in
    their framework's own arrays, against `train_batch` on the same rows gathered in numpy:
    the same losses and weights, over full batches, an epoch's shorter last batch and a
    changing rate."""
    from nnbench_peers import worker

    net = reference.network(3, [("dense", 5, "tanh")], head, classes)
    run = run_spec(MOMENTUM, batch={"size": 4}, record=True)
    x, labels, targets = data(10, 3, classes, net["outputs"])
    init = reference.initial_weights(net, 3)
    kept = {}
    spec = {"run": run, "network": net}
    worker._handle(backend, kept, {"op": "build", "spec": spec, "has_init": True, "seed": 0},
                   init, np)
    worker._handle(backend, kept, {"op": "keep_split"},
                   {"x": x, "labels": labels, "targets": targets}, np)
    assert kept["split"] is None, "the adapter keeps the split itself"
    gathered = backend.Trainer(spec, init, 0)
    order = np.random.default_rng(1).permutation(10).astype("<u4")
    for t, rows in enumerate([order[:4], order[4:8], order[8:], order[2:6]]):
        lr = 0.1 / (t + 1)
        loss, norms = worker._train_rows(kept, rows, lr)
        expected_loss, expected_norms = gathered.train_batch(
            x[rows], labels[rows], targets[rows], lr
        )
        assert abs(loss - expected_loss) <= 1e-6 * max(abs(expected_loss), 1.0), t
        assert relative(norms, expected_norms) <= 1e-6, t
    assert weights_difference(kept["trainer"].weights(), gathered.weights()) <= 1e-6


def test_weights_round_trip_the_initial_weights_exactly(backend):
    hidden = [("dense", 5, "relu"), ("batch_norm", 0.1, 1e-5), ("dropout", 0.2),
              ("dense", 4, "elu")]
    net = reference.network(3, hidden, "softmax_cross_entropy", 3)
    init = reference.initial_weights(net, 5, random_statistics=True)
    trainer = backend.Trainer({"run": run_spec(ADAM), "network": net}, init, 0)
    got = trainer.weights()
    assert sorted(got) == sorted(init)
    for name, value in init.items():
        assert got[name].dtype == np.float32
        np.testing.assert_array_equal(got[name], value, err_msg=name)


def test_wrong_initial_weights_are_errors(backend):
    net = reference.network(3, [("dense", 4, "relu")], "softmax_cross_entropy", 3)
    init = reference.initial_weights(net, 5)
    missing = dict(init)
    del missing["1.bias"]
    with pytest.raises(ValueError, match="1.bias"):
        backend.Trainer({"run": run_spec(SGD), "network": net}, missing, 0)
    wrong = dict(init)
    wrong["0.weight"] = np.zeros((1, 1), np.float32)
    with pytest.raises(ValueError, match="0.weight"):
        backend.Trainer({"run": run_spec(SGD), "network": net}, wrong, 0)


def test_dropout_is_seeded_in_training_and_off_in_predict(backend):
    net = reference.network(3, [("dense", 8, "relu"), ("dropout", 0.5)],
                            "softmax_cross_entropy", 3)
    run = run_spec(SGD)
    x, labels, targets = data(6, 3, 3, 3)
    init = reference.initial_weights(net, 1)

    def train(seed):
        trainer = backend.Trainer({"run": run, "network": net}, init, seed)
        losses = [trainer.train_batch(x, labels, targets, 0.1)[0] for _ in range(5)]
        return losses, trainer

    losses_a, trainer = train(9)
    losses_b, other = train(9)
    assert losses_a == losses_b
    for name, value in trainer.weights().items():
        np.testing.assert_array_equal(value, other.weights()[name])
    # Evaluation: no mask, so the dropout-free reference with these weights predicts the same.
    first = trainer.predict(x)
    np.testing.assert_array_equal(first, trainer.predict(x))
    plain = reference.Model(net, trainer.weights(), run)
    assert relative(first, plain.predict(x)) <= 1e-5
    # Training applies a mask: the first loss differs from the dropout-free network's.
    fresh = backend.Trainer({"run": run, "network": net}, init, 9)
    dropped, _ = fresh.train_batch(x, labels, targets, 0.0)
    base, _ = reference.Model(net, init, run).step(x, labels, targets, 0.0)
    assert abs(dropped - base) > 1e-4
    # Another seed, other masks.
    losses_c, _ = train(10)
    assert losses_c != losses_a


def test_framework_default_init_is_seeded(backend):
    hidden = [("dense", 7, "relu"), ("batch_norm", 0.1, 1e-5)]
    net = reference.network(5, hidden, "softmax_cross_entropy", 3)
    run = run_spec(ADAM)
    run["init"] = {"weights": {"scheme": "framework_default"},
                   "biases": {"scheme": "framework_default"}}
    a = backend.Trainer({"run": run, "network": net}, None, 4).weights()
    b = backend.Trainer({"run": run, "network": net}, None, 4).weights()
    c = backend.Trainer({"run": run, "network": net}, None, 5).weights()
    expected = reference.initial_weights(net, 0)
    assert sorted(a) == sorted(expected)
    for name, value in expected.items():
        assert a[name].shape == value.shape and a[name].dtype == np.float32, name
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["0.weight"], c["0.weight"])
    assert np.all(a["0.bias"] == 0) and np.std(a["0.weight"]) > 0.05
    x, labels, targets = data(8, 5, 3, 3)
    trainer = backend.Trainer({"run": run, "network": net}, None, 4)
    losses = [trainer.train_batch(x, labels, targets, 0.01)[0] for _ in range(30)]
    assert losses[-1] < losses[0]


def test_bad_batches_are_errors_and_the_trainer_goes_on(backend):
    net = reference.network(3, [("dense", 4, "relu")], "softmax_cross_entropy", 3)
    trainer = backend.Trainer({"run": run_spec(ADAM), "network": net},
                              reference.initial_weights(net, 0), 0)
    x, labels, targets = data(6, 3, 3, 3)
    with pytest.raises(ValueError):
        trainer.train_batch(x[:, :2], labels, targets, 0.1)
    with pytest.raises(ValueError, match="out of range"):
        trainer.train_batch(x, np.full(6, 7, np.uint32), targets, 0.1)
    with pytest.raises(ValueError):
        trainer.predict(x[:, :2])
    loss, norms = trainer.train_batch(x, labels, targets, 0.1)
    assert np.isfinite(loss) and len(norms) == 2


def test_batches_of_other_sizes_train(backend):
    net = reference.network(3, [("dense", 4, "relu")], "softmax_cross_entropy", 3)
    run = run_spec(ADAM, batch={"size": 4}, record=False)
    trainer, model, _, _ = train_both(backend, net, run, 3, 4, tolerance=1e-5)
    x, labels, targets = data(3, 3, 3, 3)  # a short last batch
    assert relative(trainer.train_batch(x, labels, targets, 0.1)[0],
                    model.step(x, labels, targets, 0.1)[0]) <= 1e-5
    assert weights_difference(trainer.weights(), model.weights()) <= 1e-5


def test_hand_written_epoch_trains_and_times(backend):
    net = reference.network(20, [("dense", 16, "relu")], "softmax_cross_entropy", 4)
    run = run_spec(ADAM, lr=1e-3)
    x, labels, targets = data(256, 20, 4, 4)
    seconds = backend.hand_written_epoch({"run": run, "network": net}, None, x, labels,
                                         targets, 32, 7, 1e-3)
    assert isinstance(seconds, float) and 0 < seconds < 60


def test_versions_name_the_framework(backend):
    versions = backend.versions()
    assert all(isinstance(v, str) for v in versions.values())
    assert {"jax": "jax", "keras": "keras"}[backend.FRAMEWORK] in versions


def lenet_network():
    """core's Network of mnist_cnn: LeNet-5 on [1, 28, 28] images."""
    def image(channels, side):
        return {"channels": channels, "height": side, "width": side}

    def conv(c_in, side_in, c_out, side_out, padding):
        return {"type": "conv2d", "input": image(c_in, side_in), "output": image(c_out, side_out),
                "kernel_size": 5, "stride": 1, "padding": padding, "activation": "relu"}

    def pool(channels, side):
        return {"type": "max_pool2d", "input": image(channels, side),
                "output": image(channels, side // 2), "size": 2, "stride": 2}

    def dense(fan_in, fan_out, activation):
        return {"type": "dense", "fan_in": fan_in, "fan_out": fan_out, "activation": activation}

    layers = [conv(1, 28, 6, 28, 2), pool(6, 28), conv(6, 14, 16, 10, 0), pool(16, 10),
              {"type": "flatten", "width": 400}, dense(400, 120, "relu"), dense(120, 84, "relu"),
              dense(84, 10, "identity")]
    return {"inputs": 784, "input_shape": [1, 28, 28], "outputs": 10, "layers": layers,
            "head": "softmax_cross_entropy"}


@pytest.mark.parametrize("framework", ["pytorch", "jax", "keras"])
def test_hand_written_epoch_builds_lenet(framework):
    module = load(framework)
    run = run_spec(ADAM, lr=1e-3)
    x, labels, targets = data(256, 784, 10, 10)
    seconds = module.hand_written_epoch({"run": run, "network": lenet_network()}, None, x,
                                        labels, targets, 32, 7, 1e-3)
    assert isinstance(seconds, float) and 0 < seconds < 60


@pytest.mark.parametrize("framework", ["pytorch", "jax", "keras"])
def test_hand_written_epoch_names_a_cnn_that_is_not_lenet(framework):
    module = load(framework)
    net = lenet_network()
    del net["layers"][2:4]  # one convolution and pool fewer
    x, labels, targets = data(64, 784, 10, 10)
    with pytest.raises(ValueError, match="builds LeNet-5"):
        module.hand_written_epoch({"run": run_spec(ADAM), "network": net}, None, x, labels,
                                  targets, 32, 7, 1e-3)
