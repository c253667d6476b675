import os

from hypothesis import HealthCheck, settings

# Deterministic by default so runs agree under xdist and in any order;
# CNN_ORACLE_HYPOTHESIS=random explores new examples.
settings.register_profile(
    "deterministic",
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("random", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("CNN_ORACLE_HYPOTHESIS", "deterministic"))


def pytest_terminal_summary(terminalreporter):
    """The kill rate of the mutant corpus (tests/test_mutants.py)."""
    outcomes = {"killed": 0, "survived": 0}
    for status, key in (("passed", "killed"), ("failed", "survived")):
        for report in terminalreporter.stats.get(status, []):
            if getattr(report, "when", "call") == "call" and "test_mutant_is_killed" in report.nodeid:
                outcomes[key] += 1
    total = sum(outcomes.values())
    if total:
        rate = 100.0 * outcomes["killed"] / total
        counts = f"{outcomes['killed']} killed, {outcomes['survived']} survived of {total}"
        terminalreporter.write_line(f"mutants: {counts} (kill rate {rate:.0f}%)")
