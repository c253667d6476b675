"""course_style with one planted bug: dense_batch must fail (its dweights and dbias).

The batch backward sums the parameter gradients over the m samples instead
of averaging them (document 004's 1/m is missing); one sample (dense, or a
batch of one) is unaffected. Every other op is course_style's own.
"""

import numpy as np
from course_style import *  # noqa: F403
from course_style import ARRAYS, CONVENTIONS  # noqa: F401


def dense_batch_backward(x, weights, dy):
    # BUG (dense_batch, dweights and dbias): dW = dZ X^T and db = sum(dZ), without the 1/m.
    return np.dot(weights.T, dy), np.dot(dy, x.T), np.sum(dy, axis=1, keepdims=True)
