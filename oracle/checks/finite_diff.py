"""Finite-difference gradient checks in float64, vectorized through an
engine (NumPy by default; the reference works too, looping per sample).

Full Jacobian: the numeric J (outputs x elements of one input) comes from
central differences of every element, the 2P perturbed copies of a
per-sample input stacked as batches (a shared parameter, which has no batch
axis, is perturbed one element per call); it is filled a column at a time,
and returned as the transpose of that array (compare walks it in memory
order). The analytic J comes from batched backward passes whose upstream
gradients are the rows of the identity (one-hot dy per sample), with
per-sample parameter gradients, filled in the same memory order. Both go
through the engine in chunks of rows (see _CHUNK_ELEMENTS), the unchanged
inputs of a chunk being one broadcast copy, a thread per CPU taking the
chunks in turn. Every row of both is the engine's own output, none inferred
from another (say, by assuming the op linear): a wrong forward or backward
shows wherever it is wrong.

Directional (for large inputs, like torch.autograd.gradcheck's fast mode):
for random unit directions u (input) and v (output), compare
v . (f(x + h u) - f(x - h u)) / 2h with u . J^T v, the directions of an
input going through the engine as one batch, and one batched backward
(one dy per v) serving every input.

The scalar differentiated is the op's `forward` output (contracted with
dy when the op has one); sample inputs keep away from kinks (see
oracle.samples), so a central difference never straddles one.
"""

import contextlib
import functools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from oracle import engines
from oracle.engines import numpy_ops
from oracle.tolerance import FINITE_DIFFERENCE, FINITE_DIFFERENCE_STEP, compare


@dataclass(frozen=True)
class GradientCheck:
    op: str
    argument: str
    mode: str  # "full" or "directional"
    comparison: object
    kink_distance: float = np.inf
    step: float = FINITE_DIFFERENCE_STEP

    @property
    def status(self):
        """'pass', 'fail', or 'kink crossed' (a mismatch the step can explain)."""
        if self.comparison.ok:
            return "pass"
        return "kink crossed" if self.kink_distance <= self.step else "fail"

    @property
    def ok(self):
        return self.status != "fail"

    def describe(self):
        what = "Jacobian" if self.mode == "full" else "directional derivative"
        label = f"d{self.op}/d{self.argument}"
        text = f"op {self.op}, {what} w.r.t. {self.argument}: {self.comparison.describe(label)}"
        if self.status == "kink crossed":
            text += f" [kink crossed: input within {self.kink_distance:.3g} of a kink, step {self.step:g}]"
        return text


def kink_distance(spec, inputs, params):
    return spec.kink_distance(inputs, spec.with_defaults(params)) if spec.kink_distance else np.inf


def _arrays(inputs):
    return {name: np.asarray(value, dtype=float) for name, value in inputs.items()}


def _forward(spec, inputs, params, batched, engine):
    outputs = engines.run(spec, engine, inputs, params, batched=batched)
    return np.asarray(outputs[spec.forward], dtype=float)


def _repeat(spec, inputs, count, skip=()):
    """A batch of `count` copies of one case (per-sample inputs only)."""
    return {
        name: (np.broadcast_to(value, (count,) + value.shape) if name in spec.batch_inputs else value)
        for name, value in inputs.items()
        if name not in skip
    }


def _forward_inputs(spec, inputs):
    """Inputs of the forward pass: dy is only needed for backward."""
    return {name: value for name, value in inputs.items() if name != "dy"}


# Elements per batched engine call (rows of perturbed inputs or one-hot upstream
# gradients, times the larger of a row's input and output): enough rows to
# amortize the call, few enough that the engine's arrays stay near the size of
# a core's cache and are reused from call to call rather than allocated afresh.
# Small rows go at least _MIN_ROWS to a call (within 4x the elements): a call
# has a fixed cost (Python and thread hand-off, some 0.2 ms), a real share of
# 77 rows of a one-channel 28x28 conv; 128 rows made check_full 8% faster
# there, and changed nothing on a three-channel case.
_CHUNK_ELEMENTS = 1 << 18
_MIN_ROWS = 128


