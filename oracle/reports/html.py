"""The report as one self-contained HTML page: the header, the conformance
tables, the failures with their diagnosis, counterexample and a map of the
wrong elements, the verdict last. No scripts and nothing fetched: the page
opens offline, and every string is escaped, since messages come from the
implementation under test."""

import json
from html import escape

import numpy as np

from oracle.diagnosis.diagnose import NO_PATTERN

# the text report's wording, grouping and value formatting, so that both say the same
from oracle.reports.text import (
    LEGEND,
    SHOWN_FINDINGS,
    _array_text,
    _labels,
    _reason_group,
    ratio,
    result_text,
)

SHOWN_FAILURES = 3  # per op, check and origin, as in the text report
MAX_ROWS, MAX_COLUMNS, MAX_CHANNELS = 32, 32, 8  # of a map; a larger one is cut

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:1100px;
 margin:1.5em auto;padding:0 1em}
h1{font-size:1.35em;margin:0 0 .4em}h2{font-size:1.1em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd}
h3{font-size:1em;margin:1.2em 0 .3em}h4{font-size:.95em;margin:0 0 .2em}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:0}
dl.meta dt{color:#666}dl.meta dd{margin:0;overflow-wrap:anywhere}
table.conformance{border-collapse:collapse;width:100%;table-layout:fixed}
.conformance th,.conformance td{padding:.15em .6em;text-align:left;border-bottom:1px solid #eee;
 overflow-wrap:anywhere}
.conformance th{font-weight:600;color:#555;border-bottom:1px solid #ccc}
.conformance .op{width:30%}.conformance .check{width:10%}.conformance .result{width:18%}
.conformance .worst{width:12%;text-align:right;font-variant-numeric:tabular-nums}
tr.fail{background:#fff1f1}td.fail{color:#b00020;font-weight:600}td.pass{color:#17692b}
td.xfail{color:#8a5a00}
.skipped{color:#666;margin:.4em 0 0;padding-left:1.2em}.skipped li{margin:.1em 0}
.legend{color:#666;font-size:.9em}
.group{margin:1em 0 0}.summary{margin:.2em 0 .5em;padding-left:1.2em}
.failure{border-left:3px solid #c62828;background:#fafafa;padding:.4em .8em;margin:.5em 0}
.message{margin:.2em 0;overflow-wrap:anywhere}.location{color:#666;margin:.1em 0}
.diagnosis{margin:.3em 0;padding-left:1.2em}.diagnosis .none{color:#666}
.map{margin:.4em 0}.map figcaption{color:#555;font-size:.9em}
table.mask{display:inline-table;border-collapse:separate;border-spacing:1px;margin:.2em 1em .2em 0;
 vertical-align:top}
table.mask caption{caption-side:bottom;font-size:.8em;color:#666;text-align:left;white-space:nowrap}
table.mask td{width:10px;height:10px;padding:0;background:#c8e6c9}table.mask td.w{background:#d32f2f}
.swatch{display:inline-block;width:10px;height:10px;vertical-align:middle;background:#c8e6c9}
.swatch.w{background:#d32f2f}
table.values{border-collapse:collapse;margin:.2em 0}
.values th{text-align:left;font-weight:normal;color:#555;padding:.05em .8em .05em 0;vertical-align:top;
 white-space:nowrap}
.values td{padding:.05em 0;overflow-wrap:anywhere}
.more{color:#666;font-style:italic}.problems{color:#b00020}
.verdict{font-weight:700;font-size:1.1em;padding:.5em .8em;margin:1.5em 0 0;border-radius:3px}
.verdict.passed{background:#e6f4ea;color:#17692b}.verdict.failed,.verdict.error{background:#fde7e9;
 color:#b00020}.verdict.nothing{background:#fff4e0;color:#8a5a00}
"""

VERDICT_CLASS = {0: "passed", 1: "failed", 2: "error", 3: "nothing"}


def e(value):
    """Any value as escaped text (quotes too, so that it is safe in attributes)."""
    return escape(str(value), quote=True)


def render_html(report):
    parts = [_header(report)]
    if not report.unavailable:
        fixed, fresh = report.rows("fixed"), report.rows("fresh")
        if fixed:
            title = "Fixed cases (hand-worked and golden)" if fresh else "Fixed cases"
            parts.append(_table_section("fixed", title, fixed))
        if fresh:
            parts.append(_table_section("fresh", f"Fresh cases (seed {report.seed})", fresh))
        if fixed or fresh:
            parts.append(f'<p class="legend">{e(LEGEND)}</p>')
        parts += [_failures(report, {"fixed": fixed, "fresh": fresh}), _problems(report)]
    parts.append(f'<p class="verdict {VERDICT_CLASS[report.exit_code]}">{e(report.verdict)}</p>')
    title = f"cnn-oracle verify {report.implementation}: {report.verdict}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(part for part in parts if part)
        + "\n</body>\n</html>\n"
    )


def _header(report):
    items = [("judged at", f"{e(report.dtype)} tolerances")]
    if report.conventions is not None:
        items.append(("conventions", e(report.conventions.describe())))
    if report.fresh:
        items.append(("fresh cases", f"{e(report.fresh)} per op, seed {e(report.seed)}"))
    if report.command:
        items.append(("reproduce", f"<code>{e(report.command)}</code>"))
    items += [("note", e(note)) for note in report.notes]
    rows = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in items)
    return (
        f"<header><h1>Conformance of <code>{e(report.implementation)}</code></h1>"
        f'<dl class="meta">{rows}</dl></header>'
    )


def _table_section(origin, title, rows):
    """One row per op and check; the ops skipped whole are listed under
    the table, grouped by reason, so the table holds what ran."""
    body, skipped = [], {}
    for row in rows:
        result = result_text(row)
        if result == "skipped":
            skipped.setdefault(_reason_group(row["skip_reason"]), []).append(row)
            continue
        status = "fail" if row["fail"] else ("xfail" if row["xfail"] else "pass")
        body.append(
            f'<tr class="{status}"><td>{e(row["op"])}</td><td>{e(row["check"])}</td>'
            f'<td class="{status}">{e(result)}</td><td class="worst">{e(ratio(row["worst_ratio"]))}</td>'
            f"<td><code>{e(row['first_failure'])}</code></td></tr>"
        )
    head = (
        '<thead><tr><th class="op">op</th><th class="check">check</th><th class="result">result</th>'
        '<th class="worst">worst err/tol</th><th>first failing case</th></tr></thead>'
    )
    table = f'<table class="conformance">{head}<tbody>{"".join(body)}</tbody></table>' if body else ""
    groups = "".join(
        f"<li>skipped, {e(reason)}: {e(', '.join(_labels(members, rows)))}</li>"
        for reason, members in skipped.items()
    )
    listing = f'<ul class="skipped">{groups}</ul>' if groups else ""
    return f'<section id="{origin}"><h2>{e(title)}</h2>{table}{listing}</section>'


def _failures(report, tables):
    """The first few failures of each op, check and origin, after what
    they have in common (the diagnosis of their row in `tables`)."""
    groups = {}
    for result in report.unexpected:
        groups.setdefault((result.op, result.check, result.origin), []).append(result)
    if not groups:
        return ""
    summaries = {
        (row["op"], row["check"], origin): row["diagnosis"] for origin in tables for row in tables[origin]
    }
    sections = []
    for (op, check, origin), failures in groups.items():
        summary = "".join(
            f"<li>{e(finding['text'])} ({finding['cases']} of {finding['of']} cases)</li>"
            for finding in summaries.get((op, check, origin), [])[:SHOWN_FINDINGS]
        )
        count = f"{len(failures)} failure{'s' if len(failures) > 1 else ''}"
        parts = [f"<h3>{e(op)} {e(check)}, {origin} cases: {count}</h3>"]
        parts += [f'<ul class="summary">{summary}</ul>'] if summary else []
        parts += [_failure(result, report.command) for result in failures[:SHOWN_FAILURES]]
        if len(failures) > SHOWN_FAILURES:
            parts.append(f'<p class="more">and {len(failures) - SHOWN_FAILURES} more not shown</p>')
        sections.append(f'<section class="group">{"".join(parts)}</section>')
    title = f"Failures (first {SHOWN_FAILURES} per op and check)"
    return f'<section id="failures"><h2>{title}</h2>{"".join(sections)}</section>'


def _failure(result, command):
    parts = [
        f"<h4>{e(result.op)} {e(result.check)} <code>{e(result.case)}</code></h4>",
        f'<p class="message mono">{e(result.message)}</p>',
        f'<p class="location">at {e(result.location)}</p>',
    ]
    if result.diagnosis is not None:
        findings = [
            e(finding["text"]) + (f" ({e(finding['detail'])})" if finding["detail"] else "")
            for finding in result.diagnosis[:SHOWN_FINDINGS]
        ] or [f'<span class="none">{NO_PATTERN}</span>']
        parts.append('<ul class="diagnosis">' + "".join(f"<li>{text}</li>" for text in findings) + "</ul>")
    parts += [_heatmap(name, mask) for name, mask in (result.wrong or {}).items()]
    if result.counterexample:
        parts.append(_counterexample(result.counterexample, command))
    attributes = f'data-op="{e(result.op)}" data-check="{e(result.check)}" data-case="{e(result.case)}"'
    return f'<article class="failure" {attributes}>{"".join(parts)}</article>'


def _heatmap(name, mask):
    """Which elements of a 2-D or 3-D output are wrong: one grid of cells
    per channel (of a 4-D output, its first block: the first sample of a
    batch, the first kernel's gradient); "" for other ranks or no wrong."""
    wrong = np.array(mask, dtype=bool)
    if wrong.ndim == 4:
        wrong, name = wrong[0], f"{name}[0]"
    if wrong.ndim not in (2, 3) or not wrong.any():
        return ""
    planes = wrong if wrong.ndim == 3 else wrong[None]
    shown = planes[:MAX_CHANNELS, :MAX_ROWS, :MAX_COLUMNS]
    blocks = []
    for channel, plane in enumerate(shown):
        prefix = f"{name}[{channel}]" if wrong.ndim == 3 else name
        rows = "".join(
            "<tr>"
            + "".join(
                f'<td class="w" title="{e(prefix)}[{i}][{j}]"></td>' if v else "<td></td>"
                for j, v in enumerate(row)
            )
            + "</tr>"
            for i, row in enumerate(plane)
        )
        caption = f"<caption>channel {channel}</caption>" if wrong.ndim == 3 else ""
        blocks.append(f'<table class="mask">{caption}{rows}</table>')
    cut = " (cut to its first rows, columns and channels)" if shown.shape != planes.shape else ""
    caption = (
        f"wrong elements of <code>{e(name)}</code>{cut}: "
        '<span class="swatch w"></span> outside tolerance, <span class="swatch"></span> right'
    )
    figure = f'<figure class="map" data-output="{e(name)}">'
    return f"{figure}<figcaption>{caption}</figcaption>{''.join(blocks)}</figure>"


def _counterexample(example, command):
    """The smallest failing case: its inputs, then expected beside got."""
    case = example["case"]
    rows = [("params", json.dumps(case["params"]))]
    rows += [(name, _array_text(value)) for name, value in case["inputs"].items()]
    for name, value in example["got"].items():
        rows += [
            (f"expected {name}", _array_text(case["expected"].get(name))),
            (f"got {name}", _array_text(value)),
        ]
    if example.get("saved"):
        rows.append(("saved as", example["saved"]))
    if command:
        rows.append(("replay", command))
    cells = "".join(f'<tr><th>{e(name)}</th><td class="mono">{e(value)}</td></tr>' for name, value in rows)
    note = f" ({e(example['note'])})" if example.get("note") else ""
    title = f"<h4>smallest failing case{note}</h4>"
    return f'<div class="counterexample">{title}<table class="values">{cells}</table></div>'


def _problems(report):
    """Malformed fixtures and xfail entries that have gone stale."""
    lines = [f"malformed fixture: {error}" for error in report.errors]
    lines += [f"XPASS xfail line {x.line} '{x.describe()}' now passes: remove it" for x in report.xpass]
    lines += [
        f"unknown xfail entry on line {x.line}: '{x.describe()}' matches no case"
        for x in report.unknown_xfail
    ]
    if not lines:
        return ""
    items = "".join(f"<li>{e(line)}</li>" for line in lines)
    return f'<section id="problems"><h2>Problems</h2><ul class="problems">{items}</ul></section>'
