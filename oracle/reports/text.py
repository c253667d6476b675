"""The conformance tables for a terminal: fixed cases, then fresh ones,
then the failures, each fresh failure with its smallest counterexample."""

import json
import math
import re
import textwrap

import numpy as np

from oracle.diagnosis.diagnose import NO_PATTERN
from oracle.reports.maps import map_lines

SHOWN_NUMBERS = 40  # an array with more elements is shown by its shape only
SHOWN_FINDINGS = 3  # of a diagnosis


def ratio(value):
    """A worst error / allowance ratio as the tables show it."""
    return "-" if value == 0 else ("inf" if math.isinf(value) else f"{value:.2g}")


def header_lines(report):
    lines = [f"implementation: {report.implementation}", f"judged at: {report.dtype} tolerances"]
    if report.conventions is not None:
        lines.append(f"conventions: {report.conventions.describe()}")
    if report.fresh:
        lines.append(f"fresh cases: {report.fresh} per op, seed {report.seed}")
    if report.command:
        lines.append(f"reproduce: {report.command}")
    lines += [f"note: {note}" for note in report.notes]
    return lines


def result_text(row):
    """`passed/total` (and the failures or xfails), or `skipped`."""
    total = row["pass"] + row["fail"] + row["xfail"] + row["skip"]
    if total == row["skip"]:
        return "skipped"
    text = f"{'FAIL' if row['fail'] else 'pass'} {row['pass']}/{total}"
    return text + (f" ({row['xfail']} xfail)" if row["xfail"] else "")


def table_lines(rows):
    header = f"{'op':<26}{'check':<10}{'result':<22}{'worst err/tol':>14}  first failing case"
    lines = [header, "-" * len(header)]
    skipped = {}  # reason -> [op or "op check"]: whole rows skipped, one line per reason
    for row in rows:
        result = result_text(row)
        if result == "skipped":
            skipped.setdefault(_reason_group(row["skip_reason"]), []).append(row)
            continue
        worst = ratio(row["worst_ratio"])
        lines.append(f"{row['op']:<26}{row['check']:<10}{result:<22}{worst:>14}  {row['first_failure']}")
    for reason, members in skipped.items():
        lines.append(f"skipped, {reason}:")
        lines += textwrap.wrap(
            ", ".join(_labels(members, rows)), 100, initial_indent="    ", subsequent_indent="    "
        )
    return lines


def _reason_group(reason):
    """A skip reason without the name of the missing function, so that
    the ops skipped for it share one line."""
    return re.sub(r" has no \w+$", " has no function for them", reason)


def _labels(members, rows):
    """Op names; `op check` for an op only some of whose checks are in members."""
    labels = []
    for op in dict.fromkeys(row["op"] for row in members):
        mine = [row for row in members if row["op"] == op]
        whole = len(mine) == sum(row["op"] == op for row in rows)
        labels += [op] if whole else [f"{op} {row['check']}" for row in mine]
    return labels


LEGEND = (
    "worst err/tol: the largest error over its allowance (below 1 passes); "
    "-: every value exact; inf: an exact case missed, or a value that is not a number"
)


def render_text(report):
    lines = header_lines(report) + [""]
    if report.unavailable:
        return "\n".join(lines + [report.verdict]) + "\n"
    fixed, fresh = report.rows("fixed"), report.rows("fresh")
    if fixed:
        lines += ["fixed cases (hand-worked and golden):" if fresh else "fixed cases:"] + table_lines(fixed)
    if fresh:
        lines += ([""] if fixed else []) + [f"fresh cases (seed {report.seed}):"] + table_lines(fresh)
    if fixed or fresh:
        lines += textwrap.wrap(LEGEND, 100)
    lines += failure_lines(report)
    for error in report.errors:
        lines.append(f"ERROR malformed fixture: {error}")
    for entry in report.xpass:
        lines.append(f"XPASS xfail line {entry.line} '{entry.describe()}' now passes: remove it")
    for entry in report.unknown_xfail:
        lines.append(f"unknown xfail entry on line {entry.line}: '{entry.describe()}' matches no case")
    # PASSED and FAILED verdicts carry the counts; the others need them beside
    lines += [""] + ([] if report.exit_code in (0, 1) else [report.summary]) + [report.verdict]
    return "\n".join(lines) + "\n"


def failure_lines(report):
    failures = report.unexpected
    if not failures:
        return []
    lines = ["", "failures (first 3 per op and check):"]
    shown = {}
    summaries = {
        (row["op"], row["check"], origin): row["diagnosis"]
        for origin in ("fixed", "fresh")
        for row in report.rows(origin)
    }
    for r in failures:
        key = (r.op, r.check, r.origin)
        shown[key] = shown.get(key, 0) + 1
        if shown[key] == 1 and summaries.get(key):
            lines += summary_lines(r, summaries[key])
        if shown[key] <= 3:
            lines.append(f"  {r.op} {r.check} {r.case}: {r.message}\n      at {r.location}")
            lines += diagnosis_lines(r)
            if r.counterexample:
                lines += counterexample_lines(r, report.command)
    return lines


def summary_lines(result, summary):
    """What the failures of one op and check have in common (the top findings)."""
    origin = "fresh " if result.origin == "fresh" else ""
    lines = [f"  {result.op} {result.check}, the {origin}failures together:"]
    for finding in summary[:SHOWN_FINDINGS]:
        lines.append(f"    {finding['text']} ({finding['cases']} of {finding['of']} cases)")
    return lines


def diagnosis_lines(result):
    """The diagnosis of one failing case, and where its outputs are wrong."""
    if result.diagnosis is None:
        return []
    if not result.diagnosis:
        lines = [f"      {NO_PATTERN}"]
    else:
        lines = [
            f"      {finding['text']}" + (f" ({finding['detail']})" if finding["detail"] else "")
            for finding in result.diagnosis[:SHOWN_FINDINGS]
        ]
    for name, mask in (result.wrong or {}).items():
        lines += map_lines(name, mask)
    return lines


def counterexample_lines(result, command):
    example = result.counterexample
    case = example["case"]
    lines = [f"      smallest failing case{' (' + example['note'] + ')' if example['note'] else ''}:"]
    lines.append(f"        params {json.dumps(case['params'])}")
    lines += [f"        {name} = {_array_text(value)}" for name, value in case["inputs"].items()]
    for name, value in example["got"].items():
        lines.append(f"        expected {name} = {_array_text(case['expected'].get(name))}")
        lines.append(f"        got      {name} = {_array_text(value)}")
    if example.get("saved"):
        lines.append(f"        saved as {example['saved']}")
    if command:
        lines.append(f"        replay: {command}")
    return lines


def _array_text(value):
    """A value on one line, or its shape when it holds too many numbers."""
    try:
        shape = np.shape(value)
    except ValueError:
        shape = ()
    if int(np.prod(shape)) > SHOWN_NUMBERS:
        return f"<array of shape {shape}>"
    return json.dumps(value)
