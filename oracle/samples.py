"""Random valid inputs for each op, from a seeded random.Random.

Each generator takes (rng, batch): with batch=None one case, with batch=N
the per-sample inputs (the op's batch_inputs) get a leading axis of N
samples of one shape, while the shared ones (kernels, weights, ...) stay
single. Values keep a margin from kinks: ReLU inputs stay at least
KINK_MARGIN away from 0 and max-pooling windows have one clear maximum, so
a central difference with step < KINK_MARGIN / 2 never crosses a kink.
"""

import math
import random

from reference.tensor import unflatten

KINK_MARGIN = 0.1


def _array(rng, dims, low=-1.0, high=1.0):
    if not dims:
        return rng.uniform(low, high)
    return [_array(rng, dims[1:], low, high) for _ in range(dims[0])]


def _per_sample(batch, make):
    return make() if batch is None else [make() for _ in range(batch)]


def _away_from_zero(rng, dims):
    if not dims:
        return rng.choice((-1, 1)) * rng.uniform(KINK_MARGIN, 1.0)
    return [_away_from_zero(rng, dims[1:]) for _ in range(dims[0])]


def _probabilities(rng, n):
    return [rng.uniform(0.05, 0.95) for _ in range(n)]


def _one_hot(rng, n):
    hot = rng.randrange(n)
    return [1.0 if i == hot else 0.0 for i in range(n)]


def _distinct(rng, dims, spacing):
    """Values spaced at least `spacing` apart, shuffled: no ties anywhere."""
    count = 1
    for d in dims:
        count *= d
    values = [spacing * (i - count / 2) for i in range(count)]
    rng.shuffle(values)
    return unflatten(values, tuple(dims))


def conv2d(rng, batch=None):
    channels, depth = rng.randint(1, 3), rng.randint(1, 3)
    k_rows, k_cols = rng.randint(1, 3), rng.randint(1, 3)
    stride, padding = rng.randint(1, 2), rng.randint(0, 1)
    height = rng.randint(max(k_rows - 2 * padding, 1), 6)
    width = rng.randint(max(k_cols - 2 * padding, 1), 6)
    out_rows = (height + 2 * padding - k_rows) // stride + 1
    out_cols = (width + 2 * padding - k_cols) // stride + 1
    tied = rng.random() < 0.5
    inputs = {
        "x": _per_sample(batch, lambda: _array(rng, (channels, height, width))),
        "kernels": _array(rng, (depth, channels, k_rows, k_cols)),
        "biases": _array(rng, (depth,) if tied else (depth, out_rows, out_cols)),
        "dy": _per_sample(batch, lambda: _array(rng, (depth, out_rows, out_cols))),
    }
    return inputs, {"stride": stride, "padding": padding, "bias": "tied" if tied else "untied"}


def correlation(rng, batch=None):
    mode = rng.choice(("valid", "full"))
    k_rows, k_cols = rng.randint(1, 3), rng.randint(1, 3)
    dims = (rng.randint(k_rows, 5), rng.randint(k_cols, 5))
    return {"x": _per_sample(batch, lambda: _array(rng, dims)), "k": _array(rng, (k_rows, k_cols))}, {
        "mode": mode
    }


def rot180(rng, batch=None):
    return {"k": _array(rng, (rng.randint(1, 4), rng.randint(1, 4)))}, {}


def reshape(rng, batch=None):
    dims = (rng.randint(1, 3), rng.randint(1, 3), rng.randint(1, 3))
    size = dims[0] * dims[1] * dims[2]
    return {
        "x": _per_sample(batch, lambda: _array(rng, dims)),
        "dy": _per_sample(batch, lambda: _array(rng, (size, 1))),
    }, {"shape": [size, 1]}


def dense(rng, batch=None):
    n_in, n_out = rng.randint(1, 5), rng.randint(1, 4)
    return {
        "x": _per_sample(batch, lambda: _array(rng, (n_in,))),
        "weights": _array(rng, (n_out, n_in)),
        "bias": _array(rng, (n_out,)),
        "dy": _per_sample(batch, lambda: _array(rng, (n_out,))),
    }, {}


