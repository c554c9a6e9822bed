"""The worker process of nnbench's Python backends: one per unit.

    python -m nnbench_peers.worker <pytorch|jax|keras> --threads N --input-spin-us S

It reads requests on stdin and answers on stdout, each message being

    u32 little-endian n | n bytes of JSON header | raw little-endian arrays

where header["arrays"] lists [name, dtype, shape] ("f32" or "u32") for the arrays that follow.
A row step, the one request sent every training step, also has a compact form whose length word
is ROW_STEP (no real header is 4 GiB), so that neither side builds or parses JSON per step:

    request: u32 ROW_STEP | f32 lr | u32 count | count × u32 row indices
    reply:   u32 ROW_STEP | f32 loss | u32 norms (NO_NORMS when none are recorded) | norms × f32

A compact request that fails is answered with the ordinary JSON error reply.
Requests carry "op" (build, keep_split, train, train_rows, predict, weights, hand_written_epoch,
hand_written_tiny_steps, versions); replies carry "ok", and "error" (the traceback, whose last line the harness reports)
when it is false. The worker goes on after an exception and exits at the end of its input.

Replies are flushed only when no request waits in the input: a harness that sends steps ahead
(train_rows) is woken once per run of steps, not once per step, and a harness waiting for a
reply has sent nothing more, so the input is empty and the reply leaves at once. With its input
empty, the worker polls it for S µs (`--input-spin-us`: `REPLY_SPIN` in worker.rs, where the
measurement is) before it blocks: a tiny network's step is a whole round trip, and waking a
blocked process is most of one on a virtual machine.

The protocol owns the real stdout: anything else printed to stdout (by a framework or a stray
print) goes to stderr, where the harness keeps the last lines for the reason of a crash.
"""

import importlib
import io
import json
import os
import select
import struct
import sys
import time
import traceback

MODULES = {"pytorch": "torch_backend", "jax": "jax_backend", "keras": "keras_backend"}
DTYPES = {"f32": "<f4", "u32": "<u4"}
ROW_STEP = 0xFFFFFFFF
NO_NORMS = 0xFFFFFFFF
ROW_STEP_HEAD = struct.Struct("<fI")
ROW_STEP_REPLY = struct.Struct("<IfI")


class Requests:
    """The worker's input, read through a buffer of its own so that it can tell whether a
    request is already waiting (see `waiting`) and hand out a small request without a system
    call of its own; anything with `readinto` works in its place for reading alone."""

    def __init__(self, fd, spin_s=0.0):
        self.fd = fd
        self.spin_s = spin_s
        self.raw = io.FileIO(fd, "rb", closefd=False)
        self.buffer = bytearray(1 << 20)
        self.start = 0
        self.end = 0

    def waiting(self):
        if self.start < self.end:
            return True
        readable, _, _ = select.select([self.fd], [], [], 0)
        return bool(readable)

    def take(self, count):
        """`count` bytes when they are already buffered (a copy), else None."""
        if self.end - self.start < count:
            return None
        chunk = self.buffer[self.start:self.start + count]
        self.start += count
        return chunk

    def spin(self):
        """Returns once input is readable or `spin_s` has passed, without blocking."""
        deadline = time.perf_counter() + self.spin_s
        while time.perf_counter() < deadline:
            if select.select([self.fd], [], [], 0)[0]:
                return

    def readinto(self, view):
        if self.start == self.end:
            self.spin()
            if len(view) >= len(self.buffer):  # a large array: straight into its place
                return self.raw.readinto(view) or 0
            self.start, self.end = 0, self.raw.readinto(self.buffer) or 0
            if not self.end:
                return 0
        count = min(len(view), self.end - self.start)
        view[:count] = self.buffer[self.start:self.start + count]
        self.start += count
        return count


