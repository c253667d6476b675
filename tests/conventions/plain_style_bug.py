"""plain_style with one planted bug: softmax must fail (its dx).

The softmax backward keeps only the diagonal of the Jacobian,
dx = s (1 - s) dy, dropping the -s_i s_j terms that couple the outputs.
Every other op is plain_style's own.
"""

from plain_style import *  # noqa: F403
from plain_style import ARRAYS, softmax  # noqa: F401


def softmax_backward(x, dy):
    s = softmax(x)
    return dy * s * (1 - s)  # BUG (softmax, dx): the elementwise sigmoid-style derivative, not the VJP
