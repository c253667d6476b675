"""Generic patterns of a wrong output, for bugs the catalogue does not
hold: each is a statement about the output that holds within the check's
tolerance (a constant factor, a flipped sign, a transpose or a 180-degree
flip of the expected values, a wrong border ring, one right channel, all
zeros, an overflow, a shape off by some rows and columns), with the bug
it usually means as a question.
"""

import math

import numpy as np

EXACT = 1e-9  # how close a factor must be to a whole number (or its inverse) to be called that number
FACTOR_EVIDENCE = 3  # nonzero expected values that a factor with no name must hold on
HINTS = {2: "a missing 1/2?", 0.5: "a missing factor 2?", -1: "the sign flipped"}


def describe(got, expected, judged, allowance, inputs):
    """[(kind, text)] of the patterns `got` shows against `expected`."""
    tolerance, bound = allowance
    if got.shape != expected.shape:  # the elementwise bound is the expected values' shape: its largest
        return _shape(got, expected, judged, (tolerance, float(np.max(bound, initial=0.0))))
    finite = np.isfinite(expected) & judged
    if np.any(~np.isfinite(got) & finite):
        return [("overflow", "non-finite values where the expected values are finite: an overflow "
                             "(an exponential of a large input, not shifted or split by sign?)")]  # fmt: skip
    found = []
    if not np.any(got[judged]) and np.any(expected[judged]):
        return [("zero", "all zeros: nothing reaches this output (a term or an update missing?)")]
    factor = _factor(got, expected, judged, tolerance, bound, inputs)
    if factor:
        found.append(factor)
    for kind, text, moved in _rearrangements(expected):
        if moved.shape == got.shape and not _close(moved, expected, judged, tolerance, bound):
            if _close(got, moved, judged, tolerance, bound):
                found.append((kind, text))
    wrong = judged & ~_within(got, expected, tolerance, bound)
    found += _where(wrong)
    return found


def _within(got, target, tolerance, bound):
    allowed = tolerance.abs + tolerance.rel * np.abs(np.nan_to_num(target)) + bound
    with np.errstate(all="ignore"):
        return np.abs(got - target) <= allowed


def _close(got, target, judged, tolerance, bound):
    return bool(np.all(_within(got, target, tolerance, bound)[judged]))


def _factor(got, expected, judged, tolerance, bound, inputs):
    """('scale' or 'sign', text) when got is a constant times expected."""
    e, g = expected[judged], got[judged]
    energy = float(np.dot(e, e))
    if energy == 0:
        return None
    c = float(np.dot(g, e)) / energy
    if abs(c - 1) < EXACT or not _close(got, c * expected, judged, tolerance, bound):
        return None
    if abs(c + 1) < EXACT:
        return ("sign", "exactly -1x the expected values: the sign is flipped")
    whole = _whole(c)
    if whole:
        return ("scale", f"exactly {whole}x the expected values: {_hint(whole, c, inputs)}")
    if abs(c * math.log(10) - 1) < 1e-6:
        return ("scale", f"{c:.4g}x the expected values, 1/ln(10): log10 where the natural log belongs?")
    if np.count_nonzero(e) < FACTOR_EVIDENCE:
        return None  # any one number is a multiple of another: a plain factor says nothing there
    return ("scale", f"a constant {c:.4g}x the expected values")


def _whole(c):
    """'3' or '1/3' when c is a whole number or its inverse, else ''."""
    for value, text in ((c, "{}"), (1 / c if c else 0, "1/{}")):
        k = round(value)
        if 2 <= abs(k) <= 10**6 and abs(value - k) < EXACT * abs(k):
            return text.format(k)
    return ""


def _hint(whole, c, inputs):
    if round(c, 9) in HINTS:
        return HINTS[round(c, 9)]
    sizes = {int(s) for value in inputs.values() for s in np.shape(value)[:1]}
    k = int(whole.removeprefix("1/"))
    if k in sizes:
        return "a sum where a mean belongs?" if c > 1 else "a mean where a sum belongs, or an extra 1/n?"
    return "a constant factor too many or too few?"


def _rearrangements(expected):
    if expected.ndim < 2:
        return []
    return [
        ("transpose", "the expected values transposed (rows and columns swapped)",
         np.swapaxes(expected, -1, -2)),
        ("flip", "the expected values rotated by 180 degrees: a kernel flip missing or doubled?",
         expected[..., ::-1, ::-1]),
    ]  # fmt: skip


def _where(wrong):
    """Patterns of where the wrong elements are: a border ring, one channel."""
    found = []
    if wrong.ndim >= 2 and wrong.any():
        rows, cols = wrong.shape[-2:]
        for width in range(1, (min(rows, cols) - 1) // 2 + 1):
            if not wrong[..., width:-width, width:-width].any():
                found.append(("border", f"right in the interior, wrong on a border ring of width {width}: "
                                        "padding, or the convolution mode (valid or full)?"))  # fmt: skip
                break
    if wrong.ndim >= 3 and wrong.shape[-3] >= 2:
        by_channel = np.moveaxis(wrong, -3, 0).reshape(wrong.shape[-3], -1).any(axis=1)
        right = np.flatnonzero(~by_channel)
        if len(right) == 1:
            found.append(
                ("channel", f"right for channel {right[0]} only, of {len(by_channel)}: a channel index?")
            )
    return found


def _shape(got, expected, judged, allowance):
    if got.ndim != expected.ndim or got.ndim < 2 or got.shape[:-2] != expected.shape[:-2]:
        return []
    if got.shape == expected.shape[:-2] + expected.shape[-2:][::-1]:
        moved = np.swapaxes(expected, -1, -2)
        if _close(got, moved, np.swapaxes(judged, -1, -2), *allowance):
            return [("transpose", "the expected values transposed (rows and columns swapped)")]
    (rows, cols), (want_rows, want_cols) = got.shape[-2:], expected.shape[-2:]
    if rows - want_rows == cols - want_cols != 0:
        d = rows - want_rows
        more = f"{abs(d)} {'more' if d > 0 else 'fewer'} rows and columns than expected"
        return [("size", f"{more}: an output size off by {abs(d)}, or valid and full mixed up?")]
    return []
