"""Judging one case: ask the implementation (oracle.conformance.adapters)
for its outputs on the case's inputs, and compare them with the case's
expected values within its tolerance (oracle.tolerance).

The harness keeps the cases, the expected values and the tolerances; the
implementation only ever receives inputs and params. A case is never
allowed to stop the run: an op the
implementation lacks is skipped with the reason; a fault (exception,
timeout, crash, bad reply, changed argument) fails that case with a
one-line reason; an output that is not real numbers, NaN/inf or a wrong
shape is a failure saying so; a malformed fixture is an error naming its
file and JSON path; and an exception inside our own judging is contained
and reported on the case.
"""

import math

import numpy as np

from oracle import registry
from oracle.checks import agreement
from oracle.conformance import fixtures, protocol
from oracle.conformance.adapters import (
    ImplementationFault,
    NotImplementedByTarget,
    one_line,
)
from oracle.conformance.convert import Inexpressible
from oracle.conformance.results import CaseCheck
from oracle.diagnosis.catalogue import CATALOGUE
from oracle.diagnosis.diagnose import OVERFLOWED
from oracle.tolerance import FLOAT32_MAX, compare, widened


def _split(spec, expected):
    backward = set(spec.gradients.values())
    return {
        "forward": {k: v for k, v in expected.items() if k not in backward},
        "backward": {k: v for k, v in expected.items() if k in backward},
    }


def checked_outputs(spec, expected, check):
    """The names of the expected outputs that `check` (forward or backward) judges."""
    return list(_split(spec, expected)[check])


def as_real(value, name):
    """A float array of an output: our engines' arrays as they are, the
    implementation's values checked to be real numbers (InvalidValue)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fiu":
            return value.astype(float)
        raise protocol.InvalidValue(f"{name}: got an array of {value.dtype}, not real numbers")
    if isinstance(value, (np.floating, np.integer)):
        return np.asarray(value, dtype=float)
    return protocol.real_array(value, name)


def _judge(outputs, expected, allowance):
    """(status, message, worst error, worst ratio) of one check's outputs;
    allowance(name) -> (Tolerance, elementwise bound)."""
    worst_error = worst_ratio = 0.0
    for name, value in expected.items():
        if name not in outputs:
            return "fail", f"no output {name!r} (got {sorted(outputs)})", math.inf, math.inf
        try:
            got = as_real(outputs[name], name)
        except protocol.InvalidValue as error:
            return "fail", one_line(error), math.inf, math.inf
        tolerance, bound = allowance(name)
        result = compare(got, value, tolerance, bound)
        worst_error, worst_ratio = max(worst_error, result.max_abs), max(worst_ratio, result.max_ratio)
        if not result.ok:
            finite = got.size == 0 or bool(np.all(np.isfinite(got)))
            prefix = "" if finite else "non-finite values (NaN or inf); "
            accumulation = " + float32 accumulation bound" if np.any(bound) else ""
            return (
                "fail",
                prefix + result.describe(name) + f" ({tolerance}{accumulation})",
                worst_error,
                max(worst_ratio, 1.0),
            )
    return "pass", "", worst_error, worst_ratio


def _contained_judge(outputs, expected, allowance):
    """_judge, with anything our own comparison raises reported on the case."""
    try:
        with np.errstate(all="ignore"):
            return _judge(outputs, expected, allowance)
    except Exception as error:  # noqa: BLE001 (overflow, FloatingPointError, ...: this case's failure)
        return (
            "fail",
            one_line(f"could not judge the outputs: {type(error).__name__}: {error}"),
            math.inf,
            math.inf,
        )


def _rates(variants):
    """[(rate, backward outputs)] from a layer worker's learning-rate variants."""
    found = []
    for name, outputs in variants.items():
        key, _, value = name.partition("=")
        try:
            rate = float(value)
        except ValueError:
            continue
        if key == "learning_rate":
            found.append((rate, outputs))
    return found


