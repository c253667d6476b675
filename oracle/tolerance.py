"""The one place where closeness is decided.

A value passes when |got - expected| <= abs + rel * |expected|. Fixtures
carry their tolerance (hand-worked ones: half a unit in the last printed
digit); nested arrays are compared element by element and the report names
the worst element.
"""

import math
from dataclasses import dataclass
from numbers import Real


@dataclass(frozen=True)
class Tolerance:
    abs: float = 0.0
    rel: float = 0.0

    def allows(self, got, expected):
        return abs(got - expected) <= self.abs + self.rel * abs(expected)

    def __str__(self):
        return f"abs {self.abs:g} + rel {self.rel:g}"


@dataclass(frozen=True)
class Mismatch:
    index: tuple
    got: object
    expected: object
    reason: str = ""

    @property
    def abs_error(self):
        return abs(self.got - self.expected) if _numeric(self.got, self.expected) else math.inf

    @property
    def rel_error(self):
        if not _numeric(self.got, self.expected):
            return math.inf
        return self.abs_error / abs(self.expected) if self.expected else math.inf

    def describe(self, name):
        where = name + "".join(f"[{i}]" for i in self.index)
        if self.reason:
            return f"{where}: {self.reason}"
        return (
            f"{where}: got {self.got!r}, expected {self.expected!r} "
            f"(abs error {self.abs_error:.3g}, rel error {self.rel_error:.3g})"
        )


def _numeric(*values):
    return all(isinstance(v, Real) and not isinstance(v, bool) for v in values)


def mismatches(got, expected, tolerance, index=()):
    """Every element of `got` outside tolerance of `expected` (None = unchecked)."""
    if expected is None:
        return []
    if isinstance(expected, list):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            length = len(got) if isinstance(got, (list, tuple)) else "a scalar"
            return [Mismatch(index, got, expected, f"expected {len(expected)} elements, got {length}")]
        found = []
        for i, (g, e) in enumerate(zip(got, expected)):
            found.extend(mismatches(g, e, tolerance, index + (i,)))
        return found
    if not _numeric(got):
        return [Mismatch(index, got, expected, f"expected a number, got {got!r}")]
    if math.isnan(got) or not tolerance.allows(got, expected):
        return [Mismatch(index, got, expected)]
    return []


def worst(found):
    """The mismatch with the largest absolute error (structural ones first)."""
    return max(found, key=lambda m: m.abs_error) if found else None


# Central differences in float64 with step h have truncation error O(h^2)
# and rounding error O(eps / h): h = 1e-6 keeps both near 1e-10 for the
# smooth, O(1)-scaled samples of oracle.samples, far below this tolerance.
FINITE_DIFFERENCE_STEP = 1e-6
FINITE_DIFFERENCE = Tolerance(abs=1e-6, rel=1e-5)
