"""Losses and their derivatives with respect to the prediction.

Inputs are vectors (one value per output unit); n is their length.

Predictions at exactly 0 or 1: the logarithm is undefined there, so
binary and categorical cross-entropy evaluate their formula at the
prediction clipped to [PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON]. The
result is finite (bce(1, 0) = -log(1e-12) = 27.63...) and equals the
unclipped formula everywhere inside that interval. The derivative is the
formula's derivative at the clipped point, not the zero gradient of a clip.
"""

import math

from .activations import _sigmoid, softmax_forward
from .tensor import require_rank, require_same_shape

PROBABILITY_EPSILON = 1e-12


def _pair(y_true, y_pred, pred_name="y_pred"):
    require_rank(y_true, 1, "y_true")
    require_same_shape(y_true, y_pred, "y_true", pred_name)
    return len(y_true)


def _clip(p):
    return min(max(p, PROBABILITY_EPSILON), 1.0 - PROBABILITY_EPSILON)


def binary_cross_entropy(y_true, y_pred):
    """E = -1/n sum [y log p + (1 - y) log(1 - p)] (natural log)."""
    n = _pair(y_true, y_pred)
    terms = []
    for y, p in zip(y_true, y_pred):
        p = _clip(p)
        terms.append(y * math.log(p) + (1.0 - y) * math.log(1.0 - p))
    return -math.fsum(terms) / n


def binary_cross_entropy_prime(y_true, y_pred):
    """dE/dp_i = 1/n [(1 - y_i) / (1 - p_i) - y_i / p_i]."""
    n = _pair(y_true, y_pred)
    return [((1.0 - y) / (1.0 - _clip(p)) - y / _clip(p)) / n for y, p in zip(y_true, y_pred)]


def sigmoid_bce(y_true, z):
    """Mean BCE of sigmoid(z), from the logits z, in the stable form
    max(z, 0) - z y + log(1 + exp(-|z|)): exact even where sigmoid(z)
    rounds to 0 or 1 (z = 1000, y = 0 gives 1000, not -log(epsilon))."""
    n = _pair(y_true, z, "z")
    return math.fsum(max(v, 0.0) - v * y + math.log1p(math.exp(-abs(v))) for y, v in zip(y_true, z)) / n


def sigmoid_bce_prime(y_true, z):
    """Fused gradient w.r.t. the logits (document 004): dZ = (A - Y) / n."""
    n = _pair(y_true, z, "z")
    return [(_sigmoid(v) - y) / n for y, v in zip(y_true, z)]


def mse(y_true, y_pred):
    """E = 1/n sum (p - y)^2."""
    n = _pair(y_true, y_pred)
    return math.fsum((p - y) ** 2 for y, p in zip(y_true, y_pred)) / n


def mse_prime(y_true, y_pred):
    n = _pair(y_true, y_pred)
    return [2.0 * (p - y) / n for y, p in zip(y_true, y_pred)]


def half_squared_error(y_true, y_pred):
    """E = 1/2 sum (p - y)^2 (document 003); its derivative has no factor."""
    _pair(y_true, y_pred)
    return 0.5 * math.fsum((p - y) ** 2 for y, p in zip(y_true, y_pred))


def half_squared_error_prime(y_true, y_pred):
    _pair(y_true, y_pred)
    return [p - y for y, p in zip(y_true, y_pred)]


def categorical_cross_entropy(y_true, y_pred):
    """E = -sum_k y_k log p_k for one sample (p a probability vector)."""
    _pair(y_true, y_pred)
    return -math.fsum(y * math.log(_clip(p)) for y, p in zip(y_true, y_pred))


def categorical_cross_entropy_prime(y_true, y_pred):
    _pair(y_true, y_pred)
    return [-y / _clip(p) for y, p in zip(y_true, y_pred)]


def softmax_cce(y_true, z):
    """Categorical cross-entropy of softmax(z), from the logits z, with
    log-sum-exp: -sum_k y_k (z_k - logsumexp(z)), exact for large logits."""
    _pair(y_true, z, "z")
    top = max(z)
    log_sum_exp = top + math.log(math.fsum(math.exp(v - top) for v in z))
    return -math.fsum(y * (v - log_sum_exp) for y, v in zip(y_true, z))


def softmax_cce_prime(y_true, z):
    """Fused gradient w.r.t. the logits: softmax(z) - y (y sums to 1)."""
    _pair(y_true, z, "z")
    return [p - y for y, p in zip(y_true, softmax_forward(z))]
