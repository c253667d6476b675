"""The list of shipped fixture files known to pass the schema
(fixtures/schema-valid.sha256): current, trusted only for the exact bytes
and schema it was made from, and rebuilt by `cnn-oracle fixtures build`."""

import json
import shutil

import jsonschema
import pytest

from oracle import cli
from oracle.conformance import adapters, fixtures, verify


@pytest.fixture(scope="module")
def validator():
    return jsonschema.Draft202012Validator(fixtures.schema())


def _relu_file():
    return next(path for path in fixtures.case_files(subdir="golden") if path.name == "relu.json")


def test_the_shipped_list_is_current_and_names_every_shipped_file(validator):
    assert fixtures.valid_list_problem(validator) == ""
    listed = (fixtures.fixtures_dir() / fixtures.VALID_LIST).read_text().splitlines()
    assert listed[0].endswith("  schema.json")
    assert len(listed) == 1 + len(fixtures.case_files())


def test_a_listed_file_is_not_validated_and_a_changed_one_is(tmp_path, monkeypatch):
    validated = []
    schema_errors = fixtures.schema_errors
    monkeypatch.setattr(verify, "_SCHEMA_PROBLEMS", {})
    monkeypatch.setattr(
        fixtures,
        "schema_errors",
        lambda document, v=None: validated.append(document) or schema_errors(document, v),
    )
    shutil.copy(_relu_file(), tmp_path / "relu.json")
    changed = json.loads(_relu_file().read_text())
    changed["cases"][0]["extra"] = 1  # not allowed by the schema
    (tmp_path / "relu-changed.json").write_text(json.dumps(changed))
    report = verify.verify(adapters.BuiltinEngine("reference"), ops=["relu"], root=tmp_path)
    assert [document["cases"][0].get("extra") for document in validated] == [1]  # the changed file only
    assert len(report.errors) == 1 and "relu-changed.json" in report.errors[0]
    assert "$.cases[0]: Additional properties are not allowed ('extra' was unexpected)" in report.errors[0]
    assert report.results and {r.status for r in report.results} == {"pass"}  # the listed copy's cases ran


def test_a_list_made_for_another_schema_trusts_nothing(tmp_path, validator):
    shutil.copy(fixtures.fixtures_dir() / "schema.json", tmp_path / "schema.json")
    shutil.copy(_relu_file(), tmp_path / "relu.json")
    text = fixtures.valid_list_text(validator, tmp_path)
    (tmp_path / fixtures.VALID_LIST).write_text(text)
    assert len(fixtures.known_valid(tmp_path)) == 1
    (tmp_path / fixtures.VALID_LIST).write_text("0" * 64 + text[64:])
    assert fixtures.known_valid(tmp_path) == frozenset()
    (tmp_path / fixtures.VALID_LIST).unlink()
    assert fixtures.known_valid(tmp_path) == frozenset()


def test_check_fails_on_a_stale_list_and_build_rewrites_it(tmp_path, monkeypatch, capsys, validator):
    copy = tmp_path / "fixtures"
    shutil.copytree(fixtures.fixtures_dir(), copy)
    monkeypatch.setattr(fixtures, "fixtures_dir", lambda: copy)
    handworked = sorted((copy / "handworked").glob("*.json"))[0]
    handworked.write_text(handworked.read_text() + "\n")  # same cases, other bytes
    assert cli.main(["fixtures", "check"]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {copy / fixtures.VALID_LIST}: not current, a rebuild would change it" in out
    assert cli.main(["fixtures", "build"]) == 0
    assert f"{copy / fixtures.VALID_LIST}: written" in capsys.readouterr().out
    assert fixtures.valid_list_problem(validator) == ""