def _learning_rate_problem(spec, variants, allowance):
    """(why the backward outputs at two learning rates disagree, the
    catalogue id of that bug or ''), or ('', '').
    Parameter gradients are read back from the update as (before - after) /
    rate, so they agree across rates exactly when the update is rate x
    gradient; the input gradient must not depend on the rate at all."""
    rates = _rates(variants)
    if len(rates) < 2:
        return "", ""
    (a, at_a), (b, at_b) = rates[:2]
    for name in (n for n in at_a if n in at_b):
        try:
            first, second = as_real(at_a[name], name), as_real(at_b[name], name)
        except protocol.InvalidValue:
            continue
        tolerance, bound = allowance(name)
        if first.shape != second.shape or compare(first, second, tolerance, bound).ok:
            continue
        worst = compare(second, first, tolerance, bound)
        where = name + "".join(f"[{i}]" for i in worst.index)
        values = f"{where} is {worst.expected!r} at learning rate {a:g} and {worst.got!r} at {b:g}"
        if name == spec.gradients.get("x"):
            return (
                f"the input gradient depends on the learning rate: {values}",
                "update-before-input-gradient",
            )
        if compare(first * a, second * b, tolerance, bound).ok:
            how, bug = "; the update ignores the learning rate", "learning-rate-ignored"
        elif compare(first / a, second / b, tolerance, bound).ok:
            how, bug = "; the update is learning_rate squared x gradient", "learning-rate-squared"
        else:
            how, bug = "", ""
        return (
            f"the parameter update is not learning_rate x gradient: read back from the update, {values}{how}",
            bug,
        )
    return "", ""


def _beyond_float32(values):
    """'name (value)' of the first value outside float32's range, or ''."""
    for name, value in values.items():
        try:
            array = np.abs(np.asarray(value, dtype=float))
        except (TypeError, ValueError):  # unchecked (None) entries
            continue
        if array.size and array.max() > FLOAT32_MAX:
            return f"{name} ({array.max():.3g})"
    return ""


def _float32_skips(inputs, checks):
    """{check: reason} for the checks float32 cannot express: an input or
    one of the check's expected values beyond float32's range."""
    beyond_input = _beyond_float32(inputs)
    skips = {}
    for kind, expected in checks.items():
        beyond_output = "" if beyond_input else _beyond_float32(expected)
        if beyond_input or beyond_output:
            what = f"input {beyond_input}" if beyond_input else f"expected output {beyond_output}"
            skips[kind] = f"{what} is outside float32's range (max {FLOAT32_MAX:.3g})"
    return skips


def _allowance(spec, case, location, inputs, params, dtype):
    """allowance(output name) for an implementation computing in dtype,
    computed from the harness's own copy of the inputs."""
    batched = case.get("batched", False)
    try:
        bounds = (
            agreement.accumulation_bounds(spec, inputs, params, dtype, batched) if dtype != "float64" else {}
        )
    except (ValueError, KeyError, TypeError) as error:
        raise fixtures.FixtureError(f"{location}: the reference rejects the case: {error}") from None
    return lambda name: (
        widened(fixtures.tolerance_for(case, name), dtype),
        bounds.get(name, 0.0),
    )


def _ask(implementation, spec, inputs, params, checks, skipped, batched):
    """The implementation's Reply; without a backward, the forward alone
    (and the backward check skipped saying so)."""
    try:
        return implementation.outputs(spec, inputs, params, batched)
    except NotImplementedByTarget as reason:
        if "dy" not in inputs or "forward" not in checks:
            raise
        skipped["backward"] = f"not implemented: {reason}"
        return implementation.outputs(spec, {k: v for k, v in inputs.items() if k != "dy"}, params, batched)


def _unchecked(kind, expected, reply):
    """Why none of a check's outputs can be judged, or '': each is omitted
    by the implementation's conventions, or (a backward) none came back."""
    omitted = [name for name in expected if name in reply.omitted]
    if len(omitted) == len(expected):
        return "; ".join(dict.fromkeys(reply.omitted[name] for name in omitted))
    if kind == "backward" and not any(name in reply.outputs for name in expected):
        return f"not implemented: no backward ({', '.join(expected)} not returned)"
    return ""


def run_case(implementation, location, case, dtype="float64", diagnoser=None):
    """[CaseCheck] of one case: one per check that has expected outputs
    (FixtureError if the case itself is malformed). dtype: the precision
    the implementation computes in; float32 widens the tolerances
    (oracle.tolerance.widened) and skips values float32 cannot hold.
    diagnoser (oracle.diagnosis.diagnose.Diagnoser): names the bug behind
    a failing check."""
    return judge_case(implementation, location, case, dtype, diagnoser)[0]


