"""The cnn-oracle command on the shipped fixtures and on broken ones."""

import json
import re
import shutil
import subprocess
import sys

import pytest

from oracle import cli, jsonfmt
from oracle.conformance import fixtures


def test_fixtures_list_counts_every_document(capsys):
    assert cli.main(["fixtures", "list"]) == 0
    out = capsys.readouterr().out
    for document in ("000_", "001_", "002_", "003_", "004_"):
        assert document in out
    assert "errata" in out


def test_fixtures_check_passes_on_the_shipped_cases(capsys):
    assert cli.main(["fixtures", "check"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert " 0 failed" in last and "errata confirmed" in last


def test_fixtures_check_reports_every_broken_case_and_goes_on(tmp_path, capsys):
    source = fixtures.case_files(subdir="handworked")[0]
    good = fixtures.load(source)
    shutil.copy(source, tmp_path / source.name)
    (tmp_path / "broken-json.json").write_text('{"format": ')
    missing = {k: v for k, v in good.items() if k != "op"}
    missing["id"] = "missing-op"
    (tmp_path / "missing-op.json").write_text(json.dumps(missing))
    wrong = json.loads(json.dumps(good))
    wrong["id"] = "wrong-value"
    first = next(iter(wrong["expected"]))
    wrong["expected"][first] = _bump(wrong["expected"][first])
    (tmp_path / "wrong-value.json").write_text(jsonfmt.dumps(wrong))

    assert cli.main(["fixtures", "check", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "broken-json.json: " in out and "invalid JSON at line 1" in out
    assert "missing-op" in out and "'op' is a required property" in out
    assert "wrong-value" in out and f"expected.{first}" in out
    assert "1 passed, 3 failed" in out


def test_fixtures_check_on_an_empty_folder_fails(tmp_path, capsys):
    assert cli.main(["fixtures", "check", "--root", str(tmp_path)]) == 1


def _bump(value):
    if isinstance(value, list):
        return [_bump(value[0])] + value[1:]
    if isinstance(value, str):
        return value + " + 1"
    return (value or 0) + 1000


def test_compare_prints_the_matrix_and_passes(capsys):
    assert cli.main(["compare", "--op", "conv2d", "--op", "softmax", "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "conv2d" in out and "numpy vs reference" in out and "scipy vs reference" in out
    assert "numpy vs finite differences" in out
    assert out.strip().splitlines()[-1].startswith(tuple(f"{n} passed, 0 failed" for n in range(1, 99)))


def test_compare_fails_on_a_planted_bug_and_says_how_to_reproduce(monkeypatch, capsys):
    from oracle.engines import numpy_ops

    monkeypatch.setattr(numpy_ops, "tanh_backward", lambda x, dy: dy * (1 - numpy_ops.tanh_forward(x)))
    assert cli.main(["compare", "--op", "tanh", "--engine", "numpy", "--seeds", "2"]) == 1
    out = capsys.readouterr().out
    assert "FAIL op tanh, numpy vs reference, backward dx[" in out
    assert "reproduce: cnn-oracle compare --op tanh --engine numpy --seed 0" in out


def test_compare_rejects_an_unknown_op(capsys):
    assert cli.main(["compare", "--op", "conv3d"]) == 2
    assert "unknown operation 'conv3d'" in capsys.readouterr().out


def test_compare_rejects_fewer_than_one_seed(capsys):
    assert cli.main(["compare", "--op", "relu", "--seeds", "0"]) == 2
    assert "error: --seeds must be at least 1, got 0" in capsys.readouterr().out


def test_compare_on_a_missing_cuda_device_says_why(capsys):
    from oracle import engines

    if engines.cuda_available()[0]:
        return  # a GPU is here: nothing to refuse
    assert cli.main(["compare", "--op", "relu", "--device", "cuda"]) == 2
    assert "--device cuda:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "command",
    [[], ["fixtures"], ["fixtures", "check"]] + [[name] for name, _, _ in cli.MODULE_COMMANDS],
    ids=lambda command: " ".join(command) or "cnn-oracle",
)
def test_every_command_prints_its_help(command, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main([*command, "--help"])
    out = capsys.readouterr().out
    assert exit.value.code == 0 and out.startswith(f"usage: {' '.join(['cnn-oracle', *command])} ")
    if command and command[0] in {name for name, _, _ in cli.MODULE_COMMANDS}:
        assert len(re.findall(r"^  -", out, re.M)) > 1, out  # the module's own options, beside -h


def test_a_command_imports_only_its_own_subcommand_module():
    """Every run of `cnn-oracle verify` (one per submission when grading)
    starts a process: the other subcommands' imports stay out of it."""
    code = (
        "import sys\nfrom oracle import cli\ncli.build_parser().parse_args(['verify'])\nprint(*sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.split())
    others = {module for name, module, _ in cli.MODULE_COMMANDS if name != "verify"}
    assert "oracle.verify_cli" in loaded and not others & loaded, others & loaded
