"""The bug catalogue and the diagnosis of failing checks: every catalogued
bug shows on the shipped cases, a diagnosis is claimed only when it
matches, generic patterns say what they see, and the report shows where
an output is wrong. (Each mutant of the corpus must be named by the
diagnosis: tests/test_mutants.py.)"""

import os

import numpy as np
import pytest
from sources import write_module
from verify_run import run_marked, verify

from oracle import registry, samples
from oracle.conformance import fixtures
from oracle.diagnosis import catalogue, patterns
from oracle.diagnosis import diagnose as diagnosis
from oracle.diagnosis.catalogue import BUGS, CATALOGUE
from oracle.diagnosis.diagnose import diagnose
from oracle.tolerance import Tolerance

TIGHT = Tolerance(1e-9, 1e-9)


def _allowance(name):
    return TIGHT, 0.0


def test_the_catalogue_covers_every_op_family():
    assert len(BUGS) >= 30 and len(CATALOGUE) == len(BUGS)
    families = {
        "convolution": {"conv2d", "correlate2d", "convolve2d", "rot180"},
        "dense": {"dense", "dense_batch", "dense_parameter_count"},
        "activations": {"sigmoid", "tanh", "relu", "leaky_relu", "softmax"},
        "losses": {"binary_cross_entropy", "mse", "sigmoid_bce", "softmax_cce"},
        "pooling": {"maxpool2d"},
        "updates": {"sgd", "rmsprop"},
    }
    covered = {op for bug in BUGS for op in bug.ops}
    for family, ops in families.items():
        assert covered & ops, f"no catalogued bug of the {family} ops"
    for bug in BUGS:
        assert bug.computable or bug.detected, bug.id
        assert all(op in registry.REGISTRY for op in bug.ops), bug.id


def _changes_an_output(bug, case):
    """Whether the bug's outputs differ from the case's expected ones (or overflow)."""
    spec = registry.get(case["op"])
    try:
        with np.errstate(all="ignore"):
            wrong = bug.outputs(spec, case["inputs"], case.get("params", {}))
    except OverflowError:
        return True  # it overflows where the right answer does not
    except (ValueError, IndexError, ArithmeticError):
        return False
    for name, expected in case["expected"].items():
        try:
            expected = np.asarray(expected, dtype=float)
        except (TypeError, ValueError):
            continue  # unchecked (null) elements
        value = np.asarray(wrong[name], dtype=float)
        if value.shape != expected.shape or not np.allclose(value, expected, rtol=1e-9, atol=1e-9):
            return True
    return False


@pytest.mark.parametrize("bug", [b for b in BUGS if b.computable], ids=lambda b: b.id)
def test_every_catalogued_bug_shows_on_a_shipped_case(bug):
    """A bug the shipped cases cannot tell from the right answer could
    never be diagnosed: each changes an output of at least one of them."""
    cases = [case for _, case in fixtures.iter_cases() if case["op"] in bug.ops and "symbols" not in case]
    assert any(_changes_an_output(bug, case) for case in cases), f"{bug.id} changes no shipped case"


@pytest.mark.parametrize("op", sorted(registry.REGISTRY))
def test_a_right_answer_slightly_off_is_never_given_a_catalogued_bug(op):
    """Never cry wolf: the right outputs, one element moved 10 tolerances
    away, fail the check, and no catalogued bug may claim them (20 seeds)."""
    spec = registry.get(op)
    for seed in range(20):
        inputs, params = samples.draw(spec.samples, seed)
        right = {
            name: np.asarray(value, dtype=float) for name, value in spec.run_reference(inputs, params).items()
        }
        for name, value in right.items():
            moved = {**right, name: value.copy()}
            flat = moved[name].reshape(-1)
            flat[seed % flat.size] += 10 * (1e-9 + 1e-9 * abs(flat[seed % flat.size]))
            findings, masks = diagnose(spec, inputs, params, False, moved, {name: value.tolist()}, _allowance)
            claimed = [f.id for f in findings if not f.id.startswith("pattern:")]
            assert not claimed, f"{op} seed {seed}: {name} off by 10 tolerances was called {claimed}"
            assert int(masks[name].sum()) == 1


