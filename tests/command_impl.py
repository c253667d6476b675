"""A command-line implementation under test: one JSON case on stdin, the
outputs as JSON on stdout. It implements a few ops by hand with NumPy and
declines the rest, and can misbehave on request (argv[1]: hang, garbage,
crash, or one of the bugs of tests/mutants.py), or compute correctly in
float32 (argv[1] = float32)."""

import json
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

if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "correct"
    request = json.load(sys.stdin)
    if mode == "hang":
        time.sleep(60)
    if mode == "garbage":
        print("this is not JSON")
        sys.exit(0)
    if mode == "crash":
        sys.exit("segmentation fault (pretend)")
    if request["op"] not in OPS:
        print(json.dumps({"not_implemented": f"no {request['op']} here"}))
        sys.exit(0)
    print(json.dumps(OPS[request["op"]](request["inputs"], request["params"], mode)))
