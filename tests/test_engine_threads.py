"""The NumPy conv layer cut into parts taken by several threads, called from
several threads at once, and the finite-difference Jacobians filled by a
thread per CPU: the same numbers as one thread computing it all."""

import sys
import threading

import numpy as np
import pytest
import threadpoolctl

from oracle import registry, samples
from oracle.checks import finite_diff
from oracle.engines import numpy_ops

GEOMETRIES = [  # (x shape, kernels shape, stride, padding)
    ((7, 3, 9, 9), (4, 3, 3, 3), 1, 0),
    ((5, 2, 8, 7), (3, 2, 2, 3), 2, 1),
    ((6, 1, 10, 10), (2, 1, 3, 3), 1, 2),
]


def _layer(x, kernels, biases, stride, padding, per_sample):
    dy_shape = numpy_ops.conv2d_forward(x, kernels, biases, stride, padding).shape
    dy = np.random.default_rng(1).standard_normal(dy_shape)
    bias = numpy_ops.bias_mode(biases)
    y = numpy_ops.conv2d_forward(x, kernels, biases, stride, padding)
    return (y, *numpy_ops.conv2d_backward(x, kernels, dy, stride, padding, bias, per_sample))


def _inputs(x_shape, k_shape, tied, stride=1, padding=0, seed=0):
    rng = np.random.default_rng(seed)
    x, kernels = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    y_shape = numpy_ops.conv2d_forward(x, kernels, np.zeros(k_shape[0]), stride, padding).shape
    biases = rng.standard_normal(k_shape[0] if tied else y_shape[1:])
    return x, kernels, biases


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("x_shape, k_shape, stride, padding", GEOMETRIES)
def test_the_layer_in_parts_computes_what_it_computes_whole(
    monkeypatch, x_shape, k_shape, stride, padding, tied, per_sample
):
    x, kernels, biases = _inputs(x_shape, k_shape, tied, stride, padding)
    monkeypatch.setattr(numpy_ops._Parts, "PART_WORK", 1 << 60)
    whole = _layer(x, kernels, biases, stride, padding, per_sample)
    # Three parts, whatever the machine's CPUs: the parts path runs even on one.
    monkeypatch.setattr(numpy_ops._Parts, "PART_WORK", 1)
    monkeypatch.setattr(numpy_ops._Parts, "CPUS", 3)
    monkeypatch.setattr(numpy_ops, "_parts", numpy_ops._Parts())
    in_parts = _layer(x, kernels, biases, stride, padding, per_sample)
    for name, a, b in zip(("y", "dx", "dkernels", "dbiases"), whole, in_parts):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12, err_msg=name)


def test_a_call_made_while_another_runs_is_not_cut(monkeypatch):
    """Threads that bring their own parallelism (finite_diff's) get no helper
    thread competing with them: only a call running alone, outside
    calls_whole(), is cut."""
    monkeypatch.setattr(numpy_ops._Parts, "PART_WORK", 1)
    monkeypatch.setattr(numpy_ops._Parts, "CPUS", 3)
    parts = numpy_ops._Parts()
    monkeypatch.setattr(numpy_ops, "_parts", parts)
    x, kernels, _ = _inputs((6, 2, 8, 8), (3, 2, 3, 3), tied=True)
    geometry = numpy_ops._Geometry.of(x, kernels, 1, 0, np.float64)

    def samples_of_each_part():
        return parts.run(lambda samples, scratch: samples, geometry)

    assert samples_of_each_part() == [slice(0, 2), slice(2, 4), slice(4, 6)]
    with parts._counted():  # another thread's call, running
        assert samples_of_each_part() == [slice(0, 6)]
    with numpy_ops.calls_whole():  # a caller whose own threads are the parallelism
        assert samples_of_each_part() == [slice(0, 6)]
    assert samples_of_each_part() == [slice(0, 2), slice(2, 4), slice(4, 6)]


def test_calls_from_several_threads_at_once_each_get_their_own_results(monkeypatch):
    monkeypatch.setattr(numpy_ops._Parts, "PART_WORK", 1)  # one caller at a time cuts its call into parts
    monkeypatch.setattr(numpy_ops, "_parts", numpy_ops._Parts())
    # Arrays large enough that NumPy lets go of the GIL in their loops, and
    # a short switch interval: the calls interleave.
    cases = [_inputs((8, 3, 20, 20), (4, 3, 3, 3), seed % 2 == 0, 1, 1, seed) for seed in range(6)]
    expected = [_layer(*case, 1, 1, False) for case in cases]
    blas_before = [info["num_threads"] for info in threadpoolctl.threadpool_info()]
    start, got = threading.Barrier(len(cases)), [None] * len(cases)

    def call(k):
        start.wait()
        got[k] = [_layer(*cases[k], 1, 1, False) for _ in range(20)]

    threads = [threading.Thread(target=call, args=(k,)) for k in range(len(cases))]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    for k, runs in enumerate(got):
        for run in runs:
            for a, b in zip(expected[k], run):
                np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    # The BLAS setting, held to one thread during the calls, is back as it was.
    assert [info["num_threads"] for info in threadpoolctl.threadpool_info()] == blas_before


