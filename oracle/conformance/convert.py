"""Cases in an implementation's declared conventions
(oracle.conformance.conventions): the one place that converts.

`Converting` wraps an implementation. Each request's inputs go out in the
declared conventions and the outputs come back in the reference's, so
that judging, fresh cases, shrinking and the gradient check all see one
convention. Two kinds of conversion:

- of meaning, in the reference's layout: integer labels, logits for the
  cross-entropies, tied or untied conv biases, a batch's summed or
  averaged parameter gradients, RMSprop's epsilon inside the square root;
- of shape, by the role the registry gives each argument and output:
  channels-last images, HWIO kernels, (in, out) weights, column or row
  vectors.

A case the declared conventions cannot express raises Inexpressible (it
is skipped with the reason). An output the implementation cannot give in
its conventions (a tied-bias implementation's gradient of untied biases)
comes back in Reply.omitted with the reason, and the rest is checked.
Outputs are converted back only when they are real arrays of the declared
shape; anything else goes to the judge as it came, to be reported there.
"""

from dataclasses import dataclass, field

import numpy as np

from oracle import registry
from oracle.conformance import protocol
from oracle.conformance.adapters import NotImplementedByTarget, Reply
from reference.losses import PROBABILITY_EPSILON


class Inexpressible(NotImplementedByTarget):
    """The case cannot be written in the declared conventions (a skip, with why)."""


# cross_entropy_input 'logits': the fused ops are served by the
# implementation's cross-entropy, which takes logits.
FUSED = {"softmax_cce": "categorical_cross_entropy", "sigmoid_bce": "binary_cross_entropy"}
NORMALIZED = 1e-9  # how far from 1 a probability vector's sum may be to be written as logits


class Converting:
    """An implementation seen through its declared conventions: it takes
    and returns the reference's."""

    def __init__(self, implementation, conventions):
        self.implementation, self.conventions = implementation, conventions
        self.converts = bool(conventions.with_batch(False).declared())  # else every request passes as it is

    def __getattr__(self, name):  # name, notes, batch, offers, start, close
        return getattr(self.implementation, name)

    def outputs(self, spec, inputs, params, batched=False):
        if not self.converts:
            return self.implementation.outputs(spec, inputs, params, batched)
        request = Request(spec, dict(inputs), dict(spec.with_defaults(params)), batched)
        _convert_meaning(request, self.conventions)
        _convert_shapes(request, self.conventions)
        reply = self.implementation.outputs(request.spec, request.inputs, request.params, batched)
        if not isinstance(reply.outputs, dict):
            return reply
        return Reply(
            request.restore(reply.outputs),
            {name: request.restore(values) for name, values in reply.variants.items()},
            {**reply.omitted, **request.omitted},
        )


@dataclass
class Request:
    """One request on its way to the declared conventions, with the steps
    that bring its outputs back (undone last first)."""

    spec: object
    inputs: dict
    params: dict
    batched: bool
    omitted: dict = field(default_factory=dict)  # output -> why it is not checked
    steps: list = field(default_factory=list)  # outputs -> outputs
    converted: set = field(default_factory=set)  # inputs already in the declared form

    def array(self, name):
        return np.asarray(self.inputs[name], dtype=float)

    def on_output(self, name, change):
        """Bring output `name` back with change(array) when it is a real array."""

        def step(outputs):
            value = _real(outputs.get(name))
            if value is not None:
                changed = change(value)
                if changed is not None:
                    outputs = {**outputs, name: changed}
            return outputs

        self.steps.append(step)

    def omit(self, name, reason):
        self.omitted[name] = reason
        self.steps.append(lambda outputs: {k: v for k, v in outputs.items() if k != name})

    def restore(self, outputs):
        for step in reversed(self.steps):
            outputs = step(outputs)
        return outputs


