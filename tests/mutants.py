"""A corpus of deliberately wrong implementations: each is one bug that
from-scratch CNN/MLP code really has, several taken from the documents.

A mutant is a one-line source change of a working implementation, run
through the adapter users use: the reference package through the function
adapter, the document-style layers of tests/doc_style_layers through the
layer adapter, tests/command_impl.py through the command adapter, or an
implementation of tests/conventions written in declared conventions.
`ops` are the ops whose rows the verify report must flag.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    adapter: str  # function, layer, command
    file: str  # file changed (function: in reference/; layer: in doc_style_layers/); command: the mode
    old: str
    new: str
    ops: tuple
    bug: str


def _f(name, file, old, new, ops, bug):
    return Mutant(name, "function", file, old, new, ops, bug)


def _l(name, file, old, new, ops, bug):
    return Mutant(name, "layer", file, old, new, ops, bug)


def _c(name, file, old, new, ops, bug):
    """A bug in an implementation written in declared conventions (tests/conventions)."""
    return Mutant(name, "conventions", file, old, new, ops, bug)


MUTANTS = (
    _f("conv-input-channel-index", "conv.py",
       'correlate2d(x_j, kernels[i][j], "valid", stride)', 'correlate2d(padded[i % len(padded)], kernels[i][j], "valid", stride)',
       ("conv2d",), "forward correlates input channel i instead of j (document 001's code)"),
    _f("conv-missing-rot180-in-input-gradient", "conv.py",
       'convolve2d(dilated, kernels[i][j], "full")', 'correlate2d(dilated, kernels[i][j], "full")',
       ("conv2d",), "dX = dY full-correlated with K: the 180-degree rotation is missing"),
    _f("convolution-double-rotation", "correlation.py",
       "return correlate2d(x, rot180(k), mode, stride)", "return correlate2d(x, rot180(rot180(k)), mode, stride)",
       ("convolve2d", "conv2d"), "convolution rotates the kernel twice (= correlation)"),
    _f("conv-valid-where-full-needed", "conv.py",
       'convolve2d(dilated, kernels[i][j], "full")', 'convolve2d(dilated, kernels[i][j], "valid")',
       ("conv2d",), "the input gradient uses a valid convolution instead of a full one"),
    _f("conv-bias-gradient-tied-untied-swapped", "conv.py",
       'if bias == "tied":', 'if bias != "tied":',
       ("conv2d",), "untied bias gradient summed over positions, tied one not summed"),
    _f("conv-tied-bias-gradient-not-summed", "conv.py",
       "dbiases = [math.fsum(value for row in dy_i for value in row) for dy_i in dy]", "dbiases = [dy_i[0][0] for dy_i in dy]",
       ("conv2d",), "tied bias gradient takes one position instead of the sum"),
    _f("conv-kernel-gradient-operands-swapped", "conv.py",
       'correlate2d(x_j, dilated, "valid")', 'correlate2d(dilated, x_j, "full")',
       ("conv2d",), "dK = dY * X instead of X * dY"),
    _f("conv-transposed-kernels", "conv.py",
       'correlate2d(x_j, kernels[i][j], "valid", stride)', 'correlate2d(x_j, [list(c) for c in zip(*kernels[i][j])], "valid", stride)',
       ("conv2d",), "forward uses each kernel transposed"),
    _f("conv-stride-ignored-in-backward", "conv.py",
       "dilated = dilate2d(dy_i, stride)", "dilated = dilate2d(dy_i, 1)",
       ("conv2d",), "backward ignores the stride (no dilation of dY)"),
    _f("conv-padding-on-one-side", "conv.py",
       "padded = [pad2d(channel, padding) for channel in x]\n    outputs", "padded = [pad2d(channel, padding, 0, padding, 0) for channel in x]\n    outputs",
       ("conv2d",), "forward pads only the top and left"),
    _f("correlation-output-off-by-one", "correlation.py",
       "out_rows = (x_rows - k_rows) // stride + 1", "out_rows = (x_rows - k_rows) // stride",
       ("correlate2d", "convolve2d", "conv2d"), "valid output size I - K instead of I - K + 1"),
    _f("sigmoid-derivative-of-activated-value", "activations.py",
       "    s = _sigmoid(v)\n    return s * (1.0 - s)", "    s = _sigmoid(_sigmoid(v))\n    return s * (1.0 - s)",
       ("sigmoid",), "sigma'(x) evaluated at sigma(x): the derivative applied to the activated value"),
    _f("tanh-derivative-not-squared", "activations.py",
       "1.0 - math.tanh(v) ** 2", "1.0 - math.tanh(v)",
       ("tanh",), "tanh' = 1 - tanh instead of 1 - tanh^2"),
    _f("relu-backward-passes-everything", "activations.py",
       "return 1.0 if v > 0 else 0.0  #", "return 1.0  #",
       ("relu",), "ReLU backward does not mask negative inputs"),
    _f("leaky-relu-slope-ignored-in-backward", "activations.py",
       "1.0 if v > 0 else slope, x, dy", "1.0 if v > 0 else 0.0, x, dy",
       ("leaky_relu",), "leaky ReLU backward uses slope 0"),
    _f("sigmoid-single-branch", "activations.py",
       "    if v >= 0:\n        return 1.0 / (1.0 + math.exp(-v))", "    if True:\n        return 1.0 / (1.0 + math.exp(-v))",
       ("sigmoid", "sigmoid_bce"), "sigmoid as 1 / (1 + exp(-x)) for every x: exp overflows at x = -1000"),
    _f("tanh-from-exponentials", "activations.py",
       "_elementwise_forward(math.tanh, x)", "_elementwise_forward(lambda v: (math.exp(v) - math.exp(-v)) / (math.exp(v) + math.exp(-v)), x)",
       ("tanh",), "tanh as (e^x - e^-x) / (e^x + e^-x): overflows at |x| = 1000"),
    _f("softmax-without-max-shift", "activations.py",
       "    top = max(x)\n", "    top = 0.0\n",
       ("softmax", "softmax_cce"), "softmax without subtracting the max logit: overflows on large logits"),
    _f("bce-log10", "losses.py",
       "terms.append(y * math.log(p) + (1.0 - y) * math.log(1.0 - p))", "terms.append(y * math.log10(p) + (1.0 - y) * math.log10(1.0 - p))",
       ("binary_cross_entropy", "sigmoid_bce"), "log10 instead of the natural log (document 002's code)"),
    _f("bce-derivative-missing-1-over-n", "losses.py",
       "- y / _clip(p)) / n for y, p", "- y / _clip(p)) for y, p",
       ("binary_cross_entropy",), "BCE derivative without the 1/n of the mean"),
    _f("mse-derivative-missing-2", "losses.py",
       "return [2.0 * (p - y) / n for", "return [(p - y) / n for",
       ("mse",), "MSE derivative without the factor 2"),
    _f("softmax-cce-gradient-sign", "losses.py",
       "return [p - y for y, p in zip(y_true, softmax_forward(z))]", "return [y - p for y, p in zip(y_true, softmax_forward(z))]",
       ("softmax_cce",), "fused softmax + cross-entropy gradient with the wrong sign"),
    _f("maxpool-argmax-offset", "pooling.py",
       "row, col = r * stride + u, c * stride + v", "row, col = r * c + u, c * r + v",
       ("maxpool2d",), "window offset (row*col, col*row) as in document 002's code"),
    _f("maxpool-window-step-instead-of-stride", "pooling.py",
       "row, col = r * stride + u, c * stride + v", "row, col = r * window + u, c * window + v",
       ("maxpool2d",), "windows stepped by their size, not the stride (document 002's slicing)"),
    _f("maxpool-last-of-tied-maxima", "pooling.py",
       "channel[row][col] > channel[best[0]][best[1]]", "channel[row][col] >= channel[best[0]][best[1]]",
       ("maxpool2d",), "ties go to the last maximum, not the first (the documented rule)"),
    _f("sgd-learning-rate-ignored", "optim.py",
       "p - learning_rate * g, param, grad)", "p - g, param, grad)",
       ("sgd",), "the update ignores the learning rate (document 004's update_weights)"),
    _f("rmsprop-no-decay-on-new-gradient", "optim.py",
       "rho * c + (1.0 - rho) * g * g", "rho * c + g * g",
       ("rmsprop",), "RMSprop cache adds g^2 without the (1 - rho) factor"),
    _f("dense-batch-gradient-not-averaged", "dense.py",
       "[math.fsum(grads[1][o][i] for grads in per_sample) / m for", "[math.fsum(grads[1][o][i] for grads in per_sample) for",
       ("dense_batch",), "batch weight gradient summed instead of averaged (document 004's 1/m)"),
    _f("dense-weight-gradient-transposed", "dense.py",
       "dweights = [[g * v for v in x] for g in dy]", "dweights = [[g * v for g in dy] for v in x]",
       ("dense", "dense_batch"), "dW = x dY^T instead of dY x^T"),
    _l("layer-conv-input-channel-index", "convolutional.py",
       "signal.correlate2d(self.input[j], self.kernels[i, j]", "signal.correlate2d(self.input[i % self.input_depth], self.kernels[i, j]",
       ("conv2d",), "document 001's Convolutional.forward with self.input[i]"),
    _l("layer-dense-updates-before-input-gradient", "dense.py",
       "        input_gradient = np.dot(self.weights.T, output_gradient)\n        self.weights -= learning_rate * weights_gradient\n",
       "        self.weights -= learning_rate * weights_gradient\n        input_gradient = np.dot(self.weights.T, output_gradient)\n",
       ("dense",), "weights updated before the input gradient is computed"),
    _l("layer-dense-bias-not-updated", "dense.py",
       "        self.bias -= learning_rate * output_gradient\n", "",
       ("dense",), "the bias is never updated"),
    _l("layer-sigmoid-prime-of-activated-value", "activations.py",
       "            s = sigmoid(x)\n            return s * (1 - s)", "            return x * (1 - x)",
       ("sigmoid",), "sigmoid_prime(x) = x (1 - x): written for the activated value"),
    _l("layer-dense-learning-rate-ignored", "dense.py",
       "        self.weights -= learning_rate * weights_gradient\n", "        self.weights -= weights_gradient\n",
       ("dense",), "the weight update ignores the learning rate (document 004's update_weights)"),
    _l("layer-conv-learning-rate-squared", "convolutional.py",
       "self.kernels -= learning_rate * kernels_gradient", "self.kernels -= learning_rate ** 2 * kernels_gradient",
       ("conv2d",), "the kernel update uses learning_rate squared"),
    _l("layer-mse-prime-missing-2", "losses.py",
       "return 2 * (y_pred - y_true) / np.size(y_true)", "return (y_pred - y_true) / np.size(y_true)",
       ("mse",), "MSE derivative without the factor 2"),
    _c("nhwc-kernel-spatially-transposed", "keras_style.py",
       "axes=([3, 4, 5], [0, 1, 2])", "axes=([3, 4, 5], [1, 0, 2])",
       ("conv2d",), "an NHWC forward that reads its HWIO kernel as (kw, kh, C, D): each kernel transposed"),
    _c("summed-gradient-declared-mean", "keras_style.py",
       '"batch_gradients": "sum",', '"batch_gradients": "mean",',
       ("dense_batch", "dense", "conv2d"), "gradients summed over the batch, declared as averaged"),
    _c("column-softmax-over-the-wrong-axis", "course_style.py",
       "return E / np.sum(E, axis=0, keepdims=True)", "return E / np.sum(E, axis=1, keepdims=True)",
       ("softmax",), "softmax of a column vector normalized along the rows: every output is 1"),
    _c("column-batch-bias-gradient-not-averaged", "course_style.py",
       "db = (1 / m) * np.sum(dZ, axis=1, keepdims=True)", "db = np.sum(dZ, axis=1, keepdims=True)",
       ("dense_batch",), "document 004's db without the 1/m, samples as columns"),
    Mutant("command-relu-backward-unmasked", "command", "relu-unmasked", "", "", ("relu",),
           "a command whose ReLU backward returns dy unmasked"),
    Mutant("command-dense-gradient-transposed", "command", "dense-transposed", "", "", ("dense",),
           "a command whose dense weight gradient is transposed"),
    Mutant("command-maxpool-gradient-to-every-tied-maximum", "command", "maxpool-every-tie", "", "", ("maxpool2d",),
           "a command whose max-pool backward masks with window == max: every tied maximum gets the gradient"),
)
