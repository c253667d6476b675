"""Pure-Python reference implementations (standard library only).

One small module per op family; each op's backward sits next to its
forward. Functions are pure: nested lists in, new nested lists out.
"""

from .activations import (
    LEAKY_RELU_SLOPE,
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_backward,
    softmax_forward,
    tanh_backward,
    tanh_forward,
)
from .conv import bias_mode, conv2d_backward, conv2d_forward
from .correlation import convolve2d, correlate2d, output_size, rot180
from .dense import (
    dense_backward,
    dense_batch_backward,
    dense_batch_forward,
    dense_forward,
    dense_parameter_count,
)
from .losses import (
    PROBABILITY_EPSILON,
    binary_cross_entropy,
    binary_cross_entropy_prime,
    categorical_cross_entropy,
    categorical_cross_entropy_prime,
    half_squared_error,
    half_squared_error_prime,
    mse,
    mse_prime,
    sigmoid_bce,
    sigmoid_bce_prime,
    softmax_cce,
    softmax_cce_prime,
)
from .metrics import accuracy, argmax
from .optim import rmsprop, sgd
from .pooling import maxpool2d_backward, maxpool2d_forward
from .reshape import reshape_backward, reshape_forward
from .tensor import shape

__all__ = [name for name in dir() if not name.startswith("_")]
