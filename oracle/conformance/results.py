"""What a verify run found: one CaseCheck per case and check, the known
failures (xfail file), and the verdict with its exit code. Renderers live
in oracle.reports; this module decides what the run means."""

import collections
import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from oracle import registry
from oracle.conformance.files import unreadable
from oracle.diagnosis.summary import summarize

CHECKS = ("forward", "backward", "gradient")  # gradient: the backward against the forward's own differences

# Exit codes of `cnn-oracle verify` (README, "Exit codes").
EXIT_PASSED = 0  # at least one check passed, none failed, the report was written
EXIT_FAILED = 1  # a check failed, or a fixture is malformed
EXIT_UNUSABLE = 2  # usage error, or the implementation cannot be loaded
EXIT_NOTHING_CHECKED = 3  # no check ran, or every check was skipped


@dataclass
class CaseCheck:
    """One check (forward or backward) of one case."""

    op: str
    check: str
    case: str
    location: str
    status: str  # pass, fail, skip, xfail
    message: str = ""
    worst_error: float = 0.0  # largest |got - expected| seen
    worst_ratio: float = 0.0  # largest error / allowance
    origin: str = "fixed"  # fixed (hand-worked, golden, --root) or fresh (generated in this run)
    counterexample: dict = None  # fresh failures: the smallest case that fails this check
    params: dict = None  # the case's params
    diagnosis: list = None  # failures: [{id, text, detail}] (oracle.diagnosis), [] when nothing matched
    wrong: dict = None  # failures: {output: nested 0/1 lists, 1 where an element is outside tolerance}


@dataclass
class XfailEntry:
    op: str
    check: str = ""
    case: str = ""
    reason: str = ""
    line: int = 0
    matched: int = 0
    failed: int = 0

    def matches(self, result):
        return result.op == self.op and self.check in ("", result.check) and self.case in ("", result.case)

    def describe(self):
        return " ".join(part for part in (self.op, self.check, self.case) if part)


def read_xfail(path):
    """Known failures: one per line, `OP [CHECK [CASE_ID]]`, `#` comments."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as error:
        raise ValueError(unreadable(path, error)) from None
    entries = []
    for number, raw in enumerate(lines, start=1):
        text, _, reason = raw.partition("#")
        words = text.split()
        if not words:
            continue
        if len(words) > 3 or (len(words) > 1 and words[1] not in CHECKS):
            raise ValueError(
                f"{path}:{number}: expected 'OP [forward|backward|gradient [CASE_ID]]', got {raw.strip()!r}"
            )
        entries.append(XfailEntry(*words, reason=reason.strip(), line=number))
    return entries


@dataclass
class Report:
    implementation: str
    dtype: str = "float64"  # the precision the implementation was judged at
    results: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # malformed fixtures
    xfail: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # what the implementation's loader said (skipped files)
    unavailable: str = ""  # why the implementation could not be used at all
    seed: int = None  # of the fresh cases (None: no fresh cases)
    fresh: int = 0  # fresh cases per op
    command: str = ""  # the verify command line that reproduces this run, when known
    conventions: object = None  # the Conventions in force (oracle.conformance.conventions), once started
    ops: tuple = ()  # the ops the run was limited to (--op); empty: every op
    grading: object = None  # the autograder formats' Grading (oracle.conformance.grading); None: defaults

    def count(self, status):
        return sum(1 for r in self.results if r.status == status)

    @property
    def unexpected(self):
        return [r for r in self.results if r.status == "fail"]

    @property
    def ok(self):
        return self.exit_code == EXIT_PASSED

    @property
    def exit_code(self):
        if self.unavailable:
            return EXIT_UNUSABLE
        if self.unexpected or self.errors:
            return EXIT_FAILED
        if not self.count("pass"):
            return EXIT_NOTHING_CHECKED
        return EXIT_PASSED

    @property
    def verdict(self):
        """One line: what the exit code means for this run."""
        code = self.exit_code
        if code == EXIT_UNUSABLE:
            return f"error: {self.unavailable}"
        if code == EXIT_FAILED:
            return "FAILED: " + self.summary
        if code == EXIT_NOTHING_CHECKED:
            return f"nothing was checked: {self.nothing_checked_because()}"
        return "PASSED: " + self.summary

    @property
    def summary(self):
        return (
            f"{self.count('pass')} passed, {self.count('fail')} failed, {self.count('skip')} skipped, "
            f"{self.count('xfail')} xfailed, {len(self.errors)} fixture errors"
        )

    def nothing_checked_because(self):
        if not self.results:
            return "no fixture case matched (check --root and --op)"
        skipped = collections.Counter(r.message for r in self.results if r.status == "skip")
        if not skipped:
            return "no check passed: every failure was an expected one (xfail)"
        reasons = "; ".join(f"{reason} ({n}x)" for reason, n in skipped.most_common(3))
        more = len(skipped) - 3
        return f"every check was skipped: {reasons}" + (f"; and {more} other reasons" if more > 0 else "")

    @property
    def xpass(self):
        return [e for e in self.xfail if e.matched and not e.failed]

    @property
    def unknown_xfail(self):
        """Entries that matched no case, leaving out those of known ops the
        run did not check (--op): their cases were not run, not missing."""
        checked = lambda op: not self.ops or op in self.ops or op not in registry.REGISTRY  # noqa: E731
        return [e for e in self.xfail if not e.matched and checked(e.op)]

    def apply_xfail(self):
        for result in self.results:
            for entry in self.xfail:
                if entry.matches(result):
                    entry.matched += 1
                    if result.status == "fail":
                        entry.failed += 1
                        result.status = "xfail"
                    break

    def rows(self, origin=None):
        """One row per (op, check): counts, worst error ratio, first failure;
        of the cases of one origin (fixed or fresh), or of all."""
        table, members = {}, collections.defaultdict(list)
        for r in self.results:
            if origin not in (None, r.origin):
                continue
            members[r.op, r.check].append(r)
            row = table.setdefault(
                (r.op, r.check),
                {
                    "op": r.op,
                    "check": r.check,
                    "pass": 0,
                    "fail": 0,
                    "xfail": 0,
                    "skip": 0,
                    "worst_ratio": 0.0,
                    "worst_error": 0.0,
                    "first_failure": "",
                    "skip_reason": "",
                },
            )
            row[r.status] += 1
            row["worst_ratio"] = max(row["worst_ratio"], r.worst_ratio)
            row["worst_error"] = max(row["worst_error"], r.worst_error)
            if r.status == "fail" and not row["first_failure"]:
                row["first_failure"] = r.case
            if r.status == "skip" and not row["skip_reason"]:
                row["skip_reason"] = r.message
        for key, row in table.items():
            row["diagnosis"] = summarize(members[key]) if row["fail"] else []
        return [table[key] for key in sorted(table)]


def report_from_json(data):
    """A Report read back from its JSON rendering (oracle/reports/json_report.py):
    what `cnn-oracle grade` scores a submission's run from."""
    fields = {f.name for f in dataclasses.fields(CaseCheck)}
    results = [
        CaseCheck(
            **{
                k: (math.inf if v is None and k.startswith("worst_") else v)
                for k, v in r.items()
                if k in fields
            }
        )
        for r in data["results"]
    ]
    report = Report(data["implementation"], data["dtype"], results, list(data["fixture_errors"]))
    report.notes, report.seed, report.fresh = data["notes"], data["seed"], data["fresh"]
    report.command = data["command"]
    if data["exit_code"] == EXIT_UNUSABLE:
        report.unavailable = data["verdict"].removeprefix("error: ")
    return report
