"""Bad input raises ValueError naming the argument and the problem."""

import pytest

import reference as ref

X = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
K = [[1.0, 0.0], [0.0, 1.0]]
VOLUME = [X]
KERNELS = [[K]]

BAD_CALLS = [
    ("ragged", lambda: ref.correlate2d([[1.0, 2.0], [3.0]], K), r"x: ragged list"),
    ("empty input", lambda: ref.correlate2d([], K), r"x: empty input"),
    ("empty row", lambda: ref.correlate2d([[]], K), r"x\[0\]: empty input"),
    ("not a number", lambda: ref.sigmoid_forward(["a"]), r"x\[0\]: expected a number"),
    ("a bool among numbers", lambda: ref.sigmoid_forward([1.0, True]), r"x\[1\]: expected a .*got bool"),
    ("a row then a number", lambda: ref.sigmoid_forward([[1.0], 2.0]), r"x: ragged list"),
    (
        "kernel too large",
        lambda: ref.correlate2d([[1.0]], K, "valid"),
        r"k: kernel 2x2 is larger than input x 1x1",
    ),
    ("unknown mode", lambda: ref.correlate2d(X, K, "same"), r"mode: must be 'valid' or 'full'"),
    ("matrix expected", lambda: ref.correlate2d(VOLUME, K), r"x: expected a matrix"),
    (
        "channel mismatch",
        lambda: ref.conv2d_forward(VOLUME, [[K, K]], [0.0]),
        r"kernels: 2 channels per kernel but x has 1",
    ),
    (
        "zero stride",
        lambda: ref.conv2d_forward(VOLUME, KERNELS, [0.0], stride=0),
        r"stride: must be a positive integer",
    ),
    (
        "negative padding",
        lambda: ref.conv2d_forward(VOLUME, KERNELS, [0.0], padding=-1),
        r"padding: must be a non-negative",
    ),
    ("untied bias shape", lambda: ref.conv2d_forward(VOLUME, KERNELS, [[[0.0]]]), r"biases: shape"),
    (
        "tied bias count",
        lambda: ref.conv2d_forward(VOLUME, KERNELS, [0.0, 1.0]),
        r"biases: 2 tied biases for 1 kernels",
    ),
    ("dy shape", lambda: ref.conv2d_backward(VOLUME, KERNELS, [[[1.0]]]), r"dy: shape"),
    (
        "kernel larger than padded input",
        lambda: ref.conv2d_forward([[[1.0]]], KERNELS, [0.0]),
        r"kernels: kernel 2x2 is larger than the padded input",
    ),
    (
        "bad bias mode",
        lambda: ref.conv2d_backward(VOLUME, KERNELS, [[[1.0, 1.0], [1.0, 1.0]]], bias="shared"),
        r"bias: must be 'untied' or 'tied'",
    ),
    ("zero window", lambda: ref.maxpool2d_forward(VOLUME, 0, 1), r"window: must be a positive integer"),
    ("negative stride", lambda: ref.maxpool2d_forward(VOLUME, 2, -1), r"stride: must be a positive integer"),
    (
        "window too large",
        lambda: ref.maxpool2d_forward(VOLUME, 4, 1),
        r"window: 4 is larger than the input 3x3",
    ),
    ("argmax shape", lambda: ref.maxpool2d_backward([[[1.0]]], [[[[0]]]], (1, 3, 3)), r"argmax: shape"),
    (
        "argmax outside",
        lambda: ref.maxpool2d_backward([[[1.0]]], [[[[5, 0]]]], (1, 3, 3)),
        r"argmax\[0\]\[0\]\[0\]: position \[5, 0\] is outside",
    ),
    (
        "dense columns",
        lambda: ref.dense_forward([1.0, 2.0], [[1.0]], [0.0]),
        r"weights: 1 columns but x has 2 features",
    ),
    ("dense bias", lambda: ref.dense_forward([1.0], [[1.0]], [0.0, 1.0]), r"bias: 2 values for 1 outputs"),
    ("dense dy", lambda: ref.dense_backward([1.0], [[1.0]], [1.0, 2.0]), r"dy: 2 values for 1 outputs"),
    (
        "batch dy",
        lambda: ref.dense_batch_backward([[1.0]], [[1.0]], [[1.0], [2.0]]),
        r"dy: 2 samples but x has 1",
    ),
    ("reshape size", lambda: ref.reshape_forward(X, [4, 2]), r"shape: \(4, 2\) holds 8 values, x holds 9"),
    (
        "loss shapes",
        lambda: ref.mse([1.0, 2.0], [1.0]),
        r"y_pred: shape \(1,\) does not match y_true shape \(2,\)",
    ),
    ("softmax rank", lambda: ref.softmax_forward(X), r"x: expected a vector"),
    ("sgd shapes", lambda: ref.sgd([1.0], [1.0, 2.0], 0.1), r"grad: shape"),
    ("rmsprop cache", lambda: ref.rmsprop([1.0], [1.0], [1.0, 1.0]), r"cache: shape"),
    ("parameter count", lambda: ref.dense_parameter_count(0, 3), r"input_size: must be a positive integer"),
    ("bool stride", lambda: ref.correlate2d(X, K, stride=True), r"stride: must be a positive integer"),
]


@pytest.mark.parametrize("call, message", [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_bad_input_raises_a_named_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
