"""`cnn-oracle verify`, its three adapters, reports and the pytest plugin."""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
from sources import write_module
from verify_run import one_case

import reference
from oracle import cli, reports
from oracle.conformance import adapters, results, verify

HERE = Path(__file__).parent
LAYERS = HERE / "doc_style_layers"
COMMAND = f"{sys.executable} {HERE / 'command_impl.py'}"


def _statuses(report):
    return {r.status for r in report.results}


def test_the_reference_passes_every_case():
    report = verify.verify(adapters.BuiltinEngine("reference"))
    assert report.ok and _statuses(report) == {"pass"}
    assert report.count("pass") > 500


def test_the_numpy_oracle_passes_through_the_function_adapter():
    report = verify.verify(adapters.function_module("oracle.engines.numpy_ops", batch_first=True))
    assert report.ok and _statuses(report) == {"pass"}


@pytest.mark.filterwarnings("ignore:overflow encountered in exp")  # the documents' sigmoid at x = -1000
def test_document_style_layers_pass_and_other_ops_are_skipped_with_a_reason():
    report = verify.verify(adapters.layer_folder(LAYERS))
    assert report.ok, reports.render_text(report)
    passed = {r.op for r in report.results if r.status == "pass"}
    assert passed >= {
        "conv2d",
        "dense",
        "reshape",
        "sigmoid",
        "tanh",
        "relu",
        "softmax",
        "mse",
        "binary_cross_entropy",
    }
    skips = {r.op: r.message for r in report.results if r.status == "skip"}
    assert "not part of the layer API" in skips["maxpool2d"]
    assert "no LeakyReLU" in skips["leaky_relu"]
    stride = next(r for r in report.results if r.op == "conv2d" and r.status == "skip")
    assert "documents' Convolutional layer has no" in stride.message


def test_layer_names_can_be_remapped_in_a_config_file(tmp_path):
    folder = tmp_path / "layers"
    folder.mkdir()
    (folder / "mine.py").write_text(
        (LAYERS / "dense.py")
        .read_text()
        .replace("from layer import Layer\n", "")
        .replace("class Dense(Layer)", "class FullyConnected")
        .replace("self.weights", "self.W")
    )
    config = tmp_path / "names.json"
    config.write_text(json.dumps({"names": {"Dense": "FullyConnected", "weights": "W"}}))
    report = verify.verify(adapters.layer_folder(folder, config), ops=["dense"])
    assert report.ok and report.count("pass") > 10


def test_the_command_adapter_runs_any_program():
    report = verify.verify(adapters.command(COMMAND), ops=["relu", "dense", "tanh"])
    assert report.ok, reports.render_text(report)
    assert {r.op for r in report.results if r.status == "pass"} == {"relu", "dense"}
    assert all("no tanh here" in r.message for r in report.results if r.op == "tanh")


@pytest.mark.parametrize(
    "mode, message",
    [
        ("garbage", "broke the protocol: reply is not JSON"),
        ("crash", "the worker exited with status 1; stderr: segmentation fault (pretend)"),
    ],
)
def test_a_misbehaving_command_is_a_failure_that_says_why(mode, message, tmp_path):
    # one case: each of its checks restarts the command, and fails the same way
    report = verify.verify(adapters.command(f"{COMMAND} {mode}"), ops=["relu"], root=one_case(tmp_path))
    assert report.exit_code == 1
    assert report.results and all(r.status == "fail" and message in r.message for r in report.results)


BROKEN_CONV = """
    import reference
    from reference import conv2d_forward

    def conv2d_backward(x, kernels, dy, stride=1, padding=0, bias="untied"):
        # the input gradient without the 180-degree rotation of the kernel
        flipped = [[[list(reversed(r)) for r in reversed(k)] for k in row] for row in kernels]
        return reference.conv2d_backward(x, flipped, dy, stride, padding, bias)
"""


def test_a_broken_implementation_fails_naming_op_check_and_case(tmp_path):
    report = verify.verify(adapters.function_module(write_module(tmp_path, BROKEN_CONV)))
    failed = {(r.op, r.check) for r in report.results if r.status == "fail"}
    assert failed == {("conv2d", "backward")}
    row = next(r for r in report.rows() if (r["op"], r["check"]) == ("conv2d", "backward"))
    assert row["first_failure"] and row["fail"] > 0
    text = reports.render_text(report)
    assert "conv2d                    backward  FAIL " in text
    assert "dx[" in text and "allowed" in text
    assert "not implemented" in next(r.message for r in report.results if r.op == "relu")


