"""pytest plugin (entry point pytest11, `cnn_oracle`): `pytest --impl=MODULE`
(or --layer-api DIR, --command CMD) adds one test per fixture case and
check, the same cases and checks `cnn-oracle verify --fresh 0` runs and
counts, with ids that name the op, the file, the case and the check
(oracle.conformance.plugin_cases). Inactive unless one of those options is
given. Installed with pip, pytest loads it by itself; from a source tree
that is not installed, `pytest -p oracle.conformance.pytest_plugin`."""

from pathlib import Path

OPTIONS = ("impl", "layer_api", "command")


def pytest_addoption(parser):
    group = parser.getgroup("cnn-oracle", "conformance of an implementation under test")
    group.addoption(
        "--impl", help="Python module (dotted name or .py file) with the reference's function names"
    )
    group.addoption(
        "--impl-batch-first", action="store_true", help="the module's functions take a batch axis"
    )
    group.addoption("--impl-arrays", action="store_true", help="pass NumPy arrays instead of nested lists")
    group.addoption("--layer-api", help="folder of document-style layer classes")
    group.addoption("--layer-config", help="JSON renaming classes, attributes and loss functions")
    group.addoption("--command", help="any program speaking the streaming protocol (docs/protocol.md)")
    group.addoption(
        "--oracle-timeout",
        "--command-timeout",
        type=float,
        default=10.0,
        help="seconds per case before the worker is killed (default 10)",
    )
    group.addoption(
        "--oracle-memory", type=int, default=4096, help="address-space limit of the worker in MiB, 0 for none"
    )
    group.addoption("--oracle-op", action="append", help="only the cases of this op (repeatable)")
    group.addoption(
        "--oracle-conventions",
        metavar="FILE",
        help="JSON object declaring the implementation's array conventions",
    )
    group.addoption(
        "--oracle-dtype",
        choices=("float64", "float32"),
        default="float64",
        help="the precision the implementation computes in (float32: float32 tolerances)",
    )


def _active(config):
    return any(config.getoption(name) for name in OPTIONS)


def pytest_configure(config):
    if not _active(config):
        return
    cases = str(Path(__file__).with_name("plugin_cases.py"))
    if config.args_source == config.ArgsSource.ARGS:
        config.args.append(cases)  # the user's own paths run too
    else:
        config.args[:] = [cases]  # no paths named: only the conformance cases


def implementation(config):
    """The implementation the options name, in its isolated worker."""
    from oracle.conformance import adapters, conventions

    limits = {
        "timeout": config.getoption("oracle_timeout"),
        "memory_mb": config.getoption("oracle_memory") or None,
    }
    if config.getoption("oracle_conventions"):
        limits["conventions"] = conventions.read_file(config.getoption("oracle_conventions"))
    if config.getoption("impl"):
        return adapters.function_module(
            config.getoption("impl"),
            batch_first=config.getoption("impl_batch_first") or None,
            arrays=config.getoption("impl_arrays") or None,
            **limits,
        )
    if config.getoption("layer_api"):
        return adapters.layer_folder(
            config.getoption("layer_api"), config.getoption("layer_config"), **limits
        )
    return adapters.command(config.getoption("command"), **limits)
