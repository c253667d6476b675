"""The conformance table as Markdown (a pull request, a CI summary)."""

from oracle.reports.text import ratio


def render_markdown(report):
    lines = [f"# Conformance of `{report.implementation}`", "", f"Judged at {report.dtype} tolerances.", ""]
    lines += [f"- note: {note}" for note in report.notes] + ([""] if report.notes else [])
    if not report.unavailable:
        lines += [
            "| op | check | pass | fail | skipped | worst error / tolerance | first failing case |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in report.rows():
            lines.append(
                f"| {row['op']} | {row['check']} | {row['pass']} | {row['fail']} | {row['skip']} | "
                f"{ratio(row['worst_ratio'])} | {row['first_failure']} |"
            )
        lines.append("")
    lines.append(f"**{report.verdict}**")
    return "\n".join(lines) + "\n"
