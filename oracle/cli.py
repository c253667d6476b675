"""The cnn-oracle command."""

import argparse
import sys
from collections import Counter

import jsonschema

from . import __version__, compare, fixtures, parity


def _load_all(paths):
    """(path, case or None) for every file; unreadable files are reported later."""
    loaded = []
    for path in paths:
        try:
            loaded.append((path, fixtures.load(path)))
        except fixtures.FixtureError:
            loaded.append((path, None))
    return loaded


def inventory(args):
    loaded = _load_all(fixtures.case_files(args.root))
    cases = [case for _, case in loaded if isinstance(case, dict) and "source" in case]
    print(f"{len(cases)} hand-worked cases from {len({c['source']['document'] for c in cases})} documents\n")
    per_document = Counter(c["source"]["document"] for c in cases)
    for document, count in sorted(per_document.items()):
        ops = Counter(c["op"] for c in cases if c["source"]["document"] == document)
        errata = sum(len(c.get("errata", [])) for c in cases if c["source"]["document"] == document)
        listing = ", ".join(f"{op} {n}" for op, n in sorted(ops.items()))
        print(f"{document}: {count} cases, {errata} errata\n    {listing}")
    print("\nerrata (document, case, where, kind):")
    for case in cases:
        for erratum in case.get("errata", []):
            print(f"  {case['source']['document'][:3]}  {case['id']}  {erratum['path']}  [{erratum['kind']}]")
            print(f"       {erratum['note']}")
    return 0


def check(args):
    validator = jsonschema.Draft202012Validator(fixtures.schema())
    results = [fixtures.check_file(path, validator) for path in fixtures.case_files(args.root)]
    failed = [r for r in results if not r.ok]
    for result in results:
        if args.verbose or not result.ok:
            status = "ok  " if result.ok else "FAIL"
            print(f"{status} {result.case_id}  ({result.checked} values, {result.errata} errata)")
            for problem in result.problems:
                print(f"       {result.file}: {problem}")
    values = sum(r.checked for r in results)
    errata = sum(r.errata for r in results)
    print(
        f"\n{len(results) - len(failed)} passed, {len(failed)} failed: "
        f"{values} expected values checked, {errata} errata confirmed"
    )
    return 1 if failed or not results else 0


def build_parser():
    parser = argparse.ArgumentParser(prog="cnn-oracle", description=__doc__)
    parser.add_argument("--version", action="version", version=f"cnn-oracle {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    fixture_cmd = commands.add_parser("fixtures", help="the JSON fixture cases")
    fixture_sub = fixture_cmd.add_subparsers(dest="action", required=True)
    for name, function, help_text in (
        ("list", inventory, "count cases per document and op, and list the errata found"),
        ("check", check, "validate every case against the schema and reproduce it with the reference"),
    ):
        sub = fixture_sub.add_parser(name, help=help_text)
        sub.add_argument("--root", help="folder of cases (default: the shipped hand-worked cases)")
        if name == "check":
            sub.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
        sub.set_defaults(run=function)
    compare_cmd = commands.add_parser(
        "compare", help="agreement matrix: every op and engine against the reference, and finite differences"
    )
    compare.add_arguments(compare_cmd)
    compare_cmd.set_defaults(run=compare.run)
    parity_cmd = commands.add_parser(
        "parity", help="train a document's network on every engine in lockstep and report divergence"
    )
    parity.add_arguments(parity_cmd)
    parity_cmd.set_defaults(run=parity.run)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
