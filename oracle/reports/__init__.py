"""Renderings of a verify Report (oracle.conformance.results): text for a
terminal, Markdown for a pull request, one self-contained HTML page for a
browser, JSON (oracle/reports/report-schema.json) and JUnit XML for CI,
and the autograders' result files (gradescope, prairielearn,
github-classroom: oracle/reports/autograder.py).
`write` puts one on disk atomically: a reader never sees half a report."""

import os
import tempfile
from pathlib import Path

from oracle.reports import autograder
from oracle.reports.html import render_html
from oracle.reports.json_report import render_json, report_schema
from oracle.reports.junit import render_junit
from oracle.reports.markdown import render_markdown
from oracle.reports.text import render_text

RENDERERS = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "markdown": render_markdown,
    "html": render_html,
    **autograder.RENDERERS,
}
GRADED = tuple(autograder.RENDERERS)  # the formats that score the run (verify --points)

__all__ = [
    "GRADED",
    "RENDERERS",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_text",
    "report_schema",
    "write",
]


def write(path, text):
    """Write `text` to `path` through a temporary file in the same folder
    and a rename (OSError if it cannot be written)."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
