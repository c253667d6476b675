"""Golden fixtures: current, byte-identical on rebuild, and covering what
from-scratch implementations get wrong."""

import numpy as np
import pytest

from oracle import registry
from oracle.conformance import fixtures, golden


def _cases(op):
    return [case for _, case in fixtures.cases_in(fixtures.load(golden.golden_dir() / f"{op}.json"), op)]


def test_every_op_has_a_golden_file_and_a_rebuild_changes_no_byte(tmp_path):
    assert golden.stale() == []
    golden.build(tmp_path)
    for path in sorted(tmp_path.glob("*.json")):
        assert path.read_bytes() == (golden.golden_dir() / path.name).read_bytes(), path.name
    assert {p.stem for p in tmp_path.glob("*.json")} == set(registry.REGISTRY)


def test_a_stale_or_stray_golden_file_is_reported(tmp_path):
    golden.build(tmp_path)
    (tmp_path / "conv2d.json").write_text((tmp_path / "conv2d.json").read_text().replace("1", "2", 1))
    (tmp_path / "conv3d.json").write_text("{}")
    problems = golden.stale(tmp_path)
    assert any("conv2d.json: a rebuild would change it" in p for p in problems)
    assert any("conv3d.json: no op of the registry generates it" in p for p in problems)


def test_conv_cases_cover_channels_kernels_shapes_stride_padding_and_both_biases():
    cases = _cases("conv2d")
    shapes = [np.shape(c["inputs"]["kernels"]) for c in cases]
    x_shapes = [np.shape(c["inputs"]["x"]) for c in cases]
    assert any(s[1] > 1 for s in shapes), "several input channels"
    assert any(s[0] > 1 for s in shapes), "several kernels"
    assert any(s[2] != s[3] for s in shapes) and any(x[1] != x[2] for x in x_shapes), "rectangular"
    assert {c["params"]["stride"] for c in cases} >= {1, 2}
    assert {c["params"]["padding"] for c in cases} >= {0, 1}
    assert {c["params"]["bias"] for c in cases} == {"tied", "untied"}
    assert all({"dx", "dkernels", "dbiases"} <= set(c["expected"]) for c in cases)


def test_batch_cases_have_several_sizes():
    assert len({len(c["inputs"]["x"]) for c in _cases("dense_batch")}) > 1


def test_pooling_has_separate_tie_cases_that_follow_the_rule():
    ties = [c for c in _cases("maxpool2d") if "tie" in c["id"]]
    assert len(ties) == len(golden.TIE_CASES)
    assert ties[0]["expected"]["argmax"] == [[[[0, 0]]]]
    for case in (c for c in _cases("maxpool2d") if "tie" not in c["id"]):
        values = np.ravel(case["inputs"]["x"])
        assert len(set(values)) == len(values), case["id"]


@pytest.mark.parametrize("op", sorted(registry.REGISTRY))
def test_golden_cases_carry_backward_outputs_where_the_op_has_them(op):
    spec = registry.get(op)
    for case in _cases(op):
        if "dy" in spec.optional_inputs:
            assert "dy" in case["inputs"]
        assert set(case["expected"]) == {
            o for o in spec.outputs if o in spec.run_reference(case["inputs"], case["params"])
        }


def test_rmsprop_cases_tell_the_two_epsilon_placements_apart():
    """Keras 3 puts epsilon inside the square root: on every epsilon case it
    misses by more than a thousand times the tolerance; the reference (outside)
    is what the case holds."""
    import math

    from oracle.tolerance import Tolerance, compare

    cases = [
        c for _, c in fixtures.iter_cases(subdir="golden") if c["id"].startswith("golden-rmsprop-epsilon-")
    ]
    assert len(cases) == 3 and len({c["params"]["epsilon"] for c in cases}) == 3
    assert len({c["params"]["rho"] for c in cases}) == 3
    for case in cases:
        p = case["params"]
        inside = [
            [
                value
                - p["learning_rate"] * g / math.sqrt(p["rho"] * c + (1 - p["rho"]) * g * g + p["epsilon"])
                for value, g, c in zip(*rows)
            ]
            for rows in zip(case["inputs"]["param"], case["inputs"]["grad"], case["inputs"]["cache"])
        ]
        tolerance = Tolerance(**case["tolerance"])
        assert compare(inside, case["expected"]["param"], tolerance).max_ratio > 1000, case["id"]
