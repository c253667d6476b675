"""One record per operation: its name in fixtures, its arguments and
outputs, its sample inputs, and the engines that compute it.

Every engine is called the same way, `run(inputs, params) -> outputs`,
with the names of the fixture format (fixtures/README.md); backward
outputs appear when `dy` is given. The reference, NumPy and scipy engines
share one adapter per op, built over a backend module with the same
function names (reference, oracle.numpy_ops, oracle.scipy_ops); the torch
engine takes a forward function and gets gradients from autograd.
Adding an op means adding one OpSpec here; tests and the CLI iterate over
this registry.
"""

import copy
from dataclasses import dataclass, field

import reference as ref
from oracle import kinks, samples
from oracle.engines import numpy_ops, scipy_ops, torch_ops

REQUIRED = object()  # a param default meaning: the case must give it


@dataclass(frozen=True)
class OpSpec:
    name: str
    inputs: tuple  # required inputs
    outputs: tuple  # every output the op can produce
    reference: object  # run(inputs, params) -> outputs, on nested lists
    optional_inputs: tuple = ()
    params: dict = field(default_factory=dict)  # name -> default, or REQUIRED
    samples: object = None  # samples.X(rng, batch) -> (inputs, params)
    # Differentiable inputs -> the output that holds the gradient of `forward`
    # (contracted with the upstream gradient dy, or a scalar loss) w.r.t. them.
    gradients: dict = field(default_factory=dict)
    forward: str = "y"
    # Inputs whose gradient is the mean over the batch (axis 0 of x), as in
    # document 004's dW = 1/m dZ A^T, rather than the sum.
    batch_mean: tuple = ()
    # Per-sample inputs that take a leading batch axis when the op runs on a
    # batch; the other inputs are shared, and their gradients are summed.
    batch_inputs: tuple = ()
    # kink_distance(inputs, params): how far the inputs are from a point where
    # the op is not differentiable (ReLU at 0, tied pooling maxima).
    kink_distance: object = None
    # Outputs are sums of products (conv, dense, correlation): agreement is
    # judged with an error bound that grows with the magnitudes summed.
    accumulates: bool = False
    numpy: object = None
    scipy: object = None
    torch: object = None  # forward(tensors, params) -> outputs, gradients by autograd
    adapter: tuple = ()  # (builder, args): builder(backend, *args) -> run(inputs, params)
    # What each argument and output is, for the conventions an implementation
    # may declare (oracle.conformance.convert): image, conv_bias, kernels,
    # weights, vector, samples, labels, pool_index.
    roles: dict = field(default_factory=dict)
    # Other ways to call an implementation's functions, chosen by a declared
    # convention: {(key, value): (builder, args)}.
    call_forms: dict = field(default_factory=dict)

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

    def for_backend(self, backend, conventions=None):
        """run(inputs, params) over any module with the reference's function
        names (e.g. an implementation under test), called in the form its
        declared conventions choose."""
        build, args = self.adapter
        for (key, value), form in self.call_forms.items():
            if conventions is not None and getattr(conventions, key) == value:
                build, args = form
        return build(backend, *args)

    @property
    def fresh(self):
        """The name of the op's hypothesis strategy in oracle.strategies (for
        fresh cases at run time): the sample generator's name. A name, so
        that the worker process, which loads the registry, never loads
        hypothesis."""
        return self.samples.__name__ if self.samples else ""

    @property
    def engines(self):
        """The engines that implement this op, reference first."""
        return ("reference",) + tuple(e for e in ("numpy", "scipy", "torch") if getattr(self, e) is not None)

    @property
    def summed_outputs(self):
        """Gradients of shared inputs: summed over the samples of a batch."""
        return tuple(out for name, out in self.gradients.items() if name not in self.batch_inputs)


# ---- adapters over a backend module (reference, numpy_ops or scipy_ops) ----


# Backend functions are looked up at call time, so a test can replace one.


