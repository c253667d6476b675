"""Every hand-worked fixture: valid against the schema, reproduced by the
reference, and every erratum a real difference."""

import copy

import jsonschema
import pytest

from oracle import jsonfmt
from oracle.conformance import fixtures

FILES = fixtures.case_files(subdir="handworked")
DOCUMENTS = (
    "000_a896a71fc8451297.txt",
    "001_f2d8be95ad8a3fa2.txt",
    "002_af34082115df96ea.txt",
    "003_4df10d0daaee1dd9.txt",
    "004_db874f8cea48463c.txt",
)
VALIDATOR = jsonschema.Draft202012Validator(fixtures.schema())
ERRATA = [(path, number) for path in FILES for number in range(len(fixtures.load(path).get("errata", [])))]


def _id(path):
    return path.stem


def test_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(fixtures.schema())


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_document_has_cases(document):
    cases = [fixtures.load(path) for path in FILES]
    assert any(case["source"]["document"] == document for case in cases)


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_case_matches_schema(path):
    assert fixtures.schema_errors(fixtures.load(path), VALIDATOR) == []


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_case_file_is_canonical(path):
    case = fixtures.load(path)
    assert case["id"] == path.stem
    assert path.read_text(encoding="utf-8") == jsonfmt.dumps(case), "rewrite with oracle.jsonfmt.dumps"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_reference_reproduces_case(path):
    result = fixtures.check_case(fixtures.load(path), path)
    expected_problems = [p for p in result.problems if not p.startswith("errata[")]
    assert expected_problems == []
    assert result.checked > 0


@pytest.mark.parametrize("path, number", ERRATA, ids=[f"{p.stem}-{n}" for p, n in ERRATA])
def test_erratum_is_a_real_error(path, number):
    case = fixtures.load(path)
    binding = fixtures.symbol_binding(case)
    assert fixtures.check_erratum(case, case["errata"][number], binding) is None


# The checker itself must be able to fail.


def _first_numeric_case():
    for path in FILES:
        case = fixtures.load(path)
        if case["op"] == "correlate2d" and not case["errata"]:
            return case
    raise AssertionError("no plain correlate2d case")


def test_wrong_expected_value_is_reported_with_its_location():
    case = copy.deepcopy(_first_numeric_case())
    case["expected"]["y"][1][0] += 1
    result = fixtures.check_case(case)
    assert not result.ok
    assert "expected.y[1][0]" in result.problems[0]


def test_erratum_that_is_not_an_error_fails():
    case = copy.deepcopy(_first_numeric_case())
    correct = case["expected"]["y"][0][0]
    case["errata"] = [
        {
            "path": "expected.y[0][0]",
            "printed": correct,
            "correct": correct,
            "kind": "arithmetic",
            "note": "not an error",
        }
    ]
    result = fixtures.check_case(case)
    assert any("not an error" in problem for problem in result.problems)


def test_erratum_whose_correct_value_is_not_in_the_case_fails():
    case = copy.deepcopy(_first_numeric_case())
    case["errata"] = [
        {
            "path": "expected.y[0][0]",
            "printed": 100,
            "correct": 99,
            "kind": "arithmetic",
            "note": "correct value not held",
        }
    ]
    assert not fixtures.check_case(case).ok


def test_symbolic_case_catches_a_wrong_term():
    path = next(p for p in FILES if p.stem == "doc000-input-gradient-expansion")
    case = fixtures.load(path)
    case["expected"]["dx"][0][1][1] = "dy11*k22 + dy12*k21 + dy21*k12 + dy22*k12"
    result = fixtures.check_case(case)
    assert any("expected.dx[0][1][1]" in problem for problem in result.problems)
