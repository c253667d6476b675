"""Fresh cases: one generator per op, wide and adversarial, for `verify`'s
run-time cases (oracle.conformance.fresh), and the Choices that drive them.

A generator makes every decision through `draw` (a Choices): shapes,
stride, padding, window, a value kind and a value seed. Its arrays are
filled from a NumPy generator seeded by the drawn seed, so a case, however
large its arrays, is a short list of small integers. Generating draws them
uniformly at random; shrinking replays the list with entries lowered, and
every entry's lowest value is the simplest: shapes 1, stride 1, padding 0,
the first value kind (small integers, which make every sum exact), seed 0.

Every generator takes `wide`: False keeps values within [-3, 3], where the
float32 tier of oracle.tolerance was measured (inputs of magnitude 100 or
logits of 1000 make float32 results legitimately differ by more: they are
float64 checks).

Ranges are what real implementations get wrong: 1-4 channels and kernels,
square and rectangular inputs and kernels from 1x1 to 11x11, a kernel as
large as the input, stride 1-3 dividing the input or not, padding 0-2,
tied and untied biases, pooling windows that overlap, leave the input's
edge uncovered, or hold tied maxima, logits of +-1000, predictions exactly
at 0 and 1, ReLU inputs exactly at 0 (forward only: the derivative there
is a convention). A case with a backward keeps its differentiable inputs
away from kinks, as oracle.samples does.
"""

import numpy as np


class Choices:
    """The decisions of one case: drawn at random (rng given), or replayed
    from `replay`, a list of offsets above each draw's lowest value (a
    missing or too large entry replays as the lowest). `record` holds the
    offsets this case used, for shrinking."""

    def __init__(self, rng=None, replay=None):
        self.rng, self.replay, self.record = rng, replay, []

    def integer(self, low, high):
        span = high - low
        if self.replay is None:
            offset = int(self.rng.integers(0, span + 1))
        else:
            position = len(self.record)
            offset = self.replay[position] if position < len(self.replay) else 0
            offset = offset if 0 <= offset <= span else 0
        self.record.append(offset)
        return low + offset

    def boolean(self):
        return bool(self.integer(0, 1))

    def choice(self, options):
        return options[self.integer(0, len(options) - 1)]


VALUE_KINDS = ("small integers", "reals", "wide reals")
KINK_MARGIN = 0.1
CLIPPING_TOLERANCE = {"abs": 1e-6, "rel": 1e-6}


def _fill(seed, kind, dims):
    """An array of `dims` filled from `seed`: small integers (exact sums),
    reals in [-1, 1], or reals of magnitude up to 100."""
    rng = np.random.default_rng(seed)
    if kind == "small integers":
        return rng.integers(-3, 4, size=dims).astype(float)
    scale = 1.0 if kind == "reals" else 100.0
    return rng.uniform(-scale, scale, size=dims)


class Values:
    """Named arrays of one case, each from the case's seed and value kind."""

    def __init__(self, seed, kind):
        self.seed, self.kind, self.count = seed, kind, 0

    def __call__(self, dims, kind=None):
        self.count += 1
        return _fill((self.seed, self.count), kind or self.kind, tuple(dims))

    def away_from_zero(self, dims):
        """Magnitudes of at least KINK_MARGIN, either sign."""
        raw = self(dims)
        magnitude = np.maximum(np.abs(raw), KINK_MARGIN)
        return np.where(raw < 0, -magnitude, magnitude)

    def distinct(self, dims):
        """No two values within 2 * KINK_MARGIN: one clear maximum per window."""
        count = int(np.prod(dims))
        order = np.random.default_rng((self.seed, self.count, 7)).permutation(count)
        self.count += 1
        return ((order - count / 2) * 2 * KINK_MARGIN).reshape(dims)


def _values(draw, wide):
    kinds = VALUE_KINDS if wide else VALUE_KINDS[:2]
    return Values(draw.integer(0, 2**32 - 1), draw.choice(kinds))


def _lists(case, **options):
    """(inputs, params, options) with arrays as nested lists, as fixtures
    hold them. options: "tolerance" (default: the golden cases'), and
    "unchecked": {output: [index, ...]} of elements left unjudged."""
    inputs, params = case
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}, params, options


def _maybe_huge(draw, x, wide):
    """x, or x scaled so that its largest magnitude is 1000 (a logit where a
    formula without the max shift, or exp of a large number, overflows)."""
    if not (wide and draw.boolean()):
        return x
    return x * 1000.0 / max(float(np.abs(x).max()), 1.0)


def _size(draw, low, high):
    return draw.integer(low, high)


# ---- convolution and correlation ----