def _activation(backend, name):
    def run(inputs, params):
        out = {"y": getattr(backend, f"{name}_forward")(inputs["x"], **params)}
        if "dy" in inputs:
            out["dx"] = getattr(backend, f"{name}_backward")(inputs["x"], inputs["dy"], **params)
        return out

    return run


def _loss(backend, name, prediction="y_pred", gradient="dy_pred"):
    def run(inputs, params):
        args = (inputs["y_true"], inputs[prediction])
        out = {"loss": getattr(backend, name)(*args)}
        if hasattr(backend, f"{name}_prime"):  # a loss without its derivative is checked forward only
            out[gradient] = getattr(backend, f"{name}_prime")(*args)
        return out

    return run


def _correlation(backend, name):
    def run(inputs, params):
        return {"y": getattr(backend, name)(inputs["x"], inputs["k"], params["mode"])}

    return run


def _conv2d(backend):
    def run(inputs, params, **options):
        x, kernels, biases = inputs["x"], inputs["kernels"], inputs["biases"]
        stride, padding = params["stride"], params["padding"]
        shaped_as = backend.bias_mode(biases)
        bias = params["bias"] or shaped_as  # absent: told by the shape of biases
        if bias != shaped_as:
            raise ValueError(
                f"op conv2d: param bias is {bias!r} but biases has the shape of {shaped_as!r} biases"
            )
        out = {"y": backend.conv2d_forward(x, kernels, biases, stride, padding)}
        if "dy" in inputs:
            out["dx"], out["dkernels"], out["dbiases"] = backend.conv2d_backward(
                x, kernels, inputs["dy"], stride, padding, bias, **options
            )
        return out

    return run


def _reshape(backend):
    def run(inputs, params):
        out = {"y": backend.reshape_forward(inputs["x"], params["shape"])}
        if "dy" in inputs:
            out["dx"] = backend.reshape_backward(inputs["dy"], list(backend.shape(inputs["x"], "x")))
        return out

    return run


def _dense(backend, name):
    def run(inputs, params, **options):
        x, weights = inputs["x"], inputs["weights"]
        out = {"y": getattr(backend, f"{name}_forward")(x, weights, inputs["bias"])}
        if "dy" in inputs:
            backward = getattr(backend, f"{name}_backward")
            out["dx"], out["dweights"], out["dbias"] = backward(x, weights, inputs["dy"], **options)
        return out

    return run


def _maxpool2d(backend):
    def run(inputs, params):
        x = inputs["x"]
        y, argmax = backend.maxpool2d_forward(x, params["window"], params["stride"])
        out = {"y": y, "argmax": argmax}
        if "dy" in inputs:
            out["dx"] = backend.maxpool2d_backward(inputs["dy"], argmax, backend.shape(x, "x"))
        return out

    return run


def _maxpool2d_from_input(backend):
    """maxpool_backward 'input': no argmax; the backward takes the forward's input."""

    def run(inputs, params):
        x, window, stride = inputs["x"], params["window"], params["stride"]
        out = {"y": backend.maxpool2d_forward(x, window, stride)}
        if "dy" in inputs:
            out["dx"] = backend.maxpool2d_backward(x, inputs["dy"], window, stride)
        return out

    return run


def _rot180(backend):
    return lambda inputs, params: {"y": backend.rot180(inputs["k"])}


def _sgd(backend):
    return lambda inputs, params: {
        "param": backend.sgd(inputs["param"], inputs["grad"], params["learning_rate"])
    }


# optimizer_update 'in_place': the function updates its param (and cache)
# argument; copies are handed over and read back.


def _sgd_in_place(backend):
    def run(inputs, params):
        param = copy.deepcopy(inputs["param"])
        backend.sgd(param, inputs["grad"], params["learning_rate"])
        return {"param": param}

    return run


def _rmsprop_in_place(backend):
    def run(inputs, params):
        param, cache = copy.deepcopy(inputs["param"]), copy.deepcopy(inputs["cache"])
        backend.rmsprop(param, inputs["grad"], cache, **params)
        return {"param": param, "cache": cache}

    return run


