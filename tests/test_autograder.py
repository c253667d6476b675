"""The autograders' result files (`verify --format gradescope|prairielearn|
github-classroom`) and points files (`--points`), through the CLI as course
staff run it (in this process, but for the README's sample). Every file is
validated against a JSON Schema written from the platform's published
format (tests/autograder_schemas/); the expected scores are worked out here
from the JSON report's counts."""

import json
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import jsonschema
import pytest
from sources import write_module
from verify_run import run_marked, verify

SCHEMAS = Path(__file__).parent / "autograder_schemas"
FORMATS = ("gradescope", "prairielearn", "github-classroom")
OPS = ("--op", "relu", "--op", "sigmoid")
FRESH = ("--fresh", "2", "--seed", "5")

# relu's backward forgets to multiply by dy (it passes only where dy is all ones); sigmoid is right.
PARTLY_WRONG = """
    import numpy as np

    def relu_forward(x):
        return np.maximum(np.asarray(x, dtype=float), 0.0).tolist()

    def relu_backward(x, dy):
        return (np.asarray(x, dtype=float) > 0).astype(float).tolist()

    def sigmoid_forward(x):
        return (1 / (1 + np.exp(-np.asarray(x, dtype=float)))).tolist()

    def sigmoid_backward(x, dy):
        s = 1 / (1 + np.exp(-np.asarray(x, dtype=float)))
        return (np.asarray(dy) * s * (1 - s)).tolist()
"""
ONLY_RELU_FORWARD = """
    import numpy as np

    def relu_forward(x):
        return np.maximum(np.asarray(x, dtype=float), 0.0).tolist()
"""
SYNTAX_ERROR = """
    def relu_forward(x):
        return x +
"""


def graded(tmp_path, fmt, *args):
    """`cnn-oracle verify ARGS --format FMT --output FILE` in this process
    (fixed cases only unless ARGS has --fresh), with verify_run's checks:
    (exit code, stderr, the file read as JSON or None)."""
    output = tmp_path / f"{fmt}-{uuid.uuid4().hex[:6]}.json"
    fresh = [] if "--fresh" in args else ["--fresh", "0"]
    argv = ["verify", *args, *fresh, "--format", fmt, "--output", str(output)]
    done = run_marked(*argv, in_process=True)
    document = json.loads(output.read_text()) if output.exists() else None
    if document is not None:
        schema = json.loads((SCHEMAS / f"{fmt}.schema.json").read_text())
        jsonschema.Draft202012Validator(schema).validate(document)
    return done.returncode, done.stderr, document


@pytest.fixture(scope="module")
def reference_rows(tmp_path_factory):
    """The JSON report's rows of the reference on OPS and FRESH: the tests
    every implementation is graded on (one verify run for the tests below)."""
    folder = tmp_path_factory.mktemp("reference")
    return verify(folder, "--engine", "reference", *OPS, *FRESH, in_process=True).report["rows"]


@pytest.fixture(scope="module")
def partly_wrong(tmp_path_factory):
    """(module path, JSON report's rows) of PARTLY_WRONG on OPS and FRESH."""
    folder = tmp_path_factory.mktemp("partly_wrong")
    module = write_module(folder, PARTLY_WRONG)
    return module, verify(folder, module, *OPS, *FRESH, in_process=True).report["rows"]


def _name(row):
    return f"{row['op']} {row['check']} ({row['origin']} cases)"


def _expected(rows, points, all_or_nothing=False):
    """{test name: score} worked out from the JSON report's rows."""
    scores = {}
    for row in rows:
        worth = points(row)
        if worth == 0:
            continue
        ran = row["pass"] + row["fail"]
        if all_or_nothing:
            scores[_name(row)] = worth if ran and row["fail"] == 0 else 0.0
        else:
            scores[_name(row)] = worth * row["pass"] / ran if ran else 0.0
    return scores


