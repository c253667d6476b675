"""`cnn-oracle verify`: run every applicable fixture case (hand-worked and
golden) through an implementation, forward and backward, and report
conformance per op and check.

A case is never allowed to stop the run: an op the implementation lacks
is skipped with the reason, an exception is a failure carrying its text,
NaN/inf or a wrong shape is a failure saying so, and a malformed fixture
is an error naming its file and JSON path.
"""

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jsonschema
import numpy as np

from . import agreement, fixtures, registry
from .implementations import NotImplementedByTarget
from .tolerance import FLOAT32_MAX, compare, widened

REPORT_FORMAT = "cnn-oracle-report/1"
CHECKS = ("forward", "backward")


@dataclass
class CaseCheck:
    """One check (forward or backward) of one case."""

    op: str
    check: str
    case: str
    location: str
    status: str  # pass, fail, skip, xfail, error
    message: str = ""
    worst_error: float = 0.0  # largest |got - expected| seen
    worst_ratio: float = 0.0  # largest error / allowance


@dataclass
class XfailEntry:
    op: str
    check: str = ""
    case: str = ""
    reason: str = ""
    line: int = 0
    matched: int = 0
    failed: int = 0

    def matches(self, result):
        return result.op == self.op and self.check in ("", result.check) and self.case in ("", result.case)

    def describe(self):
        return " ".join(part for part in (self.op, self.check, self.case) if part)


def read_xfail(path):
    """Known failures: one per line, `OP [CHECK [CASE_ID]]`, `#` comments."""
    entries = []
    for number, raw in enumerate(Path(path).read_text().splitlines(), start=1):
        text, _, reason = raw.partition("#")
        words = text.split()
        if not words:
            continue
        if len(words) > 3 or (len(words) > 1 and words[1] not in CHECKS):
            raise ValueError(
                f"{path}:{number}: expected 'OP [forward|backward [CASE_ID]]', got {raw.strip()!r}"
            )
        entries.append(XfailEntry(*words, reason=reason.strip(), line=number))
    return entries


@dataclass
class Report:
    implementation: str
    dtype: str = "float64"  # the precision the implementation was judged at
    results: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # malformed fixtures
    xfail: list = field(default_factory=list)

    def count(self, status):
        return sum(1 for r in self.results if r.status == status)

    @property
    def unexpected(self):
        return [r for r in self.results if r.status == "fail"]

    @property
    def ok(self):
        return not self.unexpected and not self.errors

    @property
    def xpass(self):
        return [e for e in self.xfail if e.matched and not e.failed]

    @property
    def unknown_xfail(self):
        return [e for e in self.xfail if not e.matched]

    def rows(self):
        """One row per (op, check): counts, worst error ratio, first failure."""
        table = {}
        for r in self.results:
            row = table.setdefault(
                (r.op, r.check),
                {
                    "op": r.op,
                    "check": r.check,
                    "pass": 0,
                    "fail": 0,
                    "xfail": 0,
                    "skip": 0,
                    "worst_ratio": 0.0,
                    "worst_error": 0.0,
                    "first_failure": "",
                    "skip_reason": "",
                },
            )
            row[r.status] += 1
            row["worst_ratio"] = max(row["worst_ratio"], r.worst_ratio)
            row["worst_error"] = max(row["worst_error"], r.worst_error)
            if r.status == "fail" and not row["first_failure"]:
                row["first_failure"] = r.case
            if r.status == "skip" and not row["skip_reason"]:
                row["skip_reason"] = r.message
        return [table[key] for key in sorted(table)]


def _split(spec, expected):
    backward = set(spec.gradients.values())
    return {
        "forward": {k: v for k, v in expected.items() if k not in backward},
        "backward": {k: v for k, v in expected.items() if k in backward},
    }


def _judge(outputs, expected, allowance):
    """(status, message, worst error, worst ratio) of one check's outputs;
    allowance(name) -> (Tolerance, elementwise bound)."""
    worst_error = worst_ratio = 0.0
    for name, value in expected.items():
        if name not in outputs:
            return "fail", f"no output {name!r} (got {sorted(outputs)})", math.inf, math.inf
        got = outputs[name]
        try:
            finite = np.all(np.isfinite(np.asarray(got, dtype=float)))
        except (TypeError, ValueError):
            return "fail", f"{name}: not numeric: {str(got)[:80]}", math.inf, math.inf
        tolerance, bound = allowance(name)
        result = compare(got, value, tolerance, bound)
        worst_error, worst_ratio = max(worst_error, result.max_abs), max(worst_ratio, result.max_ratio)
        if not result.ok:
            prefix = "" if finite else "non-finite values (NaN or inf); "
            accumulation = " + float32 accumulation bound" if np.any(bound) else ""
            return (
                "fail",
                prefix + result.describe(name) + f" ({tolerance}{accumulation})",
                worst_error,
                max(worst_ratio, 1.0),
            )
    return "pass", "", worst_error, worst_ratio


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
    """allowance(output name) for an implementation computing in dtype."""
    try:
        bounds = agreement.accumulation_bounds(spec, inputs, params, dtype) if dtype != "float64" else {}
    except (ValueError, KeyError, TypeError) as error:
        raise fixtures.FixtureError(f"{location}: the reference rejects the case: {error}") from None
    return lambda name: (
        widened(fixtures.tolerance_for(case, name), dtype),
        bounds.get(name, 0.0),
    )