def _rmsprop(backend):
    def run(inputs, params):
        param, cache = backend.rmsprop(inputs["param"], inputs["grad"], inputs["cache"], **params)
        return {"param": param, "cache": cache}

    return run


def _accuracy(backend):
    return lambda inputs, params: {"accuracy": backend.accuracy(inputs["y_true"], inputs["y_pred"])}


def _parameter_count(backend):
    return lambda inputs, params: {
        "count": backend.dense_parameter_count(inputs["input_size"], inputs["output_size"])
    }


def _engines(build, *args, scipy=False):
    """reference= and numpy= (and scipy=) adapters built from one builder,
    and the builder itself (adapter=) for other backends."""
    engines = {"reference": build(ref, *args), "numpy": build(numpy_ops, *args), "adapter": (build, args)}
    if scipy:
        engines["scipy"] = build(scipy_ops, *args)
    return engines


_ACTIVATION_IO = dict(
    inputs=("x",),
    optional_inputs=("dy",),
    outputs=("y", "dx"),
    gradients={"x": "dx"},
    batch_inputs=("x", "dy"),
    roles=dict.fromkeys(("x", "dy", "y", "dx"), "vector"),
)
_VECTORS = ("x", "dy", "y", "dx")
_DENSE_IO = dict(
    inputs=("x", "weights", "bias"),
    optional_inputs=("dy",),
    outputs=("y", "dx", "dweights", "dbias"),
    gradients={"x": "dx", "weights": "dweights", "bias": "dbias"},
)


def _dense_roles(samples_role):
    """x, dy, y, dx: one vector per sample, or (dense_batch) a matrix of samples."""
    return {
        **dict.fromkeys(_VECTORS, samples_role),
        "bias": "vector",
        "dbias": "vector",
        "weights": "weights",
        "dweights": "weights",
    }


def _activation_spec(name, samples_for, **extra):
    return OpSpec(
        name,
        **_engines(_activation, name),
        samples=samples_for,
        torch=getattr(torch_ops, name),
        **_ACTIVATION_IO,
        **extra,
    )


def _loss_spec(name, samples_for, prediction="y_pred", gradient="dy_pred", labels="vector"):
    """A loss of (y_true, prediction): one value per sample, and its gradient."""
    return OpSpec(
        name,
        inputs=("y_true", prediction),
        outputs=("loss", gradient),
        **_engines(_loss, name, prediction, gradient),
        samples=samples_for,
        gradients={prediction: gradient},
        forward="loss",
        roles={"y_true": labels, prediction: "vector", gradient: "vector"},
        batch_inputs=("y_true", prediction),
        torch=getattr(torch_ops, name),
    )


def _correlation_spec(name):
    """correlate2d / convolve2d of a batch of matrices with one kernel."""
    return OpSpec(
        name,
        ("x", "k"),
        ("y",),
        **_engines(_correlation, name, scipy=True),
        params={"mode": "valid"},
        samples=samples.correlation,
        batch_inputs=("x",),
        accumulates=True,
        torch=getattr(torch_ops, name),
    )


