"""Every mutant of tests/mutants.py is caught by `verify`, through the
adapter users use, and the report blames the right op and no other.

    pytest tests/test_mutants.py      # prints the kill rate at the end
"""

import pickle
import shutil
import sys
from pathlib import Path

import command_impl
import pytest
from mutants import MUTANTS

import reference
from oracle.conformance import adapters, verify

HERE = Path(__file__).parent
SOURCES = {
    "function": Path(reference.__file__).parent,
    "layer": HERE / "doc_style_layers",
    "conventions": HERE / "conventions",
}
COMMAND = f"{sys.executable} {HERE / 'command_impl.py'}"


def _mutated_copy(mutant, destination):
    shutil.copytree(SOURCES[mutant.adapter], destination, ignore=shutil.ignore_patterns("__pycache__"))
    path = destination / mutant.file
    text = path.read_text()
    assert text.count(mutant.old) == 1, f"{mutant.name}: the site must occur exactly once in {mutant.file}"
    path.write_text(text.replace(mutant.old, mutant.new))
    return destination


def implementation_of(mutant, tmp_path):
    """The mutant behind the front door users use, in its own worker."""
    if mutant.adapter == "function":
        package = f"mutant_{mutant.name.replace('-', '_')}"
        return adapters.function_module(str(_mutated_copy(mutant, tmp_path / package)))
    if mutant.adapter == "layer":
        return adapters.layer_folder(_mutated_copy(mutant, tmp_path / "layers"))
    if mutant.adapter == "conventions":
        return adapters.function_module(str(_mutated_copy(mutant, tmp_path / "styles") / mutant.file))
    return adapters.command(f"{COMMAND} {mutant.file}")


def _ops_of(mutant):
    """The command implements a few ops; the others are checked everywhere."""
    return list(command_impl.OPS) if mutant.adapter == "command" else None


def test_the_corpus_is_large_and_covers_every_adapter():
    assert len(MUTANTS) >= 40
    assert {m.adapter for m in MUTANTS} == {"function", "layer", "command", "conventions"}
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)


class Recorded:
    """An implementation whose replies are kept, so that a second run (the
    same cases judged at another tier) replays them without a worker."""

    def __init__(self, implementation):
        self.inner, self.replies, self.replaying = implementation, {}, False

    def __getattr__(self, name):  # name, notes, batch, offers
        return getattr(self.inner, name)

    def start(self):
        return self if self.replaying else self.inner.start()

    def close(self):
        if not self.replaying:
            self.inner.close()
        self.replaying = True

    def outputs(self, spec, inputs, params, batched=False):
        # pickle's bytes are equal only for equal values of equal types: an exact key, cheaply
        key = pickle.dumps((spec.name, inputs, params, batched))
        if key not in self.replies:
            assert not self.replaying, f"a request the first run did not make: {spec.name}"
            try:
                self.replies[key] = (True, self.inner.outputs(spec, inputs, params, batched))
            except (adapters.NotImplementedByTarget, adapters.ImplementationFault) as error:
                self.replies[key] = (False, error)
        ok, reply = self.replies[key]
        if not ok:
            raise reply
        return reply


def _verdict(implementation, mutant, dtype):
    """(killed, the rank of the mutant's bug in the diagnosis or None):
    whether verify fails the mutant at dtype's tolerances, blaming only the
    ops it changed (AssertionError if it blames another), and where the
    diagnosis of the failing rows puts the bug (0: first)."""
    report = verify.verify(implementation, ops=_ops_of(mutant), dtype=dtype)
    blamed = {r.op for r in report.results if r.status == "fail"}
    assert blamed <= set(mutant.ops), f"{mutant.name} also blames {sorted(blamed - set(mutant.ops))}"
    ranks = [
        [finding["id"] for finding in row["diagnosis"]].index(mutant.diagnosis)
        for row in report.rows()
        if row["fail"] and mutant.diagnosis in [finding["id"] for finding in row["diagnosis"]]
    ]
    return bool(blamed) and not report.ok, min(ranks, default=None)


DIAGNOSIS = {0: "right first", None: "not found"}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # mutants overflow and divide by zero
@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_is_killed_and_named(mutant, tmp_path, record_property):
    """Killed at float64 tolerances, and at float32's: the wider tier hides
    no bug. The float32 run judges the replies of the float64 one. The
    diagnosis names the planted bug (the summary counts where)."""
    implementation = Recorded(implementation_of(mutant, tmp_path))
    for dtype in ("float64", "float32"):
        killed, rank = _verdict(implementation, mutant, dtype)
        record_property(f"killed at {dtype}", killed)
        assert killed, f"mutant {mutant.name} survived at {dtype} tolerances: {mutant.bug}"
        if dtype == "float64":
            record_property("diagnosis", DIAGNOSIS.get(rank, "right, not first"))
        assert rank is not None, f"mutant {mutant.name}: at {dtype} the diagnosis does not name its bug"
