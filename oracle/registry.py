"""One record per operation: its name in fixtures, its arguments and
outputs, and the engines that compute it.

Every engine has one calling convention, `run(inputs, params) -> outputs`,
with inputs, params and outputs as dicts of the fixture format (see
fixtures/README.md). Backward outputs are produced when `dy` is given.
Adding an op means adding one OpSpec here; the tests and the CLI iterate
over this registry.
"""

from dataclasses import dataclass, field

import reference as ref

from . import samples

REQUIRED = object()  # a param default meaning: the case must give it


@dataclass(frozen=True)
class OpSpec:
    name: str
    inputs: tuple  # required inputs
    outputs: tuple  # every output the op can produce
    reference: object  # run(inputs, params) -> outputs
    optional_inputs: tuple = ()
    params: dict = field(default_factory=dict)  # name -> default, or REQUIRED
    samples: object = None  # samples.X: random.Random -> (inputs, params)
    # Differentiable inputs -> the output that holds the gradient of `forward`
    # (contracted with the upstream gradient dy, or a scalar loss) w.r.t. them.
    gradients: dict = field(default_factory=dict)
    forward: str = "y"
    # Inputs whose gradient is the mean over the batch (axis 0 of x), as in
    # document 004's dW = 1/m dZ A^T, rather than the sum.
    batch_mean: tuple = ()

    def check_call(self, inputs, params):
        """Raise ValueError naming any missing or unknown argument or param."""
        missing = [name for name in self.inputs if name not in inputs]
        if missing:
            raise ValueError(f"op {self.name}: missing input {', '.join(missing)}")
        unknown = sorted(set(inputs) - set(self.inputs) - set(self.optional_inputs))
        if unknown:
            raise ValueError(f"op {self.name}: unknown input {', '.join(unknown)}")
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise ValueError(f"op {self.name}: unknown param {', '.join(unknown)}")
        required = [
            name for name, default in self.params.items() if default is REQUIRED and name not in params
        ]
        if required:
            raise ValueError(f"op {self.name}: missing param {', '.join(required)}")

    def with_defaults(self, params):
        return {**{k: v for k, v in self.params.items() if v is not REQUIRED}, **params}

    def run_reference(self, inputs, params):
        self.check_call(inputs, params)
        return self.reference(inputs, self.with_defaults(params))


def _activation(forward, backward):
    def run(inputs, params):
        out = {"y": forward(inputs["x"], **params)}
        if "dy" in inputs:
            out["dx"] = backward(inputs["x"], inputs["dy"], **params)
        return out

    return run


def _loss(loss, prime, prediction="y_pred", gradient="dy_pred"):
    def run(inputs, params):
        args = (inputs["y_true"], inputs[prediction])
        return {"loss": loss(*args), gradient: prime(*args)}

    return run


def _correlation(function):
    def run(inputs, params):
        return {"y": function(inputs["x"], inputs["k"], params["mode"])}

    return run


def _conv2d(inputs, params):
    x, kernels, biases = inputs["x"], inputs["kernels"], inputs["biases"]
    stride, padding = params["stride"], params["padding"]
    bias = params["bias"] or ref.bias_mode(biases)  # absent: told by the shape of biases
    if bias != ref.bias_mode(biases):
        raise ValueError(
            f"op conv2d: param bias is {bias!r} but biases has the shape of {ref.bias_mode(biases)!r} biases"
        )
    out = {"y": ref.conv2d_forward(x, kernels, biases, stride, padding)}
    if "dy" in inputs:
        out["dx"], out["dkernels"], out["dbiases"] = ref.conv2d_backward(
            x, kernels, inputs["dy"], stride, padding, bias
        )
    return out


def _reshape(inputs, params):
    out = {"y": ref.reshape_forward(inputs["x"], params["shape"])}
    if "dy" in inputs:
        out["dx"] = ref.reshape_backward(inputs["dy"], list(ref.shape(inputs["x"], "x")))
    return out


def _dense_op(forward, backward):
    def run(inputs, params):
        x, weights = inputs["x"], inputs["weights"]
        out = {"y": forward(x, weights, inputs["bias"])}
        if "dy" in inputs:
            out["dx"], out["dweights"], out["dbias"] = backward(x, weights, inputs["dy"])
        return out

    return run


def _maxpool2d(inputs, params):
    x = inputs["x"]
    y, argmax = ref.maxpool2d_forward(x, params["window"], params["stride"])
    out = {"y": y, "argmax": argmax}
    if "dy" in inputs:
        out["dx"] = ref.maxpool2d_backward(inputs["dy"], argmax, ref.shape(x, "x"))
    return out


def _sgd(inputs, params):
    return {"param": ref.sgd(inputs["param"], inputs["grad"], params["learning_rate"])}


def _rmsprop(inputs, params):
    param, cache = ref.rmsprop(inputs["param"], inputs["grad"], inputs["cache"], **params)
    return {"param": param, "cache": cache}


_ACTIVATION_IO = dict(inputs=("x",), optional_inputs=("dy",), outputs=("y", "dx"), gradients={"x": "dx"})
_LOSS_IO = dict(
    inputs=("y_true", "y_pred"), outputs=("loss", "dy_pred"), gradients={"y_pred": "dy_pred"}, forward="loss"
)
_FUSED_IO = dict(inputs=("y_true", "z"), outputs=("loss", "dz"), gradients={"z": "dz"}, forward="loss")
_DENSE_IO = dict(
    inputs=("x", "weights", "bias"),
    optional_inputs=("dy",),
    outputs=("y", "dx", "dweights", "dbias"),
    gradients={"x": "dx", "weights": "dweights", "bias": "dbias"},
)

