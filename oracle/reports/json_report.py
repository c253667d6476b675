"""The report as JSON, following report-schema.json beside this module."""

import json
import math
from dataclasses import asdict
from pathlib import Path

REPORT_FORMAT = "cnn-oracle-report/2"


def _finite(value):
    return value if math.isfinite(value) else None


def as_json(report):
    return {
        "format": REPORT_FORMAT,
        "implementation": report.implementation,
        "dtype": report.dtype,
        "ok": report.ok,
        "exit_code": report.exit_code,
        "verdict": report.verdict,
        "notes": report.notes,
        "conventions": asdict(report.conventions) if report.conventions is not None else None,
        "seed": report.seed,
        "fresh": report.fresh,
        "command": report.command,
        "summary": {status: report.count(status) for status in ("pass", "fail", "skip", "xfail")},
        "rows": [
            {
                **row,
                "origin": origin,
                "worst_ratio": _finite(row["worst_ratio"]),
                "worst_error": _finite(row["worst_error"]),
            }
            for origin in ("fixed", "fresh")
            for row in report.rows(origin)
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


def report_schema():
    return json.loads((Path(__file__).parent / "report-schema.json").read_text())
