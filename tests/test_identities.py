"""Identities that pin the reference on random inputs (documents 000/001).

Integer inputs make every product and sum exact in float64, so the
identities are checked with ==, which pins flips, transposes and index
slips with no tolerance at all.
"""

import math

from hypothesis import given
from hypothesis import strategies as st

import reference as ref
from reference.tensor import flatten

small_int = st.integers(-5, 5)


def matrices(min_rows=1, max_rows=5, min_cols=1, max_cols=5):
    return st.tuples(st.integers(min_rows, max_rows), st.integers(min_cols, max_cols)).flatmap(
        lambda dims: st.lists(
            st.lists(small_int, min_size=dims[1], max_size=dims[1]), min_size=dims[0], max_size=dims[0]
        )
    )


def arrays(dims):
    if not dims:
        return small_int
    return st.lists(arrays(dims[1:]), min_size=dims[0], max_size=dims[0])


def inner(a, b):
    return math.fsum(u * v for u, v in zip(flatten(a), flatten(b)))


@st.composite
def image_and_kernel(draw):
    k = draw(matrices(1, 3, 1, 3))
    x = draw(matrices(len(k), 6, len(k[0]), 6))
    return x, k


@given(image_and_kernel(), st.sampled_from(["valid", "full"]))
def test_convolution_is_correlation_with_rotated_kernel(pair, mode):
    x, k = pair
    assert ref.convolve2d(x, k, mode) == ref.correlate2d(x, ref.rot180(k), mode)


@given(matrices())
def test_rot180_twice_is_identity(k):
    assert ref.rot180(ref.rot180(k)) == k


@given(image_and_kernel())
def test_output_size_rules(pair):
    x, k = pair
    valid, full = ref.correlate2d(x, k, "valid"), ref.correlate2d(x, k, "full")
    assert (len(valid), len(valid[0])) == (len(x) - len(k) + 1, len(x[0]) - len(k[0]) + 1)
    assert (len(full), len(full[0])) == (len(x) + len(k) - 1, len(x[0]) + len(k[0]) - 1)


@given(image_and_kernel(), st.data())
def test_adjoint_identity_makes_the_input_gradient_right(pair, data):
    """<corr(x, k), g> = <x, full-conv(g, k)>: full convolution is the transpose."""
    x, k = pair
    y = ref.correlate2d(x, k, "valid")
    g = data.draw(arrays((len(y), len(y[0]))))
    assert inner(y, g) == inner(x, ref.convolve2d(g, k, "full"))


@st.composite
def conv_layers(draw, stride_padding=True):
    channels, depth = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k_rows, k_cols = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3)) if stride_padding else 1
    padding = draw(st.integers(0, 2)) if stride_padding else 0
    height = draw(st.integers(max(1, k_rows - 2 * padding), 7))
    width = draw(st.integers(max(1, k_cols - 2 * padding), 7))
    x = draw(arrays((channels, height, width)))
    kernels = draw(arrays((depth, channels, k_rows, k_cols)))
    out = (
        ref.output_size(height, k_rows, "valid", stride, padding),
        ref.output_size(width, k_cols, "valid", stride, padding),
    )
    dy = draw(arrays((depth,) + out))
    return x, kernels, dy, stride, padding


@given(conv_layers(stride_padding=False))
def test_conv_layer_backward_is_the_documents_formulas(layer):
    """dK_ij = X_j * dY_i, dB_i = dY_i, dX_j = sum_i dY_i full-conv K_ij (document 000)."""
    x, kernels, dy, _, _ = layer
    dx, dkernels, dbiases = ref.conv2d_backward(x, kernels, dy)
    for i, dy_i in enumerate(dy):
        for j, x_j in enumerate(x):
            assert dkernels[i][j] == ref.correlate2d(x_j, dy_i, "valid")
    assert dbiases == dy
    for j in range(len(x)):
        total = [[0] * len(x[0][0]) for _ in x[0]]
        for i, dy_i in enumerate(dy):
            full = ref.convolve2d(dy_i, kernels[i][j], "full")
            total = [[a + b for a, b in zip(ra, rb)] for ra, rb in zip(total, full)]
        assert dx[j] == total


@given(conv_layers())
def test_strided_padded_conv_backward_is_the_adjoint(layer):
    """<conv(x, K), dy> = <x, dx> = <K, dK>: the layer is linear in x and in K."""
    x, kernels, dy, stride, padding = layer
    zero_biases = [0] * len(kernels)
    y = ref.conv2d_forward(x, kernels, zero_biases, stride, padding)
    dx, dkernels, dbiases = ref.conv2d_backward(x, kernels, dy, stride, padding, bias="tied")
    assert inner(y, dy) == inner(x, dx) == inner(kernels, dkernels)
    assert dbiases == [sum(flatten(dy_i)) for dy_i in dy]


