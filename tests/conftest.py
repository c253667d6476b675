import os

from hypothesis import HealthCheck, settings

# Deterministic by default so runs agree under xdist and in any order;
# CNN_ORACLE_HYPOTHESIS=random explores new examples, reproducible with
# pytest's --hypothesis-seed (no example database: runs stay independent).
settings.register_profile(
    "deterministic",
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("random", max_examples=200, deadline=None, database=None)
settings.load_profile(os.environ.get("CNN_ORACLE_HYPOTHESIS", "deterministic"))


MUTANT_TESTS = {
    "test_mutant_is_killed": "float64 tolerances",
    "test_mutant_is_killed_at_float32_tolerances": "float32 tolerances",
}


def pytest_terminal_summary(terminalreporter):
    """The kill rate of the mutant corpus (tests/test_mutants.py)."""
    outcomes = {test: {"killed": 0, "survived": 0} for test in MUTANT_TESTS}
    for status, key in (("passed", "killed"), ("failed", "survived")):
        for report in terminalreporter.stats.get(status, []):
            test = report.nodeid.partition("::")[2].partition("[")[0]
            if getattr(report, "when", "call") == "call" and test in outcomes:
                outcomes[test][key] += 1
    for test, counts in outcomes.items():
        total = counts["killed"] + counts["survived"]
        if total:
            rate = 100.0 * counts["killed"] / total
            summary = f"{counts['killed']} killed, {counts['survived']} survived of {total}"
            terminalreporter.write_line(f"mutants at {MUTANT_TESTS[test]}: {summary} (kill rate {rate:.0f}%)")