@pytest.mark.parametrize(
    "body, message",
    [
        ("raise RuntimeError('boom')", "raised RuntimeError: boom"),
        ("return (__import__('numpy').asarray(x) * float('nan')).tolist()", "non-finite values"),
        ("return [1.0]", "got shape (1,), expected shape"),
    ],
    ids=["exception", "nan", "wrong-shape"],
)
def test_bad_outputs_are_failures_that_say_so(tmp_path, body, message):
    source = f"""
        def relu_forward(x):
            {body}
    """
    report = verify.verify(adapters.function_module(write_module(tmp_path, source)), ops=["relu"])
    forward = [r for r in report.results if r.check == "forward"]
    assert forward and all(r.status == "fail" and message in r.message for r in forward)


def test_a_malformed_fixture_is_an_error_naming_file_and_path(tmp_path):
    bad = json.dumps({"format": "cnn-oracle-fixture/1", "id": "bad", "op": "relu"})
    (tmp_path / "bad.json").write_text(bad)
    (tmp_path / "broken.json").write_text("{")
    report = verify.verify(adapters.BuiltinEngine("reference"), root=tmp_path)
    assert not report.ok
    assert any("bad.json" in e and "'inputs' is a required property" in e for e in report.errors)
    assert any("broken.json: invalid JSON" in e for e in report.errors)
    # the same content in another file, in a later run: reported again, under that file's name
    (tmp_path / "bad-copy.json").write_text(bad)
    again = verify.verify(adapters.BuiltinEngine("reference"), root=tmp_path)
    named = [e for e in again.errors if "'inputs' is a required property" in e]
    assert {e.split(": ")[0] for e in named} == {str(tmp_path / "bad.json"), str(tmp_path / "bad-copy.json")}


def test_xfail_entries_expected_failures_xpass_and_unknown(tmp_path):
    xfail = tmp_path / "xfail.txt"
    xfail.write_text("conv2d backward   # known: no rotation\nrelu forward\nconv3d\n")
    entries = results.read_xfail(xfail)
    report = verify.verify(
        adapters.function_module(write_module(tmp_path, BROKEN_CONV)), ["conv2d", "relu"], entries
    )
    assert report.ok and report.count("xfail") > 0
    assert [e.describe() for e in report.unknown_xfail] == ["conv3d"]
    text = reports.render_text(report)
    assert "unknown xfail entry on line 3: 'conv3d'" in text
    fixed = verify.verify(adapters.BuiltinEngine("reference"), ["conv2d"], results.read_xfail(xfail))
    assert [e.describe() for e in fixed.xpass] == ["conv2d backward"]
    assert "XPASS xfail line 1 'conv2d backward' now passes" in reports.render_text(fixed)


def test_xfail_entries_of_ops_left_out_by_op_are_not_unknown(tmp_path):
    xfail = tmp_path / "xfail.txt"
    xfail.write_text("conv2d backward\nrelu forward\nconv3d\n")
    report = verify.verify(adapters.BuiltinEngine("reference"), ["conv2d"], results.read_xfail(xfail))
    assert [e.describe() for e in report.unknown_xfail] == ["conv3d"]
    assert [e.describe() for e in report.xpass] == ["conv2d backward"]


def test_a_malformed_xfail_line_is_named(tmp_path):
    xfail = tmp_path / "xfail.txt"
    xfail.write_text("conv2d sideways\n")
    with pytest.raises(ValueError, match="xfail.txt:1: expected 'OP"):
        results.read_xfail(xfail)


def test_json_report_validates_against_its_schema_and_junit_parses(tmp_path):
    report = verify.verify(adapters.function_module(write_module(tmp_path, BROKEN_CONV)), ["conv2d", "relu"])
    document = json.loads(reports.render_json(report))
    jsonschema.validate(document, reports.report_schema())
    assert document["summary"]["fail"] > 0 and document["ok"] is False
    root = ElementTree.fromstring(reports.render_junit(report))
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert int(suites["conv2d"].get("failures")) > 0 and int(suites["relu"].get("skipped")) > 0
    assert "| conv2d | backward |" in reports.render_markdown(report)


