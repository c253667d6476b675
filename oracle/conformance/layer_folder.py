"""Front door for a folder of layer classes in the documents' style:
forward(input) and backward(output_gradient, learning_rate), which updates
the parameters in place and returns the input gradient; column vectors for
dense layers and losses. Runs inside the worker process.

The folder is scanned as source first: only files that define a wanted
class or loss and run no code when imported (no training script) are
imported. A JSON config may rename classes, attributes and loss functions:
{"names": {"Dense": "FullyConnected", "weights": "W", "mse": "mean_squared_error"}}.

Parameter gradients are read back from the update, (before - after) / rate,
at two learning rates that are exact in binary: the second comes back as a
variant, so the harness can tell an update that misuses the rate, or an
input gradient that depends on it, from a wrong gradient.
"""

import ast
import importlib
import json
import sys
from pathlib import Path

import numpy as np

from oracle.conformance.conventions import Conventions
from oracle.conformance.files import unreadable
from oracle.conformance.function_module import NotOffered, Unavailable, describe_failure

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
LEARNING_RATES = (0.5, 0.25)  # exact in binary, not 1: an update that ignores or squares it shows


def _raw(value, shape=None):
    """The layer's own value as an array, reshaped but never converted: a
    string or complex value must reach the harness as what it is."""
    array = np.asarray(value)
    return array if shape is None else array.reshape(shape)


def _is_main_guard(node):
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


def _runs_code_when_imported(tree):
    """Whether a module's top level does more than import, define and
    assign: a training script, say, which must not run."""
    quiet = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
    for node in tree.body:
        if isinstance(node, quiet) or _is_main_guard(node):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # a docstring
            continue
        if isinstance(node, ast.Try) and all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in node.body):
            continue
        return True
    return False


def _config_names(config):
    """The {name: its name in the folder} of a --layer-config file."""
    try:
        text = Path(config).read_text()
    except OSError as error:
        raise Unavailable(unreadable(config, error)) from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise Unavailable(f"{config}: not a layer-API config (not JSON: {error})") from None
    names = document.get("names") if isinstance(document, dict) else None
    if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
        raise Unavailable(
            f'{config}: no "names" object of names (e.g. {{"names": {{"Dense": "FullyConnected"}}}})'
        )
    unknown = sorted(set(names) - set(DEFAULT_NAMES))
    if unknown:
        known = ", ".join(DEFAULT_NAMES)
        raise Unavailable(f"{config}: $.names: unknown name {', '.join(map(repr, unknown))} (known: {known})")
    return names


