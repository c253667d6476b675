"""Finite-difference gradients of registry ops, on nested lists (reference engine).

The scalar differentiated is the op's `forward` output contracted with the
upstream gradient dy (sum of y * dy), or the loss itself for losses; for
gradients the op averages over the batch, that scalar divided by the batch.
"""

import copy
import math

from reference.tensor import flatten, shape, unflatten

from .tolerance import FINITE_DIFFERENCE_STEP


def objective(spec, inputs, params):
    """The scalar whose gradient the op's backward outputs are."""
    outputs = spec.run_reference(inputs, params)
    value = outputs[spec.forward]
    if "dy" in inputs:
        return math.fsum(a * b for a, b in zip(flatten(value), flatten(inputs["dy"])))
    return value


def numeric_gradient(spec, inputs, params, name, step=FINITE_DIFFERENCE_STEP):
    """Central differences of `objective` w.r.t. every element of inputs[name]."""
    dims = shape(inputs[name], name)
    values = flatten(inputs[name])
    gradient = []
    for index in range(len(values)):
        total = []
        for sign in (1.0, -1.0):
            moved = list(values)
            moved[index] += sign * step
            perturbed = {**copy.deepcopy(inputs), name: unflatten(moved, dims)}
            total.append(objective(spec, perturbed, params))
        gradient.append((total[0] - total[1]) / (2.0 * step))
    if name in spec.batch_mean:
        gradient = [g / len(inputs["x"]) for g in gradient]
    return unflatten(gradient, dims)
