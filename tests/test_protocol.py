"""The streaming worker protocol (docs/protocol.md): its value encoding and
message checks, and every worker the project ships, driven by hand."""

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from oracle.conformance import protocol

ROOT = Path(__file__).parent.parent
HELLO = json.dumps(protocol.hello())
NODE = shutil.which("node")

# ---- values ----


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4), elements=st.floats(width=64)))
def test_any_float_array_survives_the_round_trip(array):
    for value in (array, array.tolist()):  # an array, or the nested lists cases are sent as
        line = protocol.dump_line({"y": protocol.encode(value)})  # strict JSON: no NaN tokens
        decoded = protocol.real_array(protocol.parse_line(line)["y"], "y")
        assert decoded.shape == array.shape
        assert np.array_equal(decoded, array, equal_nan=True)


def test_non_finite_numbers_travel_as_strings():
    assert protocol.encode(np.array([math.nan, math.inf, -math.inf, 1.5])) == [
        "NaN",
        "Infinity",
        "-Infinity",
        1.5,
    ]
    assert protocol.decode_inputs({"x": [["NaN"], ["-Infinity"]]})["x"][1][0] == -math.inf
    # The bare tokens some JSON writers emit are accepted too.
    assert math.isinf(protocol.real_array(json.loads("[Infinity]"), "y")[0])


@pytest.mark.parametrize(
    "value, message",
    [
        ([1.0, "0.5"], 'y[1]: got a string "0.5", not a number'),
        ([1.0, None], "y[1]: got null (None), not a number"),
        ([[1.0], [True]], "y[1][0]: got a boolean (true), not a number"),
        ([[1.0, 2.0], [3.0]], "y: ragged nesting (y[1] has shape (1,), not (2,))"),
        ([[1.0], 2.0], "y: ragged nesting"),
        ({"type": "complex", "repr": "(1+2j)"}, "y: got complex (1+2j), not a real number"),
        ({"a": 1}, "y: got dict"),
        (10**400, "y: an integer too large for a float (401 digits)"),
    ],
)
def test_only_real_numbers_are_accepted(value, message):
    with pytest.raises(protocol.InvalidValue) as raised:
        protocol.real_array(value, "y")
    assert message in str(raised.value)


def test_other_python_values_are_named_not_raised():
    assert protocol.encode(1 + 2j) == {"type": "complex", "repr": "(1+2j)"}
    assert protocol.encode(np.array([1j]))["type"] == "an array of complex numbers (complex128)"
    assert protocol.encode(object())["type"] == "object"
    assert protocol.encode(["0.5", None, np.bool_(True)]) == ["0.5", None, True]


# ---- messages ----


@pytest.mark.parametrize(
    "message, error",
    [
        ({"protocol": "other", "version": 1}, 'expected a handshake with "protocol": "cnn-oracle-worker"'),
        (
            {"protocol": "cnn-oracle-worker", "version": 2},
            "speaks version 2 of the protocol; the harness speaks 1",
        ),
        ({"protocol": "cnn-oracle-worker", "version": 1, "error": "cannot import x"}, "cannot import x"),
        ({"protocol": "cnn-oracle-worker", "version": 1, "ops": "relu"}, '"ops" must be a list of op names'),
    ],
)
def test_a_bad_handshake_is_refused_saying_why(message, error):
    with pytest.raises(protocol.ProtocolError, match=error):
        protocol.check_handshake(message)


@pytest.mark.parametrize(
    "message, error",
    [
        ({"id": 2, "outputs": {}}, "reply to request 1 carries id 2"),
        ({"id": 1}, "a reply holds exactly one of outputs, not_implemented, error"),
        ({"id": 1, "outputs": {}, "error": "x"}, "exactly one of"),
        ({"id": 1, "outputs": [1]}, '"outputs" must be an object'),
        ({"id": 1, "outputs": {}, "variants": {"a": 1}}, '"variants" must map names to objects'),
        ({"id": 1, "outputs": {}, "modified": "x"}, '"modified" must be a list of input names'),
    ],
)
def test_a_bad_reply_is_refused_saying_why(message, error):
    with pytest.raises(protocol.ProtocolError, match=error):
        protocol.check_reply(message, 1)


@pytest.mark.parametrize(
    "line, error",
    [(b"not json", "is not JSON"), (b"[1, 2]", "is not a JSON object"), (b"\xff{}", "is not UTF-8")],
)
def test_a_line_that_is_not_one_json_object_is_refused(line, error):
    with pytest.raises(protocol.ProtocolError, match=error):
        protocol.parse_line(line)


# ---- every shipped worker speaks the protocol ----

WORKERS = {
    "python-function-module": [sys.executable, "-m", "oracle.conformance.worker", "--module", "reference"],
    "python-layer-folder": [
        sys.executable,
        "-m",
        "oracle.conformance.worker",
        "--layer-api",
        str(ROOT / "tests" / "doc_style_layers"),
    ],
    "example-python": [sys.executable, str(ROOT / "examples" / "python" / "reference_worker.py")],
    "example-javascript": [NODE or "node", str(ROOT / "examples" / "javascript" / "cnn_worker.js")],
    "tests-command": [sys.executable, str(ROOT / "tests" / "command_impl.py")],
}
RELU = {"op": "relu", "params": {}, "inputs": {"x": [1.5, "-Infinity", "Infinity"], "dy": [2.0, 3.0, 4.0]}}


def _session(argv, *requests):
    """The worker's reply lines to the hello line and `requests`, and its
    exit status once its stdin closes."""
    lines = [HELLO] + [json.dumps(request) for request in requests]
    done = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    return [json.loads(line) for line in done.stdout.splitlines()], done.returncode


@pytest.mark.parametrize("name", WORKERS)
def test_a_shipped_worker_follows_the_protocol(name):
    if name == "example-javascript" and NODE is None:
        pytest.skip("node (Node.js) is not installed")
    replies, status = _session(WORKERS[name], {"id": 1, **RELU}, {"id": 2, **RELU, "op": "no_such_op"})
    assert status == 0
    assert len(replies) == 3  # the handshake and one line per request, nothing else on stdout
    ops = protocol.check_handshake(replies[0]).ops
    assert ops is None or "relu" in ops
    kind, outputs, _ = protocol.check_reply(replies[1], 1)
    assert kind == "outputs"
    assert protocol.real_array(outputs["y"], "y").tolist() == [1.5, 0.0, math.inf]
    assert protocol.real_array(outputs["dx"], "dx").tolist() == [2.0, 0.0, 4.0]
    assert protocol.check_reply(replies[2], 2)[0] in ("not_implemented", "error")


def test_the_python_worker_answers_a_malformed_request_and_goes_on():
    argv = WORKERS["python-function-module"]
    done = subprocess.run(
        argv,
        input=f"{HELLO}\nnot json\n{json.dumps({'id': 7, **RELU})}\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert replies[1]["id"] is None and "request is not JSON" in replies[1]["error"]
    assert protocol.check_reply(replies[2], 7)[0] == "outputs"


def test_the_python_worker_reports_an_import_failure_in_its_handshake(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def relu_forward(x)\n")
    replies, status = _session([sys.executable, "-m", "oracle.conformance.worker", "--module", str(broken)])
    with pytest.raises(protocol.ProtocolError, match=r"cannot import .*broken.py: SyntaxError: .* line 1"):
        protocol.check_handshake(replies[0])
