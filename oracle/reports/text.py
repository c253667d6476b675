"""The conformance table for a terminal."""

import math


def ratio(value):
    """A worst error / allowance ratio as the tables show it."""
    return "-" if value == 0 else ("inf" if math.isinf(value) else f"{value:.2g}")


def header_lines(report):
    lines = [f"implementation: {report.implementation}", f"judged at: {report.dtype} tolerances"]
    lines += [f"note: {note}" for note in report.notes]
    return lines


def render_text(report):
    lines = header_lines(report) + [""]
    if report.unavailable:
        return "\n".join(lines + [report.verdict]) + "\n"
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
        worst = ratio(row["worst_ratio"])
        lines.append(f"{row['op']:<26}{row['check']:<10}{result:<22}{worst:>14}  {row['first_failure']}")
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
    # PASSED and FAILED verdicts carry the counts; the others need them beside
    lines += [""] + ([] if report.exit_code in (0, 1) else [report.summary]) + [report.verdict]
    return "\n".join(lines) + "\n"