OPS = (
    _correlation_spec("correlate2d"),
    _correlation_spec("convolve2d"),
    OpSpec("rot180", ("k",), ("y",), **_engines(_rot180), samples=samples.rot180, torch=torch_ops.rot180),
    OpSpec(
        "conv2d",
        ("x", "kernels", "biases"),
        ("y", "dx", "dkernels", "dbiases"),
        **_engines(_conv2d, scipy=True),
        optional_inputs=("dy",),
        params={"stride": 1, "padding": 0, "bias": None},
        samples=samples.conv2d,
        gradients={"x": "dx", "kernels": "dkernels", "biases": "dbiases"},
        batch_inputs=("x", "dy"),
        accumulates=True,
        torch=torch_ops.conv2d,
        roles={
            **dict.fromkeys(_VECTORS, "image"),
            "kernels": "kernels",
            "dkernels": "kernels",
            "biases": "conv_bias",
            "dbiases": "conv_bias",
        },
    ),
    OpSpec(
        "reshape",
        ("x",),
        ("y", "dx"),
        **_engines(_reshape),
        optional_inputs=("dy",),
        params={"shape": REQUIRED},
        samples=samples.reshape,
        gradients={"x": "dx"},
        batch_inputs=("x", "dy"),
        torch=torch_ops.reshape,
    ),
    OpSpec(
        "dense",
        **_engines(_dense, "dense"),
        samples=samples.dense,
        batch_inputs=("x", "dy"),
        accumulates=True,
        torch=torch_ops.dense,
        roles=_dense_roles("vector"),
        **_DENSE_IO,
    ),
    OpSpec(
        "dense_batch",
        **_engines(_dense, "dense_batch"),
        samples=samples.dense_batch,
        batch_mean=("weights", "bias"),
        accumulates=True,
        torch=torch_ops.dense,
        roles=_dense_roles("samples"),
        **_DENSE_IO,
    ),
    _activation_spec("sigmoid", samples.smooth_activation),
    _activation_spec("tanh", samples.smooth_activation),
    _activation_spec("relu", samples.kinked_activation, kink_distance=kinks.zero_crossing),
    _activation_spec(
        "leaky_relu",
        samples.leaky_relu,
        params={"slope": ref.LEAKY_RELU_SLOPE},
        kink_distance=kinks.zero_crossing,
    ),
    _activation_spec("softmax", samples.vector_activation),
    _loss_spec("binary_cross_entropy", samples.probability_loss),
    _loss_spec("sigmoid_bce", samples.logit_loss, prediction="z", gradient="dz"),
    _loss_spec("mse", samples.regression_loss),
    _loss_spec("half_squared_error", samples.regression_loss),
    _loss_spec("categorical_cross_entropy", samples.categorical_loss, labels="labels"),
    _loss_spec("softmax_cce", samples.softmax_logit_loss, prediction="z", gradient="dz", labels="labels"),
    OpSpec(
        "maxpool2d",
        ("x",),
        ("y", "argmax", "dx"),
        **_engines(_maxpool2d),
        optional_inputs=("dy",),
        params={"window": REQUIRED, "stride": REQUIRED},
        samples=samples.maxpool2d,
        gradients={"x": "dx"},
        kink_distance=kinks.pooling_tie,
        batch_inputs=("x", "dy"),
        torch=torch_ops.maxpool2d,
        roles={**dict.fromkeys(_VECTORS, "image"), "argmax": "pool_index"},
        call_forms={("maxpool_backward", "input"): (_maxpool2d_from_input, ())},
    ),
    OpSpec(
        "sgd",
        ("param", "grad"),
        ("param",),
        **_engines(_sgd),
        params={"learning_rate": REQUIRED},
        samples=samples.sgd,
        torch=torch_ops.sgd,
        call_forms={("optimizer_update", "in_place"): (_sgd_in_place, ())},
    ),
    OpSpec(
        "rmsprop",
        ("param", "grad", "cache"),
        ("param", "cache"),
        **_engines(_rmsprop),
        params={"learning_rate": REQUIRED, "rho": 0.9, "epsilon": 1e-7},
        samples=samples.rmsprop,
        torch=torch_ops.rmsprop,
        call_forms={("optimizer_update", "in_place"): (_rmsprop_in_place, ())},
    ),
    OpSpec(
        "accuracy",
        ("y_true", "y_pred"),
        ("accuracy",),
        **_engines(_accuracy),
        samples=samples.accuracy,
        torch=torch_ops.accuracy,
    ),
    OpSpec(
        "dense_parameter_count",
        ("input_size", "output_size"),
        ("count",),
        **_engines(_parameter_count),
        samples=samples.dense_parameter_count,
        torch=torch_ops.dense_parameter_count,
    ),
)

REGISTRY = {spec.name: spec for spec in OPS}


def get(name):
    if name not in REGISTRY:
        raise ValueError(f"op: unknown operation {name!r} (known: {', '.join(sorted(REGISTRY))})")
    return REGISTRY[name]
