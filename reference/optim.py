"""Parameter updates. Pure: they return new values, nothing is mutated."""

import math

from .tensor import elementwise, require_same_shape


def sgd(param, grad, learning_rate):
    """param - learning_rate * grad, elementwise over any nested shape."""
    require_same_shape(param, grad, "param", "grad")
    return elementwise(lambda p, g: p - learning_rate * g, param, grad)


def rmsprop(param, grad, cache, learning_rate=0.001, rho=0.9, epsilon=1e-7):
    """Keras RMSprop (tf.keras defaults rho 0.9, epsilon 1e-7, no momentum):
    cache = rho cache + (1 - rho) grad^2;  param -= lr grad / (sqrt(cache) + eps).
    Returns (new_param, new_cache)."""
    require_same_shape(param, grad, "param", "grad")
    require_same_shape(param, cache, "param", "cache")
    new_cache = elementwise(lambda c, g: rho * c + (1.0 - rho) * g * g, cache, grad)
    new_param = elementwise(
        lambda p, g, c: p - learning_rate * g / (math.sqrt(c) + epsilon), param, grad, new_cache
    )
    return new_param, new_cache
