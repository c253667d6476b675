"""The cnn-oracle command."""

import argparse
import sys
from collections import Counter

import jsonschema

from oracle import __version__, bench, bugs_cli, grade, verify_cli
from oracle.checks import compare
from oracle.conformance import fixtures, golden
from oracle.training import parity


def inventory(args):
    cases = [
        case for _, case in fixtures.iter_cases(args.root) if isinstance(case, dict) and "source" in case
    ]
    handworked = [c for c in cases if c["source"]["kind"] != "generated"]
    generated = Counter(c["op"] for c in cases if c["source"]["kind"] == "generated")
    documents = {c["source"]["document"] for c in handworked}
    print(f"{len(handworked)} hand-worked cases from {len(documents)} documents\n")
    for document in sorted(documents):
        mine = [c for c in handworked if c["source"]["document"] == document]
        ops = Counter(c["op"] for c in mine)
        errata = sum(len(c.get("errata", [])) for c in mine)
        listing = ", ".join(f"{op} {n}" for op, n in sorted(ops.items()))
        print(f"{document}: {len(mine)} cases, {errata} errata\n    {listing}")
    if generated:
        listing = ", ".join(f"{op} {n}" for op, n in sorted(generated.items()))
        print(f"\n{sum(generated.values())} golden cases generated from the reference:\n    {listing}")
    print("\nerrata (document, case, where, kind):")
    for case in handworked:
        for erratum in case.get("errata", []):
            print(f"  {case['source']['document'][:3]}  {case['id']}  {erratum['path']}  [{erratum['kind']}]")
            print(f"       {erratum['note']}")
    return 0


def check(args):
    problem = fixtures.root_problem(args.root) if args.root is not None else ""
    if problem:
        print(f"error: --root {problem}", file=sys.stderr)
        return 2
    files = fixtures.case_files(args.root)
    if not files:
        print(f"nothing was checked: no fixture files (*.json) under {args.root}")
        return 1
    validator = jsonschema.Draft202012Validator(fixtures.schema())
    results = [result for path in files for result in fixtures.check_file(path, validator)]
    failed = [r for r in results if not r.ok]
    for result in results:
        if args.verbose or not result.ok:
            status = "ok  " if result.ok else "FAIL"
            print(f"{status} {result.case_id}  ({result.checked} values, {result.errata} errata)")
            # The file once: beside its only problem, or above its several.
            if len(result.problems) == 1:
                print(f"       {result.file}: {result.problems[0]}")
            elif result.problems:
                print(f"       {result.file}:")
                for line in result.problems:
                    print(f"         {line}")
    if args.root is None:
        for problem in golden.stale():
            print(f"FAIL {problem}")
            failed.append(problem)
    values = sum(r.checked for r in results)
    errata = sum(r.errata for r in results)
    print(
        f"\n{len(results) - len(failed)} passed, {len(failed)} failed: "
        f"{values} expected values checked, {errata} errata confirmed"
    )
    return 1 if failed or not results else 0


def build_golden(args):
    changed = golden.build(args.root)
    where = args.root or golden.golden_dir()
    print(
        f"{len(changed)} golden file(s) written to {where}" + (f": {', '.join(changed)}" if changed else "")
    )
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="cnn-oracle", description=__doc__)
    parser.add_argument("--version", action="version", version=f"cnn-oracle {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    fixture_cmd = commands.add_parser("fixtures", help="the JSON fixture cases")
    fixture_sub = fixture_cmd.add_subparsers(dest="action", required=True)
    for name, function, help_text in (
        ("list", inventory, "count cases per document and op, and list the errata found"),
        (
            "check",
            check,
            "validate every case against the schema and the reference; golden files must be current",
        ),
        ("build", build_golden, "regenerate the golden cases from the reference (byte-identical)"),
    ):
        sub = fixture_sub.add_parser(name, help=help_text)
        sub.add_argument("--root", help="folder of cases (default: the shipped hand-worked cases)")
        if name == "check":
            sub.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
        sub.set_defaults(run=function)
    # Subcommands that live in their own module: add_arguments(parser) and run(args).
    for name, module, help_text in (
        (
            "compare",
            compare,
            "agreement matrix: every op and engine against the reference, and finite differences",
        ),
        ("parity", parity, "train a document's network on every engine in lockstep and report divergence"),
        ("verify", verify_cli, "run every fixture case through an implementation and report conformance"),
        ("bench", bench, "side-by-side timings and ratios (NumPy vs torch, ours vs gradcheck)"),
        ("bugs", bugs_cli, "the bug catalogue the diagnosis matches failures against"),
        ("grade", grade, "verify every submission of a folder in parallel and write a gradebook"),
    ):
        sub = commands.add_parser(name, help=help_text)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