def _read_exact(stream, count):
    """`count` bytes into a fresh writable buffer, or None at the end of input."""
    take = getattr(stream, "take", None)
    if take is not None:
        buffered = take(count)
        if buffered is not None:
            return buffered
    buffer = bytearray(count)
    view = memoryview(buffer)
    done = 0
    while done < count:
        got = stream.readinto(view[done:])
        if not got:
            return None
        done += got
    return buffer


def read_message(stream, np):
    head = _read_exact(stream, 4)
    if head is None:
        return None, None
    (length,) = struct.unpack("<I", head)
    if length == ROW_STEP:
        fixed = _read_exact(stream, ROW_STEP_HEAD.size)
        if fixed is None:
            return None, None
        lr, count = ROW_STEP_HEAD.unpack(fixed)
        rows = _read_exact(stream, count * 4)
        if rows is None:
            return None, None
        return {"op": "train_rows", "lr": lr, "compact": True}, {
            "rows": np.frombuffer(rows, dtype="<u4")
        }
    text = _read_exact(stream, length)
    if text is None:
        return None, None
    header = json.loads(bytes(text))
    arrays = {}
    for name, dtype, shape in header.pop("arrays", []):
        count = 1
        for size in shape:
            count *= size
        data = _read_exact(stream, count * 4)
        if data is None:
            return None, None
        arrays[name] = np.frombuffer(data, dtype=DTYPES[dtype]).reshape(shape)
    return header, arrays


def write_message(stream, np, header, arrays=(), flush=True):
    listing = []
    chunks = []
    for name, array in arrays:
        array = np.asarray(array)
        if array.dtype.kind in "iub":
            dtype, array = "u32", np.ascontiguousarray(array, dtype="<u4")
        else:
            dtype, array = "f32", np.ascontiguousarray(array, dtype="<f4")
        listing.append([name, dtype, list(array.shape)])
        chunks.append(memoryview(array).cast("B"))
    header["arrays"] = listing
    text = json.dumps(header).encode()
    stream.write(struct.pack("<I", len(text)))
    stream.write(text)
    for chunk in chunks:
        stream.write(chunk)
    if flush:
        stream.flush()


def write_row_step_reply(stream, loss, norms):
    """The compact reply to a compact row step (see the module's doc)."""
    count = NO_NORMS if norms is None else len(norms)
    stream.write(ROW_STEP_REPLY.pack(ROW_STEP, loss, count))
    if norms:
        stream.write(struct.pack(f"<{len(norms)}f", *norms))


def _arguments(argv):
    if not argv:
        raise SystemExit(
            "usage: python -m nnbench_peers.worker <framework> [--threads N] [--input-spin-us S]"
        )

    def option(name, default):
        return argv[argv.index(name) + 1] if name in argv else default

    threads = int(option("--threads", 1))
    spin_s = float(option("--input-spin-us", 0)) * 1e-6
    return argv[0], max(threads, 1), max(spin_s, 0.0)


def _start(framework, threads):
    """Imports the framework's module and sets its threads before it does any work."""
    if framework not in MODULES:
        raise ValueError(f"unknown framework {framework!r}; known: {', '.join(MODULES)}")
    module = importlib.import_module(f"nnbench_peers.{MODULES[framework]}")
    module.configure_threads(threads)
    return module


def _step_reply(loss, norms, np):
    out = [("loss", np.array([loss], dtype=np.float32))]
    if norms is not None:
        out.append(("grad_norms", np.array(norms, dtype=np.float32)))
    return {}, out


def _train_rows(state, rows, lr):
    """One step on the kept split's `rows`: its loss and gradient norms (or None)."""
    split = state["split"]
    if split is None:  # the trainer keeps it (see keep_split)
        return state["trainer"].train_rows(rows, lr)
    x, labels, targets = split
    return state["trainer"].train_batch(
        x[rows],
        None if labels is None else labels[rows],
        None if targets is None else targets[rows],
        lr,
    )


