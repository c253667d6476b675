"""The cnn-oracle command."""

import argparse
import importlib
import sys
from collections import Counter

from oracle import __version__

# Subcommands that live in their own module: add_arguments(parser) and run(args).
# Each module is imported only when its subcommand is parsed (or its help is
# shown): `cnn-oracle verify` starts without bench's, parity's or grade's imports.
MODULE_COMMANDS = (
    (
        "compare",
        "oracle.checks.compare",
        "agreement matrix: every op and engine against the reference, and finite differences",
    ),
    (
        "parity",
        "oracle.training.parity",
        "train a document's network on every engine in lockstep and report divergence",
    ),
    (
        "verify",
        "oracle.verify_cli",
        "run every fixture case through an implementation and report conformance",
    ),
    ("bench", "oracle.bench", "side-by-side timings and ratios (NumPy vs torch, ours vs gradcheck)"),
    ("bugs", "oracle.bugs_cli", "the bug catalogue the diagnosis matches failures against"),
    ("grade", "oracle.grade", "verify every submission of a folder in parallel and write a gradebook"),
)


class _Parser(argparse.ArgumentParser):
    """A subcommand's parser that takes its arguments from its module, imported
    on first use."""

    def __init__(self, *args, module=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._module = module

    def _load(self):
        if self._module is not None:
            module, self._module = importlib.import_module(self._module), None
            module.add_arguments(self)
            self.set_defaults(run=module.run)

    def parse_known_args(self, args=None, namespace=None):
        self._load()
        return super().parse_known_args(args, namespace)

    def format_usage(self):
        self._load()
        return super().format_usage()

    def format_help(self):
        self._load()
        return super().format_help()


def inventory(args):
    from oracle.conformance import fixtures

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
    import jsonschema

    from oracle.conformance import fixtures, golden

    problem = fixtures.root_problem(args.root)
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
        for problem in [*golden.stale(), fixtures.valid_list_problem(validator)]:
            if problem:
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
    import jsonschema

    from oracle.conformance import fixtures, golden

    changed = golden.build(args.root)
    where = args.root or golden.golden_dir()
    print(
        f"{len(changed)} golden file(s) written to {where}" + (f": {', '.join(changed)}" if changed else "")
    )
    if args.root is None:
        validator = jsonschema.Draft202012Validator(fixtures.schema())
        written = fixtures.write_valid_list(validator)
        print(f"{fixtures.fixtures_dir() / fixtures.VALID_LIST}: {'written' if written else 'current'}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="cnn-oracle", description=__doc__)
    parser.add_argument("--version", action="version", version=f"cnn-oracle {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
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
    for name, module, help_text in MODULE_COMMANDS:
        commands.add_parser(name, help=help_text, module=module)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    _launch_zygote(argv)
    args = build_parser().parse_args(argv)
    return args.run(args)


def _launch_zygote(argv):
    """`cnn-oracle verify` of a Python module or layer folder: the zygote that
    will fork its worker starts before the command's own imports, and makes
    its own alongside them (a guess from the words alone; a zygote not used
    is killed at exit)."""
    others = {"--command", "--engine", "-h", "--help"}
    if argv[:1] == ["verify"] and not others.intersection(argv):
        from oracle.conformance.zygote import WORKER, zygote

        zygote.launch(WORKER)


if __name__ == "__main__":
    sys.exit(main())
