"""Analytic gradients of the NumPy engine against vectorized central
differences: full Jacobians, directional derivatives, and whole networks
(documents 002 and 003)."""

import numpy as np
import pytest
from seeds import seeds

from oracle import registry, samples
from oracle.checks import composite, finite_diff
from oracle.engines import numpy_ops
from oracle.tolerance import FINITE_DIFFERENCE_STEP

DIFFERENTIABLE = [spec.name for spec in registry.OPS if spec.gradients]
SEEDS = seeds(6)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("op", DIFFERENTIABLE)
def test_full_jacobian_matches_finite_differences(op, seed):
    spec = registry.get(op)
    inputs, params = samples.draw(spec.samples, seed)
    checks = finite_diff.check_full(spec, inputs, params)
    assert all(check.status == "pass" for check in checks), "\n".join(c.describe() for c in checks)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("op", DIFFERENTIABLE)
def test_directional_derivatives_match(op, seed):
    spec = registry.get(op)
    inputs, params = samples.draw(spec.samples, seed)
    checks = finite_diff.check_directional(spec, inputs, params, seed=seed)
    assert all(check.status == "pass" for check in checks), "\n".join(c.describe() for c in checks)


def test_jacobian_of_a_large_conv_input_is_checked_in_one_batch():
    spec = registry.get("conv2d")
    rng = np.random.default_rng(0)
    inputs = {
        "x": rng.standard_normal((2, 12, 12)),
        "kernels": rng.standard_normal((3, 2, 3, 3)),
        "biases": rng.standard_normal(3),
        "dy": rng.standard_normal((3, 10, 10)),
    }
    checks = finite_diff.check_full(spec, inputs, {"bias": "tied"})
    assert [c.status for c in checks] == ["pass"] * 3
    assert checks[0].comparison.checked == 300 * 288  # outputs x input elements


def _sigmoid_backward_on_activated_value(x, dy):
    s = numpy_ops.sigmoid_forward(numpy_ops.sigmoid_forward(x))
    return dy * s * (1 - s)


def test_sigmoid_derivative_of_the_activated_value_is_caught(monkeypatch):
    """A classic slip: s(1 - s) evaluated at s = sigmoid(x) instead of x."""
    monkeypatch.setattr(numpy_ops, "sigmoid_backward", _sigmoid_backward_on_activated_value)
    spec = registry.get("sigmoid")
    inputs, params = samples.draw(spec.samples, 0)
    for checks in (
        finite_diff.check_full(spec, inputs, params),
        finite_diff.check_directional(spec, inputs, params),
    ):
        assert checks[0].status == "fail"
        assert checks[0].describe().startswith("op sigmoid, ")


def test_relu_at_its_kink_is_reported_as_kink_crossed():
    spec = registry.get("relu")
    inputs = {"x": [0.0, 0.5, -0.5], "dy": [1.0, 1.0, 1.0]}
    (check,) = finite_diff.check_full(spec, inputs, {})
    assert check.status == "kink crossed"
    assert "kink crossed" in check.describe()


def test_pooling_tie_is_reported_as_kink_crossed():
    spec = registry.get("maxpool2d")
    inputs = {"x": [[[1.0, 1.0], [0.5, 0.2]]], "dy": [[[1.0]]]}
    (check,) = finite_diff.check_full(spec, inputs, {"window": 2, "stride": 2})
    assert check.status == "kink crossed"


def test_a_tie_at_zero_is_a_kink_of_max_pooling_and_flat_after_a_relu():
    """Two zeros tied for a window's maximum: on their own, a step up on one
    moves the maximum (a kink); out of a ReLU whose inputs keep clear of 0,
    they stay 0 (flat), and the network's distance is the ReLU's."""
    spec, pool = registry.get("maxpool2d"), {"window": 2, "stride": 2}
    tied = {"x": [[[-1.0, 0.0], [0.0, -2.0]]], "dy": [[[1.0]]]}
    assert finite_diff.kink_distance(spec, tied, pool) == 0.0
    (check,) = finite_diff.check_full(spec, tied, pool)
    assert check.status == "kink crossed"
    layers = [("relu", {}, {}), ("maxpool2d", pool, {}), ("reshape", {"shape": [1]}, {})]
    network = composite.Network(layers, "mse")
    x = np.array([[[-1.0, -0.5], [-2.0, -0.3]]])  # every ReLU output 0: the window's maximum tied at 0
    assert network.kink_distance(x, np.array([1.0])) == pytest.approx(0.3)


def test_document_003_mlp_chained_gradients_match_finite_differences():
    network, x, y = composite.document_003_mlp()
    assert network.kink_distance(x, y) > 100 * FINITE_DIFFERENCE_STEP
    results = network.check(x, y)
    assert len(results) == 4
    assert all(comparison.ok for _, _, comparison in results)


def _document_002_networks(leaky, wanted=4):
    """Draws of the document-002 CNN whose inputs keep a margin from kinks."""
    found = []
    for seed in range(50):
        network, x, y = composite.document_002_cnn(np.random.default_rng(seed), leaky)
        if network.kink_distance(x, y) > 1e-3:
            found.append((seed, network, x, y))
        if len(found) == wanted:
            return found
    raise AssertionError("too few draws away from kinks")


@pytest.mark.parametrize("leaky", [False, True], ids=["relu", "leaky_relu"])
def test_document_002_cnn_chained_gradients_match_finite_differences(leaky):
    for seed, network, x, y in _document_002_networks(leaky):
        for layer, name, comparison in network.check(x, y):
            assert comparison.ok, f"seed {seed}, layer {layer} {name}: {comparison.describe(name)}"


def test_a_wrong_layer_gradient_breaks_the_network_check(monkeypatch):
    original = numpy_ops.dense_backward

    def doubled_weight_gradient(x, weights, dy, **options):
        dx, dweights, dbias = original(x, weights, dy, **options)
        return dx, 2 * dweights, dbias

    monkeypatch.setattr(numpy_ops, "dense_backward", doubled_weight_gradient)
    network, x, y = composite.document_003_mlp()
    failed = [(layer, name) for layer, name, comparison in network.check(x, y) if not comparison.ok]
    assert failed == [(0, "weights"), (2, "weights")]
