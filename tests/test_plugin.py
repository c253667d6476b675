"""The pytest plugin as a user runs it: pytest in a folder outside the
repository, the plugin loaded by its entry point. It judges the same cases
and checks as `cnn-oracle verify --fresh 0`, with the same outcome for
each, names the file in its ids and says where a failing case is."""

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from sources import write_module
from test_verify import BROKEN_CONV
from verify_run import verify

from oracle.conformance import fixtures

REPO = Path(__file__).resolve().parent.parent
STATUS = {"failure": "fail", "error": "fail", "skipped": "skip"}


def _pytest(cwd, *args):
    """pytest ARGS in cwd with a JUnit report: (CompletedProcess, {test id: status})."""
    junit = cwd / "plugin-junit.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *args]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    outcomes = {}
    if junit.exists():
        for case in ElementTree.parse(junit).getroot().iter("testcase"):
            name = case.get("name")
            assert name.startswith("test_conformance[") and name.endswith("]"), name
            marks = [STATUS[child.tag] for child in case if child.tag in STATUS]
            outcomes[name[len("test_conformance[") : -1]] = marks[0] if marks else "pass"
    return done, outcomes


def _file_part(location):
    """golden/conv2d.json of a location (whichever fixture folder the run read: a
    checkout's, or an installed package's)."""
    return "/".join(Path(location.split(" $.")[0]).parts[-2:])


def _verify_outcomes(tmp_path, implementation, ops):
    """{test id the plugin should use: status} from a verify run of the same cases."""
    run = verify(tmp_path, implementation, *[word for op in ops for word in ("--op", op)], in_process=True)
    assert run.report is not None, run.err
    return run, {
        f"{r['op']}::{_file_part(r['location'])}::{r['case']}::{r['check']}": r["status"]
        for r in run.results()
    }


def _counts(outcomes):
    return {status: sum(1 for s in outcomes.values() if s == status) for status in ("pass", "fail", "skip")}


@pytest.fixture
def outside(tmp_path):
    """A working folder outside the repository: no conftest, no pyproject."""
    assert REPO not in tmp_path.parents
    return tmp_path


def test_a_broken_module_has_the_same_outcome_per_case_and_check_as_verify(outside):
    module = write_module(outside, BROKEN_CONV)
    ops = ("conv2d", "relu")
    run, expected = _verify_outcomes(outside, module, ops)
    done, outcomes = _pytest(outside, f"--impl={module}", *[f"--oracle-op={op}" for op in ops], "-n", "2")
    assert done.returncode == 1, done.stdout[-3000:]
    assert outcomes == expected
    counts = _counts(outcomes)
    assert counts == {status: run.report["summary"][status] for status in ("pass", "fail", "skip")}
    assert counts["pass"] and counts["fail"] and counts["skip"]  # every kind of outcome is compared
    summary = done.stdout.strip().splitlines()[-1]
    assert f"{counts['fail']} failed, {counts['pass']} passed, {counts['skip']} skipped" in summary
    # ids name the fixture file; a failure names its case and JSON path, and the diagnosis, as verify does
    golden = fixtures.fixtures_dir() / "golden" / "conv2d.json"
    assert outcomes["conv2d::golden/conv2d.json::golden-conv2d-000::backward"] == "fail"
    assert outcomes["conv2d::golden/conv2d.json::golden-conv2d-000::forward"] == "pass"
    assert any(name.startswith("conv2d::handworked/doc000-") for name in outcomes)
    assert "conv2d backward golden-conv2d-000: dx[" in done.stdout
    assert f"    at {golden} $.cases[0]\n" in done.stdout
    assert "the 180-degree rotation of the kernel is missing" in done.stdout


def test_the_reference_passes_with_the_same_counts_as_verify(outside):
    run, expected = _verify_outcomes(outside, "reference", ["relu"])
    done, outcomes = _pytest(outside, "--impl=reference", "--oracle-op=relu")
    assert done.returncode == 0, done.stdout[-3000:]
    assert outcomes == expected and set(outcomes.values()) == {"pass"}
    assert _counts(outcomes)["pass"] == run.report["summary"]["pass"] > 0
    assert done.stdout.strip().splitlines()[-1].startswith(f"{run.report['summary']['pass']} passed")