class LayerFolder:
    def __init__(self, folder, config=None):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise Unavailable(f"cannot use {folder}: not a folder")
        self.names = dict(DEFAULT_NAMES)
        if config:
            self.names.update(_config_names(config))
        self.name = str(self.folder)
        self.notes = []
        self.symbols = self._import_definitions()

    def offered_ops(self):
        return None

    def _import_definitions(self):
        wanted = set(self.names.values()) | {f"{self.names[loss]}_prime" for loss in LOSS_FUNCTIONS}
        found = {}
        sys.path.insert(0, str(self.folder.resolve()))
        for path in sorted(self.folder.glob("*.py")):
            try:
                tree = ast.parse(path.read_bytes(), filename=str(path))  # honours coding lines
            except (SyntaxError, ValueError) as error:
                self.notes.append(f"{path}: skipped, cannot parse it: {describe_failure(error)}")
                continue
            defined = {
                node.name for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))
            } & wanted
            if not defined:
                continue
            if _runs_code_when_imported(tree):
                self.notes.append(
                    f"{path}: skipped, it runs code when imported (a script); "
                    f"it defines {', '.join(sorted(defined))}"
                )
                continue
            try:
                module = importlib.import_module(path.stem)
            except BaseException as error:
                raise Unavailable(f"cannot import {path}: {describe_failure(error)}") from None
            found.update({name: getattr(module, name) for name in defined if hasattr(module, name)})
        return found

    def _get(self, key, op):
        name = self.names[key]
        if name not in self.symbols:
            raise NotOffered(f"no {name} in {self.folder} (needed for {op})")
        return self.symbols[name]

    takes_batches = False  # the documents' layers take one sample (a column vector) at a time
    conventions = Conventions()  # converted here, in the layers' own terms

    def outputs(self, op, params, inputs, batched=False):
        """(outputs at the first learning rate, {"learning_rate=R": backward
        outputs at rate R} for both rates, modified arguments)."""
        if batched:
            raise NotOffered("the documents' layers take one sample per call")
        runner = self._runner(op)
        outputs = runner(inputs, params, LEARNING_RATES[0])
        variants = {}
        if "dy" in inputs and op not in LOSS_FUNCTIONS:
            again = runner(inputs, params, LEARNING_RATES[1])
            for rate, result in zip(LEARNING_RATES, (outputs, again)):
                variants[f"learning_rate={rate!r}"] = {k: v for k, v in result.items() if k != "y"}
        return outputs, variants, []

    def _runner(self, op):
        runners = {"conv2d": self._conv2d, "dense": self._dense, "reshape": self._reshape}
        if op in runners:
            return runners[op]
        if op in ACTIVATION_CLASSES:
            return lambda inputs, params, rate: self._activation(op, inputs, params, rate)
        if op in LOSS_FUNCTIONS:
            return lambda inputs, params, rate: self._loss(op, inputs)
        raise NotOffered(f"{op} is not part of the layer API")

    def _update(self, layer, attributes, dy, x_shape, rate):
        before = {key: np.array(getattr(layer, self.names[key]), dtype=float) for key in attributes}
        dx = layer.backward(dy, rate)
        grads = {
            key: (before[key] - np.asarray(getattr(layer, self.names[key]))) / rate for key in attributes
        }
        return _raw(dx, x_shape), grads

    def _conv2d(self, inputs, params, rate):
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
            raise NotOffered(f"the documents' Convolutional layer has no {', '.join(unsupported)}")
        layer = self._get("Convolutional", "conv2d")(x.shape, k_rows, depth)
        setattr(layer, self.names["kernels"], kernels.copy())
        setattr(layer, self.names["biases"], np.asarray(inputs["biases"], float).copy())
        out = {"y": _raw(layer.forward(x))}
        if "dy" in inputs:
            out["dx"], grads = self._update(
                layer, ("kernels", "biases"), np.asarray(inputs["dy"], float), x.shape, rate
            )
            out["dkernels"], out["dbiases"] = grads["kernels"], grads["biases"]
        return out

    def _dense(self, inputs, params, rate):
        x, weights = np.asarray(inputs["x"], float), np.asarray(inputs["weights"], float)
        layer = self._get("Dense", "dense")(weights.shape[1], weights.shape[0])
        setattr(layer, self.names["weights"], weights.copy())
        setattr(layer, self.names["bias"], np.asarray(inputs["bias"], float).reshape(-1, 1))
        out = {"y": _raw(layer.forward(x.reshape(-1, 1))).ravel()}
        if "dy" in inputs:
            dy = np.asarray(inputs["dy"], float).reshape(-1, 1)
            out["dx"], grads = self._update(layer, ("weights", "bias"), dy, x.shape, rate)
            out["dweights"], out["dbias"] = grads["weights"], grads["bias"].ravel()
        return out

    def _reshape(self, inputs, params, rate):
        x = np.asarray(inputs["x"], float)
        layer = self._get("Reshape", "reshape")(x.shape, tuple(params["shape"]))
        out = {"y": _raw(layer.forward(x))}
        if "dy" in inputs:
            out["dx"] = _raw(layer.backward(np.asarray(inputs["dy"], float), rate))
        return out

    def _activation(self, op, inputs, params, rate):
        cls = self._get(ACTIVATION_CLASSES[op], op)
        layer = cls(params["slope"]) if op == "leaky_relu" else cls()
        x = np.asarray(inputs["x"], float)
        column = x.ndim == 1  # vectors travel as column vectors, as in the documents
        shaped = x.reshape(-1, 1) if column else x
        out = {"y": _raw(layer.forward(shaped), x.shape)}
        if "dy" in inputs:
            dy = np.asarray(inputs["dy"], float)
            dx = layer.backward(dy.reshape(-1, 1) if column else dy, rate)
            out["dx"] = _raw(dx, x.shape)
        return out

    def _loss(self, op, inputs):
        loss, prime = self._get(op, op), self.symbols.get(f"{self.names[op]}_prime")
        y_true = np.asarray(inputs["y_true"], float).reshape(-1, 1)
        y_pred = np.asarray(inputs["y_pred"], float).reshape(-1, 1)
        out = {"loss": _raw(loss(y_true, y_pred), ())}
        if prime is not None:
            out["dy_pred"] = _raw(prime(y_true, y_pred)).ravel()
        return out
