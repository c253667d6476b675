"""Documented numerical behaviour at the edges."""

import math

import numpy as np
import pytest

import reference as ref
from oracle import engines, registry, samples
from oracle.checks import agreement
from oracle.conformance import fixtures
from reference.losses import PROBABILITY_EPSILON


def test_sigmoid_saturates_without_overflow():
    y = ref.sigmoid_forward([1000.0, -1000.0, 0.0, 40.0])
    assert y[0] == 1.0 and y[1] == 0.0 and y[2] == 0.5
    assert 0.0 < 1.0 - y[3] < 1e-17 or y[3] == 1.0
    assert ref.sigmoid_backward([1000.0, -1000.0], [1.0, 1.0]) == [0.0, 0.0]


def test_tanh_saturates():
    assert ref.tanh_forward([1000.0, -1000.0]) == [1.0, -1.0]
    assert ref.tanh_backward([1000.0], [1.0]) == [0.0]


def test_softmax_of_large_logits_is_finite_and_exact():
    assert ref.softmax_forward([1000.0, 1000.0]) == [0.5, 0.5]
    y = ref.softmax_forward([1000.0, 0.0, -1000.0])
    assert y[0] == 1.0 and all(math.isfinite(v) for v in y)
    assert abs(sum(ref.softmax_forward([3.0, 1.0, 0.2])) - 1.0) < 1e-15


def test_softmax_of_equal_logits_is_uniform():
    assert ref.softmax_forward([7.0] * 4) == [0.25] * 4


def test_cross_entropy_at_prediction_zero_or_one_is_clipped_and_finite():
    loss = ref.binary_cross_entropy([1.0], [0.0])
    assert loss == -math.log(PROBABILITY_EPSILON)
    # 1 - p is evaluated at the clipped p = 1 - eps, which float64 rounds.
    assert ref.binary_cross_entropy([0.0], [1.0]) == -math.log(1.0 - (1.0 - PROBABILITY_EPSILON))
    assert math.isclose(ref.binary_cross_entropy([0.0], [1.0]), 27.631, rel_tol=1e-4)
    assert ref.binary_cross_entropy([1.0], [1.0]) < 1e-11
    grad = ref.binary_cross_entropy_prime([1.0, 0.0], [0.0, 1.0])
    assert grad[0] == -1.0 / PROBABILITY_EPSILON / 2
    assert math.isclose(grad[1], 1.0 / PROBABILITY_EPSILON / 2, rel_tol=1e-4)
    assert ref.categorical_cross_entropy([0.0, 1.0], [1.0, 0.0]) == -math.log(PROBABILITY_EPSILON)


def test_clipping_does_not_touch_ordinary_predictions():
    p = 1e-9
    assert ref.binary_cross_entropy([1.0], [p]) == -math.log(p)


def test_log_of_tiny_predictions_is_the_formula():
    assert ref.categorical_cross_entropy([1.0, 0.0], [1e-300, 1.0]) == -math.log(PROBABILITY_EPSILON)
    assert ref.categorical_cross_entropy([1.0, 0.0], [1e-10, 1.0]) == -math.log(1e-10)


def test_maxpool_tie_goes_to_the_first_maximum_in_row_major_order():
    x = [[[5.0, 5.0], [5.0, 5.0]]]
    y, argmax = ref.maxpool2d_forward(x, 2, 2)
    assert y == [[[5.0]]] and argmax == [[[[0, 0]]]]
    dx = ref.maxpool2d_backward([[[1.0]]], argmax, (1, 2, 2))
    assert dx == [[[1.0, 0.0], [0.0, 0.0]]]
    _, argmax = ref.maxpool2d_forward([[[1.0, 2.0], [2.0, 0.0]]], 2, 2)
    assert argmax == [[[[0, 1]]]]


