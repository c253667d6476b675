"""`cnn-oracle bugs`: the bug catalogue (oracle/diagnosis/catalogue.py),
and what one bug outputs on a small case beside the right answer.

Exit codes: 0 listed or shown; 2 an unknown bug or op, or a bug that does
not touch the op.
"""

import difflib
import json
import sys

import numpy as np

from oracle import registry, samples
from oracle.diagnosis.catalogue import BUGS, CATALOGUE

SEARCHED_SEEDS = 200  # small cases tried until the bug shows


def add_arguments(parser):
    parser.add_argument("--op", help="only the bugs of this op; with --show, the op to show it on")
    parser.add_argument("--show", metavar="ID", help="print what this bug outputs on a small case")


def run(args):
    try:
        if args.op:
            registry.get(args.op)
        if args.show:
            return show(args.show, args.op)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    bugs = [bug for bug in BUGS if not args.op or args.op in bug.ops]
    width = max(len(bug.id) for bug in bugs)
    for bug in bugs:
        print(f"{bug.id:<{width}}  {bug.op:<26}{bug.check:<10}{bug.description}")
    print(f"\n{len(bugs)} bugs; `cnn-oracle bugs --show ID` prints one on a small case")
    return 0


def show(bug_id, op=None):
    if bug_id not in CATALOGUE:
        close = [id for id in CATALOGUE if id.startswith(bug_id)][:5] or difflib.get_close_matches(
            bug_id, CATALOGUE
        )
        raise ValueError(
            f"--show: no bug {bug_id!r}" + (f" (did you mean {', '.join(close)}?)" if close else "")
        )
    bug = CATALOGUE[bug_id]
    op = op or bug.op
    if op not in bug.ops:
        raise ValueError(f"--op: {bug_id} does not change {op} (it changes {', '.join(bug.ops)})")
    print(f"{bug.id} ({op}, {bug.check}): {bug.description}" + (f" [{bug.source}]" if bug.source else ""))
    if not bug.computable:
        print(f"It has no outputs of its own: it is found from {bug.detected}.")
        return 0
    spec = registry.get(op)
    found = _smallest_showing(bug, spec)
    if found is None:
        print(f"None of {SEARCHED_SEEDS} small cases shows it: it needs edge values (the golden edge cases).")
        return 0
    inputs, params, right, wrong = found
    print(f"\na small case: params {json.dumps(params)}")
    for name, value in inputs.items():
        print(f"  {name} = {_text(value)}")
    for name in wrong:
        print(f"\n{name}:\n  right: {_text(right[name])}\n  bug:   {_text(wrong[name])}")
    return 0


def _smallest_showing(bug, spec):
    """(inputs, params, right outputs, the bug's outputs that differ) of the
    smallest sample case on which the bug changes an output, or None."""
    best = None
    for seed in range(SEARCHED_SEEDS):
        inputs, params = samples.draw(spec.samples, seed)
        right = spec.run_reference(inputs, params)
        try:
            with np.errstate(all="ignore"):
                outputs = bug.outputs(spec, inputs, params)
        except (ArithmeticError, ValueError):
            continue
        wrong = {
            name: value for name, value in outputs.items() if name in right and _differs(value, right[name])
        }
        size = sum(np.size(value) for value in inputs.values())
        if wrong and (best is None or size < best[0]):
            best = (size, inputs, params, right, wrong)
    return best and best[1:]


def _differs(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)


def _text(value):
    return json.dumps(np.round(np.asarray(value, dtype=float), 4).tolist())