@pytest.mark.parametrize("op", ["conv2d", "maxpool2d", "dense_batch", "softmax_cce"])
def test_jacobians_filled_by_threads_equal_those_filled_by_one(monkeypatch, op):
    spec = registry.get(op)
    inputs, params = samples.draw(spec.samples, 3)
    monkeypatch.setattr(finite_diff._Threads, "CPUS", 3)
    monkeypatch.setattr(finite_diff, "_CHUNK_ELEMENTS", 64)  # many chunks, so that threads share them
    monkeypatch.setattr(finite_diff, "_MIN_ROWS", 1)
    monkeypatch.setattr(finite_diff, "_threads", finite_diff._Threads())

    def jacobians():
        numeric = {name: finite_diff.numeric_jacobian(spec, inputs, params, name) for name in spec.gradients}
        return finite_diff.analytic_jacobian(spec, inputs, params), numeric

    threaded = jacobians()
    monkeypatch.setattr(finite_diff._Threads, "CPUS", 1)
    for one, many in zip(jacobians(), threaded):
        assert all(np.array_equal(one[name], many[name]) for name in spec.gradients)
    checks = finite_diff.check_full(spec, inputs, params)
    assert [check.status for check in checks] == ["pass"] * len(spec.gradients)


@pytest.mark.parametrize(
    "count, row_elements", [(3380, 3380), (1936, 1936), (7, 10), (5000, 1 << 18), (3, 1 << 30)]
)
def test_jacobian_chunks_cover_every_row_once_within_the_element_budget(count, row_elements):
    """Small rows go _MIN_ROWS to a call (its fixed cost amortized); no call
    holds more than 4x the element budget unless one row alone does."""
    chunks = finite_diff._chunks(count, row_elements)
    assert [i for chunk in chunks for i in range(chunk.start, chunk.stop)] == list(range(count))
    largest, budget = max(chunk.stop - chunk.start for chunk in chunks), finite_diff._CHUNK_ELEMENTS
    assert largest == 1 or largest * row_elements <= 4 * budget
    assert largest >= min(count, finite_diff._MIN_ROWS, 4 * budget // row_elements)


@pytest.mark.parametrize("cols", [1, 8, 9, 1000, 1024, 32768, 50176])
def test_work_matrix_rows_lie_an_odd_number_of_cache_lines_apart(cols):
    """Rows a power of two apart would share cache sets (see _Scratch.matrix)."""
    matrix = numpy_ops._Scratch().matrix("m", 5, cols, np.float64)
    assert matrix.shape == (5, cols)
    row_bytes = matrix.strides[0]
    assert row_bytes >= cols * 8 and row_bytes % 64 == 0 and (row_bytes // 64) % 2 == 1
    matrix[...] = 1.0  # the rows do not overlap
    assert matrix.sum() == 5 * cols


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("x_shape, k_shape, stride, padding", GEOMETRIES)
def test_one_image_repeated_as_a_view_gives_what_its_copies_give(
    x_shape, k_shape, stride, padding, per_sample
):
    """Finite differences pass one image broadcast over the batch: the layer
    builds its columns once, and repeats its outputs as a view."""
    x, kernels, biases = _inputs(x_shape, k_shape, tied=False, stride=stride, padding=padding)
    repeated = np.broadcast_to(x[:1], x.shape)
    copies = np.ascontiguousarray(repeated)
    y = numpy_ops.conv2d_forward(repeated, kernels, biases, stride, padding)
    np.testing.assert_array_equal(y, numpy_ops.conv2d_forward(copies, kernels, biases, stride, padding))
    dy = np.random.default_rng(2).standard_normal(y.shape)
    from_view = numpy_ops.conv2d_backward(repeated, kernels, dy, stride, padding, "untied", per_sample)
    from_copies = numpy_ops.conv2d_backward(copies, kernels, dy, stride, padding, "untied", per_sample)
    for name, a, b in zip(("dx", "dkernels", "dbiases"), from_copies, from_view):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("x_shape", [(1, 1, 8, 8), (4, 3, 30, 30)])  # inputs told apart by bytes, by NumPy
def test_backward_reuses_the_forward_columns_only_for_the_same_input_bits(x_shape):
    """Backward reuses the columns its forward built when x is the same, bit
    for bit: one element changed, or 0.0 become -0.0, is seen."""
    x, kernels, biases = _inputs(x_shape, (2, x_shape[1], 3, 3), tied=True)
    changed, signed = x.copy(), x.copy()
    changed[-1, -1, -1, -1] += 1.0
    signed[-1, -1, -1, -1] = 0.0
    dy = np.random.default_rng(2).standard_normal(numpy_ops.conv2d_forward(x, kernels, biases).shape)
    for other in (changed, signed):
        numpy_ops.conv2d_forward(other, kernels, biases)
        fresh = numpy_ops.conv2d_backward(other, kernels, dy, bias="tied")[1]  # other's own columns
        numpy_ops.conv2d_forward(x, kernels, biases)  # x's columns held
        assert np.array_equal(numpy_ops.conv2d_backward(other, kernels, dy, bias="tied")[1], fresh)
    numpy_ops.conv2d_forward(signed, kernels, biases)
    held = numpy_ops._parts._own_scratch().columns
    negative = signed.copy()
    negative[-1, -1, -1, -1] = -0.0
    assert numpy_ops._same_bits(held[1], signed.transpose(1, 0, 2, 3))
    assert not numpy_ops._same_bits(held[1], negative.transpose(1, 0, 2, 3))
