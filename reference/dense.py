"""Dense (fully connected) layer: y = W x + b.

Single sample (documents 000, 001, 003): dW = dy x^T, dx = W^T dy, db = dy.
Batch (document 004, samples as rows here): the parameter gradients are
the mean over the batch, dW = 1/m sum_n dy_n x_n^T; dx stays per sample.
"""

import math

from .tensor import require_rank


def _check(x, weights, bias=None):
    (in_size,) = require_rank(x, 1, "x")
    out_size, weight_cols = require_rank(weights, 2, "weights")
    if weight_cols != in_size:
        raise ValueError(f"weights: {weight_cols} columns but x has {in_size} features")
    if bias is not None and require_rank(bias, 1, "bias") != (out_size,):
        raise ValueError(f"bias: {len(bias)} values for {out_size} outputs")
    return out_size


def dense_forward(x, weights, bias):
    _check(x, weights, bias)
    return [math.fsum(w * v for w, v in zip(row, x)) + b for row, b in zip(weights, bias)]


def dense_backward(x, weights, dy):
    """(dx, dweights, dbias) for one sample."""
    out_size = _check(x, weights)
    if require_rank(dy, 1, "dy") != (out_size,):
        raise ValueError(f"dy: {len(dy)} values for {out_size} outputs")
    dweights = [[g * v for v in x] for g in dy]
    dx = [math.fsum(weights[o][i] * dy[o] for o in range(out_size)) for i in range(len(x))]
    return dx, dweights, list(dy)


def _check_batch(x, dy=None):
    batch, _ = require_rank(x, 2, "x")
    if dy is not None and require_rank(dy, 2, "dy")[0] != batch:
        raise ValueError(f"dy: {len(dy)} samples but x has {batch}")


def dense_batch_forward(x, weights, bias):
    _check_batch(x)
    return [dense_forward(sample, weights, bias) for sample in x]


def dense_batch_backward(x, weights, dy):
    """(dx per sample, dweights and dbias averaged over the batch)."""
    _check_batch(x, dy)
    per_sample = [dense_backward(x_n, weights, dy_n) for x_n, dy_n in zip(x, dy)]
    m = len(x)
    dx = [grads[0] for grads in per_sample]
    dweights = [
        [math.fsum(grads[1][o][i] for grads in per_sample) / m for i in range(len(x[0]))]
        for o in range(len(weights))
    ]
    dbias = [math.fsum(grads[2][o] for grads in per_sample) / m for o in range(len(weights))]
    return dx, dweights, dbias


def dense_parameter_count(input_size, output_size):
    """Weights plus biases: input_size * output_size + output_size."""
    for name, value in (("input_size", input_size), ("output_size", output_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name}: must be a positive integer, got {value!r}")
    return input_size * output_size + output_size
