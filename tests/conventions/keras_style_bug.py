"""keras_style with one planted bug: conv2d must fail (its dkernels).

The kernel gradient is computed filter-major, (F, kh, kw, C), and then
reshaped instead of transposed into the HWIO layout (kh, kw, C, F): the
numbers land in the wrong places whenever a kernel has more than one input
or output channel. Every other op is keras_style's own.
"""

import numpy as np
from keras_style import *  # noqa: F403
from keras_style import CONVENTIONS, conv2d_grads  # noqa: F401


def conv2d_backward(x, kernels, dy, stride, padding, bias="tied"):
    d_inputs, d_kernel, d_bias = conv2d_grads(x, kernels, dy, stride, padding)
    # BUG (conv2d, dkernels): (F, kh, kw, C) reshaped to (kh, kw, C, F) where a transpose was needed.
    return d_inputs, np.reshape(d_kernel.transpose(3, 0, 1, 2), d_kernel.shape), d_bias
