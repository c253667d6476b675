"""The conformance cases as pytest tests (collected by oracle.pytest_plugin
when --impl, --layer-api or --command is given)."""

import pytest

from oracle.conformance import adapters, convert, fixtures, pytest_plugin, verify


def pytest_generate_tests(metafunc):
    if "location" not in metafunc.fixturenames:
        return
    ops = metafunc.config.getoption("oracle_op")
    cases = [(location, case) for location, case in fixtures.iter_cases() if not ops or case["op"] in ops]
    metafunc.parametrize("location, case", cases, ids=[f"{case['op']}::{case['id']}" for _, case in cases])


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


def test_conformance(request, implementation, location, case):
    try:
        results = verify.run_case(implementation, location, case, request.config.getoption("oracle_dtype"))
    except fixtures.FixtureError as error:
        pytest.fail(f"malformed fixture: {error}", pytrace=False)
    failures = [r for r in results if r.status == "fail"]
    if failures:
        pytest.fail("\n".join(f"{r.check}: {r.message}" for r in failures), pytrace=False)
    if results and all(r.status == "skip" for r in results):
        pytest.skip(results[0].message)