@given(st.integers(1, 5), st.integers(1, 4), st.data())
def test_dense_layer_is_a_1x1_convolution_over_a_1x1_volume(n_in, n_out, data):
    """Document 001: the dense layer is the conv layer with 1x1 matrices."""
    x = data.draw(arrays((n_in,)))
    weights = data.draw(arrays((n_out, n_in)))
    bias = data.draw(arrays((n_out,)))
    dy = data.draw(arrays((n_out,)))
    volume = [[[v]] for v in x]
    kernels = [[[[w]] for w in row] for row in weights]
    conv_y = ref.conv2d_forward(volume, kernels, [[[b]] for b in bias])
    assert [out[0][0] for out in conv_y] == ref.dense_forward(x, weights, bias)
    dx, dweights, dbias = ref.dense_backward(x, weights, dy)
    cdx, cdk, cdb = ref.conv2d_backward(volume, kernels, [[[g]] for g in dy])
    assert [c[0][0] for c in cdx] == dx
    assert [[k[0][0] for k in row] for row in cdk] == dweights
    assert [b[0][0] for b in cdb] == dbias


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.data())
def test_dense_batch_gradients_are_the_mean_of_per_sample_gradients(batch, n_in, n_out, data):
    x = data.draw(arrays((batch, n_in)))
    weights = data.draw(arrays((n_out, n_in)))
    dy = data.draw(arrays((batch, n_out)))
    dx, dweights, dbias = ref.dense_batch_backward(x, weights, dy)
    singles = [ref.dense_backward(x_n, weights, dy_n) for x_n, dy_n in zip(x, dy)]
    assert dx == [s[0] for s in singles]
    for o in range(n_out):
        assert math.isclose(dbias[o], sum(s[2][o] for s in singles) / batch, rel_tol=1e-15, abs_tol=1e-15)
        for i in range(n_in):
            assert math.isclose(
                dweights[o][i], sum(s[1][o][i] for s in singles) / batch, rel_tol=1e-15, abs_tol=1e-15
            )


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.data())
def test_reshape_round_trip(c, h, w, data):
    x = data.draw(arrays((c, h, w)))
    flat = ref.reshape_forward(x, [c * h * w, 1])
    assert [row[0] for row in flat] == flatten(x)
    assert ref.reshape_backward(flat, [c, h, w]) == x


@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(2, 6),
    st.integers(2, 6),
    st.randoms(use_true_random=False),
)
def test_maxpool_backward_is_the_adjoint_of_the_selection(window, stride, height, width, rng):
    height, width = max(height, window), max(width, window)
    values = list(range(height * width))
    rng.shuffle(values)  # distinct: no ties
    x = [[values[r * width : (r + 1) * width] for r in range(height)]]
    y, argmax = ref.maxpool2d_forward(x, window, stride)
    dy = [[[rng.randint(-3, 3) for _ in row] for row in y[0]]]
    dx = ref.maxpool2d_backward(dy, argmax, (1, height, width))
    assert inner(y, dy) == inner(x, dx)
    for r, row in enumerate(y[0]):
        for c, value in enumerate(row):
            i, j = argmax[0][r][c]
            assert x[0][i][j] == value
            assert r * stride <= i < r * stride + window and c * stride <= j < c * stride + window


@given(st.lists(st.floats(-8, 8), min_size=1, max_size=5), st.data())
def test_fused_sigmoid_bce_gradient_is_the_chain_rule(z, data):
    """Document 004: dZ = A - Y (per sample, over n outputs: (A - Y) / n)."""
    y = data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=len(z), max_size=len(z)))
    a = ref.sigmoid_forward(z)
    chained = ref.sigmoid_backward(z, ref.binary_cross_entropy_prime(y, a))
    fused = ref.sigmoid_bce_prime(y, z)
    assert all(math.isclose(c, f, rel_tol=1e-9, abs_tol=1e-12) for c, f in zip(chained, fused))


@given(st.lists(st.floats(-8, 8), min_size=2, max_size=5), st.data())
def test_fused_softmax_cce_gradient_is_the_chain_rule(z, data):
    hot = data.draw(st.integers(0, len(z) - 1))
    y = [1.0 if i == hot else 0.0 for i in range(len(z))]
    chained = ref.softmax_backward(z, ref.categorical_cross_entropy_prime(y, ref.softmax_forward(z)))
    fused = ref.softmax_cce_prime(y, z)
    assert all(math.isclose(c, f, rel_tol=1e-9, abs_tol=1e-12) for c, f in zip(chained, fused))


@given(st.lists(st.floats(-4, 4), min_size=1, max_size=6), st.data())
def test_half_squared_error_is_n_over_two_times_mse(y_pred, data):
    y_true = data.draw(st.lists(st.floats(-4, 4), min_size=len(y_pred), max_size=len(y_pred)))
    n = len(y_pred)
    assert math.isclose(
        ref.half_squared_error(y_true, y_pred), n / 2 * ref.mse(y_true, y_pred), rel_tol=1e-12, abs_tol=1e-15
    )


def test_sgd_update():
    assert ref.sgd([[1.0, -2.0]], [[0.5, 4.0]], 0.1) == [[0.95, -2.4]]


def test_rmsprop_first_step_from_zero_cache():
    """With cache 0: v = (1 - rho) g^2, step = lr g / (sqrt(v) + eps)."""
    g, lr, rho, eps = 0.5, 0.01, 0.9, 1e-7
    (param,), (cache,) = ref.rmsprop([1.0], [g], [0.0], lr, rho, eps)
    assert cache == (1 - rho) * g * g
    assert param == 1.0 - lr * g / (math.sqrt(0.1 * 0.25) + eps)
    assert math.isclose(param, 1.0 - lr / math.sqrt(0.1), rel_tol=1e-5)


def test_rmsprop_defaults_are_keras():
    param, cache = ref.rmsprop([0.0], [1.0], [1.0])
    assert cache == [0.9 * 1.0 + 0.1 * 1.0]
    assert param == [-0.001 * 1.0 / (1.0 + 1e-7)]


def test_accuracy_and_argmax():
    assert ref.accuracy([0, 1, 1, 0], [0, 1, 0, 0]) == 0.75
    assert ref.argmax([0.1, 0.7, 0.7, 0.2]) == 1
