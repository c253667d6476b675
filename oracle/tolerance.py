"""The one place where closeness is decided.

An element passes when |got - expected| <= abs + rel * |expected| + bound,
where `bound` is an elementwise error bound (0 unless given). Reports name
the element that is furthest outside its allowance.

Policy (see README, "How tolerances are set"):
- hand-worked fixtures carry their own tolerance: half a unit in the last
  printed digit;
- engine agreement: fixed tiers per dtype for elementwise ops, plus, for
  ops that accumulate dot products (conv, dense, correlation), the bound
  2 * n * u * M, where u is the unit roundoff, n bounds the number of terms
  of any sum and M = sum |w| |x| is the op evaluated on absolute values by
  the float64 reference: both engines are within n * u * M of the exact
  value. float32 adds the rounding of the inputs (another n * u * M);
- finite differences: a relative error with a floor (FINITE_DIFFERENCE).
The tiers are never looser than torch.testing.assert_close's defaults
(float64 rtol 1e-7, atol 1e-7; float32 rtol 1.3e-6, atol 1e-5).
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    abs: float = 0.0
    rel: float = 0.0

    def __str__(self):
        return f"abs {self.abs:g} + rel {self.rel:g}"


UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24}

# Elementwise ops (transcendental functions, sums of a few terms) agree to a
# few units in the last place; these tiers leave a margin of ~100 ulp.
AGREEMENT = {
    "float64": Tolerance(abs=1e-14, rel=1e-13),
    "float32": Tolerance(abs=1e-6, rel=1.3e-6),
}
TORCH_ASSERT_CLOSE_DEFAULTS = {
    "float64": Tolerance(abs=1e-7, rel=1e-7),
    "float32": Tolerance(abs=1e-5, rel=1.3e-6),
}

# Central differences in float64 with step h have truncation error O(h^2)
# and rounding error O(eps / h): h = 1e-6 keeps both near 1e-10 for the
# smooth, O(1)-scaled samples of oracle.samples, far below this tolerance.
FINITE_DIFFERENCE_STEP = 1e-6
FINITE_DIFFERENCE = Tolerance(abs=1e-6, rel=1e-5)


def accumulation_bound(magnitude, terms, dtype="float64"):
    """Elementwise bound for a sum of `terms` products of magnitude M."""
    u = UNIT_ROUNDOFF[dtype]
    inputs_rounding = terms * u if dtype != "float64" else 0.0
    return (2.0 * terms * u + inputs_rounding) * np.abs(np.asarray(magnitude, dtype=float))


# Fixture cases are float64 numbers; an implementation computing in float32
# is judged by the case's own tolerance widened by the float32 tier (plus,
# for dot-product ops, the float32 accumulation bound). Measured on every
# shipped case, NumPy and torch in float32 use at most 11% of that
# allowance on golden cases and 25% on hand-worked ones, where the
# document's own rounding takes most of it (README, "How tolerances are set").
FLOAT32_MAX = float(np.finfo(np.float32).max)


def widened(tolerance, dtype):
    """A fixture case's tolerance for an implementation computing in dtype.
    float64 keeps it: the golden 1e-9 is 10^5 times float64 rounding."""
    if dtype == "float64":
        return tolerance
    tier = AGREEMENT[dtype]
    return Tolerance(tolerance.abs + tier.abs, tolerance.rel + tier.rel)


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one output: how many elements were checked,
    how many failed, and the worst one."""

    checked: int
    failed: int = 0
    index: tuple = ()  # of the worst failing element
    got: float = math.nan
    expected: float = math.nan
    allowed: float = 0.0
    reason: str = ""
    max_abs: float = 0.0  # largest errors over all checked elements
    max_rel: float = 0.0
    max_ratio: float = 0.0  # largest error / allowance (above 1 fails)

    @property
    def ok(self):
        return self.failed == 0 and not self.reason

    @property
    def abs_error(self):
        return abs(self.got - self.expected)

    @property
    def rel_error(self):
        return self.abs_error / abs(self.expected) if self.expected else math.inf

    def describe(self, name):
        where = name + "".join(f"[{i}]" for i in self.index)
        if self.reason:
            return f"{where}: {self.reason}"
        return (
            f"{where}: got {self.got!r}, expected {self.expected!r} "
            f"(abs error {self.abs_error:.3g}, rel error {self.rel_error:.3g}, allowed {self.allowed:.3g}); "
            f"{self.failed} of {self.checked} element(s) outside tolerance"
        )


