"""Reshape layer (documents 000 and 001): the conv output volume becomes the
column vector a dense layer takes. Backward reshapes the gradient back."""

import math

from .tensor import flatten, shape, unflatten


def _check_shape(target, size, source):
    if not target or any(isinstance(d, bool) or not isinstance(d, int) or d <= 0 for d in target):
        raise ValueError(f"shape: must be a non-empty list of positive integers, got {target!r}")
    if math.prod(target) != size:
        raise ValueError(f"shape: {tuple(target)} holds {math.prod(target)} values, {source} holds {size}")


def _reshape(array, target_shape, name):
    shape(array, name)
    values = flatten(array)
    _check_shape(target_shape, len(values), name)
    return unflatten(values, tuple(target_shape))


def reshape_forward(x, target_shape):
    """Row-major reshape, like np.reshape."""
    return _reshape(x, target_shape, "x")


def reshape_backward(dy, input_shape):
    return _reshape(dy, input_shape, "dy")