def dense_batch(rng, batch=None):
    """Batched by nature: x is (N, in) whatever `batch` says."""
    size, n_in, n_out = batch or rng.randint(1, 4), rng.randint(1, 5), rng.randint(1, 4)
    return {
        "x": _array(rng, (size, n_in)),
        "weights": _array(rng, (n_out, n_in)),
        "bias": _array(rng, (n_out,)),
        "dy": _array(rng, (size, n_out)),
    }, {}


def _activation(rng, batch, values):
    dims = (rng.randint(1, 3), rng.randint(1, 4))
    return {
        "x": _per_sample(batch, lambda: values(dims)),
        "dy": _per_sample(batch, lambda: _array(rng, dims)),
    }, {}


def smooth_activation(rng, batch=None):
    return _activation(rng, batch, lambda dims: _array(rng, dims, -3.0, 3.0))


def kinked_activation(rng, batch=None):
    return _activation(rng, batch, lambda dims: _away_from_zero(rng, dims))


def leaky_relu(rng, batch=None):
    inputs, _ = kinked_activation(rng, batch)
    return inputs, {"slope": rng.choice((0.01, 0.2))}


def vector_activation(rng, batch=None):
    n = rng.randint(1, 5)
    return {
        "x": _per_sample(batch, lambda: _array(rng, (n,), -3.0, 3.0)),
        "dy": _per_sample(batch, lambda: _array(rng, (n,))),
    }, {}


def _loss(rng, batch, n, targets, predictions, prediction="y_pred"):
    return {
        "y_true": _per_sample(batch, lambda: targets(n)),
        prediction: _per_sample(batch, lambda: predictions(n)),
    }, {}


def _labels(rng):
    return lambda n: [float(rng.randint(0, 1)) for _ in range(n)]


def probability_loss(rng, batch=None):
    return _loss(rng, batch, rng.randint(1, 5), _labels(rng), lambda n: _probabilities(rng, n))


def regression_loss(rng, batch=None):
    return _loss(rng, batch, rng.randint(1, 5), lambda n: _array(rng, (n,)), lambda n: _array(rng, (n,)))


def logit_loss(rng, batch=None):
    return _loss(rng, batch, rng.randint(1, 5), _labels(rng), lambda n: _array(rng, (n,), -4.0, 4.0), "z")


def categorical_loss(rng, batch=None):
    def probabilities(n):
        raw = _probabilities(rng, n)
        total = math.fsum(raw)  # not sum(): Python 3.12 changed how sum() rounds floats
        return [p / total for p in raw]

    return _loss(rng, batch, rng.randint(2, 5), lambda n: _one_hot(rng, n), probabilities)


def softmax_logit_loss(rng, batch=None):
    return _loss(
        rng, batch, rng.randint(2, 5), lambda n: _one_hot(rng, n), lambda n: _array(rng, (n,), -4.0, 4.0), "z"
    )


def maxpool2d(rng, batch=None):
    window, stride = rng.randint(1, 3), rng.randint(1, 3)
    dims = (rng.randint(1, 2), rng.randint(window, 6), rng.randint(window, 6))
    out = (dims[0], (dims[1] - window) // stride + 1, (dims[2] - window) // stride + 1)
    return {
        "x": _per_sample(batch, lambda: _distinct(rng, dims, 2 * KINK_MARGIN)),
        "dy": _per_sample(batch, lambda: _array(rng, out)),
    }, {"window": window, "stride": stride}


def sgd(rng, batch=None):
    dims = (rng.randint(1, 3), rng.randint(1, 3))
    return {"param": _array(rng, dims), "grad": _array(rng, dims)}, {"learning_rate": rng.uniform(0.001, 0.5)}


def rmsprop(rng, batch=None):
    dims = (rng.randint(1, 3), rng.randint(1, 3))
    return {
        "param": _array(rng, dims),
        "grad": _array(rng, dims),
        "cache": _array(rng, dims, 0.0, 1.0),
    }, {"learning_rate": rng.uniform(0.0001, 0.01)}


def accuracy(rng, batch=None):
    n = rng.randint(1, 8)
    return {
        "y_true": [rng.randint(0, 2) for _ in range(n)],
        "y_pred": [rng.randint(0, 2) for _ in range(n)],
    }, {}


def dense_parameter_count(rng, batch=None):
    return {"input_size": rng.randint(1, 1000), "output_size": rng.randint(1, 1000)}, {}


def draw(generator, seed, batch=None):
    """One sample from `generator`, reproducible from `seed`."""
    return generator(random.Random(seed), batch)
