"""Nested-list arrays: shape checks and elementwise helpers.

A vector is a flat list, a matrix a list of rows, a volume a list of
matrices (C, H, W). Every check raises ValueError naming the argument.
"""

import math
from numbers import Real

_PLAIN = (float, int)  # the numbers nearly every element is, told apart without the slower Real check


def _is_number(value):
    return type(value) in _PLAIN or (isinstance(value, Real) and not isinstance(value, bool))


def shape(array, name="array"):
    """The shape of a rectangular nested list of numbers, as a tuple."""
    if not isinstance(array, (list, tuple)):
        if _is_number(array):
            return ()
        raise ValueError(f"{name}: expected a number or a list, got {type(array).__name__}")
    if len(array) == 0:
        raise ValueError(f"{name}: empty input")
    if all(type(item) in _PLAIN for item in array):  # a row of numbers: nothing to recurse into
        return (len(array),)
    inner = [shape(item, f"{name}[{i}]") for i, item in enumerate(array)]
    for i, item_shape in enumerate(inner):
        if item_shape != inner[0]:
            raise ValueError(
                f"{name}: ragged list, {name}[0] has shape {inner[0]} but {name}[{i}] has shape {item_shape}"
            )
    return (len(array),) + inner[0]


def require_rank(array, rank, name):
    """Check that `array` is rectangular with `rank` dimensions; return its shape."""
    dims = shape(array, name)
    if len(dims) != rank:
        kind = {1: "a vector", 2: "a matrix", 3: "a volume (C, H, W)", 4: "a 4-D array"}[rank]
        raise ValueError(f"{name}: expected {kind}, got shape {dims}")
    return dims


def require_same_shape(a, b, name_a, name_b):
    shape_a, shape_b = shape(a, name_a), shape(b, name_b)
    if shape_a != shape_b:
        raise ValueError(f"{name_b}: shape {shape_b} does not match {name_a} shape {shape_a}")
    return shape_a


def require_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}: must be a positive integer, got {value!r}")
    return value


def zeros(dims):
    """A nested list of zeros with the given shape."""
    if not dims:
        return 0.0
    return [zeros(dims[1:]) for _ in range(dims[0])]


def elementwise(function, *arrays):
    """Apply `function` to matching elements of arrays of one shape."""
    if _is_number(arrays[0]):
        return function(*arrays)
    return [elementwise(function, *items) for items in zip(*arrays)]


def flatten(array):
    """All numbers of a nested list in row-major order."""
    if _is_number(array):
        return [array]
    return [value for item in array for value in flatten(item)]


def unflatten(values, dims):
    """Inverse of flatten: lay a flat list out in the given shape."""
    if not dims:
        return values[0]
    step = math.prod(dims[1:])
    return [unflatten(values[i * step : (i + 1) * step], dims[1:]) for i in range(dims[0])]


def add(a, b):
    return elementwise(lambda u, v: u + v, a, b)