def _chunks(count, row_elements):
    """Slices of range(count) of _CHUNK_ELEMENTS // row_elements rows each, or
    of _MIN_ROWS rows while that stays within 4 * _CHUNK_ELEMENTS elements."""
    row_elements = max(row_elements, 1)
    step = max(1, _CHUNK_ELEMENTS // row_elements, min(_MIN_ROWS, 4 * _CHUNK_ELEMENTS // row_elements))
    return [slice(start, min(start + step, count)) for start in range(0, count, step)]


def _perturbed(base, elements, step):
    """(2n, size) inputs for the n elements in the slice `elements`: row k is
    base with element k moved by +step, row n + k the same moved by -step."""
    count = elements.stop - elements.start
    moved = np.arange(elements.start, elements.stop)
    values = np.repeat(base.reshape(1, -1), 2 * count, axis=0)
    values[np.arange(count), moved] += step
    values[np.arange(count, 2 * count), moved] -= step
    return values


def _outputs_at(spec, inputs, params, name, values, engine):
    """Forward outputs with inputs[name] replaced by each row of `values`,
    one flattened row each: one batch for a per-sample input; a shared
    parameter, which has no batch axis, takes one call per row."""
    base = inputs[name]
    if name in spec.batch_inputs:
        batch = _repeat(spec, inputs, len(values))
        batch[name] = values.reshape((-1,) + base.shape)
        return _forward(spec, batch, params, True, engine).reshape(len(values), -1)
    return np.stack(
        [
            _forward(spec, {**inputs, name: row.reshape(base.shape)}, params, False, engine).ravel()
            for row in values
        ]
    )


def _gradient_rows(spec, inputs, params, upstream, engine):
    """{name: (count, input size)}: the gradient of every differentiable input
    for each of the `count` upstream gradients dy stacked in `upstream`. One
    batched backward, with per-sample gradients of the shared parameters,
    where the op takes a batch; else one backward per dy."""
    if spec.batch_inputs:
        batch = _repeat(spec, inputs, len(upstream), skip=("dy",))
        batch["dy"] = upstream
        outputs = engines.run(spec, engine, batch, params, batched=True, per_sample=True)
        return {
            name: np.asarray(outputs[grad]).reshape(len(upstream), -1)
            for name, grad in spec.gradients.items()
        }
    outputs = [engines.run(spec, engine, {**inputs, "dy": dy}, params) for dy in upstream]
    return {
        name: np.array([np.asarray(out[grad]).ravel() for out in outputs])
        for name, grad in spec.gradients.items()
    }


class _IdentityRows(threading.local):
    """Rows of the size x size identity, in a buffer of the calling thread's
    whose ones are cleared after use: the identity is never built."""

    buffer = None

    @contextlib.contextmanager
    def rows(self, chunk, size):
        count = chunk.stop - chunk.start
        if self.buffer is None or self.buffer.shape[1] != size or len(self.buffer) < count:
            self.buffer = np.zeros((count, size))
        diagonal = (np.arange(count), np.arange(chunk.start, chunk.stop))
        self.buffer[diagonal] = 1.0
        try:
            yield self.buffer[:count]
        finally:
            self.buffer[diagonal] = 0.0


_identity = _IdentityRows()


class _Threads:
    """Runs a Jacobian's chunks, each one engine call that fills its own block,
    a thread per CPU taking them in turn: the calls are independent, and the
    NumPy engine runs a call made alongside another on its own thread."""

    CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

    def __init__(self):
        self.pool = None

    def run(self, tasks):
        """Calls every task; raises the first error of any."""
        if self.CPUS == 1 or len(tasks) == 1:
            for task in tasks:
                task()
            return
        if self.pool is None:
            self.pool = ThreadPoolExecutor(self.CPUS, thread_name_prefix="finite_diff")
        for _ in self.pool.map(self._whole, tasks):
            pass

    @staticmethod
    def _whole(task):
        with numpy_ops.calls_whole():  # these threads are the parallelism
            task()

    def forget(self):
        """In a forked child: the pool's threads did not follow."""
        self.pool = None


_threads = _Threads()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_threads.forget)


def _numeric_parts(spec, inputs, params, name, step, engine):
    """(the numeric Jacobian w.r.t. inputs[name], not yet filled; the tasks
    that fill it, one per chunk of elements). It is the transpose of an array
    filled a column (one element's perturbations) at a time."""
    size = inputs[name].size
    outputs = _forward(spec, inputs, params, False, engine).size
    base = inputs[name].ravel()
    # The steps taken: x + step and x - step are rounded, so they are not 2 * step apart.
    divisor = (base + step) - (base - step)
    if name in spec.batch_mean:
        divisor *= len(inputs["x"])
    transposed = np.empty((size, outputs))

    def fill(elements):
        values = _outputs_at(spec, inputs, params, name, _perturbed(inputs[name], elements, step), engine)
        count = elements.stop - elements.start
        columns = np.subtract(values[:count], values[count:], out=transposed[elements])
        columns /= divisor[elements, None]  # while they are in cache

    chunks = _chunks(size, 2 * max(size, outputs))  # two rows (+step, -step) per element
    return transposed.T, [functools.partial(fill, elements) for elements in chunks]


