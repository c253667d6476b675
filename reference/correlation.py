"""2-D cross-correlation and convolution (documents 000 and 001).

Sums use math.fsum: the reference is the most accurate engine of the suite.

Valid cross-correlation slides the kernel over positions where it lies
entirely inside the input: output size I - K + 1. Full cross-correlation
starts as soon as kernel and input overlap: output size I + K - 1.
Convolution is cross-correlation with the kernel rotated by 180 degrees.
"""

import math

from .tensor import require_positive_int, require_rank, zeros

MODES = ("valid", "full")


def output_size(input_size, kernel_size, mode="valid", stride=1, padding=0):
    """Length of one output side: (I + 2P - K) // S + 1 valid, I + K - 1 full."""
    if mode == "full":
        return input_size + kernel_size - 1
    return (input_size + 2 * padding - kernel_size) // stride + 1


def rot180(k):
    """Horizontal flip followed by vertical flip."""
    require_rank(k, 2, "k")
    return [list(reversed(row)) for row in reversed(k)]


def pad2d(x, top, bottom=None, left=None, right=None):
    """Surround a matrix with zeros (same amount on each side unless given)."""
    bottom = top if bottom is None else bottom
    left = top if left is None else left
    right = left if right is None else right
    width = len(x[0]) + left + right
    return (
        [[0.0] * width for _ in range(top)]
        + [[0.0] * left + list(row) + [0.0] * right for row in x]
        + [[0.0] * width for _ in range(bottom)]
    )


def dilate2d(x, stride):
    """Insert stride - 1 zeros between neighbouring elements (strided backward)."""
    if stride == 1:
        return [list(row) for row in x]
    rows, cols = len(x), len(x[0])
    out = zeros(((rows - 1) * stride + 1, (cols - 1) * stride + 1))
    for r in range(rows):
        for c in range(cols):
            out[r * stride][c * stride] = x[r][c]
    return out


def _check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"mode: must be 'valid' or 'full', got {mode!r}")


def correlate2d(x, k, mode="valid", stride=1):
    """Y[r][c] = sum_u sum_v X[r*s + u][c*s + v] * K[u][v]."""
    _check_mode(mode)
    require_positive_int(stride, "stride")
    x_rows, x_cols = require_rank(x, 2, "x")
    k_rows, k_cols = require_rank(k, 2, "k")
    if mode == "full":
        x = pad2d(x, k_rows - 1, k_rows - 1, k_cols - 1, k_cols - 1)
        x_rows, x_cols = x_rows + 2 * (k_rows - 1), x_cols + 2 * (k_cols - 1)
    elif k_rows > x_rows or k_cols > x_cols:
        raise ValueError(
            f"k: kernel {k_rows}x{k_cols} is larger than input x {x_rows}x{x_cols} in valid mode"
        )
    out_rows = (x_rows - k_rows) // stride + 1
    out_cols = (x_cols - k_cols) // stride + 1
    return [
        [
            math.fsum(
                x[r * stride + u][c * stride + v] * k[u][v] for u in range(k_rows) for v in range(k_cols)
            )
            for c in range(out_cols)
        ]
        for r in range(out_rows)
    ]


def convolve2d(x, k, mode="valid", stride=1):
    """Convolution: cross-correlation with rot180(k)."""
    return correlate2d(x, rot180(k), mode, stride)
