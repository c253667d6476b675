"""Convolutional layer, forward and backward (documents 000, 001, 002).

Forward:   Y_i = B_i + sum_j X_j * K_ij          (* = valid cross-correlation)
Backward:  dK_ij = X_j * dY_i
           dB_i  = dY_i          (untied: one bias per output position)
                 = sum(dY_i)     (tied: one bias per kernel)
           dX_j  = sum_i dY_i *full-convolution* K_ij

Stride S and zero padding P generalise these: the forward correlates the
padded input with stride S; the backward dilates dY by S (zeros between
its elements), which turns both gradient formulas back into the stride-1
ones, then crops what the padding added.
"""

import math

from .correlation import convolve2d, correlate2d, dilate2d, output_size, pad2d
from .tensor import add, require_positive_int, require_rank, shape, zeros

BIAS_MODES = ("untied", "tied")


def _check_layer(x, kernels, stride, padding):
    channels, height, width = require_rank(x, 3, "x")
    depth, kernel_channels, k_rows, k_cols = require_rank(kernels, 4, "kernels")
    require_positive_int(stride, "stride")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding: must be a non-negative integer, got {padding!r}")
    if kernel_channels != channels:
        raise ValueError(f"kernels: {kernel_channels} channels per kernel but x has {channels} channels")
    if k_rows > height + 2 * padding or k_cols > width + 2 * padding:
        raise ValueError(
            f"kernels: kernel {k_rows}x{k_cols} is larger than the padded input "
            f"{height + 2 * padding}x{width + 2 * padding}"
        )
    out_shape = (
        depth,
        output_size(height, k_rows, "valid", stride, padding),
        output_size(width, k_cols, "valid", stride, padding),
    )
    return out_shape


def bias_mode(biases):
    """'tied' for one bias per kernel (a vector), 'untied' for (D, Ho, Wo)."""
    return "tied" if len(shape(biases, "biases")) == 1 else "untied"


def conv2d_forward(x, kernels, biases, stride=1, padding=0):
    out_shape = _check_layer(x, kernels, stride, padding)
    depth, out_rows, out_cols = out_shape
    if bias_mode(biases) == "tied":
        if len(biases) != depth:
            raise ValueError(f"biases: {len(biases)} tied biases for {depth} kernels")
        biases = [[[b] * out_cols for _ in range(out_rows)] for b in biases]
    elif shape(biases, "biases") != out_shape:
        raise ValueError(f"biases: shape {shape(biases)} does not match the output shape {out_shape}")
    padded = [pad2d(channel, padding) for channel in x]
    outputs = []
    for i in range(depth):
        y_i = biases[i]
        for j, x_j in enumerate(padded):
            y_i = add(y_i, correlate2d(x_j, kernels[i][j], "valid", stride))
        outputs.append(y_i)
    return outputs


def conv2d_backward(x, kernels, dy, stride=1, padding=0, bias="untied"):
    """Gradients (dx, dkernels, dbiases) for the upstream gradient dy."""
    out_shape = _check_layer(x, kernels, stride, padding)
    if bias not in BIAS_MODES:
        raise ValueError(f"bias: must be 'untied' or 'tied', got {bias!r}")
    if require_rank(dy, 3, "dy") != out_shape:
        raise ValueError(f"dy: shape {shape(dy)} does not match the output shape {out_shape}")
    channels, height, width = shape(x)
    k_rows, k_cols = len(kernels[0][0]), len(kernels[0][0][0])
    padded = [pad2d(channel, padding) for channel in x]
    padded_rows, padded_cols = height + 2 * padding, width + 2 * padding

    dkernels, dx_padded = [], zeros((channels, padded_rows, padded_cols))
    for i, dy_i in enumerate(dy):
        dilated = dilate2d(dy_i, stride)
        # Rows/columns of the padded input that no window reached (when
        # (H + 2P - K) is not a multiple of S) get no gradient: extend the
        # dilated gradient with zeros to cover them.
        spare_rows = padded_rows - (len(dilated) + k_rows - 1)
        spare_cols = padded_cols - (len(dilated[0]) + k_cols - 1)
        dilated = pad2d(dilated, 0, spare_rows, 0, spare_cols)
        dkernels.append([correlate2d(x_j, dilated, "valid") for x_j in padded])
        for j in range(channels):
            dx_padded[j] = add(dx_padded[j], convolve2d(dilated, kernels[i][j], "full"))
    dx = [
        [row[padding : padding + width] for row in channel[padding : padding + height]]
        for channel in dx_padded
    ]
    if bias == "tied":
        dbiases = [math.fsum(value for row in dy_i for value in row) for dy_i in dy]
    else:
        dbiases = [[list(row) for row in dy_i] for dy_i in dy]
    return dx, dkernels, dbiases