def _scores(fmt, document):
    """{test name: (score, max score)} of a result file."""
    score, most = {"prairielearn": ("points", "max_points")}.get(fmt, ("score", "max_score"))
    return {t["name"]: (t[score], t[most]) for t in document["tests"]}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_passing_implementation_scores_every_point(tmp_path, fmt, reference_rows):
    code, _, document = graded(tmp_path, fmt, "--engine", "reference", *OPS, *FRESH)
    assert code == 0
    scores = _scores(fmt, document)
    assert set(scores) == {_name(row) for row in reference_rows}  # one test per (op, check) and origin
    assert all(score == most == 1 for score, most in scores.values())
    if fmt == "gradescope":
        assert document["score"] == len(scores)
        assert {t["visibility"] for t in document["tests"] if "(fixed cases)" in t["name"]} == {"visible"}
        assert {t["visibility"] for t in document["tests"] if "(fresh cases)" in t["name"]} == {
            "after_due_date"
        }
        assert all(t["status"] == "passed" for t in document["tests"])
        assert ["relu", "backward", "fixed"] in [t["tags"] for t in document["tests"]]
        assert "seed" not in document["output"] and document["extra_data"]["seed"] == 5
    elif fmt == "prairielearn":
        assert document["gradable"] is True and document["score"] == 1
    else:
        assert document["status"] == "pass" and document["max_score"] == len(scores)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_partly_wrong_implementation_scores_its_passed_cases(tmp_path, fmt, partly_wrong):
    module, rows = partly_wrong
    code, _, document = graded(tmp_path, fmt, module, *OPS, *FRESH)
    assert code == 1
    expected = _expected(rows, lambda row: 1.0)
    scores = _scores(fmt, document)
    assert set(scores) == set(expected)
    for name, score in expected.items():
        assert scores[name][0] == pytest.approx(score, abs=1e-4), name
    assert 0 < scores["relu backward (fixed cases)"][0] < 1
    total = sum(expected.values())
    if fmt == "gradescope":
        assert document["score"] == pytest.approx(total, abs=1e-3)
        failing = next(t for t in document["tests"] if t["name"] == "relu backward (fixed cases)")
        assert failing["status"] == "failed"
        assert "first failure, case golden-relu-" in failing["output"] and "expected" in failing["output"]
    elif fmt == "prairielearn":
        assert document["gradable"] is True
        assert document["score"] == pytest.approx(total / len(expected), abs=1e-3)
    else:
        assert document["status"] == "fail" and document["max_score"] == len(expected)
        assert sum(t["score"] for t in document["tests"]) == pytest.approx(total, abs=1e-3)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_implementation_that_cannot_be_imported_scores_zero_and_says_why(tmp_path, fmt, reference_rows):
    code, stderr, document = graded(tmp_path, fmt, write_module(tmp_path, SYNTAX_ERROR), *OPS, *FRESH)
    assert code == 2 and "SyntaxError" in stderr
    scores = _scores(fmt, document)
    # the same tests as a submission that works, each 0: the total is not shrunk
    assert set(scores) == {_name(row) for row in reference_rows}
    assert all(score == 0 and most == 1 for score, most in scores.values())
    if fmt == "gradescope":
        assert document["score"] == 0
        assert "cannot import" in document["output"] and "SyntaxError" in document["output"]
        assert all("could not be used: cannot import" in t["output"] for t in document["tests"])
    elif fmt == "prairielearn":
        assert document["gradable"] is False and "SyntaxError" in document["message"]
        assert "SyntaxError" in document["format_errors"][0]
    else:
        assert document["status"] == "error" and document["max_score"] == len(scores)
        assert {t["status"] for t in document["tests"]} == {"error"}


def test_an_op_the_implementation_lacks_keeps_its_fresh_tests_at_zero(tmp_path, reference_rows):
    module = write_module(tmp_path, ONLY_RELU_FORWARD)
    code, _, document = graded(tmp_path, "prairielearn", module, *OPS, *FRESH)
    assert code == 0
    tests = {t["name"]: t for t in document["tests"]}
    assert set(tests) == {_name(row) for row in reference_rows}
    lacking = tests["sigmoid forward (fresh cases)"]
    assert lacking["points"] == 0 and "does not offer this op" in lacking["output"]
    skipped = tests["sigmoid forward (fixed cases)"]
    assert skipped["points"] == 0 and "every case was skipped: not implemented" in skipped["output"]
    earned = sum(t["points"] for t in document["tests"])
    assert earned == 2  # relu forward, fixed and fresh
    assert document["score"] == pytest.approx(earned / len(tests))


def test_a_float32_run_is_graded_on_its_own_rows(tmp_path):
    args = ("--engine", "numpy", "--dtype", "float32", "--op", "conv2d", "--fresh", "1", "--seed", "1")
    code, _, document = graded(tmp_path, "github-classroom", *args)
    report = verify(tmp_path, *args, in_process=True).report
    assert code == 0 and document["status"] == "pass"
    # no gradient test: verify checks the backward against the forward's differences at float64 only
    assert set(_scores("github-classroom", document)) == {_name(row) for row in report["rows"]}
    assert document["max_score"] == 4


