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
