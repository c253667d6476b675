"""Fresh cases at run time: for each op, cases drawn from the op's
hypothesis strategy (oracle.strategies) with a seed the report prints,
their expected values computed by the reference here in the harness, and
run through the implementation like any fixture case.

Hypothesis drives the search: each drawn case is one call of the probe
below, which judges it (oracle.conformance.judge) and raises when a check
fails. Hypothesis then shrinks the case — smaller shapes, fewer channels,
stride toward 1, padding toward 0, values toward small integers — calling
the probe again and again while the same check still fails, and the
smallest case that failed is the counterexample. A fault (a timeout, a
dead worker) is not shrunk: repeating it would cost a timeout per try.
An implementation whose failure cannot be repeated (a cache, state kept
between calls) keeps its first failing case, and the report says why.
"""

import zlib
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as seeded
from hypothesis.errors import HypothesisException

from oracle import jsonfmt, registry, strategies
from oracle.conformance import golden, judge, protocol

DEFAULT_COUNT = 20  # fresh cases per op and check
DRAWS_PER_CASE = 3  # draws allowed per wanted case: some cases hold only some checks (ReLU at 0: forward)
MAX_SHRINK_CALLS = 400  # calls of the implementation spent shrinking one failure
FAULTS = ("timed out", "the worker ", "the command exited", "broke the protocol", "could not be restarted")


def op_seed(seed, op):
    """Each op's own seed, so that --op does not change the other ops' cases."""
    return zlib.crc32(f"{seed}:{op}".encode())


class _Failed(Exception):
    """A fresh case failed the check being searched for."""


def _is_fault(message):
    return any(fault in message for fault in FAULTS)


@dataclass
class Search:
    """One op's fresh cases: the results of those generated, and the
    counterexample of the first check that failed."""

    implementation: object
    spec: object
    seed: int
    dtype: str
    results: list = field(default_factory=list)
    check: str = None  # the check that failed first
    smallest: tuple = None  # (case, outputs, message) of the smallest case failing that check
    note: str = ""  # why the counterexample is not shrunk, if it is not
    count: int = DEFAULT_COUNT
    stopped: bool = False
    shrink_calls: int = 0
    generated: int = 0
    per_check: dict = field(default_factory=dict)

    def probe(self, drawn):
        if self.stopped or self._enough():
            return
        inputs, params, options = drawn
        number = self.generated if self.check is None else "shrinking"
        case = golden.make_case(
            self.spec,
            f"fresh-{self.spec.name}-{number}",
            inputs,
            params,
            f"fresh case, seed {self.seed}",
            tolerance=options.get("tolerance"),
        )
        for name, indices in options.get("unchecked", {}).items():
            for index in indices:  # null: not judged (fixtures/README.md)
                case["expected"][name][index] = None
        location = f"fresh case {number} of {self.spec.name} (seed {self.seed})"
        results, outputs = judge.judge_case(self.implementation, location, case, self.dtype)
        # One raise site: hypothesis tells failures apart by where they are raised.
        if self._fails(results, case, outputs):
            raise _Failed

    def _fails(self, results, case, outputs):
        """Whether this case fails the check searched for (the first check
        to fail, while generating), keeping the smallest such case."""
        failed = {r.check: r for r in results if r.status == "fail"}
        if self.check is None:  # still generating: every case is part of the report
            self.generated += 1
            for result in results:
                result.origin = "fresh"
                self.per_check[result.check] = self.per_check.get(result.check, 0) + 1
            self.results.extend(results)
            if not failed:
                return False
            first = next(iter(failed.values()))
            self.check, self.smallest = first.check, (case, outputs, first.message)
            if _is_fault(first.message):
                self.stopped, self.note = True, "not shrunk: the implementation faulted on it"
            return True
        self.shrink_calls += 1
        if self.shrink_calls > MAX_SHRINK_CALLS:
            self.stopped, self.note = True, f"shrinking stopped after {MAX_SHRINK_CALLS} calls"
            return False
        hit = failed.get(self.check)
        if hit is None or _is_fault(hit.message):
            return False
        self.smallest = (case, outputs, hit.message)
        return True

    def _enough(self):
        """Generation is done: every check has `count` cases."""
        return self.check is None and self.per_check and min(self.per_check.values()) >= self.count

    def counterexample(self):
        """The smallest failing case, as a fixture case with the outputs the
        implementation gave for the failing check."""
        if self.smallest is None:
            return None
        case, outputs, message = self.smallest
        wanted = set(judge.checked_outputs(self.spec, case["expected"], self.check))
        shrunk = {
            **case,
            "id": f"shrunk-{self.spec.name}-{self.check}-s{self.seed}",
            "source": {
                "document": "generated",
                "section": f"fresh case of seed {self.seed}, shrunk to the smallest that fails {self.check}",
                "kind": "shrunk",
                "note": message,
            },
        }
        got = {name: protocol.encode(value) for name, value in (outputs or {}).items() if name in wanted}
        return {"case": shrunk, "got": got, "message": message, "note": self.note}


def search(implementation, spec, count, seed, dtype="float64"):
    """The Search of `count` fresh cases of one op (hypothesis generates,
    and shrinks the first failure)."""
    found = Search(implementation, spec, seed, dtype, count=count)
    strategy = getattr(strategies, spec.fresh)(wide=dtype == "float64")

    @settings(
        max_examples=count * DRAWS_PER_CASE,
        database=None,
        deadline=None,
        phases=(Phase.generate, Phase.shrink),
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @seeded(op_seed(seed, spec.name))
    @given(strategy)
    def probe(drawn):
        found.probe(drawn)

    try:
        probe()
    except _Failed:
        pass
    except HypothesisException:  # the failure did not repeat: it depends on earlier calls
        found.note = "not shrunk: the failure did not repeat on the same case (state kept between calls?)"
    if found.smallest is not None:
        first = next(r for r in found.results if r.status == "fail" and r.check == found.check)
        first.counterexample = found.counterexample()
    return found


def save(counterexample, folder):
    """Write a counterexample's case as a fixture file; its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    case = counterexample["case"]
    path = folder / f"{case['id']}.json"
    path.write_text(jsonfmt.dumps(case))
    return path


def ops_with_strategies(ops=None):
    return [spec for spec in registry.OPS if spec.fresh and (not ops or spec.name in ops)]