def conv2d(draw, wide=True):
    values = _values(draw, wide)
    channels, depth = _size(draw, 1, 4), _size(draw, 1, 4)
    k_rows, k_cols = _size(draw, 1, 5), _size(draw, 1, 5)
    stride, padding = _size(draw, 1, 3), _size(draw, 0, 2)
    if draw.integer(0, 4) == 0:  # the kernel covers the whole (padded) input, one case in five
        height, width = max(k_rows - 2 * padding, 1), max(k_cols - 2 * padding, 1)
    else:
        height = _size(draw, max(k_rows - 2 * padding, 1), 11)
        width = _size(draw, max(k_cols - 2 * padding, 1), 11)
        if stride > 1 and draw.boolean():
            # As many rows and columns as the stride can leave over, past the
            # padding into the input: code that sizes dx from the output loses them.
            height += (stride - 1 - (height + 2 * padding - k_rows)) % stride
            width += (stride - 1 - (width + 2 * padding - k_cols)) % stride
    out_rows = (height + 2 * padding - k_rows) // stride + 1
    out_cols = (width + 2 * padding - k_cols) // stride + 1
    tied = draw.boolean()
    inputs = {
        "x": values((channels, height, width)),
        "kernels": values((depth, channels, k_rows, k_cols)),
        "biases": values((depth,) if tied else (depth, out_rows, out_cols)),
        "dy": values((depth, out_rows, out_cols)),
    }
    return _lists((inputs, {"stride": stride, "padding": padding, "bias": "tied" if tied else "untied"}))


def correlation(draw, wide=True):
    values = _values(draw, wide)
    k_rows, k_cols = _size(draw, 1, 5), _size(draw, 1, 5)
    rows, cols = _size(draw, k_rows, 11), _size(draw, k_cols, 11)
    mode = draw.choice(("valid", "full"))
    return _lists(({"x": values((rows, cols)), "k": values((k_rows, k_cols))}, {"mode": mode}))


def rot180(draw, wide=True):
    values = _values(draw, wide)
    return _lists(({"k": values((_size(draw, 1, 6), _size(draw, 1, 6)))}, {}))


# ---- reshape and dense ----


def reshape(draw, wide=True):
    values = _values(draw, wide)
    dims = (_size(draw, 1, 4), _size(draw, 1, 6), _size(draw, 1, 6))
    size = int(np.prod(dims))
    target = draw.choice(([size], [size, 1], [1, size], [dims[0], dims[1] * dims[2]]))
    return _lists(({"x": values(dims), "dy": values(target)}, {"shape": target}))


def dense(draw, wide=True):
    values = _values(draw, wide)
    n_in, n_out = _size(draw, 1, 12), _size(draw, 1, 10)
    inputs = {
        "x": values((n_in,)),
        "weights": values((n_out, n_in)),
        "bias": values((n_out,)),
        "dy": values((n_out,)),
    }
    return _lists((inputs, {}))


def dense_batch(draw, wide=True):
    values = _values(draw, wide)
    size, n_in, n_out = _size(draw, 1, 6), _size(draw, 1, 12), _size(draw, 1, 10)
    x = values((size, n_in))
    if size > 1 and draw.boolean():  # one sample repeated: a batch mix-up shows as a wrong mean
        x = np.repeat(x[:1], size, axis=0)
    inputs = {"x": x, "weights": values((n_out, n_in)), "bias": values((n_out,)), "dy": values((size, n_out))}
    return _lists((inputs, {}))


# ---- activations ----


def _activation_dims(draw):
    return draw.choice(((_size(draw, 1, 6),), (_size(draw, 1, 4), _size(draw, 1, 6))))


def smooth_activation(draw, wide=True):
    values = _values(draw, wide)
    dims = _activation_dims(draw)
    x = values(dims)
    if wide and draw.boolean():  # far out on both tails, where a naive formula overflows
        steps = values(dims, "small integers").astype(int)
        x = np.sign(steps) * np.array([0.0, 1.0, 40.0, 1000.0])[np.abs(steps)]
    return _lists(({"x": x, "dy": values(dims)}, {}))


def kinked_activation(draw, wide=True, slopes=(None,)):
    values = _values(draw, wide)
    dims = _activation_dims(draw)
    slope = draw.choice(slopes)
    params = {} if slope is None else {"slope": slope}
    if draw.boolean():  # inputs exactly at the kink, forward only
        x = values(dims, "small integers")
        x[(0,) * len(dims)] = 0.0
        return _lists(({"x": x}, params))
    return _lists(({"x": values.away_from_zero(dims), "dy": values(dims)}, params))


def leaky_relu(draw, wide=True):
    return kinked_activation(draw, wide, slopes=(0.01, 0.2, 0.5))


