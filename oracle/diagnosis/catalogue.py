"""The bug catalogue: bugs that from-scratch CNN and MLP code really has,
each with a way to compute what it outputs on any case, so that a
failing check can be matched against them (oracle.diagnosis.diagnose).

Most entries are a one-line change of the reference (`patch`): the bug's
output is the changed reference's, run on the same inputs. The test
suite's mutant corpus (tests/mutants.py) is built from these same
entries, so a bug is described once. A few bugs cannot be written as a
change of the reference's code and `compute` their outputs instead; the
learning-rate bugs of layers show only by comparing two learning rates
and are `detected` there (oracle.conformance.judge).
"""

from dataclasses import dataclass

import numpy as np

from oracle import engines
from oracle.diagnosis.patched import patched_reference
from oracle.engines import numpy_ops


@dataclass(frozen=True)
class Bug:
    id: str
    ops: tuple  # the ops whose outputs it changes (the first is the one it belongs to)
    check: str  # forward or backward: where it shows first
    description: str  # one line a student understands
    source: str = ""  # the document or common code it comes from
    patch: tuple = ()  # (file in reference/, old text, new text)
    compute: object = None  # compute(spec, inputs, params, batched) -> outputs
    detected: str = ""  # how it is found when it has no outputs of its own

    @property
    def op(self):
        return self.ops[0]

    @property
    def computable(self):
        return bool(self.patch or self.compute)

    def outputs(self, spec, inputs, params, batched=False):
        """What this bug outputs on a case (in the reference's conventions)."""
        if self.patch:
            module = patched_reference(*self.patch)
            return engines.run(spec, engines.Backend(self.id, module), inputs, params, batched)
        return self.compute(spec, inputs, params, batched)


def _b(id, ops, check, description, source="", patch=(), compute=None, detected=""):
    return Bug(id, tuple(ops), check, description, source, patch, compute, detected)


# ---- bugs computed from the engine's outputs ----


def _replaced(name, value):
    """compute(): the right outputs with output `name` replaced by value(inputs, outputs)."""

    def compute(spec, inputs, params, batched):
        outputs = engines.run(spec, "numpy", inputs, params, batched)
        return {**outputs, name: value(inputs, outputs)}

    return compute


def _every_tied_maximum(spec, inputs, params, batched):
    """Max-pool backward masking with window == max: each tied maximum gets dy."""
    outputs = engines.run(spec, "numpy", inputs, params, batched)
    x, dy, y = (np.asarray(v, float) for v in (inputs["x"], inputs["dy"], outputs["y"]))
    if not batched:
        x, dy, y = x[None], dy[None], y[None]
    window, stride = params["window"], params["stride"]
    windows = numpy_ops._windows(x, window, window, stride)
    rows, cols = y.shape[-2:]
    dx = np.zeros_like(x)
    for u in range(window):
        for v in range(window):
            hit = windows[..., u, v] == y
            dx[..., u : u + stride * rows : stride, v : v + stride * cols : stride] += hit * dy
    return {**outputs, "dx": dx if batched else dx[0]}


LEARNING_RATES = "a layer's updates at two learning rates (the layer adapter reads gradients back at 0.5 and 0.25)"

