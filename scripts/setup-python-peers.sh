#!/usr/bin/env bash
# Installs the Python frameworks of nnbench's `pytorch`, `jax` and `keras` backends, pinned, from
# PyPI into the project-local, git-ignored virtual environment `.venv-peers/` (the Rust bridge,
# backends/python, starts its workers with .venv-peers/bin/python).
#
# Pins: torch 2.9.0 (the libtorch of the tch backend), jax/jaxlib 0.10.2 with optax 0.2.8,
# keras 3.15.1 on tensorflow-cpu 2.21.0 (KERAS_BACKEND=tensorflow, set by the bridge), numpy
# 2.4.6, safetensors 0.8.0, and pytest 9.2.0 for the adapters' own tests (backends/python/py/tests).
#
# CUDA libraries: PyPI's torch 2.9.0 for Linux x86_64 is a CUDA build, and `import torch` loads
# libtorch_cuda.so even on a CPU-only machine, whose DT_NEEDED entries pull in the CUDA runtime
# libraries. torch is therefore installed without its dependencies, and only the nvidia wheels
# that `import torch` needs are added (measured: each missing one stops the import):
#   nvidia-cuda-runtime-cu12 (libcudart), nvidia-cuda-cupti-cu12 (libcupti),
#   nvidia-cublas-cu12 (libcublas, libcublasLt), nvidia-cudnn-cu12 (libcudnn),
#   nvidia-cufft-cu12, nvidia-cufile-cu12, nvidia-curand-cu12, nvidia-cusparse-cu12,
#   nvidia-cusparselt-cu12, nvidia-nccl-cu12, nvidia-nvshmem-cu12, and nvidia-nvjitlink-cu12
#   (libcusparse needs libnvJitLink).
# Left out (loaded only when a GPU feature is used): nvidia-cuda-nvrtc-cu12, nvidia-cusolver-cu12,
# nvidia-nvtx-cu12 and triton. These libraries are 3.7 GB of the environment's 7.5 GB.
#
# Idempotent: when the environment is there, its versions match the pins and every framework
# imports, it does nothing. Usage: scripts/setup-python-peers.sh [--force]
# (with $NNBENCH_PEERS_VENV=DIR: the environment in DIR, linked from .venv-peers)
# Needs python3 (3.10 to 3.13) with the venv module; $PYTHON names another interpreter.
set -euo pipefail

TORCH=2.9.0
JAX=0.10.2
OPTAX=0.2.8
KERAS=3.15.1
TENSORFLOW=2.21.0
NUMPY=2.4.6
SAFETENSORS=0.8.0
PYTEST=9.2.0
NVIDIA=(
    nvidia-cuda-runtime-cu12==12.8.90
    nvidia-cuda-cupti-cu12==12.8.90
    nvidia-cublas-cu12==12.8.4.1
    nvidia-cudnn-cu12==9.10.2.21
    nvidia-cufft-cu12==11.3.3.83
    nvidia-cufile-cu12==1.13.1.3
    nvidia-curand-cu12==10.3.9.90
    nvidia-cusparse-cu12==12.5.8.93
    nvidia-cusparselt-cu12==0.7.1
    nvidia-nccl-cu12==2.27.5
    nvidia-nvshmem-cu12==3.3.20
    nvidia-nvjitlink-cu12==12.8.93
)
# torch's own Python dependencies (installed apart, since torch itself goes in with --no-deps).
TORCH_DEPS=(filelock typing-extensions sympy networkx jinja2 fsspec)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-peers"
# $NNBENCH_PEERS_VENV puts the environment elsewhere (CI: the user cache, so that a later clone
# on the same machine checks and reuses it instead of installing 7.5 GB again) and links
# .venv-peers to it.
if [[ -n "${NNBENCH_PEERS_VENV:-}" ]]; then
    mkdir -p "$(dirname "$NNBENCH_PEERS_VENV")"
    if [[ -e "$venv" && ! -L "$venv" ]]; then
        echo "setup-python-peers: $venv is a directory; remove it to use \$NNBENCH_PEERS_VENV" >&2
        exit 1
    fi
    ln -sfn "$NNBENCH_PEERS_VENV" "$venv"
    venv="$NNBENCH_PEERS_VENV"
