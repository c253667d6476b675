"""A command-line implementation under test: one JSON case on stdin, the
outputs as JSON on stdout. It implements a few ops by hand with NumPy and
declines the rest, and can misbehave on request (argv[1]: hang, garbage,
crash, or one of the bugs of tests/mutants.py)."""

import json
import sys
import time

import numpy as np


def relu(inputs, params, mode):
    x = np.asarray(inputs["x"], float)
    out = {"y": np.maximum(x, 0).tolist()}
    if "dy" in inputs:
        mask = 1.0 if mode == "relu-unmasked" else (x > 0)
        out["dx"] = (np.asarray(inputs["dy"]) * mask).tolist()
    return out


def dense(inputs, params, mode):
    x, w, b = (np.asarray(inputs[k], float) for k in ("x", "weights", "bias"))
    out = {"y": (w @ x + b).tolist()}
    if "dy" in inputs:
        dy = np.asarray(inputs["dy"], float)
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
