"""A command-line implementation under test, written from scratch against
the streaming protocol (docs/protocol.md) with NumPy: a handshake, then one
request per line and one reply per line. It implements a few ops and
declines the rest.

Arguments: [one-shot] [MODE]. "one-shot" speaks the older protocol (one
request on stdin, one reply, exit). MODE is "correct" (default), "float32"
(computes in float32), one of the bugs of tests/mutants.py, or a
misbehaviour: hang, garbage, crash, bad-stderr, child-holds-stdout.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _array(inputs, name, mode):
    return np.asarray(inputs[name], np.float32 if mode == "float32" else np.float64)


def relu(inputs, params, mode):
    x = _array(inputs, "x", mode)
    out = {"y": np.maximum(x, 0).tolist()}
    if "dy" in inputs:
        mask = 1.0 if mode == "relu-unmasked" else (x > 0)
        out["dx"] = (_array(inputs, "dy", mode) * mask).tolist()
    return out


def dense(inputs, params, mode):
    x, w, b = (_array(inputs, k, mode) for k in ("x", "weights", "bias"))
    out = {"y": (w @ x + b).tolist()}
    if "dy" in inputs:
        dy = _array(inputs, "dy", mode)
        dweights = np.outer(x, dy) if mode == "dense-transposed" else np.outer(dy, x)
        out.update(dx=(w.T @ dy).tolist(), dweights=dweights.tolist(), dbias=dy.tolist())
    return out


def maxpool2d(inputs, params, mode):
    x = _array(inputs, "x", mode)
    window, stride = params["window"], params["stride"]
    windows = sliding_window_view(x, (window, window), axis=(1, 2))[:, ::stride, ::stride]
    flat = windows.reshape(*windows.shape[:3], -1)
    first = flat.argmax(axis=-1)  # the first maximum in row-major order
    y = flat.max(axis=-1)
    rows = np.arange(y.shape[1])[:, None] * stride + first // window
    cols = np.arange(y.shape[2])[None, :] * stride + first % window
    out = {"y": y.tolist(), "argmax": np.stack([rows, cols], axis=-1).tolist()}
    if "dy" in inputs:
        dy = _array(inputs, "dy", mode)
        dx = np.zeros_like(x)
        for c, r, s in np.ndindex(y.shape):
            if mode == "maxpool-every-tie":
                mask = flat[c, r, s] == y[c, r, s]
            else:
                mask = np.arange(window * window) == first[c, r, s]
            dx[c, r * stride : r * stride + window, s * stride : s * stride + window] += dy[c, r, s] * (
                mask.reshape(window, window)
            )
        out["dx"] = dx.tolist()
    return out


OPS = {"relu": relu, "dense": dense, "maxpool2d": maxpool2d}


def answer(request, mode):
    """The reply's content for one request: outputs, or not_implemented."""
    if mode == "hang":
        time.sleep(3600)
    if mode == "crash":
        sys.exit("segmentation fault (pretend)")
    if mode == "bad-stderr":
        sys.stderr.buffer.write(b"caf\xe9 \xff\xfe not UTF-8\n")
        sys.stderr.flush()
    if request["op"] not in OPS:
        return {"not_implemented": f"no {request['op']} here"}
    return {"outputs": OPS[request["op"]](request["inputs"], request["params"], mode)}


def one_shot(mode):
    """The older protocol: the whole of stdin is one request."""
    reply = answer(json.load(sys.stdin), mode)
    print(json.dumps(reply.get("outputs", reply)))


def streaming(mode):
    hello = json.loads(sys.stdin.readline())
    assert hello["protocol"] == "cnn-oracle-worker"
    send({"protocol": "cnn-oracle-worker", "version": 1, "implementation": f"command_impl ({mode})"})
    for line in sys.stdin:
        request = json.loads(line)
        if mode == "garbage":
            print("this is not JSON", flush=True)
            continue
        send({"id": request["id"], **answer(request, mode)})


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


CHILD = """import os, sys, time
if len(sys.argv) > 1:
    with open(sys.argv[1], "w") as handle:
        handle.write(str(os.getpid()))
time.sleep(3600)
"""


if __name__ == "__main__":
    arguments = sys.argv[1:]
    older = arguments[:1] == ["one-shot"]
    mode = (arguments[older:] or ["correct"])[0]
    if mode == "child-holds-stdout":
        # A child that inherits stdout and outlives this program: only killing
        # the process group ends it. It writes its pid where the test says.
        pid_file = os.environ.get("COMMAND_IMPL_PID_FILE", "")
        subprocess.Popen([sys.executable, "-c", CHILD] + ([pid_file] if pid_file else []))
    (one_shot if older else streaming)(mode)
