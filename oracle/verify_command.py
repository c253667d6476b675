"""Command-line wiring of `cnn-oracle verify` (see oracle.verify)."""

import sys

from . import implementations, verify


def add_arguments(parser):
    parser.add_argument(
        "module",
        nargs="?",
        help="Python module (dotted name or .py file) with the reference's function names",
    )
    parser.add_argument(
        "--batch-first", action="store_true", help="the module's functions take a leading batch axis"
    )
    parser.add_argument("--arrays", action="store_true", help="pass NumPy arrays instead of nested lists")
    parser.add_argument("--layer-api", metavar="DIR", help="folder of document-style layer classes")
    parser.add_argument(
        "--layer-config", metavar="FILE", help="JSON renaming classes, attributes, loss functions"
    )
    parser.add_argument(
        "--command", metavar="CMD", help="program reading one JSON case on stdin, writing outputs"
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds per case for --command (default 10)"
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
    parser.add_argument("--format", choices=sorted(verify.RENDERERS), default="text")
    parser.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument("--root", help="fixture folder (default: the shipped hand-worked and golden cases)")


def implementation_from(args):
    chosen = [flag for flag in ("module", "layer_api", "command", "engine") if getattr(args, flag)]
    if len(chosen) > 1:
        raise ValueError(
            f"name one implementation, not {' and '.join('--' + c.replace('_', '-') for c in chosen)}"
        )
    if args.module:
        return implementations.FunctionImplementation(
            args.module, batch_first=args.batch_first or None, arrays=args.arrays or None
        )
    if args.layer_api:
        return implementations.LayerImplementation(args.layer_api, args.layer_config)
    if args.command:
        return implementations.CommandImplementation(args.command, args.timeout)
    return implementations.BuiltinEngine(args.engine or "reference", args.dtype)


def run(args):
    try:
        implementation = implementation_from(args)
        xfail = verify.read_xfail(args.xfail) if args.xfail else []
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = verify.verify(implementation, args.op, xfail, args.root, args.dtype)
    text = verify.RENDERERS[args.format](report)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
        print(verify.render_text(report).strip().splitlines()[-1])
    else:
        sys.stdout.write(text)
    return 0 if report.ok else 1
