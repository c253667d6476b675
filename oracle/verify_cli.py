"""Command-line wiring of `cnn-oracle verify` (see oracle.conformance.verify).

Exit codes (README, "Exit codes"): 0 at least one check passed, none
failed, and the report was written; 1 a check failed or a fixture is
malformed; 2 a usage error, an implementation that cannot be loaded, or a
report that cannot be written; 3 nothing was checked.
"""

import dataclasses
import os
import secrets
import shlex
import signal
import sys

from oracle import registry, reports
from oracle.conformance import adapters, conventions, fixtures, fresh, grading, process, results, verify


def add_arguments(parser):
    parser.add_argument(
        "module",
        nargs="?",
        help="Python module (dotted name, .py file or package folder) with the reference's function names",
    )
    parser.add_argument(
        "--batch-first", action="store_true", help="the module's functions take a leading batch axis"
    )
    parser.add_argument("--arrays", action="store_true", help="pass NumPy arrays instead of nested lists")
    parser.add_argument(
        "--conventions",
        metavar="FILE",
        help="JSON object declaring the array conventions (README: Plugging in your implementation)",
    )
    parser.add_argument("--layer-api", metavar="DIR", help="folder of document-style layer classes")
    parser.add_argument(
        "--layer-config", metavar="FILE", help="JSON renaming classes, attributes, loss functions"
    )
    parser.add_argument(
        "--command", metavar="CMD", help="any program speaking the streaming protocol (docs/protocol.md)"
    )
    parser.add_argument(
        "--protocol",
        choices=adapters.PROTOCOLS,
        default="auto",
        help="how --command talks: 'streaming' (one process for the run), 'one-shot' (one process per "
        "case: slow, for older programs) or 'auto' (ask the program; default)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=adapters.DEFAULT_TIMEOUT,
        help=f"seconds per case before the worker is killed (default {adapters.DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=adapters.DEFAULT_MEMORY_MB,
        metavar="MIB",
        help=f"address-space limit of the worker in MiB, 0 for none (default {adapters.DEFAULT_MEMORY_MB})",
    )
    parser.add_argument(
        "--engine", choices=("reference", "numpy", "scipy", "torch"), help="one of the suite's engines"
    )
    parser.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="the precision the implementation computes in: float32 widens the tolerances to the "
        "float32 tier and skips values float32 cannot hold; --engine runs in it (default float64)",
    )
    parser.add_argument("--op", action="append", help="only this op (repeatable)")
    parser.add_argument("--xfail", metavar="FILE", help="known failures, one 'OP [CHECK [CASE]]' per line")
    parser.add_argument(
        "--points",
        metavar="FILE",
        help="JSON points per op and check for --format " + ", ".join(reports.GRADED) + " (README: Grading)",
    )
    parser.add_argument("--format", choices=sorted(reports.RENDERERS), default="text")
    parser.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument("--root", help="fixture folder (default: the shipped hand-worked and golden cases)")
    parser.add_argument(
        "--fresh",
        type=int,
        default=fresh.DEFAULT_COUNT,
        metavar="N",
        help=f"fresh cases per op and check, drawn in this run from --seed (default {fresh.DEFAULT_COUNT}; "
        "0: none)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="seed of the fresh cases: the same seed gives the same cases (default: a new one, printed)",
    )
    parser.add_argument(
        "--save-failures",
        metavar="DIR",
        help="write each failing fresh check's smallest counterexample here as a fixture file "
        "(replay them with --root DIR --fresh 0)",
    )


