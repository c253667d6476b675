"""`cnn-oracle verify`: run every applicable fixture case (hand-worked and
golden, or those under --root) and, when asked, fresh cases generated now
(oracle.conformance.fresh) through an implementation, and collect the
Report (oracle.conformance.results). Each case is judged by
oracle.conformance.judge; the implementation is started here and closed at
the end, whatever happens.
"""

import functools

from oracle import registry
from oracle.conformance import fixtures, fresh, gradient_check
from oracle.conformance.adapters import ImplementationUnavailable
from oracle.conformance.convert import Converting
from oracle.conformance.judge import judge_case, run_case
from oracle.conformance.results import Report
from oracle.diagnosis.diagnose import Diagnoser

__all__ = ["judge_case", "run_case", "verify"]

# Schema problems of each fixture file already checked in this process, by
# the digest of its bytes: validation is most of the cost of reading the cases
# that are not on the shipped list of valid files (fixtures.known_valid), and
# in-process runs (the pytest plugin, a test suite) read the same files again.
_SCHEMA_PROBLEMS = {}


def _schema_problems(document, digest, validator):
    if digest not in _SCHEMA_PROBLEMS:
        _SCHEMA_PROBLEMS[digest] = tuple(fixtures.schema_errors(document, validator()))
    return _SCHEMA_PROBLEMS[digest]


def verify(
    implementation,
    ops=None,
    xfail=(),
    root=None,
    dtype="float64",
    fresh_count=0,
    seed=0,
    save_failures=None,
):
    """The Report of every case under `root` (default: the shipped ones),
    then `fresh_count` fresh cases per op drawn from `seed` (each failure
    shrunk, and written to `save_failures` when that is a folder) and, at
    float64, the gradient check of the implementation's backward against
    its own forward (oracle.conformance.gradient_check)."""
    report = Report(implementation.name, dtype, xfail=list(xfail), ops=tuple(ops or ()))
    # Every case is read before the implementation starts: nothing it does
    # to the files on disk during the run changes what it is judged against.
    cases = _fixed_cases(report, ops, root)
    try:
        implementation.start()
    except ImplementationUnavailable as error:
        report.unavailable = str(error)
        return report
    report.implementation, report.notes = implementation.name, list(implementation.notes)
    implementation = Converting(implementation, implementation.conventions)
    report.conventions = implementation.conventions
    diagnoser = Diagnoser()
    try:
        for location, case in cases:
            try:
                report.results.extend(run_case(implementation, location, case, dtype, diagnoser))
            except fixtures.FixtureError as error:
                report.errors.append(str(error))
        if fresh_count:
            report.seed, report.fresh = seed, fresh_count
            _run_fresh_cases(report, implementation, ops, dtype, save_failures, diagnoser)
    finally:
        implementation.close()
    report.apply_xfail()
    return report


def _fixed_cases(report, ops, root):
    """[(location, case)] of the fixture files under root (the shipped ones
    by default) for `ops`; each malformed file or case is a report error."""
    known_valid = fixtures.known_valid()
    validator = functools.cache(_schema_validator)
    cases = []
    for path in fixtures.case_files(root):
        try:
            document, digest = fixtures.read(path)
        except fixtures.FixtureError as error:
            report.errors.append(str(error))
            continue
        problems = () if digest in known_valid else _schema_problems(document, digest, validator)
        if problems:
            report.errors.extend(f"{path}: {problem}" for problem in problems)
            continue
        for location, case in fixtures.cases_in(document, path):
            if ops and case["op"] not in ops:
                continue
            if case["op"] not in registry.REGISTRY:
                report.errors.append(f"{location}: $.op: unknown operation {case['op']!r}")
                continue
            cases.append((location, case))
    return cases


def _schema_validator():
    import jsonschema  # here: a run whose files are all on the valid list never needs it (~0.1 s to import)

    return jsonschema.Draft202012Validator(fixtures.schema())


def _missing(report, op):
    """Whether the fixed cases found the op missing from the implementation."""
    mine = [r for r in report.results if r.op == op]
    return bool(mine) and all(r.status == "skip" and r.message.startswith("not implemented") for r in mine)


def _run_fresh_cases(report, implementation, ops, dtype, save_failures, diagnoser):
    for spec in fresh.ops_with_strategies(ops):
        if not implementation.offers(spec.name) or _missing(report, spec.name):
            continue
        found = fresh.search(implementation, spec, report.fresh, report.seed, dtype, diagnoser)
        report.results.extend(found.results)
        for result in found.results:
            if result.counterexample and save_failures:
                result.counterexample["saved"] = str(fresh.save(result.counterexample, save_failures))
        if dtype == "float64":  # central differences of a float32 forward measure its rounding
            report.results.extend(gradient_check.run(implementation, spec, report.seed))