def test_each_bug_runs_once_per_case_however_often_the_case_is_diagnosed(monkeypatch):
    """A case whose forward and backward checks both fail, or that is judged
    again at another precision, runs each bug once, with the same findings;
    a case one bit away, a case dropped as least recently used, or one too
    large to keep, runs them again."""
    runs = []
    original = catalogue.Bug.outputs

    def counted(bug, *arguments):
        runs.append(bug.id)
        return original(bug, *arguments)

    monkeypatch.setattr(catalogue.Bug, "outputs", counted)
    monkeypatch.setattr(diagnosis, "_recent", diagnosis._RecentBugOutputs())
    spec = registry.get("conv2d")
    bugs = [bug.id for bug in catalogue.for_op("conv2d") if bug.computable]
    inputs, params = samples.draw(spec.samples, 0)
    right = {name: np.asarray(value, float) for name, value in spec.run_reference(inputs, params).items()}
    planted = CATALOGUE["conv-missing-rot180-in-input-gradient"]
    wrong = {name: np.asarray(v, float) for name, v in original(planted, spec, inputs, params).items()}

    def findings_of(inputs, output):
        expected = {output: right[output].tolist()}
        return [f.id for f in diagnose(spec, inputs, params, False, wrong, expected, _allowance)[0]]

    named = findings_of(inputs, "dx")
    assert named[0] == planted.id and sorted(runs) == sorted(bugs)
    assert findings_of(inputs, "dx") == named and findings_of(inputs, "y") == []  # y is right
    assert sorted(runs) == sorted(bugs)
    monkeypatch.setattr(diagnosis._RecentBugOutputs, "BUDGET", diagnosis._recent.size)  # room for one case
    x = np.array(inputs["x"])
    x.flat[0] = np.nextafter(x.flat[0], np.inf)
    findings_of({**inputs, "x": x.tolist()}, "dx")
    assert sorted(runs) == sorted(bugs * 2)
    assert findings_of(inputs, "dx") == named  # its entries made room for the other case's
    assert sorted(runs) == sorted(bugs * 3)
    monkeypatch.setattr(diagnosis, "_recent", diagnosis._RecentBugOutputs())
    monkeypatch.setattr(diagnosis._RecentBugOutputs, "LARGEST", 0)  # every case too large to keep
    assert findings_of(inputs, "dx") == findings_of(inputs, "dx") == named
    assert sorted(runs) == sorted(bugs * 5) and not diagnosis._recent.held


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
@pytest.mark.filterwarnings("ignore:This process.*multi-threaded:DeprecationWarning")  # the point of the test
def test_a_child_forked_while_the_kept_outputs_are_locked_can_still_use_them(monkeypatch):
    monkeypatch.setattr(diagnosis, "_recent", diagnosis._RecentBugOutputs())
    with diagnosis._recent.lock:  # as if another thread were inside it at the fork
        child = os.fork()
        if child == 0:
            os._exit(0 if diagnosis._recent.lock.acquire(timeout=5) else 1)
    assert os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0


def test_a_bug_not_in_the_catalogue_gets_no_catalogued_name():
    """conv2d with every bias off by 0.5: no catalogued bug does that."""
    spec = registry.get("conv2d")
    for seed in range(20):
        inputs, params = samples.draw(spec.samples, seed)
        right = np.asarray(spec.run_reference(inputs, params)["y"], dtype=float)
        findings, _ = diagnose(
            spec, inputs, params, False, {"y": right + 0.5}, {"y": right.tolist()}, _allowance
        )
        assert all(f.id.startswith("pattern:") for f in findings), [f.id for f in findings]


@pytest.mark.parametrize(
    "change, kind, text",
    [
        (lambda e: 2 * e, "scale", "exactly 2x the expected values: a missing 1/2?"),
        (lambda e: e / 2, "scale", "exactly 1/2x the expected values: a missing factor 2?"),
        (lambda e: -e, "sign", "exactly -1x the expected values: the sign is flipped"),
        (lambda e: e / np.log(10), "scale", "1/ln(10): log10 where the natural log belongs?"),
        (lambda e: np.swapaxes(e, -1, -2), "transpose", "transposed"),
        (lambda e: e[..., ::-1, ::-1], "flip", "rotated by 180 degrees"),
        (lambda e: np.zeros_like(e), "zero", "all zeros"),
        (lambda e: np.where(e > 0, np.inf, e), "overflow", "non-finite values"),
        (lambda e: e[..., :-1, :-1], "size", "1 fewer rows and columns than expected"),
    ],
)
def test_generic_patterns_say_what_they_see(change, kind, text):
    expected = np.arange(1.0, 1 + 2 * 4 * 4).reshape(2, 4, 4) ** 1.5
    got = change(expected)
    found = patterns.describe(got, expected, np.ones(expected.shape, bool), (TIGHT, 0.0), {})
    assert any(k == kind and text in t for k, t in found), found


