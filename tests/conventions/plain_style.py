"""A plain NumPy implementation under test, in the suite's default
conventions: one sample per call, images (C, H, W), kernels (F, C, kh, kw),
dense weights (out, in) and flat vectors (n,); conv biases either one per
filter (F,) or one per output position (F, Ho, Wo); max pooling returns the
[row, col] of every maximum; cross-entropy takes one-hot targets and
probabilities (or logits, fused with the softmax). The optimizers take a
config dict in the style of CS231n's optim.py.

After the `cnn-oracle adapter` line: the few aliases and wrappers that give
these functions the reference's names. There is no CONVENTIONS dict (the
defaults apply); ARRAYS asks for NumPy arrays instead of nested lists.
"""

import numpy as np

# ---- layers ----


def conv_forward(x, w, b, stride=1, pad=0):
    """out[f, i, j] = b[f] (or b[f, i, j]) + sum(window(i, j) * w[f])."""
    num_filters, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    out_h, out_w = (xp.shape[1] - kh) // stride + 1, (xp.shape[2] - kw) // stride + 1
    out = np.zeros((num_filters, out_h, out_w))
    for f in range(num_filters):
        for i in range(out_h):
            for j in range(out_w):
                window = xp[:, i * stride : i * stride + kh, j * stride : j * stride + kw]
                out[f, i, j] = np.sum(window * w[f])
    return out + (b[:, None, None] if b.ndim == 1 else b)


def conv_backward(x, w, dout, stride=1, pad=0, tied=True):
    """(dx, dw, db); db is (F,) for tied biases, (F, Ho, Wo) for untied ones."""
    num_filters, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros(xp.shape), np.zeros(w.shape)
    for f in range(num_filters):
        for i in range(dout.shape[1]):
            for j in range(dout.shape[2]):
                rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
                dw[f] += xp[:, rows, cols] * dout[f, i, j]
                dxp[:, rows, cols] += w[f] * dout[f, i, j]
    db = dout.sum(axis=(1, 2)) if tied else dout.copy()
    return dxp[:, pad : pad + x.shape[1], pad : pad + x.shape[2]], dw, db


def max_pool_forward(x, size, stride):
    """(out, argmax), argmax[c, i, j] = [row, col] in x of the first maximum of the window."""
    channels, height, width = x.shape
    out_h, out_w = (height - size) // stride + 1, (width - size) // stride + 1
    out = np.zeros((channels, out_h, out_w))
    argmax = np.zeros((channels, out_h, out_w, 2), dtype=int)
    for c in range(channels):
        for i in range(out_h):
            for j in range(out_w):
                window = x[c, i * stride : i * stride + size, j * stride : j * stride + size]
                k = np.argmax(window)
                argmax[c, i, j] = (i * stride + k // size, j * stride + k % size)
                out[c, i, j] = window.flat[k]
    return out, argmax


def max_pool_backward(dout, argmax, x_shape):
    dx = np.zeros(x_shape)
    for c, i, j in np.ndindex(*dout.shape):
        row, col = argmax[c, i, j]
        dx[c, row, col] += dout[c, i, j]
    return dx


def affine_forward(x, w, b):
    return w @ x + b


def affine_backward(x, w, dout):
    return w.T @ dout, np.outer(dout, x), dout.copy()


# ---- activations ----


def sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_backward(x, dout):
    s = sigmoid(x)
    return dout * s * (1 - s)


def relu(x):
    return np.maximum(x, 0)


def relu_backward(x, dout):
    return np.where(x > 0, dout, 0.0)


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def softmax_backward(x, dout):
    s = softmax(x)
    return s * (dout - np.dot(dout, s))


# ---- losses (one sample) ----


def cross_entropy(y, p):
    return -np.sum(y * np.log(np.clip(p, 1e-12, 1 - 1e-12)))


def cross_entropy_grad(y, p):
    return -y / np.clip(p, 1e-12, 1 - 1e-12)


def softmax_cross_entropy(y, logits):
    shifted = logits - np.max(logits)
    return -np.sum(y * (shifted - np.log(np.sum(np.exp(shifted)))))


def softmax_cross_entropy_grad(y, logits):
    return softmax(logits) - y


def mse(y, p):
    return np.mean((p - y) ** 2)


def mse_grad(y, p):
    return 2 * (p - y) / y.size


# ---- update rules (CS231n optim.py style: config dicts) ----


def sgd_update(w, dw, config):
    return w - config["learning_rate"] * dw, config


def rmsprop_update(w, dw, config):
    config = dict(config)
    config["cache"] = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * dw**2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return next_w, config


# ---- cnn-oracle adapter ----

ARRAYS = True

conv2d_forward = conv_forward


def conv2d_backward(x, kernels, dy, stride, padding, bias):
    return conv_backward(x, kernels, dy, stride, padding, tied=bias == "tied")


maxpool2d_forward, maxpool2d_backward = max_pool_forward, max_pool_backward
dense_forward, dense_backward = affine_forward, affine_backward
sigmoid_forward, relu_forward, softmax_forward = sigmoid, relu, softmax
categorical_cross_entropy, categorical_cross_entropy_prime = cross_entropy, cross_entropy_grad
softmax_cce, softmax_cce_prime = softmax_cross_entropy, softmax_cross_entropy_grad
mse_prime = mse_grad


def sgd(param, grad, learning_rate):
    return sgd_update(param, grad, {"learning_rate": learning_rate})[0]


def rmsprop(param, grad, cache, learning_rate=0.001, rho=0.9, epsilon=1e-7):
    config = {"learning_rate": learning_rate, "decay_rate": rho, "epsilon": epsilon, "cache": cache}
    next_param, config = rmsprop_update(param, grad, config)
    return next_param, config["cache"]
