"""Classification accuracy and argmax."""

from .tensor import require_rank, require_same_shape


def argmax(values):
    """Index of the first largest value."""
    require_rank(values, 1, "values")
    return max(range(len(values)), key=lambda i: (values[i], -i))


def accuracy(y_true, y_pred):
    """Fraction of positions where the predicted label equals the true one."""
    require_rank(y_true, 1, "y_true")
    require_same_shape(y_true, y_pred, "y_true", "y_pred")
    return sum(1 for t, p in zip(y_true, y_pred) if t == p) / len(y_true)
