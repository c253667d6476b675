"""Reshape layer (documents 000 and 001): the conv output volume becomes the
column vector a dense layer takes. Backward reshapes the gradient back."""

import math

from .tensor import flatten, shape, unflatten


def _check_shape(target, size):
    if not target or any(isinstance(d, bool) or not isinstance(d, int) or d <= 0 for d in target):
        raise ValueError(f"shape: must be a non-empty list of positive integers, got {target!r}")
    if math.prod(target) != size:
        raise ValueError(f"shape: {tuple(target)} holds {math.prod(target)} values, x holds {size}")


def reshape_forward(x, target_shape):
    """Row-major reshape, like np.reshape."""
    shape(x, "x")
    values = flatten(x)
    _check_shape(target_shape, len(values))
    return unflatten(values, tuple(target_shape))


def reshape_backward(dy, input_shape):
    return reshape_forward(dy, input_shape)
