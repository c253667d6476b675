"""Finite-difference gradient checks in float64, vectorized through an
engine (NumPy by default; the reference works too, looping per sample).

Full Jacobian: the numeric J (outputs x elements of one input) comes from
central differences of every element, the 2P perturbed copies of a
per-sample input stacked as batches (a shared parameter, which has no batch
axis, is perturbed one element per call). The analytic J comes from batched
backward passes whose upstream gradients are the rows of the identity
(one-hot dy per sample), with per-sample parameter gradients. Both go
through the engine in chunks of rows (see _CHUNK_ELEMENTS), the unchanged
inputs of a chunk being one broadcast copy.

Directional (for large inputs, like torch.autograd.gradcheck's fast mode):
for random unit directions u (input) and v (output), compare
v . (f(x + h u) - f(x - h u)) / 2h with u . J^T v from one backward pass.

The scalar differentiated is the op's `forward` output (contracted with
dy when the op has one); sample inputs keep away from kinks (see
oracle.samples), so a central difference never straddles one.
"""

from dataclasses import dataclass

import numpy as np

from oracle import engines
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
_CHUNK_ELEMENTS = 1 << 18


def _chunks(count, row_elements):
    """Slices of range(count) of at most _CHUNK_ELEMENTS // row_elements rows each."""
    step = max(1, _CHUNK_ELEMENTS // max(row_elements, 1))
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


def _perturbed_outputs(spec, inputs, params, name, elements, step, engine):
    """Forward outputs, one flattened row per row of _perturbed."""
    base = inputs[name]
    moved = _perturbed(base, elements, step)
    if name in spec.batch_inputs:
        batch = _repeat(spec, inputs, len(moved))
        batch[name] = moved.reshape((-1,) + base.shape)
        return _forward(spec, batch, params, True, engine).reshape(len(moved), -1)
    # A shared parameter has no batch axis: one call per perturbed copy.
    return np.stack(
        [
            _forward(spec, {**inputs, name: row.reshape(base.shape)}, params, False, engine).ravel()
            for row in moved
        ]
    )


def _one_hot_chunks(chunks, size):
    """(chunk, those rows of the size x size identity) for each chunk (a slice).
    One buffer serves every chunk, its ones cleared after use: the identity
    is never built. Use each block before asking for the next."""
    hot = np.zeros((max((chunk.stop - chunk.start for chunk in chunks), default=0), size))
    for chunk in chunks:
        count = chunk.stop - chunk.start
        diagonal = (np.arange(count), np.arange(chunk.start, chunk.stop))
        hot[diagonal] = 1.0
        yield chunk, hot[:count]
        hot[diagonal] = 0.0


def numeric_jacobian(spec, inputs, params, name, step=FINITE_DIFFERENCE_STEP, engine="numpy"):
    """Central-difference Jacobian of the forward output w.r.t. inputs[name],
    shape (output size, input size)."""
    inputs = _forward_inputs(spec, _arrays(inputs))
    size = inputs[name].size
    outputs = _forward(spec, inputs, params, False, engine).size
    transposed = np.empty((size, outputs))  # filled a chunk of elements at a time
    for elements in _chunks(size, 2 * max(size, outputs)):  # two rows (+step, -step) per element
        values = _perturbed_outputs(spec, inputs, params, name, elements, step, engine)
        count = elements.stop - elements.start
        np.subtract(values[:count], values[count:], out=transposed[elements])
    transposed /= 2.0 * step
    if name in spec.batch_mean:
        transposed /= len(inputs["x"])
    return transposed.T


def analytic_jacobian(spec, inputs, params, engine="numpy"):
    """Jacobian of the forward output w.r.t. every differentiable input, from
    the op's backward: {name: (output size, input size)}."""
    inputs = _arrays(inputs)
    if spec.forward == "loss":  # a scalar per case: the gradient is the one row
        outputs = engines.run(spec, engine, inputs, params)
        return {name: np.asarray(outputs[grad]).reshape(1, -1) for name, grad in spec.gradients.items()}
    out_shape = _forward(spec, inputs, params, False, engine).shape
    rows = int(np.prod(out_shape))
    if not spec.batch_inputs:
        jacobian = {name: [] for name in spec.gradients}
        for row in np.eye(rows):
            outputs = engines.run(spec, engine, {**inputs, "dy": row.reshape(out_shape)}, params)
            for name, grad in spec.gradients.items():
                jacobian[name].append(np.asarray(outputs[grad]).ravel())
        return {name: np.array(rows_) for name, rows_ in jacobian.items()}
    # One batched backward per chunk of one-hot upstream gradients, with
    # per-sample gradients of the shared parameters.
    jacobian = {name: np.empty((rows, inputs[name].size)) for name in spec.gradients}
    largest = max(rows, *(inputs[name].size for name in spec.gradients))
    for chunk, one_hot in _one_hot_chunks(_chunks(rows, largest), rows):
        count = chunk.stop - chunk.start
        batch = _repeat(spec, inputs, count, skip=("dy",))
        batch["dy"] = one_hot.reshape((count,) + out_shape)
        outputs = engines.run(spec, engine, batch, params, batched=True, per_sample=True)
        for name, grad in spec.gradients.items():
            jacobian[name][chunk] = np.asarray(outputs[grad]).reshape(count, -1)
    return jacobian


def check_full(spec, inputs, params, tolerance=FINITE_DIFFERENCE, engine="numpy"):
    """GradientCheck of the full Jacobian for every differentiable input."""
    analytic = analytic_jacobian(spec, inputs, params, engine)
    distance = kink_distance(spec, inputs, params)
    return [
        GradientCheck(
            spec.name,
            name,
            "full",
            compare(analytic[name], numeric_jacobian(spec, inputs, params, name, engine=engine), tolerance),
            distance,
        )
        for name in spec.gradients
    ]


def check_directional(
    spec, inputs, params, directions=4, seed=0, tolerance=FINITE_DIFFERENCE, engine="numpy"
):
    """GradientCheck of v . J u for random unit directions, per input."""
    rng = np.random.default_rng(seed)
    inputs = _arrays(inputs)
    forward_inputs = _forward_inputs(spec, inputs)
    out_shape = _forward(spec, forward_inputs, params, False, engine).shape
    checks = []
    for name in spec.gradients:
        base = inputs[name]
        numeric, analytic = [], []
        for _ in range(directions):
            u = rng.standard_normal(base.shape)
            u /= np.linalg.norm(u)
            v = rng.standard_normal(out_shape)
            upstream = {} if spec.forward == "loss" else {"dy": v}
            plus = _forward(
                spec, {**forward_inputs, name: base + FINITE_DIFFERENCE_STEP * u}, params, False, engine
            )
            minus = _forward(
                spec, {**forward_inputs, name: base - FINITE_DIFFERENCE_STEP * u}, params, False, engine
            )
            weight = 1.0 if spec.forward == "loss" else v
            derivative = np.sum(weight * (plus - minus)) / (2.0 * FINITE_DIFFERENCE_STEP)
            if name in spec.batch_mean:
                derivative /= len(inputs["x"])
            numeric.append(derivative)
            grads = engines.run(spec, engine, {**forward_inputs, **upstream}, params)
            analytic.append(float(np.sum(np.asarray(grads[spec.gradients[name]]) * u)))
        comparison = compare(analytic, numeric, tolerance)
        checks.append(
            GradientCheck(spec.name, name, "directional", comparison, kink_distance(spec, inputs, params))
        )
    return checks
