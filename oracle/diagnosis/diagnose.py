"""Naming the bug behind a failing check: the implementation's outputs are
compared with what each catalogued bug outputs on the same inputs, then
with generic transformations of the expected values (a constant factor, a
sign, a transpose, a flip, a wrong border, one right channel). A finding
is claimed only when the outputs match it within the check's own
tolerance, and the bug's outputs differ from the right ones there;
otherwise the diagnosis says "no known pattern".
"""

import math
import os
import pickle
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from oracle.diagnosis import catalogue, patterns

NO_PATTERN = "no known pattern"
ERRORS = (ArithmeticError, ValueError, IndexError, TypeError)  # a bug's own computation failing


@dataclass(frozen=True)
class Finding:
    id: str  # a catalogue id, or pattern:<name>
    text: str  # "likely: <the bug>", or "<output>: <the pattern>"
    detail: str = ""  # how well it matched on this case
    distance: float = 1.0  # worst error / allowance of the match: 0 is exact

    def as_dict(self):
        return {"id": self.id, "text": self.text, "detail": self.detail}


def expected_array(value):
    """(float array, mask of the elements judged): null elements are not."""
    array = np.array(value, dtype=object)
    judged = np.vectorize(lambda v: v is not None, otypes=[bool])(array) if array.size else np.ones(0, bool)
    return np.where(judged, array, np.nan).astype(float), judged


def closeness(got, target, judged, tolerance, bound):
    """(matched, worst |got - target|, worst ratio to the allowance) over
    the judged elements; non-finite values must be the same ones."""
    if got.shape != target.shape:
        return False, math.inf, math.inf
    got, target = got[judged], target[judged]
    allowed = (
        tolerance.abs
        + tolerance.rel * np.abs(np.nan_to_num(target))
        + np.broadcast_to(bound, judged.shape)[judged]
    )
    finite = np.isfinite(target)
    if not np.array_equal(np.isfinite(got), finite) or not np.array_equal(
        got[~finite], target[~finite], equal_nan=True
    ):
        return False, math.inf, math.inf
    if not finite.any():
        return True, 0.0, 0.0
    with np.errstate(all="ignore"):
        error = np.abs(got[finite] - target[finite])
        ratio = np.where(allowed[finite] > 0, error / allowed[finite], np.where(error > 0, np.inf, 0.0))
    return bool(np.all(ratio <= 1)), float(error.max()), float(ratio.max())


def wrong_elements(got, expected, judged, tolerance, bound):
    """Mask of the elements outside tolerance (None if shapes differ)."""
    if got.shape != expected.shape:
        return None
    allowed = tolerance.abs + tolerance.rel * np.abs(np.nan_to_num(expected)) + bound
    with np.errstate(all="ignore"):
        right = np.abs(got - expected) <= allowed
    right |= np.isnan(got) & np.isnan(expected)
    return judged & ~right


OVERFLOWED = "overflowed"  # outputs of an implementation that raised OverflowError


def _run_bug(bug, spec, inputs, params, batched):
    try:
        with np.errstate(all="ignore"):
            return bug.outputs(spec, inputs, params, batched)
    except OverflowError:
        return OVERFLOWED
    except ERRORS:
        return None


class _RecentBugOutputs:
    """The bugs' outputs on the cases diagnosed last, kept by the exact case
    (its pickled inputs: equal bytes only for equal values of equal types).
    A case whose forward and backward checks both fail, or a run judging the
    same replies at another precision, runs each bug once: most of a
    diagnosis's time is the bugs' runs through the pure-Python reference."""

    BUDGET = 64 << 20  # bytes of cases and outputs held, the least recently used dropped first
    LARGEST = 8 << 20  # bytes of one case and its outputs; a larger one is not kept

    def __init__(self):
        self.held, self.size, self.lock = OrderedDict(), 0, threading.Lock()

    def outputs(self, bug, spec, inputs, params, batched):
        """The bug's outputs (shared: read, never written), OVERFLOWED, or None
        when its computation fails otherwise."""
        key = pickle.dumps((bug.id, spec.name, inputs, params, batched), protocol=pickle.HIGHEST_PROTOCOL)
        with self.lock:
            if key in self.held:
                self.held.move_to_end(key)
                return self.held[key][0]
        outputs = _run_bug(bug, spec, inputs, params, batched)
        size = len(key) + _bytes_of(outputs)
        with self.lock:
            if size <= self.LARGEST and key not in self.held:
                self.held[key], self.size = (outputs, size), self.size + size
            while self.size > self.BUDGET:
                self.size -= self.held.popitem(last=False)[1][1]
        return outputs


def _bytes_of(outputs):
    """Of a bug's outputs (arrays, as the engines return them)."""
    return sum(getattr(value, "nbytes", 0) for value in outputs.values()) if isinstance(outputs, dict) else 0


_recent = _RecentBugOutputs()
if hasattr(os, "register_at_fork"):  # a forked child starts with a free lock, whatever held it here
    os.register_at_fork(after_in_child=lambda: setattr(_recent, "lock", threading.Lock()))


