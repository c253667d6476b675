"""reference/ imports only the standard library and never mutates its inputs."""

import ast
import copy
import sys
from pathlib import Path

import pytest

import reference
from oracle import registry, samples

REFERENCE_DIR = Path(reference.__file__).parent


@pytest.mark.parametrize("path", sorted(REFERENCE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_reference_imports_only_the_standard_library(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            assert name.split(".")[0] in sys.stdlib_module_names, f"{path.name} imports {name}"


@pytest.mark.parametrize("op", sorted(registry.REGISTRY))
def test_reference_ops_do_not_mutate_their_inputs(op):
    spec = registry.get(op)
    inputs, params = samples.draw(spec.samples, 7)
    before = copy.deepcopy(inputs)
    spec.run_reference(inputs, params)
    assert inputs == before


def test_registry_rejects_unknown_and_missing_arguments():
    spec = registry.get("conv2d")
    with pytest.raises(ValueError, match="op conv2d: missing input kernels"):
        spec.run_reference({"x": [[[1.0]]], "biases": [0.0]}, {})
    with pytest.raises(ValueError, match="op conv2d: unknown param dilation"):
        spec.run_reference({"x": [[[1.0]]], "kernels": [[[[1.0]]]], "biases": [0.0]}, {"dilation": 2})
    with pytest.raises(ValueError, match="op maxpool2d: missing param window"):
        registry.get("maxpool2d").run_reference({"x": [[[1.0]]]}, {"stride": 1})
    with pytest.raises(ValueError, match="op: unknown operation 'conv3d'"):
        registry.get("conv3d")


# ---- oracle/: imports point down (cli -> conformance -> diagnosis/checks/engines -> registry) ----

ORACLE_DIR = Path(registry.__file__).parent
MODULES = {
    ".".join(("oracle",) + path.relative_to(ORACLE_DIR).with_suffix("").parts).removesuffix(".__init__")
    for path in ORACLE_DIR.rglob("*.py")
}
CORE = {
    "oracle.registry",
    "oracle.samples",
    "oracle.strategies",
    "oracle.tolerance",
    "oracle.kinks",
    "oracle.jsonfmt",
}
# layer -> the layers it may import (cli and bench, on top, may import anything)
MAY_IMPORT = {
    "engines": {"engines"},
    "core": {"engines", "core"},
    "checks": {"engines", "core", "checks"},
    "training": {"engines", "core", "checks", "training"},
    "diagnosis": {"engines", "core", "diagnosis"},
    "conformance": {"engines", "core", "checks", "diagnosis", "conformance"},
    "reports": {"core", "diagnosis", "reports", "oracle.conformance.results", "oracle.conformance.grading"},
}
# The worker process imports the implementation under test: what it loads
# must hold no expected values, tolerances or judging.
WORKER_SIDE = ("worker", "function_module", "layer_folder", "protocol")
HARNESS_ONLY = (
    "verify",
    "judge",
    "fresh",
    "strategies",
    "hypothesis",
    "fixtures",
    "golden",
    "adapters",
    "process",
    "results",
    "symbolic",
    "jsonschema",
    "convert",
    "diagnose",
    "catalogue",
)


def _layer(module):
    if module in CORE:
        return "core"
    part = module.split(".")[1] if module.count(".") >= 1 else ""
    return part if part in MAY_IMPORT else "top"


def _imported_modules(path):
    """The oracle modules one file imports (`from oracle.x import y` names
    oracle.x.y when that is a module, else oracle.x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.startswith("oracle"):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("oracle"))
    return found


def _path(module):
    path = ORACLE_DIR.joinpath(*module.split(".")[1:])
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) != "top"))
def test_oracle_imports_point_down(module):
    allowed = MAY_IMPORT[_layer(module)]
    for name in _imported_modules(_path(module)):
        assert _layer(name) in allowed or name in allowed, f"{module} ({_layer(module)}) imports {name}"


@pytest.mark.parametrize("module", WORKER_SIDE)
def test_the_worker_side_imports_nothing_of_the_judging(module):
    for name in _imported_modules(_path(f"oracle.conformance.{module}")):
        assert name.rpartition(".")[2] not in HARNESS_ONLY, f"{module} imports {name}"


def test_the_worker_process_never_loads_judging_modules():
    """The worker's imports in a fresh interpreter, and what they loaded."""
    import subprocess

    code = (
        "import sys, oracle.conformance.worker, oracle.conformance.function_module, "
        "oracle.conformance.layer_folder; "
        "print(sorted(m for m in sys.modules if m.startswith(('oracle', 'jsonschema', 'hypothesis'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "oracle.registry" in loaded  # the probe works
    for name in HARNESS_ONLY:
        assert f".{name}'" not in loaded and f"'{name}'" not in loaded, f"the worker loads {name}: {loaded}"


def test_every_oracle_package_is_in_the_distribution():
    """A package missing from pyproject.toml works in a checkout and breaks an install."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    repository = Path(__file__).resolve().parent.parent  # the checkout, even when oracle is installed
    listed = set(tomllib.loads((repository / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {
        ".".join(("oracle",) + path.parent.relative_to(repository / "oracle").parts).removesuffix(".")
        for path in (repository / "oracle").rglob("__init__.py")
    }
    assert packages <= listed, f"not in pyproject.toml's packages: {sorted(packages - listed)}"