def _real(value):
    """A float array of an output value, or None if it is not real numbers."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return value.astype(float) if value.dtype.kind in "fiu" else None
    try:
        return protocol.real_array(value, "")
    except protocol.InvalidValue:
        return None


# ---- meaning ----


def _convert_meaning(request, conventions):
    name = request.spec.name
    if conventions.cross_entropy_input == "logits" and (name in FUSED or name in FUSED.values()):
        _logits(request)
    if conventions.labels == "index" and request.spec.roles.get("y_true") == "labels":
        _index_labels(request)
    if name == "conv2d" and conventions.bias != "both":
        _conv_bias(request, conventions.bias)
    if name == "rmsprop" and conventions.rmsprop_epsilon == "inside_sqrt":
        _epsilon_inside(request)
    if name == "maxpool2d" and conventions.maxpool_backward == "input":
        request.omit("argmax", "no argmax: this implementation declares maxpool_backward 'input'")
    if conventions.batch_gradients:
        _batch_reduction(request, conventions.batch_gradients)


def _logits(request):
    spec = request.spec
    if spec.name in FUSED:  # already logits: served by the implementation's cross-entropy
        request.spec = registry.get(FUSED[spec.name])
        request.inputs["y_pred"] = request.inputs.pop("z")
        request.steps.append(lambda outputs: {("dz" if k == "dy_pred" else k): v for k, v in outputs.items()})
        return
    p = request.array("y_pred")
    if np.any(p < PROBABILITY_EPSILON) or np.any(p > 1 - PROBABILITY_EPSILON):
        raise Inexpressible(
            "a probability of 0 or 1 (clipped by the reference) has no logit: "
            "this implementation declares cross_entropy_input 'logits'"
        )
    if spec.name == "categorical_cross_entropy":
        if np.any(np.abs(p.sum(axis=-1) - 1) > NORMALIZED):
            raise Inexpressible(
                "probabilities that do not sum to 1 are not a softmax of logits: "
                "this implementation declares cross_entropy_input 'logits'"
            )
        request.inputs["y_pred"] = np.log(p)
    else:
        request.inputs["y_pred"] = np.log(p) - np.log1p(-p)
    fused = next(op for op, plain in FUSED.items() if plain == spec.name)
    request.omit(
        "dy_pred",
        f"the gradient with respect to probabilities: this implementation declares cross_entropy_input "
        f"'logits' (its gradient with respect to logits is checked on the {fused} cases)",
    )


def _index_labels(request):
    labels = request.array("y_true")
    one_hot = np.all((labels == 0) | (labels == 1), axis=-1) & (labels.sum(axis=-1) == 1)
    if not np.all(one_hot):
        raise Inexpressible(
            "soft labels (y_true is not one-hot): this implementation declares labels 'index'"
        )
    request.inputs["y_true"] = np.argmax(labels, axis=-1)
    request.converted.add("y_true")


def _conv_bias(request, declared):
    biases = request.array("biases")
    given = "untied" if biases.ndim == 3 else "tied"
    if given == declared:
        return
    if request.params.get("bias"):
        request.params["bias"] = declared
    if declared == "tied":  # the conv without its biases: y is brought back by adding them
        request.inputs["biases"] = np.zeros(biases.shape[0])
        request.on_output("y", lambda y: y + biases if y.shape[-3:] == biases.shape else None)
        request.omit("dbiases", "the gradient of untied biases: this implementation declares bias 'tied'")
        return
    x, kernels = request.array("x"), request.array("kernels")
    stride, padding = request.params["stride"], request.params["padding"]
    rows, cols = ((size + 2 * padding - k) // stride + 1 for size, k in zip(x.shape[-2:], kernels.shape[-2:]))
    request.inputs["biases"] = np.repeat(biases[:, None, None], rows * cols, axis=1).reshape(-1, rows, cols)
    request.on_output("dbiases", lambda d: d.sum(axis=(1, 2)) if d.ndim == 3 else None)


def _epsilon_inside(request):
    """The update lr g / sqrt(cache + eps) brought back to lr g / (sqrt(cache) + eps):
    the step scaled by sqrt(cache + eps) / (sqrt(cache) + eps), with the
    new cache computed here from the inputs."""
    param, grad, cache = request.array("param"), request.array("grad"), request.array("cache")
    rho, epsilon = request.params["rho"], request.params["epsilon"]
    new_cache = rho * cache + (1 - rho) * grad * grad
    scale = np.sqrt(new_cache + epsilon) / (np.sqrt(new_cache) + epsilon)
    request.on_output(
        "param", lambda new: param - (param - new) * scale if new.shape == param.shape else None
    )


def _batch_reduction(request, declared):
    spec = request.spec
    own = "mean" if spec.batch_mean else "sum"
    if declared == own or not (spec.batch_mean or request.batched):
        return
    names = [spec.gradients[name] for name in spec.batch_mean] if spec.batch_mean else spec.summed_outputs
    if not names:
        return
    size = len(request.inputs["x"])  # the samples: x's leading axis, batched or (dense_batch) by nature
    factor = size if declared == "mean" else 1 / size
    for name in names:
        request.on_output(name, lambda value: value * factor)


# ---- shape ----


def _convert_shapes(request, conventions):
    spec = request.spec
    vectors = False
    for name, role in spec.roles.items():
        if name not in request.inputs or name in request.converted:
            continue
        axis = int(request.batched and name in spec.batch_inputs)
        value = request.array(name)
        changed = _declared_shape(role, value, axis, conventions)
        if changed is not None:
            request.inputs[name] = changed
            vectors |= role == "vector"
    for name, role in spec.roles.items():
        if name in spec.outputs and (role != "vector" or vectors):
            axis = int(request.batched and name not in spec.summed_outputs)
            request.on_output(
                name, lambda value, role=role, axis=axis: _reference_shape(role, value, axis, conventions)
            )


def _declared_shape(role, value, axis, conventions):
    """An input in the declared conventions (None: unchanged); `axis` is 1
    when it carries a leading batch axis."""
    if role in ("image", "conv_bias") and conventions.channels_last and value.ndim == axis + 3:
        return np.moveaxis(value, axis, -1)
    if role == "pool_index" and conventions.channels_last:
        return np.moveaxis(value, axis, axis + 2)
    if role == "kernels" and conventions.kernels == "HWIO":
        return value.transpose(2, 3, 1, 0)
    if role == "weights" and conventions.dense_weights == "in_out":
        return value.T
    if role in ("vector", "labels") and conventions.vectors != "flat" and value.ndim == axis + 1:
        return value[..., None] if conventions.vectors == "column" else value[..., None, :]
    if role == "samples" and conventions.vectors == "column":
        return value.T
    return None


def _reference_shape(role, value, axis, conventions):
    """An output back in the reference's conventions, or None when it is not
    in the declared shape (the judge reports it as it came)."""
    if role in ("image", "conv_bias") and conventions.channels_last and value.ndim == axis + 3:
        return np.moveaxis(value, -1, axis)
    if role == "pool_index" and conventions.channels_last and value.ndim == axis + 4:
        return np.moveaxis(value, axis + 2, axis)
    if role == "kernels" and conventions.kernels == "HWIO" and value.ndim == 4:
        return value.transpose(3, 2, 0, 1)
    if role == "weights" and conventions.dense_weights == "in_out" and value.ndim == 2:
        return value.T
    if role == "vector" and conventions.vectors != "flat" and value.ndim == axis + 2:
        singleton = -1 if conventions.vectors == "column" else -2
        return np.squeeze(value, axis=singleton) if value.shape[singleton] == 1 else None
    if role == "samples" and conventions.vectors == "column" and value.ndim == 2:
        return value.T
    return None
