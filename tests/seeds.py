"""Sample seeds for the randomized tests. CNN_ORACLE_SEED=k shifts every
seed to a fresh range (flake hunting); unset, runs are reproducible."""

import os

OFFSET = int(os.environ.get("CNN_ORACLE_SEED", "0"))


def seeds(count):
    return [OFFSET * 1000 + s for s in range(count)]
