"""`cnn-oracle verify` run the way a user runs it: in a subprocess, with
the checks every run must pass (no traceback, a complete report, one-line
reasons, no process left behind)."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

MARK = "CNN_ORACLE_TEST_RUN"


def _alive_with(marker):
    """Pids of live (not zombie) processes whose environment holds marker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"{MARK}={marker}".encode() in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


class Run:
    def __init__(self, done, report):
        self.code, self.out, self.err, self.report = done.returncode, done.stdout, done.stderr, report

    def results(self, status=None):
        return [r for r in self.report["results"] if status in (None, r["status"])]


def verify(tmp_path, *args, timeout=600):
    """`cnn-oracle verify ARGS --format json --output FILE` in a subprocess
    (without fresh cases unless ARGS has --fresh); asserts what every run
    must satisfy, returns the Run."""
    output = tmp_path / f"report-{uuid.uuid4().hex[:6]}.json"
    marker = uuid.uuid4().hex
    fresh = [] if "--fresh" in args else ["--fresh", "0"]  # the fixed cases, unless the test asks
    command = [
        sys.executable,
        "-m",
        "oracle.cli",
        "verify",
        *args,
        *fresh,
        "--format",
        "json",
        "--output",
        str(output),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env={**os.environ, MARK: marker}
    )
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]
    assert _alive_with(marker) == [], "the run left processes behind"
    report = json.loads(output.read_text()) if output.exists() else None
    if done.returncode in (0, 1, 3):
        assert report is not None and report["exit_code"] == done.returncode
        assert all("\n" not in r["message"] for r in report["results"])
    return Run(done, report)


def one_case(tmp_path):
    """A folder holding one relu case (forward and backward)."""
    from oracle.conformance import fixtures

    folder = tmp_path / "one"
    folder.mkdir()
    case = next(
        c for _, c in fixtures.iter_cases(subdir="golden") if c["op"] == "relu" and "dy" in c["inputs"]
    )
    (folder / f"{case['id']}.json").write_text(json.dumps(case))
    return folder
