"""A corpus of deliberately wrong implementations: each is one bug that
from-scratch CNN/MLP code really has, several taken from the documents.

A mutant is a one-line source change of a working implementation, run
through the adapter users use. The bug it plants is an entry of the bug
catalogue (oracle/diagnosis/catalogue.py), which describes it once: every
catalogued change of the reference is a mutant of the reference package
through the function adapter, and the others plant a catalogued bug in
the document-style layers of tests/doc_style_layers (layer adapter), in
tests/command_impl.py (command adapter), or in an implementation of
tests/conventions written in declared conventions. `verify` must fail
each, blaming only the ops the catalogue lists, and name its bug.
"""

from dataclasses import dataclass

from oracle.diagnosis.catalogue import BUGS, CATALOGUE


@dataclass(frozen=True)
class Mutant:
    name: str
    adapter: str  # function, layer, command, conventions
    file: str  # file changed (function: in reference/; layer: in doc_style_layers/); command: the mode
    old: str
    new: str
    diagnosis: str  # the catalogue id of the bug it plants
    note: str = ""  # how the bug looks in this implementation

    @property
    def ops(self):
        return CATALOGUE[self.diagnosis].ops

    @property
    def bug(self):
        return CATALOGUE[self.diagnosis].description + (f" ({self.note})" if self.note else "")


def _l(name, file, old, new, diagnosis, note=""):
    return Mutant(name, "layer", file, old, new, diagnosis, note)


def _c(name, file, old, new, diagnosis, note=""):
    return Mutant(name, "conventions", file, old, new, diagnosis, note)


def _command(name, mode, diagnosis):
    return Mutant(name, "command", mode, "", "", diagnosis)


REFERENCE_MUTANTS = tuple(Mutant(bug.id, "function", *bug.patch, bug.id) for bug in BUGS if bug.patch)

MUTANTS = REFERENCE_MUTANTS + (
    _l("layer-conv-input-channel-index", "convolutional.py",
       "signal.correlate2d(self.input[j], self.kernels[i, j]", "signal.correlate2d(self.input[i % self.input_depth], self.kernels[i, j]",
       "conv-input-channel-index", "document 001's Convolutional.forward with self.input[i]"),
    _l("layer-dense-updates-before-input-gradient", "dense.py",
       "        input_gradient = np.dot(self.weights.T, output_gradient)\n        self.weights -= learning_rate * weights_gradient\n",
       "        self.weights -= learning_rate * weights_gradient\n        input_gradient = np.dot(self.weights.T, output_gradient)\n",
       "update-before-input-gradient"),
    _l("layer-dense-bias-not-updated", "dense.py",
       "        self.bias -= learning_rate * output_gradient\n", "",
       "dense-bias-gradient-zero"),
    _l("layer-sigmoid-prime-of-activated-value", "activations.py",
       "            s = sigmoid(x)\n            return s * (1 - s)", "            return x * (1 - x)",
       "sigmoid-derivative-as-x-times-one-minus-x"),
    _l("layer-dense-learning-rate-ignored", "dense.py",
       "        self.weights -= learning_rate * weights_gradient\n", "        self.weights -= weights_gradient\n",
       "learning-rate-ignored", "document 004's update_weights"),
    _l("layer-conv-learning-rate-squared", "convolutional.py",
       "self.kernels -= learning_rate * kernels_gradient", "self.kernels -= learning_rate ** 2 * kernels_gradient",
       "learning-rate-squared"),
    _l("layer-mse-prime-missing-2", "losses.py",
       "return 2 * (y_pred - y_true) / np.size(y_true)", "return (y_pred - y_true) / np.size(y_true)",
       "mse-derivative-missing-2"),
    _c("nhwc-kernel-spatially-transposed", "keras_style.py",
       "axes=([3, 4, 5], [0, 1, 2])", "axes=([3, 4, 5], [1, 0, 2])",
       "conv-transposed-kernels", "an NHWC forward reading its HWIO kernel as (kw, kh, C, D)"),
    _c("summed-gradient-declared-mean", "keras_style.py",
       '"batch_gradients": "sum",', '"batch_gradients": "mean",',
       "batch-gradients-summed-not-averaged", "declared 'mean'"),
    _c("column-softmax-over-the-wrong-axis", "course_style.py",
       "return E / np.sum(E, axis=0, keepdims=True)", "return E / np.sum(E, axis=1, keepdims=True)",
       "softmax-over-the-wrong-axis", "a column vector normalized along its rows"),
    _c("column-batch-bias-gradient-not-averaged", "course_style.py",
       "db = (1 / m) * np.sum(dZ, axis=1, keepdims=True)", "db = np.sum(dZ, axis=1, keepdims=True)",
       "dense-batch-bias-gradient-not-averaged", "samples as columns"),
    _command("command-relu-backward-unmasked", "relu-unmasked", "relu-backward-passes-everything"),
    _command("command-dense-gradient-transposed", "dense-transposed", "dense-weight-gradient-transposed"),
    _command("command-maxpool-gradient-to-every-tied-maximum", "maxpool-every-tie", "maxpool-gradient-to-every-tied-maximum"),
)