def implementation_from(args):
    """The implementation named on the command line (ValueError if the
    options name none properly)."""
    chosen = [
        flag for flag in ("module", "layer_api", "command", "engine") if getattr(args, flag) is not None
    ]
    if len(chosen) > 1:
        raise ValueError(
            f"name one implementation, not {' and '.join('--' + c.replace('_', '-') for c in chosen)}"
        )
    if args.timeout <= 0:
        raise ValueError(f"--timeout must be positive, got {args.timeout:g}")
    if args.memory < 0:
        raise ValueError(f"--memory must be 0 (no limit) or a number of MiB, got {args.memory}")
    limits = {"timeout": args.timeout, "memory_mb": args.memory or None}
    if args.conventions is not None:
        if args.module is None and args.layer_api is None and args.command is None:
            raise ValueError("--conventions: the built-in engines follow the reference's conventions")
        limits["conventions"] = conventions.read_file(args.conventions)
    if args.module is not None:
        return adapters.function_module(
            args.module, batch_first=args.batch_first or None, arrays=args.arrays or None, **limits
        )
    if args.layer_api is not None:
        return adapters.layer_folder(args.layer_api, args.layer_config, **limits)
    if args.command is not None:
        return adapters.command(args.command, args.protocol, **limits)
    return adapters.BuiltinEngine(args.engine or "reference", args.dtype)


def replay_command(args, seed):
    """The command line that runs this verify again on the same cases."""
    words = ["cnn-oracle", "verify"]
    if args.module is not None:
        words.append(args.module)
    for flag in ("layer_api", "layer_config", "conventions", "command", "engine", "root", "xfail"):
        value = getattr(args, flag)
        if value is not None:
            words += [f"--{flag.replace('_', '-')}", value]
    words += ["--batch-first"] * args.batch_first + ["--arrays"] * args.arrays
    for op in args.op or ():
        words += ["--op", op]
    if args.dtype != "float64":
        words += ["--dtype", args.dtype]
    if args.fresh != fresh.DEFAULT_COUNT:
        words += ["--fresh", str(args.fresh)]
    if args.fresh:
        words += ["--seed", str(seed)]
    return shlex.join(words)


def check_ops(ops):
    unknown = [op for op in ops or () if op not in registry.REGISTRY]
    if unknown:
        known = ", ".join(sorted(registry.REGISTRY))
        raise ValueError(f"--op: unknown operation {', '.join(map(repr, unknown))} (known: {known})")


def _terminated(signum, frame):
    """SIGTERM (grade's time budget, a cancelled CI job): the workers die with the run."""
    process.kill_all()
    os._exit(128 + signum)


def run(args):
    signal.signal(signal.SIGTERM, _terminated)
    try:
        check_ops(args.op)
        problem = fixtures.root_problem(args.root)
        if problem:  # else a mistyped folder would pass on fresh cases alone
            raise ValueError(f"--root {problem}")
        xfail = results.read_xfail(args.xfail) if args.xfail else []
        points = grading.load(args.points) if args.points else None
        implementation = implementation_from(args)
    except (adapters.ImplementationUnavailable, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return results.EXIT_UNUSABLE
    if args.fresh < 0:
        print(f"error: --fresh must be 0 or more, got {args.fresh}", file=sys.stderr)
        return results.EXIT_UNUSABLE
    seed = args.seed if args.seed is not None else secrets.randbelow(10**6)
    report = verify.verify(
        implementation, args.op, xfail, args.root, args.dtype, args.fresh, seed, args.save_failures
    )
    report.command = replay_command(args, seed)
    if args.format in reports.GRADED:  # every submission is graded on the rows the reference has
        rows = grading.planned_rows(args.op, args.root, args.dtype, args.fresh > 0)
        report.grading = dataclasses.replace(points or grading.Grading(), rows=rows)
    text = reports.RENDERERS[args.format](report)
    if args.output:
        try:
            reports.write(args.output, text)
        except OSError as error:
            print(
                f"error: cannot write the report to {args.output}: {error.strerror or error}", file=sys.stderr
            )
            return results.EXIT_UNUSABLE
        print(report.verdict)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if report.unavailable and (args.output or args.format != "text"):
        print(f"error: {report.unavailable}", file=sys.stderr)
    return report.exit_code