def test_nothing_checked_is_not_gradable_on_prairielearn(tmp_path):
    code, _, document = graded(tmp_path, "prairielearn", write_module(tmp_path, "x = 1\n"), *OPS)
    assert code == 3
    assert document["gradable"] is False and "nothing was checked" in document["format_errors"][0]
    assert document["score"] == 0


@pytest.mark.parametrize("mode", ["proportional", "all_or_nothing"])
def test_a_points_file_sets_points_mode_weights_and_visibility(tmp_path, mode, partly_wrong):
    points = {
        "mode": mode,
        "default": 0,
        "ops": {"relu": {"forward": 2, "backward": 3}, "sigmoid": 1},
        "fresh_weight": 0.5,
        "visibility": "after_published",
        "fresh_visibility": "hidden",
    }
    (tmp_path / "points.json").write_text(json.dumps(points))
    module, rows = partly_wrong
    code, _, document = graded(
        tmp_path, "gradescope", module, *OPS, *FRESH, "--points", str(tmp_path / "points.json")
    )
    assert code == 1

    def worth(row):  # by hand from the file above; relu's gradient check is not named: default 0
        per_check = {"relu": {"forward": 2, "backward": 3}}.get(row["op"], {})
        base = per_check.get(row["check"], 0) if row["op"] == "relu" else 1
        return base * (0.5 if row["origin"] == "fresh" else 1)

    expected = _expected(rows, worth, all_or_nothing=mode == "all_or_nothing")
    scores = _scores("gradescope", document)
    assert set(scores) == set(expected) and "relu gradient (fresh cases)" not in scores
    for name, score in expected.items():
        assert scores[name][0] == pytest.approx(score, abs=1e-4), name
    assert scores["relu backward (fixed cases)"][1] == 3 and scores["relu backward (fresh cases)"][1] == 1.5
    assert document["score"] == pytest.approx(sum(expected.values()), abs=1e-3)
    if mode == "all_or_nothing":
        assert scores["relu backward (fixed cases)"][0] == 0
    else:
        assert 0 < scores["relu backward (fixed cases)"][0] < 3
    visibility = {t["name"]: t["visibility"] for t in document["tests"]}
    assert visibility["relu forward (fixed cases)"] == "after_published"
    assert visibility["relu forward (fresh cases)"] == "hidden"


def test_an_invalid_points_file_is_a_usage_error_naming_each_json_path(tmp_path):
    points = tmp_path / "points.json"
    points.write_text(
        json.dumps(
            {"mode": "most", "ops": {"conv2d": {"forward": -1, "sideways": 1}, "conv3d": 1, "relu": "x"}}
        )
    )
    code, stderr, document = graded(tmp_path, "gradescope", "--engine", "reference", "--points", str(points))
    assert code == 2 and document is None  # stopped before running: nothing written
    for problem in (
        'points.json: $.mode: expected "proportional" or "all_or_nothing"',
        "points.json: $.ops.conv2d.forward: expected a number >= 0",
        "points.json: $.ops.conv2d.sideways: unknown key (expected one of: forward, backward, gradient)",
        "points.json: $.ops.relu: expected a number >= 0, or an object {check: points}",
        "points.json: $.ops.conv3d: unknown operation (known: accuracy, ",
    ):
        assert problem in stderr, stderr
    points.write_text('{"default": NaN}')
    code, stderr, _ = graded(tmp_path, "gradescope", "--engine", "reference", "--points", str(points))
    assert code == 2 and "error: points.json: not valid JSON: NaN is not a number" in stderr


README_IMPL = """
    import numpy as np


    def relu_forward(x):
        return np.maximum(np.asarray(x, dtype=float), 0.0).tolist()


    def relu_backward(x, dy):
        return (np.asarray(x, dtype=float) > 0).astype(float).tolist()  # forgets dy
"""


def test_the_readme_grading_sample_is_real_output(tmp_path):
    text = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = text[text.index("**Grading.**") : text.index("**From pytest.**")]
    blocks = section.split("```")[1::2]  # the fenced blocks' contents
    points = next(b for b in blocks if b.startswith("json\n")).removeprefix("json\n")
    sample = next(b for b in blocks if b.startswith("\n$ cnn-oracle verify"))
    first, shown = sample.strip().split("\n", 1)
    (tmp_path / "points.json").write_text(points)
    write_module(tmp_path, README_IMPL, name="impl")
    command = [sys.executable, "-m", "oracle.cli", *shlex.split(first, comments=True)[2:]]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert json.loads(done.stdout) == json.loads(shown), done.stdout