fi
# The bridge runs the peers only once this marker exists (written last, after the checks).
marker="$venv/nnbench-peers-ready"
python="$venv/bin/python"

die() { echo "setup-python-peers: $*" >&2; exit 1; }
step_started=$SECONDS
step() { echo "setup-python-peers: $* ($((SECONDS - step_started)) s)"; }

# Imports every framework the way the workers do and prints their versions; fails on a
# version that is not the pinned one.
check() {
    KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2 "$python" - "$@" <<PY
import importlib.metadata as metadata, sys
pins = {"torch": "$TORCH", "jax": "$JAX", "jaxlib": "$JAX", "optax": "$OPTAX",
        "keras": "$KERAS", "tensorflow-cpu": "$TENSORFLOW", "numpy": "$NUMPY",
        "safetensors": "$SAFETENSORS", "pytest": "$PYTEST"}
wrong = {n: metadata.version(n) for n in pins if metadata.version(n) != pins[n]}
if wrong:
    sys.exit(f"versions differ from the pins: {wrong}")
import torch, jax, jax.numpy, optax, tensorflow, keras, numpy, safetensors, pytest
assert keras.backend.backend() == "tensorflow", keras.backend.backend()
torch.ones(2) @ torch.ones(2); jax.numpy.ones(2).sum().block_until_ready(); tensorflow.ones(2)
print(f"torch {torch.__version__}, jax {jax.__version__}, optax {optax.__version__}, "
      f"keras {keras.__version__} on tensorflow {tensorflow.__version__}, numpy {numpy.__version__}")
PY
}

if [[ "${1:-}" != "--force" && -f "$marker" && -x "$python" ]]; then
    if versions="$(check 2>&1)"; then
        echo "setup-python-peers: already installed in $venv: ${versions##*$'\n'}"
        exit 0
    fi
    echo "setup-python-peers: $venv does not check out, reinstalling: ${versions##*$'\n'}"
fi
rm -f "$marker"

total_started=$SECONDS
base_python="${PYTHON:-python3}"
command -v "$base_python" >/dev/null || die "python3 is required (set \$PYTHON to another interpreter)"
if [[ ! -x "$python" ]]; then
    step_started=$SECONDS
    "$base_python" -m venv "$venv" || die "cannot make $venv: install the venv module (e.g. apt-get install python3-venv)"
    step "made the virtual environment $venv"
fi
pip=("$python" -m pip install --quiet --disable-pip-version-check --no-input)

# torch last: installed without its dependencies, it would otherwise make pip report the CUDA
# wheels left out (above) as missing at every later install.
step_started=$SECONDS
"${pip[@]}" "${TORCH_DEPS[@]}" "jax==$JAX" "jaxlib==$JAX" "optax==$OPTAX" "keras==$KERAS" \
    "tensorflow-cpu==$TENSORFLOW" "numpy==$NUMPY" "safetensors==$SAFETENSORS" "pytest==$PYTEST"
step "jax, optax, keras, tensorflow-cpu, pytest and torch's Python dependencies"

step_started=$SECONDS
"${pip[@]}" --no-deps "torch==$TORCH" "${NVIDIA[@]}"
step "torch $TORCH and the CUDA runtime libraries its import needs"

step_started=$SECONDS
check_log="$(mktemp)"
trap 'rm -f "$check_log"' EXIT
versions="$(check 2>"$check_log")" || { cat "$check_log" >&2; die "the installed frameworks do not import (see above)"; }
step "checked: $versions"
echo "$versions" > "$marker"
echo "setup-python-peers: done in $((SECONDS - total_started)) s"