def judge_case(implementation, location, case, dtype="float64", diagnoser=None):
    """([CaseCheck], the implementation's outputs or None): run_case, and
    what the implementation returned (for a counterexample)."""
    spec = registry.get(case["op"])
    try:
        inputs, expected, _ = fixtures.bound_case(case)
    except fixtures.FixtureError as error:
        raise fixtures.FixtureError(f"{location}: {error}") from None
    checks = {kind: exp for kind, exp in _split(spec, expected).items() if exp}
    make = lambda kind, status, message="", error=0.0, ratio=0.0: CaseCheck(  # noqa: E731
        spec.name, kind, case["id"], location, status, message, error, ratio, params=case.get("params", {})
    )
    every = lambda status, message, error=0.0: (  # noqa: E731
        [make(kind, status, message, error, error) for kind in checks],
        None,
    )
    params, batched = case.get("params", {}), case.get("batched", False)
    if not implementation.offers(spec.name):
        return every("skip", "not offered by the implementation (its handshake lists its ops)")
    if batched and not implementation.batch:
        return every("skip", "a batched case: the implementation takes one sample per call")
    skipped = _float32_skips(inputs, checks) if dtype == "float32" else {}
    if len(skipped) == len(checks):
        return [make(kind, "skip", skipped[kind]) for kind in checks], None
    allowance = _allowance(spec, case, location, inputs, params, dtype)  # before the call, from our copy
    try:
        reply = _ask(implementation, spec, inputs, params, checks, skipped, batched)
    except Inexpressible as reason:
        return every("skip", str(reason))
    except NotImplementedByTarget as reason:
        return every("skip", f"not implemented: {reason}")
    except ImplementationFault as fault:
        failed = every("fail", str(fault), math.inf)
        if "OverflowError" in str(fault) and diagnoser is not None:
            for result in failed[0]:
                if diagnoser.wants(spec.name, result.check):
                    _diagnose(
                        diagnoser,
                        result,
                        spec,
                        inputs,
                        params,
                        batched,
                        OVERFLOWED,
                        checks[result.check],
                        allowance,
                    )
        return failed
    except Exception as error:  # one of our own engines failing: reported, never raised
        return every("fail", one_line(f"raised {type(error).__name__}: {error}"), math.inf)
    if not isinstance(reply.outputs, dict):
        return every("fail", f"returned {type(reply.outputs).__name__}, not outputs")
    results = []
    for kind, exp in checks.items():
        reason = skipped.get(kind) or _unchecked(kind, exp, reply)
        if reason:
            results.append(make(kind, "skip", reason))
            continue
        exp = {name: value for name, value in exp.items() if name not in reply.omitted}
        status, message, error, ratio = _contained_judge(reply.outputs, exp, allowance)
        for variant in reply.variants.values() if kind == "backward" and status == "pass" else ():
            status, message, error, ratio = _contained_judge({**reply.outputs, **variant}, exp, allowance)
            if status != "pass":
                break
        learning_rate_bug = ""
        if status == "fail" and kind == "backward" and reply.variants:
            problem, learning_rate_bug = _learning_rate_problem(spec, reply.variants, allowance)
            message = problem or message
        result = make(kind, status, message, error, ratio)
        if status == "fail" and diagnoser is not None and diagnoser.wants(spec.name, kind):
            _diagnose(diagnoser, result, spec, inputs, params, batched, reply.outputs, exp, allowance)
            if learning_rate_bug:
                bug = CATALOGUE[learning_rate_bug]
                result.diagnosis.insert(0, {"id": bug.id, "text": f"likely: {bug.description}", "detail": ""})
        results.append(result)
    return results, reply.outputs


WRONG_MAP_LIMIT = 4096  # elements: larger outputs carry no map of their wrong elements


def _diagnose(diagnoser, result, spec, inputs, params, batched, outputs, expected, allowance):
    """Set result.diagnosis and result.wrong (nothing the implementation
    returned can break this: its values are read as real arrays or left out)."""
    real = outputs if outputs is OVERFLOWED else {}
    for name in expected if real is not OVERFLOWED else ():
        try:
            real[name] = as_real(outputs[name], name)
        except (KeyError, protocol.InvalidValue):
            pass
    try:
        with np.errstate(all="ignore"):
            findings, masks = diagnoser(
                spec, result.check, inputs, params, batched, real, expected, allowance
            )
    except Exception as error:  # noqa: BLE001 (our diagnosis failing: the verdict stands without it)
        findings, masks = [], {}
        result.message += f" (no diagnosis: {type(error).__name__}: {error})"
    result.diagnosis = [finding.as_dict() for finding in findings]
    result.wrong = {
        name: mask.astype(int).tolist() for name, mask in masks.items() if mask.size <= WRONG_MAP_LIMIT
    }
