"""Max pooling over each channel of a volume (document 002).

Tie rule: when several elements of a window share the maximum, the first
one in row-major order within the window is the argmax; only it receives
the gradient. Overlapping windows (stride < window) add their gradients.
"""

from .correlation import output_size
from .tensor import require_positive_int, require_rank, zeros


def maxpool2d_forward(x, window, stride):
    """(y, argmax): argmax[c][r][s] = [row, col] of the maximum in x[c]."""
    require_positive_int(window, "window")
    require_positive_int(stride, "stride")
    channels, height, width = require_rank(x, 3, "x")
    if window > height or window > width:
        raise ValueError(f"window: {window} is larger than the input {height}x{width}")
    out_rows = output_size(height, window, "valid", stride)
    out_cols = output_size(width, window, "valid", stride)
    y, argmax = [], []
    for channel in x:
        y_c, arg_c = [], []
        for r in range(out_rows):
            y_row, arg_row = [], []
            for c in range(out_cols):
                best = None
                for u in range(window):
                    for v in range(window):
                        row, col = r * stride + u, c * stride + v
                        if best is None or channel[row][col] > channel[best[0]][best[1]]:
                            best = (row, col)
                y_row.append(channel[best[0]][best[1]])
                arg_row.append(list(best))
            y_c.append(y_row)
            arg_c.append(arg_row)
        y.append(y_c)
        argmax.append(arg_c)
    return y, argmax


def maxpool2d_backward(dy, argmax, input_shape):
    """Route each dy element to the input position its argmax names."""
    channels, height, width = input_shape
    dy_shape = require_rank(dy, 3, "dy")
    arg_shape = require_rank(argmax, 4, "argmax")
    if arg_shape != dy_shape + (2,):
        raise ValueError(f"argmax: shape {arg_shape} does not match dy shape {dy_shape} + (2,)")
    if dy_shape[0] != channels:
        raise ValueError(f"dy: {dy_shape[0]} channels but the input has {channels}")
    dx = zeros((channels, height, width))
    for ch in range(channels):
        for r, row in enumerate(dy[ch]):
            for c, gradient in enumerate(row):
                i, j = argmax[ch][r][c]
                if not (0 <= i < height and 0 <= j < width):
                    raise ValueError(
                        f"argmax[{ch}][{r}][{c}]: position {[i, j]} is outside the input {height}x{width}"
                    )
                dx[ch][i][j] += gradient
    return dx
