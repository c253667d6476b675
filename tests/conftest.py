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
