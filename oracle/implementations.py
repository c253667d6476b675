"""The implementation under test, in three shapes, behind one call:
`outputs(spec, inputs, params) -> {output name: array}`.

- FunctionImplementation: a Python module with the reference's function
  names (see README, "Validate your implementation").
- LayerImplementation: a folder of layer classes in the documents' style.
- CommandImplementation: any program; one JSON case on stdin, JSON outputs
  on stdout.
An op the implementation does not have raises NotImplementedByTarget.
"""

import ast
import importlib
import importlib.util
import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

from . import engines


class NotImplementedByTarget(Exception):
    """The implementation has no such op (the run reports it as skipped)."""


class BuiltinEngine:
    """One of the suite's own engines (reference, numpy, scipy, torch),
    computing in dtype (the reference computes in float64 only)."""

    def __init__(self, engine, dtype="float64"):
        if engine == "reference" and dtype != "float64":
            raise ValueError(f"the reference engine computes in float64 only, not {dtype}")
        self.engine, self.dtype = engine, np.dtype(dtype)
        self.name = engine if dtype == "float64" else f"{engine} ({dtype})"

    def outputs(self, spec, inputs, params):
        if self.engine not in spec.engines:
            raise NotImplementedByTarget(f"the {self.engine} engine has no {spec.name}")
        with np.errstate(over="ignore"):  # float32 overflow is judged, not warned about
            return engines.run(spec, self.engine, inputs, params, dtype=self.dtype)


def _load_module(target):
    """A module by dotted name, or from a .py file path."""
    path = Path(target)
    if path.suffix == ".py" or path.exists():
        if not path.is_file():
            raise ValueError(f"{target}: no such Python file")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.parent.resolve()))
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(path.parent.resolve()))
        return module
    try:
        return importlib.import_module(target)
    except ImportError as error:
        raise ValueError(f"{target}: cannot import: {error}") from None


class FunctionImplementation:
    """A module exposing the reference's function names. Module attributes
    BATCH_FIRST = True (arrays with a leading batch axis, like
    oracle.numpy_ops) or ARRAYS = True (NumPy arrays instead of nested lists)
    choose the calling convention."""

    def __init__(self, target, batch_first=None, arrays=None):
        module = target if not isinstance(target, str) else _load_module(target)
        self.name = getattr(module, "__name__", str(target))
        self.backend = engines.Backend(
            self.name,
            module,
            batch_first=bool(getattr(module, "BATCH_FIRST", False) if batch_first is None else batch_first),
            arrays=bool(getattr(module, "ARRAYS", False) if arrays is None else arrays),
        )

    def outputs(self, spec, inputs, params):
        try:
            return engines.run(spec, self.backend, inputs, params)
        except AttributeError as error:
            if getattr(error, "obj", None) is self.backend.module:
                raise NotImplementedByTarget(f"{self.name} has no {error.name}") from None
            raise


class CommandImplementation:
    """Any program: it reads {"op", "params", "inputs"} as JSON on stdin and
    writes the outputs as one JSON object on stdout, or
    {"not_implemented": "reason"} for an op it does not have."""

    def __init__(self, command, timeout=10.0):
        self.command, self.timeout = command, timeout
        self.name = command

    def outputs(self, spec, inputs, params):
        request = json.dumps(
            {"op": spec.name, "params": spec.with_defaults(params), "inputs": _plain(inputs)}
        )
        try:
            done = subprocess.run(
                shlex.split(self.command), input=request, capture_output=True, text=True, timeout=self.timeout
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"command timed out after {self.timeout:g} s and was killed") from None
        except OSError as error:
            raise RuntimeError(f"command could not start: {error}") from None
        if done.returncode != 0:
            tail = done.stderr.strip().splitlines()[-3:]
            raise RuntimeError(f"command exited with status {done.returncode}: {' | '.join(tail)}")
        try:
            reply = json.loads(done.stdout)
        except json.JSONDecodeError as error:
            raise RuntimeError(
                f"command output is not JSON ({error.msg} at line {error.lineno}): {done.stdout[:120]!r}"
            ) from None
        if not isinstance(reply, dict):
            raise RuntimeError(f"command output is not a JSON object: {done.stdout[:120]!r}")
        if "not_implemented" in reply:
            raise NotImplementedByTarget(f"command: {reply['not_implemented']}")
        return reply


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return np.asarray(value).tolist() if isinstance(value, np.ndarray) else value


