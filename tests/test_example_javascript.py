"""The JavaScript example worker (examples/javascript/cnn_worker.js) through
the real harness: every case of the ops it declares passes, a bug planted in
a copy of it is caught, and it speaks the protocol's non-finite encoding."""

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from oracle import reports
from oracle.conformance import adapters, verify

NODE = shutil.which("node")
WORKER = Path(__file__).resolve().parent.parent / "examples" / "javascript" / "cnn_worker.js"
TIMEOUT = 120  # seconds; generous, so that no test depends on machine speed

pytestmark = pytest.mark.skipif(NODE is None, reason="node (Node.js) is not installed")

HELLO = {"protocol": "cnn-oracle-worker", "version": 1}


def converse(path, *requests):
    """(handshake, replies): the worker's lines for the hello line and the
    requests, sent at once with stdin closed after them."""
    lines = "".join(json.dumps(message) + "\n" for message in (HELLO, *requests))
    done = subprocess.run(
        [NODE, str(path)], input=lines, capture_output=True, text=True, timeout=TIMEOUT, check=True
    )
    handshake, *replies = [json.loads(line) for line in done.stdout.splitlines()]
    return handshake, replies


def run_verify(path, ops=None):
    return verify.verify(adapters.command(shlex.join([NODE, str(path)])), ops=ops)


def failing_checks(report):
    return {(r.op, r.check) for r in report.results if r.status == "fail"}


def test_the_example_passes_every_case_of_the_ops_it_declares():
    handshake, _ = converse(WORKER)
    declared = set(handshake["ops"])

    report = run_verify(WORKER)

    assert report.exit_code == 0, reports.render_text(report)
    assert {r.op for r in report.results if r.status == "pass"} == declared
    others = [r for r in report.results if r.op not in declared]
    assert others and all(r.status == "skip" and "not offered" in r.message for r in others)
    assert report.count("pass") >= 200, report.summary


@pytest.mark.parametrize(
    "op, neighbours, correct, planted",
    [
        # dx of a conv layer needs the kernel rotated: full correlation instead.
        (
            "conv2d",
            ["correlate2d", "convolve2d"],
            "convolve2d(grad, k, 'full')",
            "correlate2d(grad, k, 'full')",
        ),
        # relu's backward without its mask passes every gradient through.
        ("relu", ["leaky_relu"], "(v) => (v > 0 ? 1 : 0)", "(v) => 1"),
    ],
)
def test_a_planted_bug_is_caught(tmp_path, op, neighbours, correct, planted):
    source = WORKER.read_text()
    assert source.count(correct) == 1, f"{correct!r} must occur exactly once in {WORKER.name}"
    mutant = tmp_path / "cnn_worker.js"
    mutant.write_text(source.replace(correct, planted))

    report = run_verify(mutant, ops=[op, *neighbours])

    assert report.exit_code == 1, reports.render_text(report)
    # Only the backward of the op with the bug fails; its forward and the
    # neighbouring ops (which share helpers with it) still pass.
    assert failing_checks(report) == {(op, "backward")}, reports.render_text(report)
    assert {r.op for r in report.results if r.status == "pass"} == {op, *neighbours}


def test_non_finite_values_travel_as_strings_both_ways():
    relu = {"id": 1, "op": "relu", "params": {}, "inputs": {"x": ["Infinity", "-Infinity", "NaN", -2.5, 1.5]}}
    unknown = {
        "id": 2,
        "op": "sgd",
        "params": {"learning_rate": 0.1},
        "inputs": {"param": [1.0], "grad": [1.0]},
    }
    broken = {
        "id": 3,
        "op": "dense",
        "params": {},
        "inputs": {"x": [1.0], "weights": [[1.0, 2.0]], "bias": [0]},
    }

    handshake, replies = converse(WORKER, relu, unknown, broken)

    assert handshake["protocol"] == "cnn-oracle-worker" and handshake["version"] == 1
    assert [reply["id"] for reply in replies] == [1, 2, 3]
    # relu(inf) = inf, relu(-inf) = 0, NaN propagates: JSON strings, not bare tokens.
    assert replies[0] == {"id": 1, "outputs": {"y": ["Infinity", 0, "NaN", 0, 1.5]}}
    assert set(replies[1]) == {"id", "not_implemented"}
    assert set(replies[2]) == {"id", "error"} and "\n" not in replies[2]["error"]