OPS = (
    OpSpec(
        "correlate2d",
        ("x", "k"),
        ("y",),
        _correlation(ref.correlate2d),
        params={"mode": "valid"},
        samples=samples.correlation,
    ),
    OpSpec(
        "convolve2d",
        ("x", "k"),
        ("y",),
        _correlation(ref.convolve2d),
        params={"mode": "valid"},
        samples=samples.correlation,
    ),
    OpSpec(
        "rot180",
        ("k",),
        ("y",),
        lambda inputs, params: {"y": ref.rot180(inputs["k"])},
        samples=samples.rot180,
    ),
    OpSpec(
        "conv2d",
        ("x", "kernels", "biases"),
        ("y", "dx", "dkernels", "dbiases"),
        _conv2d,
        optional_inputs=("dy",),
        params={"stride": 1, "padding": 0, "bias": None},
        samples=samples.conv2d,
        gradients={"x": "dx", "kernels": "dkernels", "biases": "dbiases"},
    ),
    OpSpec(
        "reshape",
        ("x",),
        ("y", "dx"),
        _reshape,
        optional_inputs=("dy",),
        params={"shape": REQUIRED},
        samples=samples.reshape,
        gradients={"x": "dx"},
    ),
    OpSpec(
        "dense",
        reference=_dense_op(ref.dense_forward, ref.dense_backward),
        samples=samples.dense,
        **_DENSE_IO,
    ),
    OpSpec(
        "dense_batch",
        reference=_dense_op(ref.dense_batch_forward, ref.dense_batch_backward),
        samples=samples.dense_batch,
        batch_mean=("weights", "bias"),
        **_DENSE_IO,
    ),
    OpSpec(
        "sigmoid",
        reference=_activation(ref.sigmoid_forward, ref.sigmoid_backward),
        samples=samples.smooth_activation,
        **_ACTIVATION_IO,
    ),
    OpSpec(
        "tanh",
        reference=_activation(ref.tanh_forward, ref.tanh_backward),
        samples=samples.smooth_activation,
        **_ACTIVATION_IO,
    ),
    OpSpec(
        "relu",
        reference=_activation(ref.relu_forward, ref.relu_backward),
        samples=samples.kinked_activation,
        **_ACTIVATION_IO,
    ),
    OpSpec(
        "leaky_relu",
        reference=_activation(ref.leaky_relu_forward, ref.leaky_relu_backward),
        params={"slope": ref.LEAKY_RELU_SLOPE},
        samples=samples.leaky_relu,
        **_ACTIVATION_IO,
    ),
    OpSpec(
        "softmax",
        reference=_activation(ref.softmax_forward, ref.softmax_backward),
        samples=samples.vector_activation,
        **_ACTIVATION_IO,
    ),
    OpSpec(
        "binary_cross_entropy",
        reference=_loss(ref.binary_cross_entropy, ref.binary_cross_entropy_prime),
        samples=samples.probability_loss,
        **_LOSS_IO,
    ),
    OpSpec(
        "sigmoid_bce",
        reference=_loss(ref.sigmoid_bce, ref.sigmoid_bce_prime, "z", "dz"),
        samples=samples.logit_loss,
        **_FUSED_IO,
    ),
    OpSpec("mse", reference=_loss(ref.mse, ref.mse_prime), samples=samples.regression_loss, **_LOSS_IO),
    OpSpec(
        "half_squared_error",
        reference=_loss(ref.half_squared_error, ref.half_squared_error_prime),
        samples=samples.regression_loss,
        **_LOSS_IO,
    ),
    OpSpec(
        "categorical_cross_entropy",
        reference=_loss(ref.categorical_cross_entropy, ref.categorical_cross_entropy_prime),
        samples=samples.categorical_loss,
        **_LOSS_IO,
    ),
    OpSpec(
        "softmax_cce",
        reference=_loss(ref.softmax_cce, ref.softmax_cce_prime, "z", "dz"),
        samples=samples.softmax_logit_loss,
        **_FUSED_IO,
    ),
    OpSpec(
        "maxpool2d",
        ("x",),
        ("y", "argmax", "dx"),
        _maxpool2d,
        optional_inputs=("dy",),
        params={"window": REQUIRED, "stride": REQUIRED},
        samples=samples.maxpool2d,
        gradients={"x": "dx"},
    ),
    OpSpec(
        "sgd", ("param", "grad"), ("param",), _sgd, params={"learning_rate": REQUIRED}, samples=samples.sgd
    ),
    OpSpec(
        "rmsprop",
        ("param", "grad", "cache"),
        ("param", "cache"),
        _rmsprop,
        params={"learning_rate": REQUIRED, "rho": 0.9, "epsilon": 1e-7},
        samples=samples.rmsprop,
    ),
    OpSpec(
        "accuracy",
        ("y_true", "y_pred"),
        ("accuracy",),
        lambda inputs, params: {"accuracy": ref.accuracy(inputs["y_true"], inputs["y_pred"])},
        samples=samples.accuracy,
    ),
    OpSpec(
        "dense_parameter_count",
        ("input_size", "output_size"),
        ("count",),
        lambda inputs, params: {
            "count": ref.dense_parameter_count(inputs["input_size"], inputs["output_size"])
        },
        samples=samples.dense_parameter_count,
    ),
)

REGISTRY = {spec.name: spec for spec in OPS}


def get(name):
    if name not in REGISTRY:
        raise ValueError(f"op: unknown operation {name!r} (known: {', '.join(sorted(REGISTRY))})")
    return REGISTRY[name]