def test_verify_command_exit_codes_and_output_file(tmp_path, capsys):
    assert cli.main(["verify", "--op", "relu"]) == 0
    assert cli.main(["verify", write_module(tmp_path, BROKEN_CONV), "--op", "conv2d"]) == 1
    target = tmp_path / "report.json"
    assert (
        cli.main(
            [
                "verify",
                "oracle.engines.numpy_ops",
                "--batch-first",
                "--op",
                "dense",
                "--format",
                "json",
                "--output",
                str(target),
            ]
        )
        == 0
    )
    assert json.loads(target.read_text())["ok"] is True
    assert cli.main(["verify", "--layer-api", str(LAYERS), "--command", "x"]) == 2
    assert "name one implementation" in capsys.readouterr().err


def test_a_fixture_folder_or_xfail_file_that_is_not_there_is_a_usage_error(tmp_path, capsys):
    """Not a run of the fresh cases alone that passes: the cases asked for
    were never read."""
    missing, a_file = tmp_path / "cases", tmp_path / "case.json"
    a_file.write_text("{}")
    assert cli.main(["verify", "--root", str(missing), "--op", "relu"]) == 2
    assert f"error: --root {missing}: no such folder" in capsys.readouterr().err
    assert cli.main(["verify", "--root", str(a_file), "--op", "relu"]) == 2
    assert f"error: --root {a_file}: not a folder" in capsys.readouterr().err
    assert cli.main(["verify", "--xfail", str(missing), "--op", "relu"]) == 2
    assert f"error: {missing}: cannot read: No such file or directory" in capsys.readouterr().err


def _renamed_layers(folder):
    """The documents' layers with their dense layer, its weights and the mean
    squared error under other names."""
    shutil.copytree(LAYERS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    dense, losses = folder / "dense.py", folder / "losses.py"
    dense.write_text(
        dense.read_text().replace("class Dense(", "class FullyConnected(").replace(".weights", ".W")
    )
    losses.write_text(
        losses.read_text()
        .replace("def mse(", "def mean_squared_error(")
        .replace("mse_prime", "mean_squared_error_prime")
    )
    return folder


def test_a_layer_config_maps_other_names_and_a_bad_one_is_a_usage_error(tmp_path, capsys):
    folder = _renamed_layers(tmp_path / "layers")
    config = tmp_path / "names.json"
    config.write_text(
        json.dumps({"names": {"Dense": "FullyConnected", "weights": "W", "mse": "mean_squared_error"}})
    )
    ops = ["--op", "dense", "--op", "mse", "--fresh", "0"]
    assert cli.main(["verify", "--layer-api", str(folder), "--layer-config", str(config), *ops]) == 0
    assert "PASSED" in capsys.readouterr().out
    assert cli.main(["verify", "--layer-api", str(folder), *ops]) == 3  # without it, neither is found
    capsys.readouterr()
    for text, problem in (
        ("{", "not a layer-API config"),
        ('{"Dense": "FullyConnected"}', 'no "names" object'),
        (
            '{"names": {"Dence": "FullyConnected"}}',
            "$.names: unknown name 'Dence' (known: Convolutional, Dense",
        ),
    ):
        config.write_text(text)
        assert cli.main(["verify", "--layer-api", str(folder), "--layer-config", str(config), *ops]) == 2
        assert f"error: {config}: {problem}" in capsys.readouterr().out  # the text report's verdict
    missing = tmp_path / "missing.json"
    assert cli.main(["verify", "--layer-api", str(folder), "--layer-config", str(missing), *ops]) == 2
    assert f"error: {missing}: cannot read: No such file or directory" in capsys.readouterr().out


def _verify_in(cwd, *args):
    command = [sys.executable, "-m", "oracle.cli", "verify", *args, "--fresh", "0"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_a_dotted_name_is_looked_up_in_the_working_directory_first(tmp_path):
    (tmp_path / "mymodule.py").write_text("def relu_forward(x):\n    return [max(v, 0.0) for v in x]\n")
    done = _verify_in(tmp_path, "mymodule", "--op", "relu")
    assert "No module named" not in done.stdout + done.stderr
    assert "implementation: mymodule" in done.stdout and "relu" in done.stdout


def test_a_package_folder_named_like_a_path_is_a_module():
    """`verify reference` in the repository root, which holds reference/."""
    root = Path(reference.__file__).parent.parent
    done = _verify_in(root, "reference", "--op", "rot180")
    assert done.returncode == 0 and "no such Python file" not in done.stderr, done.stderr
