"""Test set-up: the adapters' package on the path, and each framework module configured with
one thread once per process (as the worker does before anything else)."""

import importlib
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

MODULES = {"jax": "jax_backend", "keras": "keras_backend", "pytorch": "torch_backend"}


def load(framework):
    """The framework's adapter module, configured for one thread; skips when it cannot load,
    unless NNBENCH_REQUIRE_PEERS=1 (as in CI, and as for the Rust suites) makes that a failure."""
    try:
        module = importlib.import_module(f"nnbench_peers.{MODULES[framework]}")
        module.configure_threads(1)
    except ImportError as error:
        if os.environ.get("NNBENCH_REQUIRE_PEERS") == "1":
            raise
        pytest.skip(f"{framework} is not importable here: {error}")
    return module


@pytest.fixture(params=["jax", "keras"])
def backend(request):
    return load(request.param)
