"""`cnn-oracle fixtures check --root DIR` on folders a new user gets wrong:
missing, a file, empty, and a file that is not JSON."""

import json

import pytest

from oracle import cli
from oracle.conformance import fixtures


def test_a_missing_root_is_a_usage_error_naming_it(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert cli.main(["fixtures", "check", "--root", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == f"error: --root {missing}: no such folder"
    assert "passed" not in captured.out


def test_a_file_as_root_is_a_usage_error_naming_it(tmp_path, capsys):
    single = tmp_path / "case.json"
    single.write_text("{}")
    assert cli.main(["fixtures", "check", "--root", str(single)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: --root {single}: not a folder")
    assert "passed" not in captured.out


@pytest.mark.parametrize("content", [None, "notes.txt"], ids=["empty", "no-json-files"])
def test_a_folder_without_fixture_files_says_nothing_was_checked(tmp_path, capsys, content):
    if content:
        (tmp_path / content).write_text("not a fixture")
    assert cli.main(["fixtures", "check", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.strip() == f"nothing was checked: no fixture files (*.json) under {tmp_path}"


def test_a_broken_file_is_named_once(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert cli.main(["fixtures", "check", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.count(str(broken)) == 1, out
    assert f"{broken}: invalid JSON at line 1, column 2" in out
    assert "0 passed, 1 failed" in out


def test_a_file_with_several_problems_is_named_once_above_them(tmp_path, capsys):
    incomplete = tmp_path / "incomplete.json"
    incomplete.write_text(json.dumps({"format": fixtures.FORMAT, "id": "incomplete"}))
    assert cli.main(["fixtures", "check", "--root", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert sum(str(incomplete) in line for line in lines) == 1, lines
    named = next(i for i, line in enumerate(lines) if str(incomplete) in line)
    problems = [line.strip() for line in lines[named + 1 :] if line.startswith("         schema: ")]
    assert "schema: $: 'op' is a required property" in problems and len(problems) > 1


def test_the_load_error_still_names_its_file_for_other_callers(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(fixtures.FixtureError, match=f"^{broken}: invalid JSON"):
        fixtures.load(broken)
    (result,) = fixtures.check_file(broken)
    assert result.file == str(broken) and result.problems[0].startswith("invalid JSON at line 1")
