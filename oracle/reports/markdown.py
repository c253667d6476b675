"""The conformance tables as Markdown (a pull request, a CI summary)."""

from oracle.reports.text import ratio


def _table(rows):
    lines = [
        "| op | check | pass | fail | skipped | worst error / tolerance | first failing case |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['op']} | {row['check']} | {row['pass']} | {row['fail']} | {row['skip']} | "
            f"{ratio(row['worst_ratio'])} | {row['first_failure']} |"
        )
    return lines + [""]


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
        if report.command:
            lines += [f"Reproduce: `{report.command}`", ""]
    lines.append(f"**{report.verdict}**")
    return "\n".join(lines) + "\n"
