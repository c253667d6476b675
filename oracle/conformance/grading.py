"""Points for a verify Report: the one scoring rule behind the autograder
result files (oracle/reports/autograder.py) and `cnn-oracle grade`.

A graded test is one (op, check) row of the report: the row's fixed cases
(hand-worked, golden, --root) are one test, its fresh cases another. The
points file (`verify --points FILE`, JSON, checked against
grading-schema.json beside this module; every key optional):

    {
      "mode": "proportional",        # or "all_or_nothing"
      "default": 1,                  # points of a row the file does not name; 0: not graded
      "ops": {"conv2d": {"forward": 2, "backward": 3}, "relu": 1},
                                     # per op: one number for each of its checks, or per check
                                     # (forward, backward, gradient); a check left out: "default"
      "fresh_weight": 1.0,           # a fresh row is worth its fixed row's points x this; 0: not graded
      "visibility": "visible",       # Gradescope visibility of the fixed-case tests ...
      "fresh_visibility": "after_due_date"   # ... and of the fresh-case ones
    }

No file means {}: 1 point per row, proportional. A row worth P points
whose cases passed p times and failed f times (skips and expected failures
count neither way) scores P * p / (p + f) (proportional) or, all or
nothing, P when f is 0 and 0 otherwise. A row where nothing ran (p + f = 0)
scores 0 and says why; so does every row when the implementation could not
be used (report.unavailable).
"""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from oracle import registry
from oracle.conformance.files import unreadable
from oracle.conformance.results import EXIT_NOTHING_CHECKED

SCHEMA = Path(__file__).with_name("grading-schema.json")
ORIGINS = {"fixed": "fixed cases", "fresh": "fresh cases"}
DIGITS = 4  # scores are rounded to this many decimals, totals summed from the rounded scores


class GradingError(ValueError):
    """A points file that cannot be used: one line per problem, each naming the file and JSON path."""


@dataclass(frozen=True)
class Grading:
    """What a points file says (the defaults: no file)."""

    mode: str = "proportional"
    default: float = 1
    ops: dict = field(default_factory=dict)  # op -> points, or {check: points}
    fresh_weight: float = 1.0
    visibility: str = "visible"
    fresh_visibility: str = "after_due_date"
    # The (op, check, origin) rows to grade (planned_rows); None: the report's own rows.
    rows: tuple = None

    def points(self, op, check, origin):
        given = self.ops.get(op, self.default)
        if isinstance(given, dict):
            given = given.get(check, self.default)
        return given * (self.fresh_weight if origin == "fresh" else 1)


@dataclass
class GradedTest:
    name: str
    number: str
    op: str
    check: str
    origin: str  # fixed or fresh
    score: float
    max_score: float
    passed: bool  # every case that ran passed, and one did
    summary: str  # one line: what ran, what it scored
    details: str  # the first failure and its diagnosis, or why nothing ran ('' when all is well)
    visibility: str

    @property
    def output(self):
        return "\n".join(part for part in (self.summary, self.details) if part)

    @property
    def tags(self):
        return [self.op, self.check, self.origin]


@dataclass
class Grade:
    tests: list
    score: float
    max_score: float
    gradable: bool  # False: the implementation could not be used, or nothing was checked
    message: str  # one line: the points and the run's verdict


def load(path):
    """The Grading of a points file (GradingError naming every problem)."""
    name = Path(path).name
    try:
        document = json.loads(
            Path(path).read_text(encoding="utf-8"), parse_constant=_reject, parse_float=_finite
        )
    except OSError as error:
        raise GradingError(unreadable(path, error)) from None
    except ValueError as error:
        raise GradingError(f"{name}: not valid JSON: {error}") from None
    problems = schema_problems(document)
    if problems:
        raise GradingError("\n".join(f"{name}: {problem}" for problem in problems))
    return Grading(**document)


def schema_problems(document):
    """['$.path: what is wrong'] for a points document (grading-schema.json
    and the op names), sorted by path."""
    import jsonschema  # here: only grade reads a points document, and verify need not import it

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        if error.validator == "additionalProperties" and "properties" in error.schema:
            known = ", ".join(error.schema["properties"])
            problems += [
                f"{_path(error.json_path, key)}: unknown key (expected one of: {known})"
                for key in error.instance
                if key not in error.schema["properties"]
            ]
        else:
            problems.append(f"{error.json_path}: {error.schema.get('errorMessage', error.message)}")
    ops = document.get("ops") if isinstance(document, dict) else None
    known = ", ".join(sorted(registry.REGISTRY))
    problems += [
        f"{_path('$.ops', op)}: unknown operation (known: {known})"
        for op in (ops if isinstance(ops, dict) else ())
        if op not in registry.REGISTRY
    ]
    return problems


