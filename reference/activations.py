"""Activations and their backward passes (vector-Jacobian products).

Elementwise activations take any nested list. Backward functions take the
forward input x and the upstream gradient dy and return dx.
"""

import math

from .tensor import elementwise, require_rank, require_same_shape, shape

LEAKY_RELU_SLOPE = 0.01  # document 002


def _sigmoid(v):
    # Two branches so that exp never overflows: sigmoid(+-1000) is exact.
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def _sigmoid_prime(v):
    s = _sigmoid(v)
    return s * (1.0 - s)


def _relu_prime(v):
    return 1.0 if v > 0 else 0.0  # derivative at 0 taken as 0 (not differentiable there)


def _elementwise_forward(function, x):
    shape(x, "x")
    return elementwise(function, x)


def _elementwise_backward(derivative, x, dy):
    require_same_shape(x, dy, "x", "dy")
    return elementwise(lambda v, g: derivative(v) * g, x, dy)


def sigmoid_forward(x):
    return _elementwise_forward(_sigmoid, x)


def sigmoid_backward(x, dy):
    """dx = dy * s (1 - s) with s = sigmoid(x)."""
    return _elementwise_backward(_sigmoid_prime, x, dy)


def tanh_forward(x):
    return _elementwise_forward(math.tanh, x)


def tanh_backward(x, dy):
    """dx = dy * (1 - tanh(x)^2)."""
    return _elementwise_backward(lambda v: 1.0 - math.tanh(v) ** 2, x, dy)


def relu_forward(x):
    return _elementwise_forward(lambda v: v if v > 0 else 0.0, x)


def relu_backward(x, dy):
    return _elementwise_backward(_relu_prime, x, dy)


def leaky_relu_forward(x, slope=LEAKY_RELU_SLOPE):
    return _elementwise_forward(lambda v: v if v > 0 else slope * v, x)


def leaky_relu_backward(x, dy, slope=LEAKY_RELU_SLOPE):
    return _elementwise_backward(lambda v: 1.0 if v > 0 else slope, x, dy)


def softmax_forward(x):
    """exp(x_i - max x) / sum_j exp(x_j - max x): the shift keeps exp <= 1."""
    require_rank(x, 1, "x")
    top = max(x)
    exps = [math.exp(v - top) for v in x]
    total = math.fsum(exps)
    return [e / total for e in exps]


def softmax_backward(x, dy):
    """Vector-Jacobian product: dx_i = s_i (dy_i - sum_j dy_j s_j)."""
    require_same_shape(x, dy, "x", "dy")
    s = softmax_forward(x)
    weighted = math.fsum(g * p for g, p in zip(dy, s))
    return [p * (g - weighted) for g, p in zip(dy, s)]
