"""The conformance cases as pytest tests (collected by oracle.pytest_plugin
when --impl, --layer-api or --command is given).

One test per case and check (forward, backward), the same cases and checks
`cnn-oracle verify --fresh 0` judges, so the two count the same passes,
failures and skips; ids read `OP::FILE::CASE::CHECK`, FILE relative to the
fixture folder (`conv2d::golden/conv2d.json::golden-conv2d-003::backward`).
A failure says where the case is, as verify does (`at FILE $.cases[N]`).
"""

from pathlib import Path

import pytest

from oracle import registry
from oracle.conformance import adapters, convert, fixtures, judge, pytest_plugin, results, verify
from oracle.diagnosis.diagnose import Diagnoser


def _file_part(location):
    """A case's file, relative to the fixture folder where it is inside it."""
    path = Path(location.split(" $.", 1)[0])
    try:
        return path.relative_to(fixtures.fixtures_dir()).as_posix()
    except ValueError:
        return path.as_posix()


def _checks(case):
    """The checks verify runs on a case: those with expected outputs."""
    spec = registry.get(case["op"])
    return [kind for kind in ("forward", "backward") if judge.checked_outputs(spec, case["expected"], kind)]


def collected(ops):
    """([(location, case, check)], [id]): verify's fixed cases of `ops` (all
    when empty), one entry per check; each fixture error verify would
    report is an entry (error message, None, None) that fails."""
    report = results.Report("pytest")
    # verify's own selection: schema-checked files, unknown ops as errors.
    cases = verify._fixed_cases(report, ops, None)
    params, ids = [], []
    for location, case in cases:
        for check in _checks(case):
            params.append((location, case, check))
            ids.append(f"{case['op']}::{_file_part(location)}::{case['id']}::{check}")
    for error in report.errors:
        params.append((error, None, None))
        ids.append(f"malformed::{_file_part(error.split(': ', 1)[0])}")
    return params, ids


def pytest_generate_tests(metafunc):
    if "location" in metafunc.fixturenames:
        params, ids = collected(metafunc.config.getoption("oracle_op"))
        metafunc.parametrize("location, case, check", params, ids=ids)


@pytest.fixture(scope="session")
def implementation(request):
    """One worker for the session (per xdist process), closed at its end."""
    try:
        worker = pytest_plugin.implementation(request.config)
        worker.start()
    except (adapters.ImplementationUnavailable, ValueError) as error:  # ValueError: a bad declaration
        pytest.exit(f"error: {error}", returncode=2)
    yield convert.Converting(worker, worker.conventions)
    worker.close()


@pytest.fixture(scope="session")
def judged():
    """{location: [CaseCheck]}: each case is run once, for all its checks,
    and one Diagnoser serves the session, as in a verify run."""
    return {"diagnoser": Diagnoser(), "cases": {}}


def _failure_text(result):
    """A failing check as verify's text report shows it: the message, where
    the case is, and what the diagnosis found."""
    lines = [f"{result.op} {result.check} {result.case}: {result.message}", f"    at {result.location}"]
    for finding in result.diagnosis or ():
        lines.append(f"    {finding['text']}" + (f" ({finding['detail']})" if finding["detail"] else ""))
    return "\n".join(lines)


def test_conformance(request, implementation, judged, location, case, check):
    if case is None:
        pytest.fail(f"malformed fixture: {location}", pytrace=False)
    cases = judged["cases"]
    if location not in cases:
        try:
            cases[location] = verify.run_case(
                implementation,
                location,
                case,
                request.config.getoption("oracle_dtype"),
                judged["diagnoser"],
            )
        except fixtures.FixtureError as error:
            cases[location] = error
    found = cases[location]
    if isinstance(found, fixtures.FixtureError):
        pytest.fail(f"malformed fixture: {found}", pytrace=False)
    (result,) = [r for r in found if r.check == check]
    if result.status == "fail":
        pytest.fail(_failure_text(result), pytrace=False)
    if result.status == "skip":
        pytest.skip(result.message)
