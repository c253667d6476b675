"""A command-line implementation under test: one JSON case on stdin, the
outputs as JSON on stdout. It implements a few ops by hand with NumPy and
declines the rest, and can misbehave on request (argv[1]: hang, garbage,
crash, or one of the bugs of tests/mutants.py), or compute correctly in
float32 (argv[1] = float32)."""

import json
import sys
import time

import numpy as np


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


OPS = {"relu": relu, "dense": dense}

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
