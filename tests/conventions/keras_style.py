"""A Keras/TensorFlow-style implementation under test, written from scratch in NumPy.

Everything is batch-first and channels-last, as in tf.keras: images are
(N, H, W, C), conv kernels (kh, kw, C_in, C_out) (HWIO), a Dense kernel is
(in, out) with y = x @ kernel + bias, and each conv filter has one bias.
Parameter gradients are summed over the batch. Max pooling keeps no argmax:
its gradient recomputes the maximum from the forward input (tf's MaxPoolGrad
takes the input too). The classification losses take integer labels and
logits (the softmax / sigmoid is fused into the loss), and RMSprop adds its
epsilon inside the square root, as Keras 3 does.

After the `cnn-oracle adapter` line: the conventions declaration and the few
aliases that give these functions the reference's names.
"""

import numpy as np

# ---- layers ----


def _pad(inputs, padding):
    """Zero padding of the spatial axes (1 and 2) of an NHWC batch."""
    return np.pad(inputs, ((0, 0), (padding, padding), (padding, padding), (0, 0)))


def _patches(inputs, kh, kw, strides):
    """(N, Ho, Wo, kh, kw, C) read-only view of the windows of an NHWC batch."""
    n, h, w, c = inputs.shape
    ho, wo = (h - kh) // strides + 1, (w - kw) // strides + 1
    sn, sh, sw, sc = inputs.strides
    return np.lib.stride_tricks.as_strided(
        inputs, (n, ho, wo, kh, kw, c), (sn, sh * strides, sw * strides, sh, sw, sc), writeable=False
    )


def conv2d(inputs, kernel, bias, strides=1, padding=0):
    """tf.nn.conv2d + bias: (N, H, W, C) * (kh, kw, C, F) -> (N, Ho, Wo, F)."""
    kh, kw = kernel.shape[:2]
    patches = _patches(_pad(inputs, padding), kh, kw, strides)
    return np.tensordot(patches, kernel, axes=([3, 4, 5], [0, 1, 2])) + bias


def conv2d_grads(inputs, kernel, grad_output, strides=1, padding=0):
    """(d_inputs, d_kernel, d_bias) of conv2d, the last two summed over the batch."""
    kh, kw = kernel.shape[:2]
    padded = _pad(inputs, padding)
    patches = _patches(padded, kh, kw, strides)
    d_kernel = np.tensordot(patches, grad_output, axes=([0, 1, 2], [0, 1, 2]))  # (kh, kw, C, F)
    d_bias = grad_output.sum(axis=(0, 1, 2))
    d_padded = np.zeros_like(padded)
    ho, wo = grad_output.shape[1:3]
    for i in range(kh):  # every kernel tap sends grad_output @ kernel[i, j]^T back to the inputs it read
        for j in range(kw):
            rows, cols = slice(i, i + strides * ho, strides), slice(j, j + strides * wo, strides)
            d_padded[:, rows, cols, :] += grad_output @ kernel[i, j].T
    h, w = inputs.shape[1:3]
    return d_padded[:, padding : padding + h, padding : padding + w, :], d_kernel, d_bias


def max_pool2d(inputs, pool_size, strides):
    """(N, H, W, C) -> (N, Ho, Wo, C), square windows, no padding."""
    return _patches(inputs, pool_size, pool_size, strides).max(axis=(3, 4))


def max_pool2d_grad(inputs, grad_output, pool_size, strides):
    """Each output gradient goes to the first maximum (row-major) of its window,
    found again from the inputs; overlapping windows add up."""
    windows = _patches(inputs, pool_size, pool_size, strides)
    n, ho, wo, _, _, c = windows.shape
    first = windows.transpose(0, 1, 2, 5, 3, 4).reshape(n, ho, wo, c, -1).argmax(axis=-1)
    rows = np.arange(ho)[None, :, None, None] * strides + first // pool_size
    cols = np.arange(wo)[None, None, :, None] * strides + first % pool_size
    batch, channel = np.arange(n)[:, None, None, None], np.arange(c)[None, None, None, :]
    d_inputs = np.zeros(inputs.shape)
    np.add.at(d_inputs, (batch, rows, cols, channel), grad_output)
    return d_inputs