def _numeric_array(value):
    """A float array and a mask of its checked elements (None in the value is
    not checked): None for the mask when every element is checked."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":  # fast path: no None possible
        return value.astype(float, copy=False), None
    array = np.array(value, dtype=object)
    if array.dtype == object:
        flat = array.ravel()
        if set(map(type, flat.tolist())) <= {float, int}:  # JSON's numbers, none null: told at C speed
            return array.astype(float), None
        mask = np.array([item is not None for item in flat], dtype=bool).reshape(array.shape)
        if any(
            not isinstance(item, (int, float, np.number)) or isinstance(item, bool)
            for item in flat[mask.ravel()]
        ):
            raise TypeError("not a number")
        numbers = np.array([float(item) if item is not None else 0.0 for item in flat]).reshape(array.shape)
        return numbers, mask
    return array.astype(float), None


def compare(got, expected, tolerance, bound=0.0):
    """Compare `got` with `expected` (nested lists or arrays; None in expected
    is not checked) within `tolerance` plus an elementwise `bound`."""
    if expected is None:
        return Comparison(0)
    try:
        expected, mask = _numeric_array(expected)
    except (TypeError, ValueError):
        return Comparison(0, 1, reason=f"expected value is not numeric: {expected!r}")
    checked = expected.size if mask is None else int(mask.sum())
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return Comparison(checked, 1, reason=f"got a non-numeric value: {got!r}")
    if got.shape != expected.shape:
        return Comparison(checked, 1, reason=f"got shape {got.shape}, expected shape {expected.shape}")
    if mask is None:  # nothing unchecked: the common case
        passes = _passes_by_element if expected.size <= _SMALL_ELEMENTS else _passes_in_blocks
        passed = passes(got, expected, tolerance, bound)
        if passed is not None:
            return passed
        mask = np.ones(expected.shape, dtype=bool)
    # A scalar bound adds as it is; an array must have expected's shape (broadcast_to raises otherwise).
    bound = bound if np.ndim(bound) == 0 else np.broadcast_to(bound, expected.shape)
    allowed = tolerance.abs + tolerance.rel * np.abs(expected) + bound
    error = np.abs(got - expected)
    bad = mask & ~(error <= allowed)  # NaN in got fails
    ranked = _ranked(error)
    largest = _largest_errors(ranked, expected, mask)
    with np.errstate(over="ignore"):  # a huge error over a tiny allowance is an infinite ratio
        ratios = np.divide(ranked, allowed, out=np.where(error > 0, np.inf, 0.0), where=allowed > 0)
    max_ratio = float(np.where(mask, ratios, 0.0).max()) if mask.any() else 0.0
    if not bad.any():
        return Comparison(checked, max_abs=largest[0], max_rel=largest[1], max_ratio=max_ratio)
    excess = np.where(bad, ratios, -1.0)
    index = np.unravel_index(int(np.argmax(excess)), expected.shape)
    return Comparison(
        checked,
        int(bad.sum()),
        tuple(int(i) for i in index),
        float(got[index]),
        float(expected[index]),
        float(allowed[index]),
        max_abs=largest[0],
        max_rel=largest[1],
        max_ratio=max_ratio,
    )


# Outputs of at most this many elements (every shipped case's; most have a
# handful) are judged element by element in Python: a NumPy call on a small
# array costs about a microsecond and a reduction three, some twenty of them
# a comparison, against half a microsecond per element in Python.
_SMALL_ELEMENTS = 100


def _passes_by_element(got, expected, tolerance, bound):
    """_passes_in_blocks for a small output, in Python floats: the same
    operations in the same order, so the same numbers (a scalar too)."""
    scalar = isinstance(bound, (int, float))  # np.ndim() would cost a third of the rest
    bounds = itertools.repeat(bound) if scalar else np.broadcast_to(bound, expected.shape).ravel().tolist()
    rel, floor = tolerance.rel, tolerance.abs
    max_abs = max_rel = max_ratio = 0.0
    for value, target, extra in zip(got.ravel().tolist(), expected.ravel().tolist(), bounds):
        error, scale = abs(value - target), abs(target)
        allowed = scale * rel + floor + extra
        if not allowed > 0:
            return None
        ratio = error / allowed
        if not ratio < 1:  # a NaN or infinite error, or an element that may fail
            return None
        if ratio > max_ratio:  # plain comparisons: max() costs more than the rest of a step
            max_ratio = ratio
        if error > max_abs:
            max_abs = error
        if scale:
            if error / scale > max_rel:
                max_rel = error / scale
        elif error:
            max_rel = math.inf
    return Comparison(expected.size, max_abs=max_abs, max_rel=max_rel, max_ratio=max_ratio)


# Elements per block of _passes_in_blocks: its three work arrays stay in a core's cache.
_BLOCK_ELEMENTS = 1 << 16


def _passes_in_blocks(got, expected, tolerance, bound):
    """compare's result for float64 arrays of one shape (as compare has
    converted them) whose every element passes, with finite errors and
    allowances > 0 (Jacobians of millions of elements, say), computed a block
    of leading-axis rows at a time in reused work arrays: the same numbers as
    compare's whole-array way, at a fraction of the memory traffic. None for
    anything else (a failure among them, a scalar, an empty array): compare
    then does it the whole-array way."""
    if not expected.size or not expected.ndim:
        return None
    bound = np.broadcast_to(bound, expected.shape) if np.ndim(bound) or bound else None
    if expected.flags.f_contiguous and not expected.flags.c_contiguous:
        # A transposed array (a Jacobian built a column at a time): walk it in
        # memory order. Which order does not change the largest errors.
        got, expected, bound = got.T, expected.T, None if bound is None else bound.T
    rows = min(len(expected), max(1, _BLOCK_ELEMENTS // expected[0].size))
    work = [np.empty((rows,) + expected.shape[1:]) for _ in range(3)]
    max_abs = max_rel = max_ratio = 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for start in range(0, len(expected), rows):
            block = slice(start, start + rows)
            count = len(expected[block])
            error, allowed, ratio = (w[:count] for w in work)
            np.abs(np.subtract(got[block], expected[block], out=error), out=error)
            np.abs(expected[block], out=allowed)
            # 0 / 0 (no error on an expected 0) is NaN, which fmax passes over: a relative error of 0.
            max_rel = max(max_rel, np.fmax.reduce(np.divide(error, allowed, out=ratio), axis=None))
            allowed *= tolerance.rel  # abs + rel * |expected| + bound, as compare adds them
            allowed += tolerance.abs
            if bound is not None:
                allowed += bound[block]
            worst = error.max()  # NaN if any error is NaN
            if not (math.isfinite(worst) and allowed.min() > 0):
                return None
            max_abs = max(max_abs, worst)
            max_ratio = max(max_ratio, np.divide(error, allowed, out=ratio).max())
            if not max_ratio < 1:  # an element may fail (error > allowed implies a ratio >= 1)
                return None
    return Comparison(
        expected.size, max_abs=float(max_abs), max_rel=float(max_rel), max_ratio=float(max_ratio)
    )


def _ranked(error):
    """|got - expected| as the largest errors are ranked: NaN as infinite, an
    infinite error as the largest float (np.nan_to_num(error, nan=inf), in
    three passes instead of seven: every error is >= 0 or NaN)."""
    return np.where(np.isnan(error), np.inf, np.minimum(error, _LARGEST))


_LARGEST = float(np.finfo(float).max)


def _largest_errors(ranked, expected, mask):
    """(max abs error, max rel error) over the checked elements, from the
    _ranked errors; a nonzero error on an expected 0 is an infinite relative error."""
    if not mask.any():
        return 0.0, 0.0
    error, scale = np.where(mask, ranked, 0.0), np.abs(expected)
    with np.errstate(over="ignore"):  # the largest float over an expected below 1 is infinite
        relative = np.divide(error, scale, out=np.where(error > 0, np.inf, 0.0), where=scale > 0)
    return float(error.max()), float(relative.max())
