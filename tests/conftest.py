import collections
import os

from hypothesis import HealthCheck, settings

# pytester runs the cnn-oracle pytest plugin in this process where a test's
# claim is about what the plugin judges, not about a pytest process.
pytest_plugins = ["pytester"]

# Deterministic by default so runs agree under xdist and in any order, with
# 30 examples a property (every run of the suite pays for them); the flake
# hunt's CNN_ORACLE_HYPOTHESIS=random explores 200 new examples a property,
# reproducible with pytest's --hypothesis-seed (no example database: runs
# stay independent).
settings.register_profile(
    "deterministic",
    derandomize=True,
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("random", max_examples=200, deadline=None, database=None)
settings.load_profile(os.environ.get("CNN_ORACLE_HYPOTHESIS", "deterministic"))


def pytest_terminal_summary(terminalreporter):
    """The kill rate of the mutant corpus (tests/test_mutants.py) at each
    tier, and where the diagnosis puts each mutant's bug."""
    killed = {}
    for status in ("passed", "failed"):
        for report in terminalreporter.stats.get(status, []):
            mutant_test = "::test_mutant_is_killed_and_named[" in report.nodeid
            if getattr(report, "when", "") != "call" or not mutant_test:
                continue
            for name, value in report.user_properties:
                killed.setdefault(name, []).append(value)
    diagnoses = collections.Counter(killed.pop("diagnosis", []))
    for name in sorted(killed):
        count, total = sum(killed[name]), len(killed[name])
        terminalreporter.write_line(
            f"mutants {name} tolerances: {count} killed, {total - count} survived of {total} "
            f"(kill rate {100.0 * count / total:.0f}%)"
        )
    if diagnoses:
        counts = ", ".join(f"{diagnoses[k]} {k}" for k in ("right first", "right, not first", "not found"))
        terminalreporter.write_line(f"mutants diagnosed: {counts}")
