"""The harness under bad input: malformed fixture files and misbehaving
commands give a clear problem report, never a traceback from our code."""

import copy
import json
import sys

from hypothesis import example, given, settings
from hypothesis import strategies as st

from oracle import registry
from oracle.conformance import adapters, fixtures, verify

VALID = next(
    case
    for _, case in fixtures.iter_cases(subdir="handworked")
    if case["op"] == "conv2d" and not case["errata"]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, width=32)
    | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)
PATHS = [
    ("op",),
    ("params",),
    ("params", "stride"),
    ("params", "mode"),
    ("inputs",),
    ("inputs", "x"),
    ("inputs", "kernels"),
    ("expected",),
    ("expected", "y"),
    ("tolerance",),
    ("tolerance", "abs"),
    ("errata",),
    ("source",),
    ("id",),
    ("format",),
]


def _mangled(path, value, delete):
    case = copy.deepcopy(VALID)
    target = case
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target
    if isinstance(target, dict):
        if delete:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    return case


@settings(max_examples=150)
@given(st.sampled_from(PATHS), json_values, st.booleans())
# Found by the seeded flake hunt: malformed polynomials in a symbolic case.
@example(("expected", "y"), "A", False)
@example(("expected", "y"), ":", False)
@example(("inputs", "x"), [["x11", "+"]], False)
@example(("op",), "0", False)
def test_a_mangled_fixture_is_reported_not_raised(tmp_path_factory, path, value, delete):
    folder = tmp_path_factory.mktemp("fixtures")
    (folder / f"{VALID['id']}.json").write_text(json.dumps(_mangled(path, value, delete)))
    results = fixtures.check_file(folder / f"{VALID['id']}.json")
    assert results and all(isinstance(r.problems, list) for r in results)
    report = verify.verify(adapters.BuiltinEngine("numpy"), root=folder)
    assert report.errors or report.results


@settings(max_examples=60)
@given(st.binary(max_size=40))
def test_arbitrary_bytes_as_a_fixture_file(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("bytes")
    (folder / "case.json").write_bytes(data)
    (result,) = fixtures.check_file(folder / "case.json")
    assert not result.ok and result.problems


class _Replying:
    """A command stand-in: replies with a given value (as `json.loads` would
    have produced it from the program's stdout)."""

    name = "stand-in"

    def __init__(self, reply):
        self.reply = reply

    def offers(self, op):
        return True

    def outputs(self, spec, inputs, params):
        return adapters.Reply(self.reply)


@settings(max_examples=150)
@given(json_values)
def test_any_reply_is_judged_not_raised(reply):
    results = verify.run_case(_Replying(reply), "<memory>", VALID)
    assert results and all(r.status in ("pass", "fail", "skip") for r in results)
    assert all(r.message for r in results if r.status == "fail")


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=30))
def test_any_command_output_is_reported(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("command")
    script = folder / "say.py"
    script.write_text(f"import sys\nsys.stdin.read()\nsys.stdout.write({text!r})\n")
    # -S: the program needs no site-packages, and starts in a quarter of the time
    command = adapters.command(f"{sys.executable} -S {script}", "one-shot", timeout=60)
    results = verify.run_case(command, "<memory>", VALID)
    assert all(r.status in ("pass", "fail") and (r.status == "pass" or r.message) for r in results)


def test_every_op_rejects_missing_inputs_by_name():
    for spec in registry.OPS:
        results = verify.run_case(
            adapters.BuiltinEngine("reference"),
            "<memory>",
            {**VALID, "op": spec.name, "inputs": {}, "expected": {spec.outputs[0]: 1.0}},
        )
        assert all(r.status == "fail" and f"op {spec.name}: missing input" in r.message for r in results)
