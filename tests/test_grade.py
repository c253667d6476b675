"""`cnn-oracle grade`: a folder of submissions (right, partly wrong,
crashing at import, hanging, printing megabytes, cheating by lookup)
grades to one gradebook row each, whatever a submission does."""

import csv
import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest
from verify_run import MARK, _alive_with, describe_processes

OPS = ["--op", "relu", "--op", "sigmoid"]

RIGHT = textwrap.dedent("""
    import math

    def relu_forward(x):
        return [relu_forward(v) for v in x] if isinstance(x, list) else max(x, 0.0)

    def relu_backward(x, dy):
        if isinstance(x, list):
            return [relu_backward(a, b) for a, b in zip(x, dy)]
        return dy if x > 0 else 0.0

    def sigmoid_forward(x):
        if isinstance(x, list):
            return [sigmoid_forward(v) for v in x]
        return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))

    def sigmoid_backward(x, dy):
        if isinstance(x, list):
            return [sigmoid_backward(a, b) for a, b in zip(x, dy)]
        s = sigmoid_forward(x)
        return dy * s * (1 - s)
""")

SUBMISSIONS = {
    "right": RIGHT,
    # the sigmoid derivative applied to the activated value
    "partly_wrong": RIGHT.replace("s = sigmoid_forward(x)\n", "s = sigmoid_forward(sigmoid_forward(x))\n"),
    "crashing": "raise RuntimeError('half-written file')\n" + RIGHT,
    # hangs on the 3x3 case of relu's backward (the harness times it out and goes on)
    "hanging": RIGHT.replace(
        "    if isinstance(x, list):\n        return [relu_backward",
        "    while len(x) == 3 and isinstance(x[0], list) and len(x[0]) == 3:\n        pass\n"
        "    if isinstance(x, list):\n        return [relu_backward",
    ),
    "noisy": "import sys\nprint('x' * 3_000_000)\nsys.stderr.write('y' * 3_000_000)\n" + RIGHT,
    # answers the shipped cases from the fixture files, and nothing else
    "lookup": """
        import glob, json, os
        import oracle
        ANSWERS = {}
        root = os.path.join(os.path.dirname(os.path.dirname(oracle.__file__)), "fixtures")
        for path in glob.glob(os.path.join(root, "**", "*.json"), recursive=True):
            for case in json.load(open(path)).get("cases", []):
                ANSWERS[(case["op"], json.dumps(case["inputs"].get("x")))] = case["expected"]

        def relu_forward(x):
            return ANSWERS[("relu", json.dumps(x))]["y"]

        def relu_backward(x, dy):
            return ANSWERS[("relu", json.dumps(x))]["dx"]
    """,
}


def _grade(tmp_path, *args):
    """`cnn-oracle grade` in a subprocess; no process it started may outlive it."""
    command = [sys.executable, "-m", "oracle.cli", "grade", str(tmp_path / "submissions"), *args]
    marker = uuid.uuid4().hex
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=1800, env={**os.environ, MARK: marker}
    )
    left = _alive_with(marker)
    assert left == [], f"the grading left processes behind: {describe_processes(left)}"
    return done


def _rows(path):
    with open(path, newline="") as stream:
        return {row["id"]: row for row in csv.DictReader(stream)}


@pytest.fixture
def folder(tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for name, source in SUBMISSIONS.items():
        if name == "partly_wrong":  # a folder holding impl.py
            (submissions / name).mkdir()
            (submissions / name / "impl.py").write_text(textwrap.dedent(source))
        else:
            (submissions / f"{name}.py").write_text(textwrap.dedent(source))
    return tmp_path


def test_every_submission_gets_a_row_whatever_it_does(folder):
    """Then a submission that never ends is added: the re-run grades only it
    (the other reports are current) and gives it a zero row within its budget."""
    graded = (*OPS, "--fresh", "3", "--seed", "5", "--timeout", "3", "--jobs", "2")
    done = _grade(folder, *graded)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _rows(folder / "grades" / "gradebook.csv")
    assert set(rows) == set(SUBMISSIONS)
    score = {name: float(row["score"]) for name, row in rows.items()}
    full = float(rows["right"]["max_score"])
    assert full > 0 and score["right"] == full and score["noisy"] == full
    assert 0 < score["partly_wrong"] < full and float(rows["partly_wrong"]["sigmoid"]) < float(
        rows["right"]["sigmoid"]
    )
    assert score["crashing"] == 0 and "cannot import" in rows["crashing"]["status"]
    assert "RuntimeError: half-written file" in rows["crashing"]["status"]
    assert 0 < score["hanging"] < full  # relu's backward times out per case; the rest is graded
    hanging = json.loads((folder / "grades" / "hanging.report.json").read_text())
    assert any("timed out after 3 s" in r["message"] for r in hanging["results"])
    assert score["lookup"] < full  # the shipped cases pass, fresh ones cannot be looked up
    assert all(row["seed"] == "5" for row in rows.values())

    made = {path.name: path.stat().st_mtime_ns for path in (folder / "grades").glob("*.report.json")}
    (folder / "submissions" / "stuck.py").write_text("import time\nwhile True:\n    time.sleep(1)\n")
    done = _grade(folder, *graded, "--budget", "2")  # only stuck is graded: the budget meets it alone
    again = _rows(folder / "grades" / "gradebook.csv")
    assert done.returncode == 1 and "stuck: not graded: exceeded the time budget of 2 s" in done.stdout
    assert again["stuck"]["score"] == "0" and again["stuck"]["status"].startswith("not graded: exceeded")
    assert {name: again[name] for name in rows} == rows
    assert {name: (folder / "grades" / name).stat().st_mtime_ns for name in made} == made


def test_a_rerun_skips_current_reports_and_shards_partition_the_submissions(tmp_path):
    (tmp_path / "submissions").mkdir()
    for name in ("right", "crashing", "noisy"):
        (tmp_path / "submissions" / f"{name}.py").write_text(SUBMISSIONS[name])
    quick = ("--op", "relu", "--fresh", "0")
    assert _grade(tmp_path, *quick).returncode == 0
    report = tmp_path / "grades" / "right.report.json"
    made = report.stat().st_mtime_ns
    assert _grade(tmp_path, *quick).returncode == 0
    assert report.stat().st_mtime_ns == made  # current: not graded again
    (tmp_path / "submissions" / "right.py").write_text(SUBMISSIONS["right"] + "\n# changed\n")
    assert _grade(tmp_path, *quick).returncode == 0
    changed = report.stat().st_mtime_ns
    assert changed != made  # the submission changed: graded again
    assert _grade(tmp_path, *quick, "--force").returncode == 0
    forced = report.stat().st_mtime_ns
    assert forced != changed
    ids = []
    for k in (1, 2, 3):  # each shard reads its submissions' current reports
        assert _grade(tmp_path, *quick, "--shard", f"{k}/3").returncode == 0
        ids += list(_rows(tmp_path / "grades" / f"gradebook-{k}-of-3.csv"))
    assert sorted(ids) == ["crashing", "noisy", "right"] and report.stat().st_mtime_ns == forced


def test_bad_options_are_usage_errors(tmp_path):
    (tmp_path / "submissions").mkdir()
    done = _grade(tmp_path, "--shard", "4/3")
    assert done.returncode == 2 and "--shard: K must be between 1 and N" in done.stderr
    done = _grade(tmp_path, "--op", "conv3d")
    assert done.returncode == 2 and "unknown operation 'conv3d'" in done.stderr
