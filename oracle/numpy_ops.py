"""Vectorized NumPy versions of the reference ops, batch first.

Same names and signatures as reference/, with a leading batch axis on the
per-sample arguments (x, dy, y_true, y_pred, z): volumes are (N, C, H, W),
vectors (N, features). Parameter gradients (dkernels, dbiases, dweights,
dbias) are summed over the batch, as a training step needs them.
No Python loop runs over pixels or samples: windows come from
sliding_window_view and the sums are tensordot/einsum (BLAS).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from reference.activations import LEAKY_RELU_SLOPE
from reference.losses import PROBABILITY_EPSILON


def shape(x, name="x"):
    """Per-sample shape (the batch axis left out)."""
    return tuple(np.shape(x)[1:])


def bias_mode(biases):
    return "tied" if np.ndim(biases) == 1 else "untied"


def _windows(x, k_rows, k_cols, stride):
    """(..., Ho, Wo, k_rows, k_cols) views of the last two axes."""
    view = sliding_window_view(x, (k_rows, k_cols), axis=(-2, -1))
    return view[..., ::stride, ::stride, :, :]


def _pad(x, top, bottom, left, right):
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(x, widths)


def _dilate(dy, stride):
    if stride == 1:
        return dy
    rows, cols = dy.shape[-2:]
    out = np.zeros(dy.shape[:-2] + ((rows - 1) * stride + 1, (cols - 1) * stride + 1), dtype=dy.dtype)
    out[..., ::stride, ::stride] = dy
    return out


# ---- cross-correlation and convolution of a batch of matrices (N, H, W) ----


def rot180(k):
    return np.asarray(k)[..., ::-1, ::-1]


def correlate2d(x, k, mode="valid", stride=1):
    x, k = np.asarray(x), np.asarray(k)
    k_rows, k_cols = k.shape
    if mode == "full":
        x = _pad(x, k_rows - 1, k_rows - 1, k_cols - 1, k_cols - 1)
    return np.einsum("nhwij,ij->nhw", _windows(x, k_rows, k_cols, stride), k)


def convolve2d(x, k, mode="valid", stride=1):
    return correlate2d(x, rot180(k), mode, stride)


# ---- convolutional layer ----


def conv2d_forward(x, kernels, biases, stride=1, padding=0):
    """Y_i = B_i + sum_j X_j * K_ij for every sample: (N, D, Ho, Wo)."""
    x, kernels, biases = np.asarray(x), np.asarray(kernels), np.asarray(biases)
    k_rows, k_cols = kernels.shape[2:]
    columns = _windows(_pad(x, padding, padding, padding, padding), k_rows, k_cols, stride)
    # columns: (N, C, Ho, Wo, kh, kw); contract C, kh, kw with the kernels.
    y = np.tensordot(columns, kernels, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    return y + (biases[:, None, None] if biases.ndim == 1 else biases)


def conv2d_backward(x, kernels, dy, stride=1, padding=0, bias="untied", per_sample=False):
    """(dx, dkernels, dbiases). With per_sample, the parameter gradients keep
    the batch axis instead of being summed over it."""
    x, kernels, dy = np.asarray(x), np.asarray(kernels), np.asarray(dy)
    k_rows, k_cols = kernels.shape[2:]
    height, width = x.shape[2:]
    padded_rows, padded_cols = height + 2 * padding, width + 2 * padding
    columns = _windows(_pad(x, padding, padding, padding, padding), k_rows, k_cols, stride)
    if per_sample:
        dkernels = np.einsum("ndhw,nchwij->ndcij", dy, columns)
    else:
        dkernels = np.tensordot(dy, columns, axes=([0, 2, 3], [0, 2, 3]))
    # dX = sum_i dY_i full-convolved with K_ij, on dY dilated by the stride and
    # extended to reach input rows/columns that no window covered.
    dilated = _dilate(dy, stride)
    spare_rows = padded_rows - (dilated.shape[2] + k_rows - 1)
    spare_cols = padded_cols - (dilated.shape[3] + k_cols - 1)
    framed = _pad(dilated, k_rows - 1, k_rows - 1 + spare_rows, k_cols - 1, k_cols - 1 + spare_cols)
    dy_columns = _windows(framed, k_rows, k_cols, 1)  # (N, D, Hp, Wp, kh, kw)
    dx = np.tensordot(dy_columns, rot180(kernels), axes=([1, 4, 5], [0, 2, 3])).transpose(0, 3, 1, 2)
    dx = dx[:, :, padding : padding + height, padding : padding + width]
    spatial = (2, 3) if bias == "tied" else ()
    batch = () if per_sample else (0,)
    dbiases = dy.sum(axis=batch + spatial)
    return dx, dkernels, dbiases


# ---- reshape and dense ----


def reshape_forward(x, target_shape):
    x = np.asarray(x)
    return x.reshape((x.shape[0],) + tuple(target_shape))


def reshape_backward(dy, input_shape):
    return reshape_forward(dy, input_shape)


def dense_forward(x, weights, bias):
    return np.asarray(x) @ np.asarray(weights).T + np.asarray(bias)


def dense_backward(x, weights, dy, per_sample=False):
    x, weights, dy = np.asarray(x), np.asarray(weights), np.asarray(dy)
    if per_sample:
        return dy @ weights, dy[:, :, None] * x[:, None, :], dy.copy()
    return dy @ weights, dy.T @ x, dy.sum(axis=0)


def dense_batch_forward(x, weights, bias):
    return dense_forward(x, weights, bias)


def dense_batch_backward(x, weights, dy):
    """Document 004: parameter gradients averaged over the batch."""
    dx, dweights, dbias = dense_backward(x, weights, dy)
    m = np.shape(x)[0]
    return dx, dweights / m, dbias / m


def dense_parameter_count(input_size, output_size):
    return int(input_size) * int(output_size) + int(output_size)


# ---- activations (elementwise; softmax over the last axis) ----


def sigmoid_forward(x):
    x = np.asarray(x)
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_backward(x, dy):
    s = sigmoid_forward(x)
    return np.asarray(dy) * s * (1.0 - s)


def tanh_forward(x):
    return np.tanh(x)


def tanh_backward(x, dy):
    return np.asarray(dy) * (1.0 - np.tanh(x) ** 2)


def relu_forward(x):
    x = np.asarray(x)
    return np.where(x > 0, x, 0.0).astype(x.dtype, copy=False)


def relu_backward(x, dy):
    return np.where(np.asarray(x) > 0, dy, 0.0).astype(np.result_type(dy), copy=False)


def leaky_relu_forward(x, slope=LEAKY_RELU_SLOPE):
    x = np.asarray(x)
    return np.where(x > 0, x, slope * x)


def leaky_relu_backward(x, dy, slope=LEAKY_RELU_SLOPE):
    dy = np.asarray(dy)
    return np.where(np.asarray(x) > 0, dy, slope * dy)


def softmax_forward(x):
    x = np.asarray(x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(x, dy):
    s, dy = softmax_forward(x), np.asarray(dy)
    return s * (dy - (dy * s).sum(axis=-1, keepdims=True))


# ---- losses: one value per sample (rows), mean over the last axis ----


def _clip(p):
    return np.clip(p, PROBABILITY_EPSILON, 1.0 - PROBABILITY_EPSILON)


def binary_cross_entropy(y_true, y_pred):
    y, p = np.asarray(y_true), _clip(np.asarray(y_pred))
    return -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)).mean(axis=-1)


def binary_cross_entropy_prime(y_true, y_pred):
    y, p = np.asarray(y_true), _clip(np.asarray(y_pred))
    return ((1.0 - y) / (1.0 - p) - y / p) / y.shape[-1]


def sigmoid_bce(y_true, z):
    """Stable form max(z, 0) - z y + log(1 + exp(-|z|)), as the reference."""
    y, z = np.asarray(y_true), np.asarray(z)
    return (np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean(axis=-1)


def sigmoid_bce_prime(y_true, z):
    y = np.asarray(y_true)
    return (sigmoid_forward(z) - y) / y.shape[-1]


def mse(y_true, y_pred):
    return ((np.asarray(y_pred) - np.asarray(y_true)) ** 2).mean(axis=-1)


def mse_prime(y_true, y_pred):
    y = np.asarray(y_true)
    return 2.0 * (np.asarray(y_pred) - y) / y.shape[-1]


def half_squared_error(y_true, y_pred):
    return 0.5 * ((np.asarray(y_pred) - np.asarray(y_true)) ** 2).sum(axis=-1)


def half_squared_error_prime(y_true, y_pred):
    return np.asarray(y_pred) - np.asarray(y_true)


def categorical_cross_entropy(y_true, y_pred):
    return -(np.asarray(y_true) * np.log(_clip(np.asarray(y_pred)))).sum(axis=-1)


def categorical_cross_entropy_prime(y_true, y_pred):
    return -np.asarray(y_true) / _clip(np.asarray(y_pred))


def softmax_cce(y_true, z):
    """With log-sum-exp, as the reference: exact for large logits."""
    z = np.asarray(z)
    top = z.max(axis=-1, keepdims=True)
    log_sum_exp = top + np.log(np.exp(z - top).sum(axis=-1, keepdims=True))
    return -(np.asarray(y_true) * (z - log_sum_exp)).sum(axis=-1)


def softmax_cce_prime(y_true, z):
    return softmax_forward(z) - np.asarray(y_true)


# ---- max pooling, tie rule as the reference: first maximum in row-major order ----


def maxpool2d_forward(x, window, stride):
    """(y, argmax) with argmax[..., 0:2] = (row, col) of each maximum in x."""
    x = np.asarray(x)
    windows = _windows(x, window, window, stride)
    flat = windows.reshape(windows.shape[:-2] + (window * window,))
    best = flat.argmax(axis=-1)  # numpy's argmax returns the first maximum
    y = np.take_along_axis(flat, best[..., None], axis=-1)[..., 0]
    out_rows, out_cols = best.shape[-2:]
    rows = np.arange(out_rows)[:, None] * stride + best // window
    cols = np.arange(out_cols)[None, :] * stride + best % window
    return y, np.stack([rows, cols], axis=-1)


def maxpool2d_backward(dy, argmax, input_shape):
    dy, argmax = np.asarray(dy), np.asarray(argmax)
    batch, channels = dy.shape[:2]
    dx = np.zeros((batch,) + tuple(input_shape), dtype=dy.dtype)
    n = np.arange(batch)[:, None, None, None]
    c = np.arange(channels)[None, :, None, None]
    np.add.at(dx, (n, c, argmax[..., 0], argmax[..., 1]), dy)  # overlapping windows add
    return dx


# ---- updates and metrics ----


def sgd(param, grad, learning_rate):
    return np.asarray(param) - learning_rate * np.asarray(grad)


def rmsprop(param, grad, cache, learning_rate=0.001, rho=0.9, epsilon=1e-7):
    grad = np.asarray(grad)
    new_cache = rho * np.asarray(cache) + (1.0 - rho) * grad * grad
    return np.asarray(param) - learning_rate * grad / (np.sqrt(new_cache) + epsilon), new_cache


def accuracy(y_true, y_pred):
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))