def test_overlapping_pool_windows_add_their_gradients():
    x = [[[0.0, 1.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]
    _, argmax = ref.maxpool2d_forward(x, 2, 1)
    dx = ref.maxpool2d_backward([[[1.0, 2.0], [3.0, 4.0]]], argmax, (1, 3, 3))
    assert dx[0][1][1] == 10.0


def test_relu_derivative_at_zero_is_zero():
    assert ref.relu_backward([0.0], [1.0]) == [0.0]
    assert ref.leaky_relu_backward([0.0], [1.0]) == [0.01]


def test_one_by_one_input_and_kernel_equal_to_input():
    assert ref.correlate2d([[3.0]], [[2.0]]) == [[6.0]]
    x = [[1.0, 2.0], [3.0, 4.0]]
    assert ref.correlate2d(x, x) == [[30.0]]
    assert ref.correlate2d([[3.0]], [[2.0]], "full") == [[6.0]]


# ---- the same edges on every engine, and on every op ----

ARRAY_INPUTS = [
    (spec.name, name)
    for spec in registry.OPS
    for name, value in samples.draw(spec.samples, 0)[0].items()
    if isinstance(value, list)
]


@pytest.mark.parametrize("op, name", ARRAY_INPUTS, ids=[f"{o}-{n}" for o, n in ARRAY_INPUTS])
def test_an_empty_input_is_rejected_naming_it(op, name):
    spec = registry.get(op)
    inputs, params = samples.draw(spec.samples, 0)
    with pytest.raises(ValueError, match=rf"^{name}: empty input"):
        engines.run(spec, "reference", {**inputs, name: []}, params)


SMALLEST = {
    # 1x1 input and 1x1 kernel
    "one-by-one": ("conv2d", {"x": [[[3.0]]], "kernels": [[[[2.0]]]], "biases": [[[0.5]]], "dy": [[[1.5]]]}),
    # kernel as large as the (2-channel, rectangular) input: a single output position
    "kernel-equals-input": (
        "conv2d",
        {
            "x": [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[0.5, -1.0, 2.0], [1.5, 0.0, -2.0]]],
            "kernels": [[[[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]], [[0.25, 1.0, 2.0], [-1.0, 3.0, 1.0]]]],
            "biases": [0.1],
            "dy": [[[2.0]]],
        },
    ),
    "pool-window-equals-input": ("maxpool2d", {"x": [[[1.0, 7.0], [3.0, -2.0]]], "dy": [[[4.0]]]}),
    "correlate-one-by-one-full": ("correlate2d", {"x": [[3.0]], "k": [[2.0]]}),
}
SMALLEST_PARAMS = {"maxpool2d": {"window": 2, "stride": 2}, "correlate2d": {"mode": "full"}}


@pytest.mark.parametrize("label", SMALLEST)
def test_smallest_shapes_agree_on_every_engine(label):
    op, inputs = SMALLEST[label]
    spec = registry.get(op)
    params = SMALLEST_PARAMS.get(op, {})
    for engine in spec.engines[1:]:
        if engine == "torch" and not engines.torch_available()[0]:
            continue
        failures = [r.describe() for r in agreement.agree(spec, engine, inputs, params) if not r.ok]
        assert not failures, "\n".join(failures)


def test_kernel_equal_to_input_is_one_dot_product():
    _, inputs = SMALLEST["kernel-equals-input"]
    x, kernels = inputs["x"], inputs["kernels"]
    dot = sum(a * b for xc, kc in zip(x, kernels[0]) for xr, kr in zip(xc, kc) for a, b in zip(xr, kr))
    y = ref.conv2d_forward(x, kernels, inputs["biases"])
    assert y == [[[dot + 0.1]]]


def test_no_fixture_predicts_exactly_zero_or_one_for_a_cross_entropy():
    """The loss there is a clipping convention, not math: verify must not judge it."""
    ops = {"binary_cross_entropy", "categorical_cross_entropy"}
    extremes = [
        case["id"]
        for _, case in fixtures.iter_cases()
        if case["op"] in ops
        and any(p in (0, 1) for p in np.ravel(np.asarray(case["inputs"]["y_pred"], dtype=float)))
    ]
    assert extremes == []
