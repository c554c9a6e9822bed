#!/usr/bin/env bash
# Installs the CPU part of libtorch 2.9.0 into the project-local, git-ignored `.libtorch/`,
# which `.cargo/config.toml` points tch (the `tch` cargo feature) at.
#
# Why 2.9.0: the workspace must use tch 0.22 (torch-sys 0.22 wants exactly libtorch 2.9.0),
# because burn 0.22 has an optional dependency on torch-sys 0.22 and cargo refuses two
# versions of a `links = "tch"` crate in one lock file, even an optional one that is off.
#
# libtorch is taken from PyPI, the only source this machine reaches: the wheel torch==2.9.0
# (cp311, manylinux_2_28_x86_64) carries it under torch/include and torch/lib. Only the
# headers and libtorch.so, libtorch_cpu.so, libc10.so and libgomp.so.1 are extracted;
# libtorch_cuda.so is left out on purpose (torch-sys links it when it is present). That wheel
# is a CUDA build: libtorch_cpu.so loads libcudart.so.12 and libcupti.so.12 even on CPU, so
# those two are copied from the PyPI wheels nvidia-cuda-runtime-cu12 and nvidia-cuda-cupti-cu12.
# Writing the version into .libtorch/build-version turns on torch-sys's version check.
#
# Idempotent: does nothing when .libtorch/build-version already says 2.9.0 and every file is
# there. Usage: scripts/setup-libtorch.sh [--force]
set -euo pipefail

TORCH_VERSION=2.9.0
CUDART_VERSION=12.8.90
CUPTI_VERSION=12.8.90
PY_VERSION=3.11
# pip does not widen an explicit --platform to older manylinux tags: list the ones the wheels use.
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_25_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.libtorch"
libs=(libtorch.so libtorch_cpu.so libc10.so libgomp.so.1 libcudart.so.12 libcupti.so.12)

die() { echo "setup-libtorch: $*" >&2; exit 1; }

installed() {
    [[ -f "$dest/build-version" ]] || return 1
    [[ "$(tr -d '[:space:]' < "$dest/build-version")" == "$TORCH_VERSION" ]] || return 1
    [[ -f "$dest/include/torch/csrc/api/include/torch/torch.h" ]] || return 1
    local lib
    for lib in "${libs[@]}"; do [[ -s "$dest/lib/$lib" ]] || return 1; done
}

if [[ "${1:-}" != "--force" ]] && installed; then
    echo "setup-libtorch: libtorch $TORCH_VERSION already in $dest"
    exit 0
fi

command -v python3 >/dev/null || die "python3 is required (it runs pip and unpacks the wheels)"
python3 -m pip --version >/dev/null 2>&1 || die "pip is required: install it (e.g. apt-get install python3-pip)"

cache="$(mktemp -d "${TMPDIR:-/tmp}/nnbench-libtorch.XXXXXX")"
trap 'rm -rf "$cache"' EXIT

echo "setup-libtorch: downloading torch==$TORCH_VERSION, nvidia-cuda-runtime-cu12==$CUDART_VERSION, nvidia-cuda-cupti-cu12==$CUPTI_VERSION from PyPI"
python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version "$PY_VERSION" "${PLATFORMS[@]/#/--platform=}" --implementation cp \
    -d "$cache" \
    "torch==$TORCH_VERSION" "nvidia-cuda-runtime-cu12==$CUDART_VERSION" "nvidia-cuda-cupti-cu12==$CUPTI_VERSION" \
    || die "pip download failed"

# build-version is written last: an interrupted run leaves no build-version, so the next one redoes it.
rm -rf "$dest"
mkdir -p "$dest/lib"
echo "setup-libtorch: extracting into $dest"
python3 - "$cache" "$dest" <<'PY'
import base64, csv, glob, hashlib, io, os, shutil, sys, zipfile

cache, dest = sys.argv[1], sys.argv[2]

def wheel(prefix):
    found = glob.glob(os.path.join(cache, prefix + "-*.whl"))
    if len(found) != 1:
        sys.exit(f"setup-libtorch: expected one {prefix} wheel in {cache}, found {found}")
    return zipfile.ZipFile(found[0])

def record(zf):
    """path -> (sha256 digest as in RECORD, size) from the wheel's own RECORD file."""
    name = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
    rows = csv.reader(io.TextIOWrapper(zf.open(name), "utf-8"))
    return {row[0]: (row[1], row[2]) for row in rows if len(row) >= 3 and row[1]}

def extract(zf, rec, member, target):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    digest = hashlib.sha256()
    with zf.open(member) as src, open(target, "wb") as out:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    if member in rec:
        algo, expected = rec[member][0].split("=", 1)
        got = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
        if algo != "sha256" or got != expected:
            sys.exit(f"setup-libtorch: {member}: checksum does not match the wheel's RECORD")
    if os.path.getsize(target) == 0:
        sys.exit(f"setup-libtorch: {member} is empty")

torch = wheel("torch")
rec = record(torch)
wanted_libs = {"libtorch.so", "libtorch_cpu.so", "libc10.so", "libgomp.so.1"}
seen = set()
for member in torch.namelist():
    if member.startswith("torch/include/") and not member.endswith("/"):
        extract(torch, rec, member, os.path.join(dest, "include", member[len("torch/include/"):]))
    elif member.startswith("torch/lib/") and os.path.basename(member) in wanted_libs:
        extract(torch, rec, member, os.path.join(dest, "lib", os.path.basename(member)))
        seen.add(os.path.basename(member))
if seen != wanted_libs:
    sys.exit(f"setup-libtorch: torch wheel lacks {sorted(wanted_libs - seen)}")

for prefix, lib in [("nvidia_cuda_runtime_cu12", "libcudart.so.12"), ("nvidia_cuda_cupti_cu12", "libcupti.so.12")]:
    zf = wheel(prefix)
    rec = record(zf)
    members = [m for m in zf.namelist() if os.path.basename(m) == lib]
    if not members:
        sys.exit(f"setup-libtorch: {prefix} wheel lacks {lib}")
    extract(zf, rec, members[0], os.path.join(dest, "lib", lib))
PY

echo "$TORCH_VERSION" > "$dest/build-version"
installed || die "verification failed: $dest is incomplete"
echo "setup-libtorch: libtorch $TORCH_VERSION ready in $dest ($(du -sh "$dest" | cut -f1))"