def _handle(module, state, header, arrays, np):
    op = header.get("op")
    if op == "build":
        # A worker serves one unit after another: nothing of the last unit stays.
        state.clear()
        init = None
        if header.get("has_init"):
            init = {name: np.array(value, dtype=np.float32) for name, value in arrays.items()}
        if header["spec"]["network"]["head"] == "step":
            from nnbench_peers.perceptron import Perceptron

            state["trainer"] = Perceptron(header["spec"], init, module.perceptron_ops())
        else:
            state["trainer"] = module.Trainer(header["spec"], init, int(header["seed"]))
        return {}, []
    if op == "train":
        loss, norms = state["trainer"].train_batch(
            arrays["x"], arrays["labels"], arrays["targets"], float(header["lr"])
        )
        return _step_reply(loss, norms, np)
    if op == "keep_split":
        # The training split, once per unit; each `train_rows` then indexes it, as a framework's
        # own script indexes the dataset it holds.
        labels, targets = arrays["labels"], arrays["targets"]
        # A trainer whose step takes only labels (or only targets) says so: the other is not
        # gathered every step for nothing.
        uses_labels = getattr(state["trainer"], "uses_labels", None)
        if uses_labels is True:
            targets = None
        elif uses_labels is False:
            labels = None
        # Labels in the dtype the step takes, converted once here rather than every step.
        label_dtype = getattr(state["trainer"], "label_dtype", None)
        if labels is not None and label_dtype is not None:
            labels = labels.astype(label_dtype)
        keep_split = getattr(state["trainer"], "keep_split", None)
        if keep_split is not None:
            # A trainer that holds the split in its framework's own arrays gathers each step's
            # rows itself (its `train_rows`): only the row indices cross into the framework.
            keep_split(arrays["x"], labels, targets)
            state["split"] = None
        else:
            state["split"] = (arrays["x"], labels, targets)
        return {}, []
    if op == "train_rows":
        return _step_reply(*_train_rows(state, arrays["rows"], float(header["lr"])), np)
    if op == "predict":
        return {}, [("outputs", state["trainer"].predict(arrays["x"]))]
    if op == "weights":
        return {}, list(state["trainer"].weights().items())
    if op == "hand_written_epoch":
        seconds = module.hand_written_epoch(
            header["spec"], None, arrays["x"], arrays["labels"], arrays["targets"],
            int(header["batch_size"]), int(header["seed"]), float(header["lr"]),
        )
        return {"seconds": float(seconds)}, []
    if op == "hand_written_tiny_steps":
        seconds = module.hand_written_tiny_steps(
            arrays["x"], arrays["targets"], int(header["hidden"]), int(header["steps"]),
            int(header["seed"]), float(header["lr"]),
        )
        return {"seconds": float(seconds)}, []
    if op == "versions":
        return {"versions": module.versions()}, []
    raise ValueError(f"unknown request {op!r}")


def main(argv):
    framework, threads, spin_s = _arguments(argv)
    requests = Requests(sys.stdin.fileno(), spin_s)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=1 << 16)
    # From here on, fd 1 is stderr: only the protocol writes to `replies`.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    import numpy as np

    try:
        module = _start(framework, threads)
        startup_error = None
    except BaseException:  # a missing module or framework: reported on the first request
        module, startup_error = None, traceback.format_exc()
    state = {}
    while True:
        header, arrays = read_message(requests, np)
        if header is None:
            return 0
        if startup_error is not None:
            write_message(replies, np, {"ok": False, "error": startup_error})
            return 1
        try:
            if header.get("compact"):
                loss, norms = _train_rows(state, arrays["rows"], header["lr"])
                write_row_step_reply(replies, loss, norms)
                reply = None
            else:
                reply, out = _handle(module, state, header, arrays, np)
                reply["ok"] = True
        except Exception:
            reply, out = {"ok": False, "error": traceback.format_exc()}, []
        if reply is not None:
            write_message(replies, np, reply, out, flush=False)
        if not requests.waiting():
            replies.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
