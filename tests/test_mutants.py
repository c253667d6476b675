"""Every mutant of tests/mutants.py is caught by `verify`, through the
adapter users use, and the report blames the right op and no other.

    pytest tests/test_mutants.py      # prints the kill rate at the end
"""

import shutil
import sys
from pathlib import Path

import command_impl
import pytest
from mutants import MUTANTS

import reference
from oracle.conformance import adapters, verify

HERE = Path(__file__).parent
SOURCES = {"function": Path(reference.__file__).parent, "layer": HERE / "doc_style_layers"}
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
    return adapters.command(f"{COMMAND} {mutant.file}")


def _ops_of(mutant):
    """The command implements a few ops; the others are checked everywhere."""
    return list(command_impl.OPS) if mutant.adapter == "command" else None


def test_the_corpus_is_large_and_covers_every_adapter():
    assert len(MUTANTS) >= 25
    assert {m.adapter for m in MUTANTS} == {"function", "layer", "command"}
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)


def _assert_killed(mutant, tmp_path, dtype):
    report = verify.verify(implementation_of(mutant, tmp_path), ops=_ops_of(mutant), dtype=dtype)
    blamed = {r.op for r in report.results if r.status == "fail"}
    assert blamed, f"mutant {mutant.name} survived at {dtype} tolerances: {mutant.bug}"
    assert blamed <= set(mutant.ops), f"{mutant.name} also blames {sorted(blamed - set(mutant.ops))}"
    assert not report.ok


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # mutants overflow and divide by zero
@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_is_killed(mutant, tmp_path):
    _assert_killed(mutant, tmp_path, "float64")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_is_killed_at_float32_tolerances(mutant, tmp_path):
    """The wider float32 tier hides no bug: every mutant still fails."""
    _assert_killed(mutant, tmp_path, "float32")