def run_case(implementation, location, case, dtype="float64"):
    """[CaseCheck] of one case: one per check that has expected outputs
    (FixtureError if the case itself is malformed). dtype: the precision
    the implementation computes in; float32 widens the tolerances
    (oracle.tolerance.widened) and skips values float32 cannot hold."""
    spec = registry.get(case["op"])
    try:
        inputs, expected, _ = fixtures.bound_case(case)
    except fixtures.FixtureError as error:
        raise fixtures.FixtureError(f"{location}: {error}") from None
    checks = {kind: exp for kind, exp in _split(spec, expected).items() if exp}
    make = lambda kind, status, message="", error=0.0, ratio=0.0: CaseCheck(  # noqa: E731
        spec.name, kind, case["id"], location, status, message, error, ratio
    )
    params = case.get("params", {})
    skipped = _float32_skips(inputs, checks) if dtype == "float32" else {}
    if len(skipped) == len(checks):
        return [make(kind, "skip", skipped[kind]) for kind in checks]
    try:
        try:
            outputs = implementation.outputs(spec, inputs, params)
        except NotImplementedByTarget as reason:
            if "dy" not in inputs or "forward" not in checks:
                raise
            # No backward: check the forward alone.
            outputs = implementation.outputs(spec, {k: v for k, v in inputs.items() if k != "dy"}, params)
            skipped["backward"] = f"not implemented: {reason}"
    except NotImplementedByTarget as reason:
        return [make(kind, "skip", f"not implemented: {reason}") for kind in checks]
    except Exception as error:  # the implementation's own failure, reported, never raised
        text = f"{type(error).__name__}: {error}".strip()
        return [make(kind, "fail", f"raised {text}", math.inf, math.inf) for kind in checks]
    if not isinstance(outputs, dict):
        return [
            make(kind, "fail", f"returned {type(outputs).__name__}, not a dict of outputs") for kind in checks
        ]
    allowance = _allowance(spec, case, location, inputs, params, dtype)
    return [
        make(kind, "skip", skipped[kind]) if kind in skipped else make(kind, *_judge(outputs, exp, allowance))
        for kind, exp in checks.items()
    ]


def verify(implementation, ops=None, xfail=(), root=None, dtype="float64"):
    report = Report(implementation.name, dtype, xfail=list(xfail))
    validator = jsonschema.Draft202012Validator(fixtures.schema())
    for path in fixtures.case_files(root):
        try:
            document = fixtures.load(path)
        except fixtures.FixtureError as error:
            report.errors.append(str(error))
            continue
        problems = fixtures.schema_errors(document, validator)
        if problems:
            report.errors.extend(f"{path}: {problem}" for problem in problems)
            continue
        for location, case in fixtures.cases_in(document, path):
            if ops and case["op"] not in ops:
                continue
            if case["op"] not in registry.REGISTRY:
                report.errors.append(f"{location}: $.op: unknown operation {case['op']!r}")
                continue
            try:
                report.results.extend(run_case(implementation, location, case, dtype))
            except fixtures.FixtureError as error:
                report.errors.append(str(error))
    _apply_xfail(report)
    return report


def _apply_xfail(report):
    for result in report.results:
        for entry in report.xfail:
            if entry.matches(result):
                entry.matched += 1
                if result.status == "fail":
                    entry.failed += 1
                    result.status = "xfail"
                break


# ---- reports ----


def _ratio(value):
    return "-" if value == 0 else ("inf" if math.isinf(value) else f"{value:.2g}")


