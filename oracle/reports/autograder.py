"""The report as an autograding platform's result file, scored by
oracle.conformance.grading (the points file, `report.grading`):

- gradescope: Gradescope's results.json, following its autograder
  specification (gradescope/autograder_samples docs/specs.md; published at
  gradescope-autograders.readthedocs.io/en/latest/specs/).
- prairielearn: PrairieLearn's external grader results.json, following
  "Grading results" in PrairieLearn/PrairieLearn docs/externalGrading.md.
- github-classroom: the runner result that GitHub Classroom's reporter
  reads (education/autograding-grading-reporter: src/main.js decodes it,
  src/notify-classroom.js sums tests[].score against max_score), in the
  shape its graders write (education/autograding-io-grader src/main.js:
  version 1, status pass|fail|error, max_score, tests[]).

Students see these files: they name no seed and no replay command
(README: a grader keeps the seed to themselves), except in Gradescope's
extra_data, which is stored for staff.
"""

from oracle import jsonfmt
from oracle.conformance import grading


def _graded(report):
    return grading.grade(report, report.grading)


def render_gradescope(report):
    graded = _graded(report)
    tests = [
        {
            "name": t.name,
            "number": t.number,
            "score": t.score,
            "max_score": t.max_score,
            "status": "passed" if t.passed else "failed",
            "output": t.output,
            "visibility": t.visibility,
            "tags": t.tags,
        }
        for t in graded.tests
    ]
    # execution_time is left out: the report does not time the run.
    extra = {"exit_code": report.exit_code, "seed": report.seed, "command": report.command}
    document = {"score": graded.score, "output": graded.message, "tests": tests, "extra_data": extra}
    return jsonfmt.dumps(document)


def render_prairielearn(report):
    graded = _graded(report)
    document = {
        "gradable": graded.gradable,
        "score": graded.score / graded.max_score if graded.max_score else 0.0,
        "message": graded.message,
        "output": "\n".join(f"{t.name}: {t.summary}" for t in graded.tests),
        "tests": [
            {
                "name": t.name,
                "points": t.score,
                "max_points": t.max_score,
                "message": t.summary,
                "output": t.details,
            }
            for t in graded.tests
        ],
    }
    if not graded.gradable:  # "invalid, not gradable": no points, no attempt used up
        document["format_errors"] = [report.unavailable or report.verdict]
    return jsonfmt.dumps(document)


def render_github_classroom(report):
    graded = _graded(report)
    if report.unavailable:
        status = "error"
    else:
        status = "pass" if graded.tests and all(t.passed for t in graded.tests) else "fail"
    tests = [
        {
            "name": t.name,
            "status": "error" if report.unavailable else ("pass" if t.passed else "fail"),
            "message": t.output,
            "score": t.score,
            "max_score": t.max_score,
        }
        for t in graded.tests
    ]
    # Classroom's grade is the sum of tests[].score out of max_score (notify-classroom.js), so partial
    # credit counts; the reporter leaves out a result whose max_score is 0, recording no grade at all.
    return jsonfmt.dumps({"version": 1, "status": status, "max_score": graded.max_score, "tests": tests})


RENDERERS = {
    "gradescope": render_gradescope,
    "prairielearn": render_prairielearn,
    "github-classroom": render_github_classroom,
}
