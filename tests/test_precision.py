"""Judging float32 implementations: correct float32 code passes at the
float32 tier and fails at float64's, values float32 cannot hold are skipped
saying why, and the tier keeps a measured margin."""

import json
import sys
from pathlib import Path

import pytest

from oracle import cli, engines, reports
from oracle.conformance import adapters, verify
from oracle.tolerance import AGREEMENT, Tolerance, widened

HERE = Path(__file__).parent
FLOAT32_COMMAND = f"{sys.executable} {HERE / 'command_impl.py'} float32"
HUGE_CASES = {"golden-relu-huge-0", "golden-mse-huge-0"}
# Worst error / allowance of the suite's float32 engines over every shipped
# case is ~0.25 (README, "How tolerances are set"); this keeps 2x of margin
# between that measurement and a false alarm.
MEASURED_MARGIN = 0.5


def _float32_engines():
    available, reason = engines.torch_available()
    torch = pytest.param("torch", marks=pytest.mark.skipif(not available, reason=reason))
    return ["numpy", "scipy", torch]


@pytest.mark.parametrize("engine", _float32_engines())
def test_float32_engines_pass_at_the_float32_tier_with_margin(engine):
    report = verify.verify(adapters.BuiltinEngine(engine, "float32"), dtype="float32")
    assert report.ok, reports.render_text(report)
    assert report.count("pass") > 60
    worst = max(r.worst_ratio for r in report.results)
    assert worst < MEASURED_MARGIN, f"{engine} float32 used {worst:.2f} of its allowance"


def test_values_beyond_float32_are_skipped_saying_why():
    numpy_float32 = adapters.BuiltinEngine("numpy", "float32")
    report = verify.verify(numpy_float32, ["relu", "mse"], dtype="float32")
    skipped = {(r.case, r.check): r.message for r in report.results if r.status == "skip"}
    assert {case for case, _ in skipped} == HUGE_CASES
    assert "input x (1e+39) is outside float32's range" in skipped["golden-relu-huge-0", "backward"]
    assert "expected output loss (9e+38)" in skipped["golden-mse-huge-0", "forward"]
    # mse's gradient (3e19) fits in float32: still checked.
    backward = [r for r in report.results if r.case == "golden-mse-huge-0" and r.check == "backward"]
    assert [r.status for r in backward] == ["pass"]


def test_float32_code_fails_at_float64_tolerances_naming_overflow():
    report = verify.verify(adapters.BuiltinEngine("numpy", "float32"), ["relu", "mse", "dense"])
    failed = {r.op for r in report.results if r.status == "fail"}
    assert failed == {"relu", "mse", "dense"}
    overflow = [r for r in report.results if r.case == "golden-mse-huge-0" and r.check == "forward"]
    assert overflow[0].status == "fail" and "non-finite values" in overflow[0].message


def test_a_float32_command_passes_at_float32_and_not_at_float64():
    implementation = adapters.command(FLOAT32_COMMAND)
    at_float32 = verify.verify(implementation, ["relu", "dense"], dtype="float32")
    assert at_float32.ok, reports.render_text(at_float32)
    at_float64 = verify.verify(implementation, ["dense"])
    assert at_float64.count("fail") > 0


def test_widened_tolerance_adds_the_float32_tier_only():
    case = Tolerance(abs=5e-11, rel=0.0)
    assert widened(case, "float64") == case
    tier = AGREEMENT["float32"]
    assert widened(case, "float32") == Tolerance(abs=5e-11 + tier.abs, rel=tier.rel)


def test_reports_say_which_tier_judged_them(capsys):
    assert cli.main(["verify", "--engine", "numpy", "--dtype", "float32", "--op", "relu"]) == 0
    out = capsys.readouterr().out
    assert "numpy (float32)" in out and "judged at: float32 tolerances" in out
    report = verify.verify(adapters.BuiltinEngine("numpy", "float32"), ["relu"], dtype="float32")
    assert reports.json_report.as_json(report)["dtype"] == "float32"


def test_the_reference_engine_refuses_float32(capsys):
    assert cli.main(["verify", "--engine", "reference", "--dtype", "float32"]) == 2
    assert "computes in float64 only" in capsys.readouterr().err


def test_the_pytest_plugin_judges_at_the_requested_tier(pytester):
    def run(*args):
        return pytester.runpytest_inprocess(
            "-q", "-p", "no:cacheprovider", "--oracle-op=dense", f"--command={FLOAT32_COMMAND}", *args
        )

    at_float32 = run("--oracle-dtype=float32")
    assert at_float32.ret == 0 and at_float32.parseoutcomes()["passed"] > 0
    assert run().ret == 1


def test_a_case_the_reference_rejects_is_a_fixture_error_naming_it(tmp_path):
    """At float32 the reference bounds the accumulation error; a case it
    rejects (weights of the wrong width) is reported, and the run goes on."""
    case = {
        "format": "cnn-oracle-fixture/1",
        "id": "dense-bad-width",
        "op": "dense",
        "params": {},
        "inputs": {"x": [1.0, 2.0, 3.0], "weights": [[1.0, 2.0]], "bias": [0.0]},
        "expected": {"y": [5.0]},
        "tolerance": {"abs": 0.0, "rel": 0.0},
        "source": {"document": "generated", "section": "test", "kind": "generated"},
        "errata": [],
    }
    (tmp_path / "dense-bad-width.json").write_text(json.dumps(case))
    module = tmp_path / "lenient.py"
    module.write_text("def dense_forward(x, weights, bias):\n    return [5.0]\n")
    implementation = adapters.function_module(str(module))
    report = verify.verify(implementation, root=tmp_path, dtype="float32")
    assert len(report.errors) == 1 and "dense-bad-width.json" in report.errors[0]
    assert "the reference rejects the case" in report.errors[0] and not report.ok
