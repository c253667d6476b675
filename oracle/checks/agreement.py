"""Engine agreement: one op, one engine against the float64 reference,
every output compared under the tolerance policy of oracle.tolerance."""

from dataclasses import dataclass

import numpy as np

from oracle import engines
from oracle.tolerance import AGREEMENT, Comparison, accumulation_bound, compare


@dataclass(frozen=True)
class OutputAgreement:
    op: str
    engine: str
    output: str
    direction: str  # "forward" or "backward"
    comparison: Comparison

    @property
    def ok(self):
        return self.comparison.ok

    def describe(self):
        where = self.comparison.describe(self.output)
        return f"op {self.op}, {self.engine} vs reference, {self.direction} {where}"


def _absolute(inputs):
    return {name: np.abs(np.asarray(value, dtype=float)) for name, value in inputs.items()}


def _largest_size(inputs):
    return max(np.asarray(value).size for value in inputs.values())


def accumulation_bounds(spec, inputs, params, dtype, batched=False):
    """{output: elementwise bound} of an engine computing `spec` in dtype:
    the accumulation bound on M = the op evaluated on |inputs| by the
    reference, for ops that sum dot products; none for the others."""
    if not spec.accumulates:
        return {}
    magnitude = engines.run(spec, "reference", _absolute(inputs), params, batched)
    terms = _largest_size(inputs)
    return {name: accumulation_bound(value, terms, dtype) for name, value in magnitude.items()}


def agree(spec, engine, inputs, params, batched=False, dtype="float64", device="cpu"):
    """OutputAgreement for every output of `engine` on these inputs."""
    expected = engines.run(spec, "reference", inputs, params, batched)
    got = engines.run(spec, engine, inputs, params, batched, dtype=np.dtype(dtype), device=device)
    bounds = accumulation_bounds(spec, inputs, params, dtype, batched)
    results = []
    for name, reference_value in expected.items():
        comparison = compare(got.get(name), reference_value, AGREEMENT[dtype], bounds.get(name, 0.0))
        direction = "backward" if name in spec.gradients.values() else "forward"
        results.append(OutputAgreement(spec.name, engine, name, direction, comparison))
    return results