def _bug_outputs(bug, spec, inputs, params, batched):
    """The bug's outputs, OVERFLOWED, or None when its computation fails otherwise."""
    return _recent.outputs(bug, spec, inputs, params, batched)


def _overflow_findings(spec, inputs, params, batched, how):
    """The bugs that overflow on this case, where the implementation did."""
    return [
        Finding(bug.id, f"likely: {bug.description}", f"it overflows on this case, {how}")
        for bug in catalogue.for_op(spec.name)
        if _bug_outputs(bug, spec, inputs, params, batched) is OVERFLOWED
    ]


def _catalogue_findings(spec, inputs, params, batched, got, wanted, allowance):
    findings = []
    overflowed = any(not np.all(np.isfinite(value)) for value in got.values())
    for bug in catalogue.for_op(spec.name):
        outputs = _bug_outputs(bug, spec, inputs, params, batched)
        if outputs is OVERFLOWED and overflowed:
            detail = "it overflows on this case, and so does yours"
            findings.append((Finding(bug.id, f"likely: {bug.description}", detail), None))
        elif isinstance(outputs, dict):
            finding = _match(bug, outputs, got, wanted, allowance)
            if finding:
                findings.append((finding, _signature(outputs, wanted)))
    return _merged(findings)


def _signature(outputs, wanted):
    return tuple(np.asarray(outputs[name], dtype=float).tobytes() for name in wanted)


def _merged(findings):
    """The findings closest first; a bug with the same outputs as one
    listed before it (two roots of one symptom) joins that one's detail."""
    kept, first_with = [], {}
    for finding, signature in sorted(findings, key=lambda pair: pair[0].distance):
        if signature is not None and signature in first_with:
            index = first_with[signature]
            kept[index] = replace(
                kept[index], detail=f"{kept[index].detail}; the same outputs as {finding.id}"
            )
            continue
        if signature is not None:
            first_with[signature] = len(kept)
        kept.append(finding)
    return kept


def _match(bug, outputs, got, wanted, allowance):
    """The Finding when the implementation's outputs are the bug's, and the
    bug's differ from the right ones on this case; else None."""
    worst_error = worst_ratio = 0.0
    differs = False
    for name, (value, judged) in wanted.items():
        if name not in outputs:
            return None
        bug_value = np.asarray(outputs[name], dtype=float)
        tolerance, bound = allowance(name)
        if bug_value.shape == value.shape:
            differs |= not closeness(bug_value, value, judged, tolerance, bound)[0]
        else:  # another shape: the expected values' elementwise bound does not apply, its largest does
            differs, judged = True, np.ones(bug_value.shape, bool)
            bound = float(np.max(bound, initial=0.0))
        matched, error, ratio = closeness(got[name], bug_value, judged, tolerance, bound)
        if not matched:
            return None
        worst_error, worst_ratio = max(worst_error, error), max(worst_ratio, ratio)
    if not differs:
        return None
    count = sum(int(got[name].size) for name in wanted)
    how = "exactly" if worst_error == 0 else f"to {worst_error:.1g}"
    return Finding(
        bug.id, f"likely: {bug.description}", f"matches {how} on {count}/{count} elements", worst_ratio
    )


class Diagnoser:
    """Diagnoses the first `per_check` failing cases of each op and check
    of a run (each costs a run of every candidate bug)."""

    def __init__(self, per_check=6):
        self.per_check, self.done = per_check, {}

    def wants(self, op, check):
        return self.done.get((op, check), 0) < self.per_check

    def __call__(self, spec, check, *arguments):
        self.done[spec.name, check] = self.done.get((spec.name, check), 0) + 1
        return diagnose(spec, *arguments)


def diagnose(spec, inputs, params, batched, outputs, expected, allowance):
    """([Finding], {output: wrong-element mask}) of one failing check.
    outputs: the implementation's, as float arrays where they are real
    numbers; expected: the check's expected values; allowance(name) ->
    (Tolerance, elementwise bound)."""
    if outputs is OVERFLOWED:
        return _overflow_findings(spec, inputs, params, batched, "as yours raised OverflowError"), {}
    if not all(isinstance(outputs.get(name), np.ndarray) for name in expected):
        return [], {}  # not numbers, or missing: the message says so, and there is nothing to match
    got = {name: outputs[name] for name in expected}
    wanted = {name: expected_array(value) for name, value in expected.items()}
    masks = {}
    for name, (value, judged) in wanted.items():
        mask = wrong_elements(got[name], value, judged, *allowance(name))
        if mask is not None:
            masks[name] = mask
    findings = _catalogue_findings(spec, inputs, params, batched, got, wanted, allowance)
    for name, (value, judged) in wanted.items():
        if name in masks and not masks[name].any():
            continue  # this output is right: its patterns say nothing
        findings += [
            Finding(f"pattern:{kind}:{name}", f"{name}: {text}")
            for kind, text in patterns.describe(got[name], value, judged, allowance(name), inputs)
        ]
    return findings, masks
