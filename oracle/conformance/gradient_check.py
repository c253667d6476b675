"""Is the implementation's backward the gradient of its own forward?

Independent of the reference: on small fresh cases (values in [-3, 3],
away from kinks), the implementation's parameter and input gradients,
contracted with a random direction v, are compared with the central
difference of its own forward along v: (phi(a + h v) - phi(a - h v)) / 2h,
where phi is its forward output contracted with dy (or its loss). Two
forward calls per input and direction, all through the worker. A mismatch
is located by central differences element by element when the input is
small, and reported as "your backward is not the gradient of your forward"
with the worst element. This catches a backward bug even where the forward
follows another convention than the reference's.
"""

import math

import numpy as np

from oracle.checks.finite_diff import kink_distance
from oracle.conformance import fresh, judge, protocol
from oracle.conformance.adapters import ImplementationFault, NotImplementedByTarget, one_line
from oracle.conformance.results import CaseCheck
from oracle.tolerance import FINITE_DIFFERENCE, FINITE_DIFFERENCE_STEP, compare

CASES = 5  # per op
LOCATE_LIMIT = 64  # elements of an input located element by element on a mismatch
CHECK = "gradient"


def _cases(spec, count, seed):
    """`count` small cases of the op with an upstream gradient (or a loss),
    within [-3, 3] and away from kinks, drawn by its fresh generator."""

    def wanted(inputs, params, options):
        differentiable = "dy" in inputs or spec.forward == "loss"
        return differentiable and not options and kink_distance(spec, inputs, params) > 1e-3

    return fresh.cases(spec, count, fresh.op_seed(seed, "gradient"), wanted)


def _objective(spec, outputs, inputs):
    """phi: the forward output contracted with dy, or the loss."""
    value = judge.as_real(outputs[spec.forward], spec.forward)
    return float(np.sum(value * np.asarray(inputs["dy"], float))) if "dy" in inputs else float(np.sum(value))


class _Probe:
    def __init__(self, implementation, spec, inputs, params):
        self.implementation, self.spec, self.params = implementation, spec, params
        self.inputs = {name: np.asarray(value, dtype=float) for name, value in inputs.items()}
        self.forward_inputs = {k: v for k, v in self.inputs.items() if k != "dy"}

    def phi(self, name, shift):
        moved = {**self.forward_inputs, name: self.forward_inputs[name] + shift}
        outputs = self.implementation.outputs(self.spec, moved, self.params).outputs
        return _objective(self.spec, outputs, self.inputs)

    def directional(self, name, direction):
        h = FINITE_DIFFERENCE_STEP
        return (self.phi(name, h * direction) - self.phi(name, -h * direction)) / (2 * h)

    def elementwise(self, name):
        shape = self.inputs[name].shape
        numeric = np.zeros(shape)
        for index in np.ndindex(shape):
            unit = np.zeros(shape)
            unit[index] = 1.0
            numeric[index] = self.directional(name, unit)
        return numeric


def _scale(spec, name, inputs):
    """The gradient of an input averaged over the batch (document 004's
    dW = 1/m dZ X^T) is 1/N of the derivative of the summed objective."""
    return np.shape(inputs["x"])[0] if name in spec.batch_mean else 1.0


def check_case(implementation, spec, inputs, params, number, seed):
    """One CaseCheck of the gradient check on one case."""
    make = lambda status, message="", error=0.0, ratio=0.0: CaseCheck(  # noqa: E731
        spec.name,
        CHECK,
        f"gradient-{spec.name}-{number}",
        f"fresh case {number} of {spec.name} (seed {seed}), gradient check",
        status,
        message,
        error,
        ratio,
        origin="fresh",
    )
    probe = _Probe(implementation, spec, inputs, params)
    try:
        reply = implementation.outputs(spec, probe.inputs, params)
    except NotImplementedByTarget as reason:
        return make("skip", f"not implemented: {reason}")
    except ImplementationFault as fault:
        return make("fail", str(fault), math.inf, math.inf)
    rng = np.random.default_rng(fresh.op_seed(seed, f"{spec.name}/{number}"))
    worst = 0.0
    gradients, checked = (
        reply.outputs,
        [name for name, output in spec.gradients.items() if output not in reply.omitted],
    )
    if not checked:
        return make("skip", "; ".join(dict.fromkeys(reply.omitted.values())))
    for name in checked:
        output = spec.gradients[name]
        if output not in gradients:
            return make("skip", f"no {output} in the backward outputs")
        try:
            analytic = judge.as_real(gradients[output], output) * _scale(spec, name, inputs)
            if analytic.shape != probe.inputs[name].shape:
                return make(
                    "skip", f"{output} has shape {analytic.shape}: the reference comparison reports it"
                )
            direction = rng.standard_normal(analytic.shape)
            numeric = probe.directional(name, direction)
        except (protocol.InvalidValue, ImplementationFault, NotImplementedByTarget) as error:
            return make("skip", one_line(f"the forward could not be differentiated: {error}"))
        along = float(np.sum(analytic * direction))
        result = compare(along, numeric, FINITE_DIFFERENCE)
        worst = max(worst, result.max_ratio)
        if not result.ok:
            return make("fail", _mismatch(probe, name, output, analytic, along, numeric), math.inf, math.inf)
    return make("pass", "", 0.0, worst)


def _mismatch(probe, name, output, analytic, along, numeric):
    text = (
        f"your backward is not the gradient of your forward: along a random direction, {output} gives "
        f"{along:.6g} but central differences of your forward give {numeric:.6g}"
    )
    if analytic.size > LOCATE_LIMIT:
        return text
    try:
        elementwise = probe.elementwise(name)
    except (protocol.InvalidValue, ImplementationFault, NotImplementedByTarget):
        return text
    located = compare(analytic, elementwise, FINITE_DIFFERENCE)
    if located.ok:
        return text
    where = output + "".join(f"[{i}]" for i in located.index)
    return (
        f"{text}; worst element {where}: yours {located.got:.6g}, central differences {located.expected:.6g}"
    )


def run(implementation, spec, seed, count=CASES):
    """[CaseCheck] of the gradient check of one op (none if it has no backward)."""
    if not spec.gradients:
        return []
    return [
        check_case(implementation, spec, inputs, params, number, seed)
        for number, (inputs, params) in enumerate(_cases(spec, count, seed))
    ]