def test_where_patterns_find_a_wrong_border_and_a_right_channel():
    expected = np.arange(1.0, 1 + 3 * 5 * 5).reshape(3, 5, 5)
    ring = expected.copy()
    ring[:, 0, :] += 1
    found = dict(patterns.describe(ring, expected, np.ones(expected.shape, bool), (TIGHT, 0.0), {}))
    assert "wrong on a border ring of width 1" in found["border"]
    channel = expected * np.array([1.0, 3.0, 0.5])[:, None, None]
    found = dict(patterns.describe(channel, expected, np.ones(expected.shape, bool), (TIGHT, 0.0), {}))
    assert found["channel"].startswith("right for channel 0 only, of 3")
    noise = expected + np.random.default_rng(0).normal(size=expected.shape)
    assert patterns.describe(noise, expected, np.ones(expected.shape, bool), (TIGHT, 0.0), {}) == []


MISSING_ROT180 = """
    import reference as r
    from reference import conv2d_forward

    def conv2d_backward(x, kernels, dy, stride=1, padding=0, bias="untied"):
        flipped = [[r.rot180(k) for k in kernel] for kernel in kernels]
        dx, _, _ = r.conv2d_backward(x, flipped, dy, stride, padding, bias)
        return (dx,) + r.conv2d_backward(x, kernels, dy, stride, padding, bias)[1:]
"""


def test_the_report_names_the_bug_and_shows_where_the_output_is_wrong(tmp_path):
    module = write_module(tmp_path, MISSING_ROT180)
    run = verify(tmp_path, module, "--op", "conv2d", in_process=True)
    assert run.code == 1
    backward = next(r for r in run.report["rows"] if r["check"] == "backward")
    assert backward["diagnosis"][0]["id"] == "conv-missing-rot180-in-input-gradient"
    assert backward["diagnosis"][0]["cases"] == backward["diagnosis"][0]["of"] > 0
    failure = next(r for r in run.results("fail") if r["diagnosis"])
    assert failure["wrong"]["dx"] and not any(map(np.any, failure["wrong"]["dkernels"]))
    text = run_marked("verify", module, "--op", "conv2d", "--fresh", "0", in_process=True).stdout
    assert "likely: dX = dY full-correlated with K: the 180-degree rotation of the kernel is missing" in text
    assert "wrong elements of dx (X: outside tolerance, channel by channel):" in text


def test_bugs_lists_the_catalogue_and_shows_one(tmp_path):
    def cli(*args):
        return run_marked("bugs", *args, in_process=True)

    listing = cli()
    assert listing.returncode == 0 and f"{len(BUGS)} bugs" in listing.stdout
    assert all(bug.id in listing.stdout for bug in BUGS)
    shown = cli("--show", "tanh-derivative-not-squared")
    assert shown.returncode == 0 and "\ndx:\n  right: " in shown.stdout and "\n  bug:   " in shown.stdout
    unknown = cli("--show", "tanh-derivative")
    assert unknown.returncode == 2 and "did you mean tanh-derivative-not-squared" in unknown.stderr
    elsewhere = cli("--show", "tanh-derivative-not-squared", "--op", "relu")
    assert elsewhere.returncode == 2 and "does not change relu" in elsewhere.stderr


def test_a_factor_without_a_name_needs_more_than_one_or_two_numbers():
    """Any one number is a multiple of another: 1.916x of a single value says nothing, 2x does."""
    expected, judged = np.array([0.0, -0.7, 0.0]), np.ones(3, bool)
    assert patterns.describe(1.916 * expected, expected, judged, (TIGHT, 0.0), {}) == []
    assert patterns.describe(2 * expected, expected, judged, (TIGHT, 0.0), {})[0][0] == "scale"
    many = np.array([0.5, -0.7, 1.25, 3.0])
    assert (
        "a constant 1.916x" in patterns.describe(1.916 * many, many, np.ones(4, bool), (TIGHT, 0.0), {})[0][1]
    )