def vector_activation(draw, wide=True):
    values = _values(draw, wide)
    n = _size(draw, 1, 8)
    return _lists(({"x": _maybe_huge(draw, values((n,)), wide), "dy": values((n,))}, {}))


# ---- losses ----


def _labels(values, n):
    return (values((n,), "reals") > 0).astype(float)


def probability_loss(draw, wide=True):
    values = _values(draw, wide)
    n = _size(draw, 1, 8)
    y_true = _labels(values, n)
    y_pred = 0.05 + 0.9 * (values((n,), "reals") + 1.0) / 2.0
    if not draw.boolean():
        return _lists(({"y_true": y_true, "y_pred": y_pred}, {}))
    # Confident and right: predictions exactly at their labels, 0 and 1, where
    # log(0) needs clipping. Clipping conventions (1e-12 here, 1e-7 in Keras)
    # move the loss by about their epsilon: the tolerance admits that. The
    # derivative there is a convention too (torch gives 0, the clipped
    # formula -1/n): those elements are not judged.
    at_label = values((n,), "reals") > 0
    y_pred = np.where(at_label, y_true, y_pred)
    unchecked = {"dy_pred": [int(i) for i in np.flatnonzero(at_label)]}
    return _lists(
        ({"y_true": y_true, "y_pred": y_pred}, {}), tolerance=CLIPPING_TOLERANCE, unchecked=unchecked
    )


def regression_loss(draw, wide=True):
    values = _values(draw, wide)
    n = _size(draw, 1, 8)
    return _lists(({"y_true": values((n,)), "y_pred": values((n,))}, {}))


def logit_loss(draw, wide=True):
    values = _values(draw, wide)
    n = _size(draw, 1, 8)
    return _lists(({"y_true": _labels(values, n), "z": _maybe_huge(draw, values((n,)), wide)}, {}))


def _one_hot(values, n):
    hot = int(np.argmax(values((n,), "reals")))
    return np.eye(n)[hot]


def categorical_loss(draw, wide=True):
    values = _values(draw, wide)
    n = _size(draw, 2, 8)
    raw = 0.05 + (values((n,), "reals") + 1.0) / 2.0
    return _lists(({"y_true": _one_hot(values, n), "y_pred": raw / raw.sum()}, {}))


def softmax_logit_loss(draw, wide=True):
    values = _values(draw, wide)
    n = _size(draw, 2, 8)
    return _lists(({"y_true": _one_hot(values, n), "z": _maybe_huge(draw, values((n,)), wide)}, {}))


# ---- pooling ----


def maxpool2d(draw, wide=True):
    values = _values(draw, wide)
    window, stride = _size(draw, 1, 4), _size(draw, 1, 4)  # overlapping, tiling, or leaving gaps
    dims = (_size(draw, 1, 3), _size(draw, window, 11), _size(draw, window, 11))
    out = (dims[0], (dims[1] - window) // stride + 1, (dims[2] - window) // stride + 1)
    if draw.boolean():  # small integers: tied maxima, the documented rule decides
        x = values(dims, "small integers")
    else:
        x = values.distinct(dims)
    return _lists(({"x": x, "dy": values(out)}, {"window": window, "stride": stride}))


# ---- optimizers and the rest ----


def _parameter_dims(draw):
    return (_size(draw, 1, 5), _size(draw, 1, 5))


def sgd(draw, wide=True):
    values = _values(draw, wide)
    dims = _parameter_dims(draw)
    rate = draw.choice((0.5, 0.1, 0.01, 1.0))
    return _lists(({"param": values(dims), "grad": values(dims)}, {"learning_rate": rate}))


def rmsprop(draw, wide=True):
    values = _values(draw, wide)
    dims = _parameter_dims(draw)
    params = {
        "learning_rate": draw.choice((0.001, 0.01, 0.1)),
        "rho": draw.choice((0.9, 0.5, 0.99)),
        "epsilon": draw.choice((1e-7, 1e-3, 0.1)),
    }
    cache = np.abs(values(dims, "reals"))
    return _lists(({"param": values(dims), "grad": values(dims), "cache": cache}, params))


def accuracy(draw, wide=True):
    values = _values(draw, wide)
    n = _size(draw, 1, 12)
    classes = _size(draw, 2, 4)
    labels = np.floor((values((2, n), "reals") + 1.0) / 2.0 * classes).clip(0, classes - 1).astype(int)
    return _lists(({"y_true": labels[0], "y_pred": labels[1]}, {}))


def dense_parameter_count(draw, wide=True):
    return _lists(({"input_size": _size(draw, 1, 5000), "output_size": _size(draw, 1, 5000)}, {}))
