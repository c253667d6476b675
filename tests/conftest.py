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


def pytest_terminal_summary(terminalreporter):
    """The kill rate of the mutant corpus (tests/test_mutants.py) at each tier."""
    killed = {}
    for status in ("passed", "failed"):
        for report in terminalreporter.stats.get(status, []):
            if getattr(report, "when", "") != "call" or "::test_mutant_is_killed[" not in report.nodeid:
                continue
            for name, value in report.user_properties:
                killed.setdefault(name, []).append(value)
    for name in sorted(killed):
        count, total = sum(killed[name]), len(killed[name])
        terminalreporter.write_line(
            f"mutants {name} tolerances: {count} killed, {total - count} survived of {total} "
            f"(kill rate {100.0 * count / total:.0f}%)"
        )
