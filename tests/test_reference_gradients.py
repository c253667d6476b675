"""Analytic backward of every differentiable registry op against central
finite differences, on random samples that keep away from kinks."""

import pytest

from oracle import gradcheck, registry, samples
from oracle.tolerance import FINITE_DIFFERENCE, mismatches, worst

SEEDS = range(8)
CASES = [(spec.name, name, seed) for spec in registry.OPS for name in spec.gradients for seed in SEEDS]


@pytest.mark.parametrize("op, argument, seed", CASES, ids=[f"{o}-{a}-{s}" for o, a, s in CASES])
def test_backward_matches_finite_differences(op, argument, seed):
    spec = registry.get(op)
    inputs, params = samples.draw(spec.samples, seed)
    analytic = spec.run_reference(inputs, params)[spec.gradients[argument]]
    numeric = gradcheck.numeric_gradient(spec, inputs, params, argument)
    found = mismatches(analytic, numeric, FINITE_DIFFERENCE)
    assert not found, f"op {op}, d/d{argument}: " + worst(found).describe(spec.gradients[argument])


@pytest.mark.parametrize("op", [spec.name for spec in registry.OPS if "dy" in spec.optional_inputs])
def test_backward_scales_with_the_upstream_gradient(op):
    """A backward that ignores dy fails here."""
    spec = registry.get(op)
    inputs, params = samples.draw(spec.samples, 100)
    base = spec.run_reference(inputs, params)
    scaled_inputs = {**inputs, "dy": _scale(inputs["dy"], 3.0)}
    scaled = spec.run_reference(scaled_inputs, params)
    for name in spec.gradients.values():
        assert not mismatches(scaled[name], _scale(base[name], 3.0), FINITE_DIFFERENCE), name


def _scale(array, factor):
    if isinstance(array, list):
        return [_scale(item, factor) for item in array]
    return array * factor
