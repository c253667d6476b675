"""Loading fixture files and checking them against the reference.

A check never stops at the first bad case: every problem becomes a
CaseResult naming the file, the JSON path and what is wrong.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from oracle import engines, registry
from oracle.conformance import symbolic
from oracle.conformance.files import unreadable
from oracle.tolerance import Tolerance, compare

FORMAT = "cnn-oracle-fixture/1"
SET_FORMAT = "cnn-oracle-fixture-set/1"  # many generated cases in one file


def fixtures_dir():
    """The fixture folder: oracle/fixtures in an installed wheel, the
    repository's fixtures/ in a source checkout or editable install."""
    package = Path(__file__).resolve().parent.parent  # oracle/
    for candidate in (package / "fixtures", package.parent / "fixtures"):
        if (candidate / "schema.json").is_file():
            return candidate
    raise RuntimeError(f"no fixtures folder with schema.json next to {package}")


def schema():
    return json.loads((fixtures_dir() / "schema.json").read_text())


class FixtureError(ValueError):
    """A fixture file that cannot be used, with where and why."""


def load(path):
    return read(path)[0]


def read(path):
    """(the document, the SHA-256 of the file's bytes)."""
    path = Path(path)
    try:
        data = path.read_bytes()
        return json.loads(data.decode("utf-8")), hashlib.sha256(data).hexdigest()
    except json.JSONDecodeError as error:
        raise FixtureError(
            f"{path}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except UnicodeDecodeError as error:
        raise FixtureError(
            f"{path}: not UTF-8 text (byte {error.object[error.start]:#04x} at offset {error.start})"
        ) from None
    except OSError as error:
        raise FixtureError(unreadable(path, error)) from None


def case_files(root=None, subdir=None):
    """Fixture files under `root` (default: the shipped fixtures; subdir
    'handworked' or 'golden' to take one kind)."""
    if root is None:
        root = fixtures_dir() / subdir if subdir else fixtures_dir()
    return sorted(path for path in Path(root).rglob("*.json") if path.name != "schema.json")


def root_problem(root):
    """Why `root` cannot be a folder of fixture files ('' if it can, or if
    it is None: the shipped ones): it does not exist, or it is not a folder."""
    if root is None:
        return ""
    path = Path(root)
    if not path.exists():
        return f"{root}: no such folder"
    if not path.is_dir():
        return f"{root}: not a folder (give the folder that holds the *.json case files)"
    return ""


def cases_in(document, path):
    """[(location, case)]: a set file holds many cases, any other file one."""
    if isinstance(document, dict) and document.get("format") == SET_FORMAT:
        return [(f"{path} $.cases[{index}]", case) for index, case in enumerate(document["cases"])]
    return [(str(path), document)]


def iter_cases(root=None, subdir=None):
    """(location, case) for every case of every fixture file; files that do
    not load are left to check_file to report."""
    for path in case_files(root, subdir):
        try:
            document = load(path)
        except FixtureError:
            continue
        yield from cases_in(document, path)


def schema_errors(case, validator=None):
    """Messages for every schema violation, each with its JSON path."""
    if validator is None:
        import jsonschema

        validator = jsonschema.Draft202012Validator(schema())
    return [
        f"{error.json_path}: {error.message}"
        for error in sorted(validator.iter_errors(_arrays_checked(case)), key=lambda e: list(e.absolute_path))
    ]


# The shipped files known to pass the schema, by the SHA-256 of their bytes,
# under the schema's own digest: a file whose digest is listed is not validated
# again (validation is most of the cost of reading the cases, some 0.4 s per
# run); any other file, or every file once the schema changes, is.
# `cnn-oracle fixtures build` writes the list, `fixtures check` fails when it
# is not current.
VALID_LIST = "schema-valid.sha256"


def _schema_digest(folder):
    return hashlib.sha256((folder / "schema.json").read_bytes()).hexdigest()


def valid_list_text(validator, folder=None):
    """The list as the shipped files under `folder` (default: the shipped
    folder) make it now: the schema's digest, then `digest  path` for each
    file without a schema problem."""
    folder = Path(folder or fixtures_dir())
    lines = [f"{_schema_digest(folder)}  schema.json"]
    for path in case_files(folder):
        try:
            document, digest = read(path)
        except FixtureError:
            continue
        if not schema_errors(document, validator):
            lines.append(f"{digest}  {path.relative_to(folder).as_posix()}")
    return "\n".join(lines) + "\n"


def valid_list_problem(validator):
    """What is wrong with the shipped list ('' when `fixtures build` would
    write it as it is)."""
    path = fixtures_dir() / VALID_LIST
    if not path.is_file():
        return f"{path}: missing (run cnn-oracle fixtures build)"
    if path.read_text() != valid_list_text(validator):
        return f"{path}: not current, a rebuild would change it (run cnn-oracle fixtures build)"
    return ""


def write_valid_list(validator):
    """Write the shipped list; whether it changed."""
    path, text = fixtures_dir() / VALID_LIST, valid_list_text(validator)
    if path.is_file() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def known_valid(folder=None):
    """Digests of file contents known to pass the schema (none when the list
    is missing, or was made for another schema)."""
    folder = Path(folder or fixtures_dir())
    try:
        digests = [line.split()[0] for line in (folder / VALID_LIST).read_text().splitlines() if line]
    except (OSError, IndexError):
        return frozenset()
    if not digests or digests[0] != _schema_digest(folder):
        return frozenset()
    return frozenset(digests[1:])


def _is_schema_array(value):
    """The schema's $defs/array (a number, a non-empty string, null, or a
    nested list of these), checked without jsonschema's recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif not (item is None or (type(item) in (int, float)) or (isinstance(item, str) and item)):
            return False
    return True


def _arrays_checked(document):
    """The document with every inputs/expected value that is a valid array
    replaced by null: jsonschema then checks the structure around them in a
    fraction of the time, and still reports any invalid array with its path."""

    def case(value):
        if not isinstance(value, dict):
            return value
        value = dict(value)
        for key in ("inputs", "expected"):
            if isinstance(value.get(key), dict):
                value[key] = {k: (None if _is_schema_array(v) else v) for k, v in value[key].items()}
        return value

    if isinstance(document, dict) and isinstance(document.get("cases"), list):
        return {**document, "cases": [case(item) for item in document["cases"]]}
    return case(document)


_STEP = re.compile(r"\.([A-Za-z_][A-Za-z_0-9]*)|\[(\d+)\]")


def resolve(case, path):
    """The value at a path like 'expected.dx[2][0]'."""
    value, position, text = case, 0, "." + path
    while position < len(text):
        match = _STEP.match(text, position)
        if not match:
            raise FixtureError(f"path {path!r}: cannot parse at {text[position:]!r}")
        key, index = match.groups()
        try:
            value = value[key] if key is not None else value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise FixtureError(f"path {path!r}: {match.group()} does not exist") from None
        position = match.end()
    return value


def tolerance_for(case, output):
    spec = case.get("tolerance", {})
    spec = {**spec, **spec.get("outputs", {}).get(output, {})}
    return Tolerance(spec.get("abs", 0.0), spec.get("rel", 0.0))


@dataclass
class CaseResult:
    case_id: str
    file: str
    op: str = ""
    problems: list = field(default_factory=list)
    checked: int = 0  # expected values compared
    errata: int = 0  # errata confirmed

    @property
    def ok(self):
        return not self.problems


def symbol_binding(case):
    names = set().union(*(symbolic.symbols_in(value) for value in case["inputs"].values()))
    return symbolic.bind(names, seed=case["id"]) if names else None


def _numeric(array, binding):
    return symbolic.evaluate_all(array, binding) if binding else array


def bound_case(case):
    """(inputs, expected, binding): a symbolic case's symbols bound to
    numbers and its polynomials evaluated (other cases as they are); a
    malformed polynomial is a FixtureError naming its JSON path."""
    try:
        binding = symbol_binding(case)
    except ValueError as error:
        raise FixtureError(f"$.inputs: {error}") from None
    if not binding:
        return case["inputs"], case["expected"], None
    inputs = {name: symbolic.substitute(value, binding) for name, value in case["inputs"].items()}
    expected = {}
    for name, value in case["expected"].items():
        try:
            expected[name] = symbolic.evaluate_all(value, binding)
        except ValueError as error:
            raise FixtureError(f"$.expected.{name}: {error}") from None
    return inputs, expected, binding


def check_case(case, file="<memory>", engine="reference", **options):
    """Compare `engine` with every expected value and confirm every erratum.
    options: dtype, device (see oracle.engines.run)."""
    result = CaseResult(case.get("id", "?"), str(file), case.get("op", "?"))
    try:
        inputs, expected_values, binding = bound_case(case)
    except FixtureError as error:
        result.problems.append(str(error))
        return result
    try:
        spec = registry.get(case["op"])
        outputs = engines.run(spec, engine, inputs, case.get("params", {}), **options)
    except (ValueError, KeyError, TypeError) as error:
        result.problems.append(f"op {result.op}: the {engine} engine rejected the case: {error}")
        return result
    for name, expected in expected_values.items():
        if name not in spec.outputs:
            result.problems.append(f"expected.{name}: op {spec.name} has no output {name!r}")
            continue
        if name not in outputs:
            result.problems.append(f"expected.{name}: not produced (backward outputs need input dy)")
            continue
        tolerance = tolerance_for(case, name)
        comparison = compare(outputs[name], expected, tolerance)
        result.checked += comparison.checked
        if not comparison.ok:
            result.problems.append(f"{comparison.describe('expected.' + name)} ({tolerance})")
    for number, erratum in enumerate(case.get("errata", [])):
        problem = check_erratum(case, erratum, binding)
        if problem:
            result.problems.append(f"errata[{number}] ({erratum.get('path')}): {problem}")
        else:
            result.errata += 1
    return result


def check_erratum(case, erratum, binding):
    """None if the erratum is real: the case holds the correct value and the
    printed one differs from it by more than the tolerance."""
    path = erratum["path"]
    try:
        held = resolve(case, path)
    except FixtureError as error:
        return str(error)
    if not path.startswith("expected."):
        return "path must point into expected"
    output = _STEP.match("." + path[len("expected.") :]).group(1)
    tolerance = tolerance_for(case, output)
    try:
        values = (erratum["correct"], held, erratum["printed"])
        correct, held_value, printed = (_numeric(value, binding) for value in values)
    except ValueError as error:
        return str(error)
    if not compare(correct, held_value, Tolerance(1e-12, 1e-12)).ok:
        return f"the case holds {held!r} at this path, not the erratum's correct value {erratum['correct']!r}"
    if compare(printed, correct, tolerance).ok:
        printed = erratum["printed"]
        return f"printed {printed!r} is within {tolerance} of correct {erratum['correct']!r}: not an error"
    return None


def check_file(path, validator=None):
    """[CaseResult] for every case of one file (one result if it is unusable)."""
    path = Path(path)
    try:
        document = load(path)
    except FixtureError as error:
        # The result names the file already: the problem need not repeat it.
        problem = str(error).removeprefix(f"{path}: ")
        return [CaseResult(path.stem, str(path), problems=[problem])]
    problems = schema_errors(document, validator)
    if problems:
        return [CaseResult(path.stem, str(path), problems=[f"schema: {p}" for p in problems])]
    if document["format"] == FORMAT and document["id"] != path.stem:
        return [
            CaseResult(
                document["id"], str(path), problems=[f"$.id: {document['id']!r} differs from the file name"]
            )
        ]
    return [check_case(case, location) for location, case in cases_in(document, path)]