def _analytic_parts(spec, inputs, params, engine):
    """({name: the analytic Jacobian, not yet filled}, the tasks that fill
    them, one batched backward per chunk of one-hot upstream gradients)."""
    forward_inputs = _forward_inputs(spec, inputs)
    out_shape = _forward(spec, forward_inputs, params, False, engine).shape
    rows = math.prod(out_shape)
    # Filled in the memory order of the numeric Jacobians (by columns): compare walks both in step.
    jacobian = {name: np.empty((inputs[name].size, rows)).T for name in spec.gradients}

    def fill(chunk):
        with _identity.rows(chunk, rows) as one_hot:
            upstream = one_hot.reshape((-1,) + out_shape)
            for name, block in _gradient_rows(spec, forward_inputs, params, upstream, engine).items():
                jacobian[name][chunk] = block

    largest = max(rows, *(inputs[name].size for name in spec.gradients))
    return jacobian, [functools.partial(fill, chunk) for chunk in _chunks(rows, largest)]


def numeric_jacobian(spec, inputs, params, name, step=FINITE_DIFFERENCE_STEP, engine="numpy"):
    """Central-difference Jacobian of the forward output w.r.t. inputs[name],
    shape (output size, input size)."""
    jacobian, tasks = _numeric_parts(spec, _forward_inputs(spec, _arrays(inputs)), params, name, step, engine)
    _threads.run(tasks)
    return jacobian


def analytic_jacobian(spec, inputs, params, engine="numpy"):
    """Jacobian of the forward output w.r.t. every differentiable input, from
    the op's backward: {name: (output size, input size)}."""
    inputs = _arrays(inputs)
    if spec.forward == "loss":  # a scalar per case: the gradient is the one row
        outputs = engines.run(spec, engine, inputs, params)
        return {name: np.asarray(outputs[grad]).reshape(1, -1) for name, grad in spec.gradients.items()}
    jacobian, tasks = _analytic_parts(spec, inputs, params, engine)
    _threads.run(tasks)
    return jacobian


def check_full(spec, inputs, params, tolerance=FINITE_DIFFERENCE, engine="numpy"):
    """GradientCheck of the full Jacobian for every differentiable input: the
    engine calls of every Jacobian, analytic and numeric, taken in turn by a
    thread per CPU, then the comparisons."""
    inputs = _arrays(inputs)
    if spec.forward == "loss":
        analytic, tasks = analytic_jacobian(spec, inputs, params, engine), []
    else:
        analytic, tasks = _analytic_parts(spec, inputs, params, engine)
    numeric = {}
    for name in spec.gradients:
        numeric[name], more = _numeric_parts(
            spec, _forward_inputs(spec, inputs), params, name, FINITE_DIFFERENCE_STEP, engine
        )
        tasks += more
    _threads.run(tasks)
    distance = kink_distance(spec, inputs, params)
    return [
        GradientCheck(spec.name, name, "full", compare(analytic[name], numeric[name], tolerance), distance)
        for name in spec.gradients
    ]


def check_directional(
    spec, inputs, params, directions=4, seed=0, tolerance=FINITE_DIFFERENCE, engine="numpy"
):
    """GradientCheck of v . J u for random unit directions, per input."""
    rng = np.random.default_rng(seed)
    inputs = _forward_inputs(spec, _arrays(inputs))
    out_shape = _forward(spec, inputs, params, False, engine).shape
    step = FINITE_DIFFERENCE_STEP
    if spec.forward == "loss":  # a scalar: no upstream gradient, the same gradient for every u
        v = np.ones((directions, 1))
        outputs = engines.run(spec, engine, inputs, params)
        gradients = {name: np.asarray(outputs[grad]).reshape(1, -1) for name, grad in spec.gradients.items()}
    else:
        v = rng.standard_normal((directions,) + out_shape)
        gradients = _gradient_rows(spec, inputs, params, v, engine)
        v = v.reshape(directions, -1)
    distance = kink_distance(spec, inputs, params)
    checks = []
    for name in spec.gradients:
        base = inputs[name].reshape(1, -1)
        u = rng.standard_normal((directions, base.size))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        values = _outputs_at(
            spec, inputs, params, name, np.concatenate([base + step * u, base - step * u]), engine
        )
        numeric = np.sum(v * (values[:directions] - values[directions:]), axis=1) / (2.0 * step)
        if name in spec.batch_mean:
            numeric /= len(inputs["x"])
        analytic = np.sum(gradients[name] * u, axis=1)
        checks.append(
            GradientCheck(spec.name, name, "directional", compare(analytic, numeric, tolerance), distance)
        )
    return checks