def render_text(report):
    lines = [f"implementation: {report.implementation}", f"judged at: {report.dtype} tolerances", ""]
    header = f"{'op':<26}{'check':<10}{'result':<22}{'worst err/tol':>14}  first failing case"
    lines += [header, "-" * len(header)]
    for row in report.rows():
        total = row["pass"] + row["fail"] + row["xfail"]
        if total == 0:
            result = "skipped"
        elif row["fail"]:
            result = f"FAIL {row['fail']}/{total + row['skip']}"
        else:
            result = f"pass {row['pass']}/{total + row['skip']}" + (
                f" ({row['xfail']} xfail)" if row["xfail"] else ""
            )
        ratio = _ratio(row["worst_ratio"])
        lines.append(f"{row['op']:<26}{row['check']:<10}{result:<22}{ratio:>14}  {row['first_failure']}")
        if total == 0:
            lines.append(f"{'':<36}{row['skip_reason']}")
    failures = report.unexpected
    if failures:
        lines += ["", "failures (first 3 per op and check):"]
        shown = {}
        for r in failures:
            key = (r.op, r.check)
            shown[key] = shown.get(key, 0) + 1
            if shown[key] <= 3:
                lines.append(f"  {r.op} {r.check} {r.case}: {r.message}\n      at {r.location}")
    for error in report.errors:
        lines.append(f"ERROR malformed fixture: {error}")
    for entry in report.xpass:
        lines.append(f"XPASS xfail line {entry.line} '{entry.describe()}' now passes: remove it")
    for entry in report.unknown_xfail:
        lines.append(f"unknown xfail entry on line {entry.line}: '{entry.describe()}' matches no case")
    lines += [
        "",
        f"{report.count('pass')} passed, {report.count('fail')} failed, {report.count('skip')} skipped, "
        f"{report.count('xfail')} xfailed, {len(report.errors)} fixture errors",
    ]
    return "\n".join(lines) + "\n"


def render_markdown(report):
    lines = [
        f"# Conformance of `{report.implementation}`",
        "",
        f"Judged at {report.dtype} tolerances.",
        "",
        "| op | check | pass | fail | skipped | worst error / tolerance | first failing case |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report.rows():
        lines.append(
            f"| {row['op']} | {row['check']} | {row['pass']} | {row['fail']} | {row['skip']} | "
            f"{_ratio(row['worst_ratio'])} | {row['first_failure']} |"
        )
    lines += [
        "",
        f"**{report.count('pass')} passed, {report.count('fail')} failed, {report.count('skip')} skipped**",
    ]
    return "\n".join(lines) + "\n"


def _finite(value):
    return value if math.isfinite(value) else None


def as_json(report):
    return {
        "format": REPORT_FORMAT,
        "implementation": report.implementation,
        "dtype": report.dtype,
        "ok": report.ok,
        "summary": {status: report.count(status) for status in ("pass", "fail", "skip", "xfail")},
        "rows": [
            {**row, "worst_ratio": _finite(row["worst_ratio"]), "worst_error": _finite(row["worst_error"])}
            for row in report.rows()
        ],
        "results": [
            {**asdict(r), "worst_error": _finite(r.worst_error), "worst_ratio": _finite(r.worst_ratio)}
            for r in report.results
        ],
        "fixture_errors": report.errors,
        "xpass": [e.describe() for e in report.xpass],
        "unknown_xfail": [e.describe() for e in report.unknown_xfail],
    }


def render_json(report):
    return json.dumps(as_json(report), indent=1) + "\n"


def render_junit(report):
    from xml.etree import ElementTree as ET

    root = ET.Element("testsuites", name=f"cnn-oracle verify {report.implementation} ({report.dtype})")
    by_op = {}
    for r in report.results:
        by_op.setdefault(r.op, []).append(r)
    for op, results in sorted(by_op.items()):
        suite = ET.SubElement(
            root,
            "testsuite",
            name=op,
            tests=str(len(results)),
            failures=str(sum(r.status == "fail" for r in results)),
            skipped=str(sum(r.status in ("skip", "xfail") for r in results)),
        )
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=f"{op}.{r.check}", name=r.case)
            if r.status == "fail":
                ET.SubElement(case, "failure", message=r.message[:200]).text = f"{r.message}\nat {r.location}"
            elif r.status in ("skip", "xfail"):
                ET.SubElement(case, "skipped", message=r.message or "expected failure (xfail)")
    for error in report.errors:
        suite = ET.SubElement(root, "testsuite", name="fixtures", tests="1", errors="1")
        ET.SubElement(
            ET.SubElement(suite, "testcase", classname="fixtures", name="load"), "error", message=error[:200]
        ).text = error
    return ET.tostring(root, encoding="unicode") + "\n"


RENDERERS = {"text": render_text, "json": render_json, "junit": render_junit, "markdown": render_markdown}


def report_schema():
    return json.loads((Path(__file__).parent / "report-schema.json").read_text())
