"""Every engine agrees with the float64 reference, forward and backward, on
hypothesis-drawn shapes and values (multi-channel, several kernels,
rectangular, stride, padding, tied/untied biases, batch > 1), and every
fixture passes through every engine."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oracle import engines, registry, samples
from oracle.checks import agreement
from oracle.conformance import fixtures
from oracle.engines import numpy_ops

PAIRS = [(spec.name, engine) for spec in registry.OPS for engine in spec.engines if engine != "reference"]

# The samples' random.Random, seeded by hypothesis: a call drawn through
# hypothesis instead (use_true_random=False, which shrinks each call) costs
# about 0.1 ms, and took half of these tests' time. A failure still names the
# op's params and is reproduced by the seed hypothesis reports.
SAMPLE_RNGS = st.randoms(use_true_random=True)


def _skip_unavailable(engine):
    if engine == "torch":
        ok, reason = engines.torch_available()
        if not ok:
            pytest.skip(reason)


def _assert_agree(spec, engine, rng, dtype):
    batch = rng.randint(1, 3) if spec.batch_inputs else None
    inputs, params = spec.samples(rng, batch)
    failures = [
        r.describe()
        for r in agreement.agree(spec, engine, inputs, params, batch is not None, dtype)
        if not r.ok
    ]
    assert not failures, "\n".join(failures) + f"\nparams: {params}"


@pytest.mark.parametrize("op, engine", PAIRS, ids=[f"{o}-{e}" for o, e in PAIRS])
@given(rng=SAMPLE_RNGS)
def test_engine_agrees_with_reference_float64(op, engine, rng):
    _skip_unavailable(engine)
    _assert_agree(registry.get(op), engine, rng, "float64")


FLOAT32 = [(op, engine) for op, engine in PAIRS if engine in ("numpy", "torch")]


@pytest.mark.parametrize("op, engine", FLOAT32, ids=[f"{o}-{e}" for o, e in FLOAT32])
@given(rng=SAMPLE_RNGS)
def test_engine_agrees_with_reference_float32_tier(op, engine, rng):
    _skip_unavailable(engine)
    _assert_agree(registry.get(op), engine, rng, "float32")


CASES = [
    (location, case, engine)
    for location, case in fixtures.iter_cases()
    for engine in registry.get(case["op"]).engines
    if engine != "reference"
]


@pytest.mark.parametrize("location, case, engine", CASES, ids=[f"{c['id']}-{e}" for _, c, e in CASES])
def test_fixture_passes_through_engine(location, case, engine):
    """Every hand-worked and golden case, through every engine."""
    _skip_unavailable(engine)
    result = fixtures.check_case(case, location, engine=engine)
    assert [p for p in result.problems if not p.startswith("errata[")] == []


def test_a_planted_bug_is_reported_with_op_engines_output_and_element(monkeypatch):
    """A transposed kernel in the NumPy conv forward must fail, and say where."""
    original = numpy_ops.conv2d_forward
    monkeypatch.setattr(
        numpy_ops, "conv2d_forward", lambda x, k, b, s=1, p=0: original(x, np.swapaxes(k, 2, 3), b, s, p)
    )
    spec = registry.get("conv2d")
    inputs = {
        "x": [[[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 1.0, 1.0]]],
        "kernels": [[[[1.0, 2.0], [-1.0, 0.0]]]],
        "biases": [0.0],
        "dy": [[[1.0, 0.0], [0.0, 0.0]]],
    }
    results = agreement.agree(spec, "numpy", inputs, {})
    failed = [r for r in results if not r.ok]
    assert [r.output for r in failed] == ["y"]
    message = failed[0].describe()
    assert message.startswith("op conv2d, numpy vs reference, forward y[")
    assert "got" in message and "expected" in message and "allowed" in message


def test_maxpool_ties_go_to_the_same_element_in_every_engine():
    """Documented tie rule: the first maximum in row-major order of the window."""
    spec = registry.get("maxpool2d")
    x = [[[1.0, 1.0, 0.0, 2.0], [1.0, 1.0, 2.0, 2.0], [3.0, 0.0, 5.0, 5.0], [0.0, 3.0, 5.0, 5.0]]]
    inputs = {"x": x, "dy": [[[1.0, 2.0], [3.0, 4.0]]]}
    params = {"window": 2, "stride": 2}
    expected = engines.run(spec, "reference", inputs, params)
    assert expected["argmax"].tolist() == [[[[0, 0], [0, 3]], [[2, 0], [2, 2]]]]
    for engine in spec.engines[1:]:
        _skip_unavailable(engine)
        got = engines.run(spec, engine, inputs, params)
        assert got["argmax"].tolist() == expected["argmax"].tolist(), engine
        assert got["dx"].tolist() == expected["dx"].tolist(), engine


def test_torch_engine_without_torch_says_why(monkeypatch):
    import builtins

    from oracle.engines import torch_ops

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(torch_ops, "torch", None)
    monkeypatch.setattr(builtins, "__import__", no_torch)
    ok, reason = engines.torch_available()
    assert not ok and "install the 'torch' extra" in reason


def test_samples_draw_batches_of_one_shape():
    for spec in registry.OPS:
        if not spec.batch_inputs:
            continue
        inputs, _ = samples.draw(spec.samples, 3, batch=4)
        for name in spec.batch_inputs:
            if name in inputs:
                assert np.asarray(inputs[name]).shape[0] == 4, (spec.name, name)