def dense(inputs, kernel, bias):
    """Keras Dense: (N, in) @ (in, out) + (out,)."""
    return inputs @ kernel + bias


def dense_grads(inputs, kernel, grad_output):
    return grad_output @ kernel.T, inputs.T @ grad_output, grad_output.sum(axis=0)


# ---- activations (elementwise; softmax over the last axis) ----


def relu(x):
    return np.maximum(x, 0.0)


def relu_grad(x, grad):
    return np.where(x > 0, grad, 0.0)


def sigmoid(x):
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(x, grad):
    s = sigmoid(x)
    return grad * s * (1.0 - s)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_grad(x, grad):
    s = softmax(x)
    return s * (grad - (grad * s).sum(axis=-1, keepdims=True))


# ---- losses: one value per sample, from logits where a probability is meant ----


def sigmoid_xent(labels, logits):
    """binary_crossentropy(from_logits=True): mean over the last axis."""
    z = logits
    return (np.maximum(z, 0.0) - z * labels + np.log1p(np.exp(-np.abs(z)))).mean(axis=-1)


def sigmoid_xent_grad(labels, logits):
    return (sigmoid(logits) - labels) / logits.shape[-1]


def sparse_softmax_xent(labels, logits):
    """sparse_categorical_crossentropy(from_logits=True): labels are class indices."""
    top = logits.max(axis=-1, keepdims=True)
    log_probs = logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_probs, np.asarray(labels, dtype=int)[..., None], axis=-1)[..., 0]


def sparse_softmax_xent_grad(labels, logits):
    one_hot = np.eye(logits.shape[-1])[np.asarray(labels, dtype=int)]
    return softmax(logits) - one_hot


def mean_squared_error(y_true, y_pred):
    return ((y_pred - y_true) ** 2).mean(axis=-1)


def mean_squared_error_grad(y_true, y_pred):
    return 2.0 * (y_pred - y_true) / y_true.shape[-1]


# ---- optimizers: apply() returns the new values, nothing is updated in place ----


class SGD:
    def __init__(self, learning_rate=0.01):
        self.learning_rate = learning_rate

    def apply(self, variable, gradient):
        return variable - self.learning_rate * gradient


class RMSprop:
    """Keras 3: velocity = rho v + (1 - rho) g^2; variable -= lr g / sqrt(velocity + epsilon)."""

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        self.learning_rate, self.rho, self.epsilon = learning_rate, rho, epsilon

    def apply(self, variable, gradient, velocity):
        velocity = self.rho * velocity + (1.0 - self.rho) * gradient**2
        return variable - self.learning_rate * gradient / np.sqrt(velocity + self.epsilon), velocity


# ---- cnn-oracle adapter ----

CONVENTIONS = {
    "layout": "NHWC",
    "kernels": "HWIO",
    "dense_weights": "in_out",
    "batch_gradients": "sum",
    "bias": "tied",
    "maxpool_backward": "input",
    "labels": "index",
    "cross_entropy_input": "logits",
    "rmsprop_epsilon": "inside_sqrt",
}

conv2d_forward = conv2d


def conv2d_backward(x, kernels, dy, stride, padding, bias="tied"):
    return conv2d_grads(x, kernels, dy, stride, padding)


maxpool2d_forward, maxpool2d_backward = max_pool2d, max_pool2d_grad
dense_forward, dense_backward = dense_batch_forward, dense_batch_backward = dense, dense_grads
relu_forward, relu_backward = relu, relu_grad
sigmoid_forward, sigmoid_backward = sigmoid, sigmoid_grad
softmax_forward, softmax_backward = softmax, softmax_grad
binary_cross_entropy, binary_cross_entropy_prime = sigmoid_xent, sigmoid_xent_grad
categorical_cross_entropy, categorical_cross_entropy_prime = sparse_softmax_xent, sparse_softmax_xent_grad
mse, mse_prime = mean_squared_error, mean_squared_error_grad


def sgd(param, grad, learning_rate):
    return SGD(learning_rate).apply(param, grad)


def rmsprop(param, grad, cache, learning_rate=0.001, rho=0.9, epsilon=1e-7):
    return RMSprop(learning_rate, rho, epsilon).apply(param, grad, cache)