BUGS = (
    # ---- convolution and correlation ----
    _b("conv-input-channel-index", ["conv2d"], "forward",
       "the forward correlates input channel i (the kernel's index) instead of channel j",
       "document 001's Convolutional.forward",
       ("conv.py", 'correlate2d(x_j, kernels[i][j], "valid", stride)',
        'correlate2d(padded[i % len(padded)], kernels[i][j], "valid", stride)')),
    _b("conv-missing-rot180-in-input-gradient", ["conv2d"], "backward",
       "dX = dY full-correlated with K: the 180-degree rotation of the kernel is missing", "",
       ("conv.py", 'convolve2d(dilated, kernels[i][j], "full")', 'correlate2d(dilated, kernels[i][j], "full")')),
    _b("convolution-double-rotation", ["convolve2d", "conv2d"], "forward",
       "convolution rotates the kernel twice, which makes it a correlation", "",
       ("correlation.py", "return correlate2d(x, rot180(k), mode, stride)",
        "return correlate2d(x, rot180(rot180(k)), mode, stride)")),
    _b("conv-valid-where-full-needed", ["conv2d"], "backward",
       "the input gradient uses a valid convolution where a full one belongs (dX comes out too small)", "",
       ("conv.py", 'convolve2d(dilated, kernels[i][j], "full")', 'convolve2d(dilated, kernels[i][j], "valid")')),
    _b("conv-bias-gradient-tied-untied-swapped", ["conv2d"], "backward",
       "the untied bias gradient is summed over positions and the tied one is not", "",
       ("conv.py", 'if bias == "tied":', 'if bias != "tied":')),
    _b("conv-tied-bias-gradient-not-summed", ["conv2d"], "backward",
       "the tied bias gradient takes one position of dY instead of the sum over all positions", "",
       ("conv.py", "dbiases = [math.fsum(value for row in dy_i for value in row) for dy_i in dy]",
        "dbiases = [dy_i[0][0] for dy_i in dy]")),
    _b("conv-kernel-gradient-operands-swapped", ["conv2d"], "backward",
       "dK = dY correlated with X instead of X correlated with dY", "",
       ("conv.py", 'correlate2d(x_j, dilated, "valid")', 'correlate2d(dilated, x_j, "full")')),
    _b("conv-transposed-kernels", ["conv2d"], "forward",
       "the forward uses each kernel transposed (rows and columns swapped, e.g. HWIO read as WHIO)", "",
       ("conv.py", 'correlate2d(x_j, kernels[i][j], "valid", stride)',
        'correlate2d(x_j, [list(c) for c in zip(*kernels[i][j])], "valid", stride)')),
    _b("conv-stride-ignored-in-backward", ["conv2d"], "backward",
       "the backward ignores the stride: dY is not dilated with stride - 1 zeros", "",
       ("conv.py", "dilated = dilate2d(dy_i, stride)", "dilated = dilate2d(dy_i, 1)")),
    _b("conv-padding-on-one-side", ["conv2d"], "forward",
       "the forward pads only the top and left of the input", "",
       ("conv.py", "padded = [pad2d(channel, padding) for channel in x]\n    outputs",
        "padded = [pad2d(channel, padding, 0, padding, 0) for channel in x]\n    outputs")),
    _b("conv-bias-not-added", ["conv2d"], "forward",
       "the forward never adds the biases", "",
       ("conv.py", "        y_i = biases[i]\n", "        y_i = [[0.0] * out_cols for _ in range(out_rows)]\n")),
    _b("correlation-output-off-by-one", ["correlate2d", "convolve2d", "conv2d"], "forward",
       "the valid output size is I - K instead of I - K + 1 (one row and column short)", "",
       ("correlation.py", "out_rows = (x_rows - k_rows) // stride + 1", "out_rows = (x_rows - k_rows) // stride")),
    _b("rot180-as-transpose", ["rot180", "convolve2d", "conv2d"], "forward",
       "the 180-degree rotation is written as a transpose", "",
       ("correlation.py", "return [list(reversed(row)) for row in reversed(k)]",
        "return [list(column) for column in zip(*k)]")),
    # ---- dense ----
    _b("dense-weight-gradient-transposed", ["dense", "dense_batch"], "backward",
       "dW = x dY^T instead of dY x^T (the weight gradient transposed)", "",
       ("dense.py", "dweights = [[g * v for v in x] for g in dy]", "dweights = [[g * v for g in dy] for v in x]")),
    _b("dense-batch-gradient-not-averaged", ["dense_batch"], "backward",
       "the batch weight gradient is summed instead of averaged (the 1/m of dW = 1/m dZ X^T is missing)",
       "document 004",
       ("dense.py", "[math.fsum(grads[1][o][i] for grads in per_sample) / m for",
        "[math.fsum(grads[1][o][i] for grads in per_sample) for")),
    _b("dense-batch-bias-gradient-not-averaged", ["dense_batch"], "backward",
       "the batch bias gradient is summed instead of averaged (the 1/m of db is missing)", "document 004",
       ("dense.py", "dbias = [math.fsum(grads[2][o] for grads in per_sample) / m for",
        "dbias = [math.fsum(grads[2][o] for grads in per_sample) for")),
    _b("batch-gradients-summed-not-averaged", ["dense_batch"], "backward",
       "every parameter gradient of the batch is summed instead of averaged (or declared 'mean' but summed)", "",
       ("dense.py", "    m = len(x)\n", "    m = 1\n")),
    _b("dense-bias-gradient-zero", ["dense"], "backward",
       "the bias gets no gradient (a layer whose bias is never updated)", "",
       compute=_replaced("dbias", lambda inputs, outputs: np.zeros_like(outputs["dbias"]))),
    _b("dense-parameter-count-without-biases", ["dense_parameter_count"], "forward",
       "the parameter count leaves out the biases", "",
       ("dense.py", "return input_size * output_size + output_size", "return input_size * output_size")),
    # ---- activations ----
    _b("sigmoid-derivative-of-activated-value", ["sigmoid"], "backward",
       "sigmoid'(x) evaluated at sigmoid(x): the derivative applied to the activated value", "",
       ("activations.py", "    s = _sigmoid(v)\n    return s * (1.0 - s)", "    s = _sigmoid(_sigmoid(v))\n    return s * (1.0 - s)")),
    _b("sigmoid-derivative-as-x-times-one-minus-x", ["sigmoid"], "backward",
       "sigmoid'(x) = x (1 - x): the formula for the activated value applied to the input", "document 002",
       compute=_replaced("dx", lambda inputs, outputs: (
           np.asarray(inputs["dy"], float) * np.asarray(inputs["x"], float) * (1 - np.asarray(inputs["x"], float))))),
    _b("tanh-derivative-not-squared", ["tanh"], "backward",
       "tanh'(x) = 1 - tanh(x) instead of 1 - tanh(x)^2", "",
       ("activations.py", "1.0 - math.tanh(v) ** 2", "1.0 - math.tanh(v)")),
    _b("relu-backward-passes-everything", ["relu"], "backward",
       "the ReLU backward does not mask the negative inputs: dX = dY", "",
       ("activations.py", "return 1.0 if v > 0 else 0.0  #", "return 1.0  #")),
    _b("leaky-relu-slope-ignored-in-backward", ["leaky_relu"], "backward",
       "the leaky ReLU backward uses slope 0 for negative inputs (a plain ReLU's)", "",
       ("activations.py", "1.0 if v > 0 else slope, x, dy", "1.0 if v > 0 else 0.0, x, dy")),
    _b("sigmoid-single-branch", ["sigmoid", "sigmoid_bce"], "forward",
       "sigmoid as 1 / (1 + exp(-x)) for every x: exp overflows for large negative x", "",
       ("activations.py", "    if v >= 0:\n        return 1.0 / (1.0 + math.exp(-v))",
        "    if True:\n        return 1.0 / (1.0 + math.exp(-v))")),
    _b("tanh-from-exponentials", ["tanh"], "forward",
       "tanh as (e^x - e^-x) / (e^x + e^-x): overflows for large |x|", "",
       ("activations.py", "_elementwise_forward(math.tanh, x)",
        "_elementwise_forward(lambda v: (math.exp(v) - math.exp(-v)) / (math.exp(v) + math.exp(-v)), x)")),
    _b("softmax-without-max-shift", ["softmax", "softmax_cce"], "forward",
       "softmax without subtracting the largest input: exp overflows on large logits", "",
       ("activations.py", "    top = max(x)\n", "    top = 0.0\n")),
    _b("softmax-over-the-wrong-axis", ["softmax"], "forward",
       "softmax normalized along the wrong axis (each value over itself): every output is 1", "",
       compute=_replaced("y", lambda inputs, outputs: np.ones_like(outputs["y"]))),
    # ---- losses ----
    _b("bce-log10", ["binary_cross_entropy", "sigmoid_bce"], "forward",
       "log10 instead of the natural log in the cross-entropy", "document 002's code",
       ("losses.py", "terms.append(y * math.log(p) + (1.0 - y) * math.log(1.0 - p))",
        "terms.append(y * math.log10(p) + (1.0 - y) * math.log10(1.0 - p))")),
    _b("bce-derivative-missing-1-over-n", ["binary_cross_entropy"], "backward",
       "the BCE derivative without the 1/n of the mean", "",
       ("losses.py", "- y / _clip(p)) / n for y, p", "- y / _clip(p)) for y, p")),
    _b("mse-derivative-missing-2", ["mse"], "backward",
       "the MSE derivative without the factor 2", "",
       ("losses.py", "return [2.0 * (p - y) / n for", "return [(p - y) / n for")),
    _b("mse-without-mean", ["mse"], "forward",
       "the MSE loss sums the squared errors without dividing by n", "",
       ("losses.py", "return math.fsum((p - y) ** 2 for y, p in zip(y_true, y_pred)) / n",
        "return math.fsum((p - y) ** 2 for y, p in zip(y_true, y_pred))")),
    _b("softmax-cce-gradient-sign", ["softmax_cce"], "backward",
       "the fused softmax + cross-entropy gradient is y - p instead of p - y", "",
       ("losses.py", "return [p - y for y, p in zip(y_true, softmax_forward(z))]",
        "return [y - p for y, p in zip(y_true, softmax_forward(z))]")),
    # ---- pooling ----
    _b("maxpool-argmax-offset", ["maxpool2d"], "forward",
       "the window's offset is row * col and col * row instead of row * stride and col * stride",
       "document 002's code",
       ("pooling.py", "row, col = r * stride + u, c * stride + v", "row, col = r * c + u, c * r + v")),
    _b("maxpool-window-step-instead-of-stride", ["maxpool2d"], "forward",
       "windows are stepped by their size, not by the stride", "document 002's slicing",
       ("pooling.py", "row, col = r * stride + u, c * stride + v", "row, col = r * window + u, c * window + v")),
    _b("maxpool-last-of-tied-maxima", ["maxpool2d"], "forward",
       "a tie goes to the last maximum of the window, not the first (the documented rule)", "",
       ("pooling.py", "channel[row][col] > channel[best[0]][best[1]]", "channel[row][col] >= channel[best[0]][best[1]]")),
    _b("maxpool-gradient-to-every-tied-maximum", ["maxpool2d"], "backward",
       "the backward masks with window == max: every tied maximum gets the gradient", "",
       compute=_every_tied_maximum),
    # ---- updates ----
    _b("sgd-learning-rate-ignored", ["sgd"], "forward",
       "the update ignores the learning rate: param - grad", "document 004's update_weights",
       ("optim.py", "p - learning_rate * g, param, grad)", "p - g, param, grad)")),
    _b("sgd-gradient-ascent", ["sgd"], "forward",
       "the update adds the gradient: param + learning_rate * grad", "",
       ("optim.py", "lambda p, g: p - learning_rate * g, param, grad)", "lambda p, g: p + learning_rate * g, param, grad)")),
    _b("rmsprop-no-decay-on-new-gradient", ["rmsprop"], "forward",
       "the RMSprop cache adds g^2 without the (1 - rho) factor", "",
       ("optim.py", "rho * c + (1.0 - rho) * g * g", "rho * c + g * g")),
    _b("rmsprop-epsilon-inside-sqrt", ["rmsprop"], "forward",
       "epsilon inside the square root, sqrt(cache + eps), where it belongs outside (or declare rmsprop_epsilon)",
       "Keras 3",
       ("optim.py", "(math.sqrt(c) + epsilon)", "math.sqrt(c + epsilon)")),
    # ---- layers: found by comparing the updates at two learning rates ----
    _b("learning-rate-ignored", ["dense", "conv2d"], "backward",
       "the parameter update ignores the learning rate", "document 004's update_weights",
       detected=LEARNING_RATES),
    _b("learning-rate-squared", ["dense", "conv2d"], "backward",
       "the parameter update uses the learning rate squared", "", detected=LEARNING_RATES),
    _b("update-before-input-gradient", ["dense", "conv2d"], "backward",
       "the weights are updated before the input gradient is computed from them", "", detected=LEARNING_RATES),
)

CATALOGUE = {bug.id: bug for bug in BUGS}


def for_op(op):
    """The bugs that change an op's outputs and can compute them."""
    return [bug for bug in BUGS if op in bug.ops and bug.computable]