def planned_rows(ops=None, root=None, dtype="float64", fresh_cases=True):
    """The (op, check, origin) rows of the reference's own run on the same
    cases: what every submission is graded on, whatever it implements. (A
    submission lacking an op gets no fresh cases for it, one that cannot be
    loaded no rows at all: those rows then score 0 instead of vanishing
    from the total.)"""
    # Imported here: scoring a report (what the renderers need) loads none of the judging.
    from oracle.conformance import adapters, verify

    # The reference computes in float64 whatever the dtype; judged at `dtype`, its rows are the submission's.
    run = verify.verify(adapters.BuiltinEngine("reference"), ops, (), root, dtype, int(fresh_cases), 0)
    return tuple((row["op"], row["check"], origin) for origin in ORIGINS for row in run.rows(origin))


def grade(report, grading=None):
    """The Grade of a Report under a Grading (None: the defaults)."""
    grading = grading or Grading()
    found = {(row["op"], row["check"], origin): row for origin in ORIGINS for row in report.rows(origin)}
    planned = tuple(grading.rows or ())
    keys = [key for key in planned + tuple(found) if grading.points(*key) > 0]
    tests = [
        _test(report, grading, found.get(key), key, str(number))
        for number, key in enumerate(dict.fromkeys(keys), start=1)
    ]
    total = round(sum(t.score for t in tests), DIGITS)
    most = round(sum(t.max_score for t in tests), DIGITS)
    gradable = not report.unavailable and report.exit_code != EXIT_NOTHING_CHECKED
    return Grade(tests, total, most, gradable, f"{total:g}/{most:g} points. {report.verdict}")


def score(mode, points, passed, failed):
    """The scoring rule: what a row worth `points` scores when `passed` of
    its cases passed and `failed` failed (skips and xfails left out)."""
    if passed + failed == 0:
        return 0.0
    if mode == "all_or_nothing":
        return float(points) if failed == 0 else 0.0
    return round(points * passed / (passed + failed), DIGITS)


def _test(report, grading, row, key, number):
    op, check, origin = key
    points = float(grading.points(*key))
    passed, failed = (row["pass"], row["fail"]) if row else (0, 0)
    earned = score(grading.mode, points, passed, failed)
    if passed + failed == 0:
        summary, details = f"0/{points:g} points: nothing ran", _why_nothing_ran(report, row)
    else:
        summary = f"{earned:g}/{points:g} points: passed {passed} of {passed + failed} cases"
        details = _first_failure(report, row, origin) if failed else ""
        uncounted = [
            f"{row[k]} {name}" for k, name in (("xfail", "expected failures"), ("skip", "skipped")) if row[k]
        ]
        if uncounted:
            summary += f" ({' and '.join(uncounted)}: not counted)"
    return GradedTest(
        name=f"{op} {check} ({ORIGINS[origin]})",
        number=number,
        op=op,
        check=check,
        origin=origin,
        score=earned,
        max_score=points,
        passed=failed == 0 and passed > 0,
        summary=summary,
        details=details,
        visibility=grading.fresh_visibility if origin == "fresh" else grading.visibility,
    )


def _why_nothing_ran(report, row):
    if report.unavailable:
        return f"the implementation could not be used: {report.unavailable}"
    if row is None:  # verify draws fresh cases only for the ops the fixed cases found
        return "no case ran: the implementation does not offer this op"
    if row["skip"]:
        return f"every case was skipped: {row['skip_reason']}"
    return "every case that ran failed as expected (xfail)"


def _first_failure(report, row, origin):
    first = next(
        r
        for r in report.results
        if (r.op, r.check, r.origin, r.status) == (row["op"], row["check"], origin, "fail")
    )
    lines = [f"first failure, case {first.case}: {first.message}"]
    lines += [
        f"{finding['text']} ({finding['cases']} of {finding['of']} cases)" for finding in row["diagnosis"]
    ]
    return "\n".join(lines)


def _path(parent, key):
    return f"{parent}.{key}" if key.isidentifier() else f"{parent}[{json.dumps(key)}]"


def _reject(constant):
    raise ValueError(f"{constant} is not a number")


def _finite(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value
