"""The comparison rule and the tolerance policy."""

import math

import numpy as np

from oracle import tolerance as tolerance_module
from oracle.tolerance import (
    AGREEMENT,
    TORCH_ASSERT_CLOSE_DEFAULTS,
    UNIT_ROUNDOFF,
    Tolerance,
    accumulation_bound,
    compare,
)


def test_within_and_outside_tolerance():
    assert compare([1.0, 2.0], [1.0, 2.0 + 1e-9], Tolerance(abs=1e-8)).ok
    result = compare([1.0, 2.0], [1.0, 2.1], Tolerance(abs=1e-8))
    assert not result.ok and result.index == (1,) and result.failed == 1


def test_the_worst_element_is_the_furthest_outside_its_allowance():
    result = compare([10.5, 0.2], [10.0, 0.0], Tolerance(rel=0.1))
    assert result.index == (1,)  # 0.2 over an allowance of 0 beats 0.5 over 1.0


def test_null_expected_values_are_not_checked():
    result = compare([5.0, 2.0], [None, 2.0], Tolerance())
    assert result.ok and result.checked == 1
    assert compare([1, 2], None, Tolerance()).checked == 0


def test_nan_and_shape_and_type_problems_fail():
    assert not compare([math.nan], [1.0], Tolerance(abs=1.0)).ok
    assert "shape" in compare([1.0, 2.0], [[1.0, 2.0]], Tolerance()).reason
    assert "non-numeric" in compare("x", [1.0], Tolerance()).reason
    assert "expected value is not numeric" in compare([1.0, 1.0], [1, True], Tolerance()).reason
    assert "expected value is not numeric" in compare([1.0], ["1.0"], Tolerance()).reason
    assert compare([1.0, 2.0], [1, 2.0], Tolerance()).ok  # an int is a number


def test_elementwise_bound_widens_the_allowance():
    assert not compare([1.0 + 1e-12], [1.0], Tolerance()).ok
    assert compare([1.0 + 1e-12], [1.0], Tolerance(), bound=np.array([2e-12])).ok


def test_largest_errors_are_reported_even_when_passing():
    result = compare([1.0 + 1e-13, 4.0], [1.0, 4.0], Tolerance(abs=1e-12))
    assert result.ok and 0 < result.max_abs < 1e-12 and 0 < result.max_rel < 1e-12


def test_accumulation_bound_is_2_n_u_times_the_magnitude():
    assert accumulation_bound([2.0], 10)[0] == 2 * 10 * UNIT_ROUNDOFF["float64"] * 2.0
    assert accumulation_bound([1.0], 10, "float32")[0] == 3 * 10 * UNIT_ROUNDOFF["float32"]


def test_agreement_tiers_are_never_looser_than_torch_assert_close_defaults():
    for dtype, tier in AGREEMENT.items():
        floor = TORCH_ASSERT_CLOSE_DEFAULTS[dtype]
        assert tier.abs <= floor.abs and tier.rel <= floor.rel, dtype


def _summary(result):
    return result.checked, result.failed, result.index, result.max_abs, result.max_rel, result.max_ratio


def test_judging_in_blocks_gives_the_whole_array_ways_numbers(monkeypatch):
    """Float arrays and nested lists that pass are compared a block at a time
    (Jacobians of millions of elements): the same numbers as the whole-array
    way, for a transposed array too, and the same worst element once one fails."""
    rng = np.random.default_rng(0)
    expected = rng.standard_normal((300, 400))
    expected[rng.random(expected.shape) < 0.3] = 0.0  # 0 / 0: no relative error
    got = expected + 1e-9 * rng.standard_normal(expected.shape) * (rng.random(expected.shape) < 0.5)
    tolerance, bound = Tolerance(abs=1e-8, rel=1e-6), np.abs(rng.standard_normal(400)) * 1e-9
    wrong = got.copy()
    wrong[123, 45] += 1e-3
    cases = [
        (got, expected, bound),
        (got.T, expected.T, bound[:, None]),
        (got, expected, 0.0),
        (got.tolist(), expected.tolist(), bound),  # nested lists: converted, then judged in blocks
        (wrong, expected, bound),
    ]
    blocked = [compare(g, e, tolerance, b) for g, e, b in cases]
    monkeypatch.setattr(tolerance_module, "_passes_in_blocks", lambda *arguments: None)
    whole = [compare(g, e, tolerance, b) for g, e, b in cases]
    assert all(result.ok for result in blocked[:-1]) and blocked[-1].index == (123, 45)
    assert [_summary(result) for result in blocked] == [_summary(result) for result in whole]


def test_judging_small_outputs_element_by_element_gives_the_whole_array_ways_numbers(monkeypatch):
    """Outputs of a few elements are judged in Python floats: the same numbers
    as the whole-array way, passing or not, for zeros, NaN, infinities, no
    allowance, errors on the edge of the allowance, bounds and nested lists."""
    rng = np.random.default_rng(1)
    tolerance = Tolerance(abs=1e-8, rel=1e-6)
    cases = []
    for size in (1, 2, 5, 37, 100):
        expected = rng.standard_normal(size)
        expected[rng.random(size) < 0.3] = 0.0
        got = expected + 1e-9 * rng.standard_normal(size)
        bound = np.abs(rng.standard_normal(size)) * 1e-9
        cases += [(got, expected, 0.0), (got, expected, bound), (got.tolist(), expected.tolist(), 1e-9)]
        for value in (np.nan, np.inf, -np.inf, 1.0):
            changed = got.copy()
            changed[rng.integers(size)] = value
            cases.append((changed, expected, 0.0))
    edge = np.array([1.0, 0.0, -2.0])
    cases += [
        (edge, edge, 0.0),
        (edge + 1e-8, edge, 0.0),  # the abs floor alone on an expected 0
        (edge, edge, np.zeros(3)),
        (np.nextafter(1.0 + 1e-6 + 1e-8, 0), np.array(1.0), 0.0),  # just inside the allowance
        (np.array(5.0), np.array(5.0), 0.0),  # a scalar
        (edge.reshape(3, 1).tolist(), edge.reshape(3, 1).tolist(), 0.0),
    ]
    cases.append((edge, edge, 0.0, Tolerance()))  # no allowance at all
    judged = [compare(c[0], c[1], c[3] if len(c) > 3 else tolerance, c[2]) for c in cases]
    assert sum(result.ok for result in judged) > len(cases) // 2 and not all(r.ok for r in judged)
    monkeypatch.setattr(tolerance_module, "_passes_by_element", lambda *arguments: None)
    whole = [compare(c[0], c[1], c[3] if len(c) > 3 else tolerance, c[2]) for c in cases]
    assert [_summary(result) for result in judged] == [_summary(result) for result in whole]
    assert [result.ok for result in judged] == [result.ok for result in whole]


def test_a_failing_float_array_is_walked_in_blocks_once(monkeypatch):
    """The blocked walk stops being tried once it has found a failure: the
    whole-array way then finds the worst element, without a second walk."""
    walks = []
    original = tolerance_module._passes_in_blocks
    monkeypatch.setattr(tolerance_module, "_passes_in_blocks", lambda *a: walks.append(1) or original(*a))
    got = np.zeros((50, 50))
    got[49, 49] = 1.0
    result = compare(got, np.zeros((50, 50)), Tolerance(1e-9, 1e-9))
    assert result.index == (49, 49) and len(walks) == 1
