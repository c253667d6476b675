"""The conformance tables as Markdown (a pull request, a CI summary): the
tables, then the failures and the skip reasons folded away."""

import collections
import html

from oracle.reports.text import LEGEND, ratio, result_text

SHOWN_FAILURES = 3  # per op and check, as in the text report


def _table(rows):
    lines = [
        "| op | check | result | worst error / tolerance | first failing case |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['op']} | {row['check']} | {result_text(row)} | {ratio(row['worst_ratio'])} | "
            f"{row['first_failure']} |"
        )
    return lines + [""]


def _folded(summary, items):
    """A collapsed <details> block (GitHub renders it folded)."""
    body = "\n".join(f"- {html.escape(item)}" for item in items)
    return [f"<details><summary>{html.escape(summary)}</summary>", "", body, "", "</details>", ""]


def _failures(report):
    shown = collections.Counter()
    items = []
    for r in report.unexpected:
        shown[r.op, r.check, r.origin] += 1
        if shown[r.op, r.check, r.origin] <= SHOWN_FAILURES:
            likely = f" — {r.diagnosis[0]['text']}" if r.diagnosis else ""
            items.append(f"{r.op} {r.check} {r.case}: {r.message}{likely} (at {r.location})")
    return _folded(f"Failures ({report.count('fail')}, the first {SHOWN_FAILURES} per op and check)", items)


def _skips(report):
    reasons = collections.Counter(r.message for r in report.results if r.status == "skip")
    items = [f"{reason} ({n}x)" for reason, n in reasons.most_common()]
    return _folded(f"Skipped ({report.count('skip')}), by reason", items)


def render_markdown(report):
    lines = [f"# Conformance of `{report.implementation}`", "", f"Judged at {report.dtype} tolerances.", ""]
    if report.conventions is not None:
        lines += [f"Conventions: {report.conventions.describe()}.", ""]
    lines += [f"- note: {note}" for note in report.notes] + ([""] if report.notes else [])
    if not report.unavailable:
        fixed, fresh = report.rows("fixed"), report.rows("fresh")
        if fixed:
            lines += ["## Fixed cases (hand-worked and golden)", ""] + _table(fixed)
        if fresh:
            lines += [f"## Fresh cases ({report.fresh} per op, seed {report.seed})", ""] + _table(fresh)
        if fixed or fresh:
            lines += [f"_{LEGEND}._", ""]
        lines += [
            f"{report.count('pass')} passed, {report.count('fail')} failed, {report.count('skip')} skipped, "
            f"{report.count('xfail')} xfailed (known failures), {len(report.errors)} fixture errors.",
            "",
        ]
        if report.unexpected:
            lines += _failures(report)
        if report.count("skip"):
            lines += _skips(report)
        if report.errors:
            lines += _folded(f"Fixture errors ({len(report.errors)})", report.errors)
        if report.command:
            lines += [f"Reproduce: `{report.command}`", ""]
    lines.append(f"**{html.escape(report.verdict)}**")
    return "\n".join(lines) + "\n"
