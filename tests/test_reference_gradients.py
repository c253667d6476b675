"""The reference's own backward against central finite differences (run
on the reference engine itself), and its scaling with the upstream gradient."""

import pytest
from seeds import seeds

from oracle import registry, samples
from oracle.checks import finite_diff
from oracle.tolerance import FINITE_DIFFERENCE, compare

SEEDS = seeds(6)
DIFFERENTIABLE = [spec.name for spec in registry.OPS if spec.gradients]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("op", DIFFERENTIABLE)
def test_reference_backward_matches_finite_differences(op, seed):
    spec = registry.get(op)
    inputs, params = samples.draw(spec.samples, seed)
    checks = finite_diff.check_full(spec, inputs, params, engine="reference")
    assert all(check.status == "pass" for check in checks), "\n".join(c.describe() for c in checks)


@pytest.mark.parametrize("op", [spec.name for spec in registry.OPS if "dy" in spec.optional_inputs])
def test_backward_scales_with_the_upstream_gradient(op):
    """A backward that ignores dy fails here."""
    spec = registry.get(op)
    inputs, params = samples.draw(spec.samples, seeds(101)[-1])
    base = spec.run_reference(inputs, params)
    scaled_inputs = {**inputs, "dy": _scale(inputs["dy"], 3.0)}
    scaled = spec.run_reference(scaled_inputs, params)
    for name in spec.gradients.values():
        assert compare(scaled[name], _scale(base[name], 3.0), FINITE_DIFFERENCE).ok, name


def _scale(array, factor):
    if isinstance(array, list):
        return [_scale(item, factor) for item in array]
    return array * factor