# ---- layer classes in the documents' style ----

DEFAULT_NAMES = {
    "Convolutional": "Convolutional",
    "Dense": "Dense",
    "Reshape": "Reshape",
    "Sigmoid": "Sigmoid",
    "Tanh": "Tanh",
    "ReLU": "ReLU",
    "LeakyReLU": "LeakyReLU",
    "Softmax": "Softmax",
    "kernels": "kernels",
    "biases": "biases",
    "weights": "weights",
    "bias": "bias",
    "binary_cross_entropy": "binary_cross_entropy",
    "mse": "mse",
    "categorical_cross_entropy": "categorical_cross_entropy",
}
ACTIVATION_CLASSES = {
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "softmax": "Softmax",
}
LOSS_FUNCTIONS = ("binary_cross_entropy", "mse", "categorical_cross_entropy")
LEARNING_RATE = 1.0  # parameter gradients are read back as (before - after) / rate


class LayerImplementation:
    """A folder of document-style layers: forward(input) and
    backward(output_gradient, learning_rate), which updates the parameters
    in place and returns the input gradient; column vectors for dense
    layers and losses. Only the modules that define a wanted class or loss
    are imported, so training scripts in the folder do not run. A JSON
    config file may rename classes, attributes and loss functions:
    {"names": {"Dense": "FullyConnected", "weights": "W", "mse": "mean_squared_error"}}."""

    def __init__(self, folder, config=None):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ValueError(f"{folder}: not a folder")
        self.names = dict(DEFAULT_NAMES)
        if config:
            try:
                self.names.update(json.loads(Path(config).read_text())["names"])
            except (OSError, KeyError, json.JSONDecodeError) as error:
                raise ValueError(f"{config}: not a layer-API config ({error})") from None
        self.name = str(self.folder)
        self.symbols = self._import_definitions()

    def _import_definitions(self):
        wanted = set(self.names.values())
        wanted |= {f"{self.names[loss]}_prime" for loss in LOSS_FUNCTIONS}
        found = {}
        # Fresh modules for this folder: another folder's `layer` or `dense`
        # may already sit in sys.modules under the same name.
        stems = {path.stem for path in self.folder.glob("*.py")}
        saved = {name: sys.modules.pop(name) for name in stems if name in sys.modules}
        sys.path.insert(0, str(self.folder.resolve()))
        try:
            for path in sorted(self.folder.glob("*.py")):
                defined = {
                    node.name
                    for node in ast.parse(path.read_text(encoding="utf-8")).body
                    if isinstance(node, (ast.ClassDef, ast.FunctionDef))
                } & wanted
                if defined:
                    module = importlib.import_module(path.stem)
                    found.update({name: getattr(module, name) for name in defined})
        finally:
            sys.path.remove(str(self.folder.resolve()))
            for name in stems:
                sys.modules.pop(name, None)
            sys.modules.update(saved)
        return found

    def _get(self, key, op):
        name = self.names[key]
        if name not in self.symbols:
            raise NotImplementedByTarget(f"no {name} in {self.folder} (needed for {op})")
        return self.symbols[name]

    def outputs(self, spec, inputs, params):
        params = spec.with_defaults(params)
        runners = {"conv2d": self._conv2d, "dense": self._dense, "reshape": self._reshape}
        if spec.name in runners:
            return runners[spec.name](inputs, params)
        if spec.name in ACTIVATION_CLASSES:
            return self._activation(spec.name, inputs, params)
        if spec.name in LOSS_FUNCTIONS:
            return self._loss(spec.name, inputs)
        raise NotImplementedByTarget(f"{spec.name} is not part of the layer API")

    def _update(self, layer, attributes, dy, x_shape):
        before = {key: np.array(getattr(layer, self.names[key]), dtype=float) for key in attributes}
        dx = layer.backward(dy, LEARNING_RATE)
        grads = {
            key: (before[key] - np.asarray(getattr(layer, self.names[key]), dtype=float)) / LEARNING_RATE
            for key in attributes
        }
        return np.asarray(dx, dtype=float).reshape(x_shape), grads

    def _conv2d(self, inputs, params):
        x, kernels = np.asarray(inputs["x"], float), np.asarray(inputs["kernels"], float)
        depth, _, k_rows, k_cols = kernels.shape
        unsupported = [
            reason
            for reason, bad in (
                (f"stride {params['stride']}", params["stride"] != 1),
                (f"padding {params['padding']}", params["padding"] != 0),
                ("tied biases", np.ndim(inputs["biases"]) == 1),
                ("a rectangular kernel", k_rows != k_cols),
            )
            if bad
        ]
        if unsupported:
            raise NotImplementedByTarget(
                f"the documents' Convolutional layer has no {', '.join(unsupported)}"
            )
        layer = self._get("Convolutional", "conv2d")(x.shape, k_rows, depth)
        setattr(layer, self.names["kernels"], kernels.copy())
        setattr(layer, self.names["biases"], np.asarray(inputs["biases"], float).copy())
        out = {"y": np.asarray(layer.forward(x), dtype=float)}
        if "dy" in inputs:
            out["dx"], grads = self._update(
                layer, ("kernels", "biases"), np.asarray(inputs["dy"], float), x.shape
            )
            out["dkernels"], out["dbiases"] = grads["kernels"], grads["biases"]
        return out

    def _dense(self, inputs, params):
        x, weights = np.asarray(inputs["x"], float), np.asarray(inputs["weights"], float)
        layer = self._get("Dense", "dense")(weights.shape[1], weights.shape[0])
        setattr(layer, self.names["weights"], weights.copy())
        setattr(layer, self.names["bias"], np.asarray(inputs["bias"], float).reshape(-1, 1))
        out = {"y": np.asarray(layer.forward(x.reshape(-1, 1)), dtype=float).ravel()}
        if "dy" in inputs:
            dy = np.asarray(inputs["dy"], float).reshape(-1, 1)
            out["dx"], grads = self._update(layer, ("weights", "bias"), dy, x.shape)
            out["dweights"], out["dbias"] = grads["weights"], grads["bias"].ravel()
        return out

    def _reshape(self, inputs, params):
        x = np.asarray(inputs["x"], float)
        layer = self._get("Reshape", "reshape")(x.shape, tuple(params["shape"]))
        out = {"y": np.asarray(layer.forward(x), dtype=float)}
        if "dy" in inputs:
            out["dx"] = np.asarray(
                layer.backward(np.asarray(inputs["dy"], float), LEARNING_RATE), dtype=float
            )
        return out

    def _activation(self, op, inputs, params):
        cls = self._get(ACTIVATION_CLASSES[op], op)
        layer = cls(params["slope"]) if op == "leaky_relu" else cls()
        x = np.asarray(inputs["x"], float)
        column = x.ndim == 1  # vectors travel as column vectors, as in the documents
        shaped = x.reshape(-1, 1) if column else x
        out = {"y": np.asarray(layer.forward(shaped), dtype=float).reshape(x.shape)}
        if "dy" in inputs:
            dy = np.asarray(inputs["dy"], float)
            dx = layer.backward(dy.reshape(-1, 1) if column else dy, LEARNING_RATE)
            out["dx"] = np.asarray(dx, dtype=float).reshape(x.shape)
        return out

    def _loss(self, op, inputs):
        loss, prime = self._get(op, op), self.symbols.get(f"{self.names[op]}_prime")
        y_true = np.asarray(inputs["y_true"], float).reshape(-1, 1)
        y_pred = np.asarray(inputs["y_pred"], float).reshape(-1, 1)
        out = {"loss": float(loss(y_true, y_pred))}
        if prime is not None:
            out["dy_pred"] = np.asarray(prime(y_true, y_pred), dtype=float).ravel()
        return out
