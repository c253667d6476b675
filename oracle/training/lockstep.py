"""Training a NetworkSpec on three engines in lockstep, and their parity.

- reference: the pure-Python ops, layer by layer (slow: run on a prefix);
- numpy: the vectorized ops, layer by layer, chained backward;
- torch: the torch ops composed into one graph, gradients by autograd and
  updates by torch.optim.

Every engine starts from the same parameters and sees the same batches.
The loss of a step is the mean of the per-sample losses of its batch.
"""

import contextlib
import dataclasses
import functools
from dataclasses import dataclass, field

import numpy as np
import threadpoolctl

from oracle import engines, registry
from oracle.engines import numpy_ops, torch_ops
from oracle.training import network

PARITY_REL = 1e-10
# A long training can amplify rounding differences past PARITY_REL (document
# 004's lr 1 does after ~4000 steps). A divergence counts as a disagreement
# only if it is also this many times larger than the drift of a NumPy twin
# whose parameters get a random last-bit nudge after every step (measured:
# engines stay within ~3x of the twin while rounding is what they differ by).
TWIN_FACTOR = 100.0
# Ops whose NumPy backward can leave dx out (input_gradient=False).
WITHOUT_INPUT_GRADIENT = ("conv2d", "dense", "dense_batch")
# Threads each engine's pools (BLAS, torch's intra-op) may use while training.
# The documents' networks run one small op at a time: a pool's extra threads
# mostly wait at each op's barrier, and on a busy machine they wait for CPUs
# other processes hold (an epoch of 001 took 12x longer on torch's default 2).
TRAINING_THREADS = 1


@contextlib.contextmanager
def engine_threads(count=TRAINING_THREADS, torch=False):
    """BLAS (for every engine) and, with torch=True, torch's intra-op pool
    held to `count` threads inside the block, restored after it."""
    pool = torch_ops.load() if torch else None
    before = pool.get_num_threads() if pool else None
    with threadpoolctl.threadpool_limits(count):
        if pool:
            pool.set_num_threads(count)
        try:
            yield
        finally:
            if pool:
                pool.set_num_threads(before)


class _ForwardOnce:
    """oracle.engines.numpy_ops as the registry's adapters see it, except that
    a *_forward function called again on the very same arguments returns its
    first result: run with dy, an adapter recomputes the layer's forward
    output, which the engine's forward pass has just computed from the same
    arrays. Held until clear() (at each forward pass)."""

    def __init__(self):
        self.held = {}  # (function name, argument ids) -> (arguments, result)

    def clear(self):
        self.held.clear()

    def __getattr__(self, name):
        if not name.endswith("_forward"):
            return getattr(numpy_ops, name)  # at each call, as the adapters look it up

        def forward(*args, **kwargs):
            key = (name, *map(id, args), *kwargs, *map(id, kwargs.values()))
            if key not in self.held:
                # The arguments are held with the result: no other object can take their ids.
                self.held[key] = ((args, kwargs), getattr(numpy_ops, name)(*args, **kwargs))
            return self.held[key][1]

        setattr(self, name, forward)  # found directly from now on
        return forward


class LayerwiseEngine:
    """The reference or NumPy engine: forward op by op, backward op by op
    (each layer's dx is the next one down's dy), updates by the registry's
    sgd/rmsprop ops. The NumPy engine computes each layer's forward output
    once a step (_ForwardOnce)."""

    def __init__(self, spec, parameters, engine="numpy", dtype=np.float64):
        self.spec, self.engine, self.dtype = spec, engine, dtype
        self.parameters = [{k: np.array(v, dtype=dtype) for k, v in layer.items()} for layer in parameters]
        self.caches = [{k: np.zeros_like(v) for k, v in layer.items()} for layer in self.parameters]
        self.ops = [registry.get(layer.op) for layer in spec.layers]
        # Checked and completed once, not at each of the thousands of calls of a training.
        for op, layer in zip(self.ops, spec.layers):
            op.check_call(dict.fromkeys(("x", "dy", *layer.init)), layer.params)
        self.params = [op.with_defaults(layer.params) for op, layer in zip(self.ops, spec.layers)]
        self.update_params = {"learning_rate": spec.learning_rate, **spec.optimizer_params}
        self.forward_once = _ForwardOnce() if engine == "numpy" else None
        self.run_layers = [self._runner(op, self.forward_once) for op in self.ops]
        # The first layer's dx is read by nobody (torch's autograd does not compute it either).
        self.backward_options = [{} for _ in self.ops]
        if engine == "numpy" and self.ops[0].name in WITHOUT_INPUT_GRADIENT:
            self.backward_options[0] = {"input_gradient": False}
        self.run_loss = self._runner(registry.get(spec.loss))
        self.run_update = self._runner(registry.get(spec.optimizer))

    def _runner(self, op, backend=numpy_ops):
        """run(inputs, params) of one op on this engine. NumPy: the registry's
        adapter over backend, called directly on arrays already in dtype
        (engines.run would check and convert every argument again, at each of
        the thousands of calls of a training)."""
        if self.engine == "numpy":
            return op.for_backend(backend)
        return functools.partial(engines.run, op, self.engine, batched=True, dtype=self.dtype)

    def forward(self, x):
        if self.forward_once is not None:
            self.forward_once.clear()
        activations = [np.asarray(x, dtype=self.dtype)]
        for run, params, parameters in zip(self.run_layers, self.params, self.parameters):
            activations.append(run({"x": activations[-1], **parameters}, params)["y"])
        return activations

    def predict(self, x):
        return self.forward(x)[-1]

    def step(self, x, y_true):
        """One update on a batch; returns the batch's mean loss."""
        activations = self.forward(x)
        y_true = np.asarray(y_true, dtype=self.dtype)
        loss = self.run_loss({"y_true": y_true, "y_pred": activations[-1]}, {})
        dy = loss["dy_pred"] / len(x)
        for index in reversed(range(len(self.spec.layers))):
            parameters = self.parameters[index]
            inputs = {"x": activations[index], **parameters, "dy": dy}
            out = self.run_layers[index](inputs, self.params[index], **self.backward_options[index])
            for name in parameters:
                self._apply(index, name, out[self.ops[index].gradients[name]])
            dy = out["dx"]
        return float(np.mean(loss["loss"]))

    def _apply(self, index, name, grad):
        inputs = {"param": self.parameters[index][name], "grad": grad}
        if self.spec.optimizer == "rmsprop":
            inputs["cache"] = self.caches[index][name]
        out = self.run_update(inputs, self.update_params)
        self.parameters[index][name] = np.asarray(out["param"], dtype=self.dtype)
        if "cache" in out:
            self.caches[index][name] = np.asarray(out["cache"], dtype=self.dtype)

    def parameter_arrays(self):
        return [{k: np.asarray(v, dtype=float) for k, v in layer.items()} for layer in self.parameters]


class TorchEngine:
    """The network as one torch graph: autograd for the gradients,
    torch.optim's SGD or RMSprop update (alpha = rho)."""

    def __init__(self, spec, parameters, dtype=np.float64, device="cpu"):
        torch = torch_ops.load(device)
        self.spec, self.torch, self.device = spec, torch, device
        self.torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
        self.parameters = [
            {
                k: torch.tensor(v, dtype=self.torch_dtype, device=device, requires_grad=True)
                for k, v in layer.items()
            }
            for layer in parameters
        ]
        self.leaves = [p for layer in self.parameters for p in layer.values()]
        options = spec.optimizer_params
        if spec.optimizer == "rmsprop":
            square_avgs = [torch.zeros_like(p) for p in self.leaves]
            rho, epsilon = options.get("rho", 0.9), options.get("epsilon", 1e-7)
            self.update = lambda grads: torch_ops.rmsprop_update(
                self.leaves, grads, square_avgs, spec.learning_rate, rho, epsilon
            )
        else:
            self.update = lambda grads: torch_ops.sgd_update(self.leaves, grads, spec.learning_rate)

    def _tensor(self, array):
        return self.torch.tensor(np.asarray(array), dtype=self.torch_dtype, device=self.device)

    def _forward(self, x):
        a = self._tensor(x)
        for layer, parameters in zip(self.spec.layers, self.parameters):
            params = registry.get(layer.op).with_defaults(layer.params)
            a = registry.get(layer.op).torch({"x": a, **parameters}, params)["y"]
        return a

    def predict(self, x):
        with self.torch.no_grad():
            return self._forward(x).cpu().numpy().astype(float)

    def step(self, x, y_true):
        for leaf in self.leaves:
            leaf.grad = None
        output = self._forward(x)
        loss = registry.get(self.spec.loss).torch({"y_true": self._tensor(y_true), "y_pred": output}, {})[
            "loss"
        ]
        loss = loss.mean()
        loss.backward()
        self.update([leaf.grad for leaf in self.leaves])  # every parameter takes part in the loss
        return float(loss.detach())

    def parameter_arrays(self):
        return [
            {k: v.detach().cpu().numpy().astype(float) for k, v in layer.items()} for layer in self.parameters
        ]


class NudgedTwin(LayerwiseEngine):
    """The NumPy engine, plus a random relative 2^-53 nudge of every parameter
    after every step: how far one unit of rounding per step carries."""

    def __init__(self, spec, parameters, seed=0):
        super().__init__(spec, parameters, "numpy")
        self.rng = np.random.default_rng(seed)

    def step(self, x, y_true):
        loss = super().step(x, y_true)
        for layer in self.parameters:
            for name, value in layer.items():
                layer[name] = value * (1.0 + self.rng.choice((-1.0, 1.0), value.shape) * 2.0**-53)
        return loss


def make_engine(label, spec, parameters, device="cpu"):
    """An engine from its label: reference, numpy or torch, optionally with
    a precision, e.g. numpy/float32 (default float64)."""
    name, _, precision = label.partition("/")
    dtype = {"": np.float64, "float64": np.float64, "float32": np.float32}.get(precision)
    if dtype is None or (name == "reference" and dtype != np.float64):
        raise ValueError(f"engine: unknown precision in {label!r} (float64, float32; reference is float64)")
    if name == "torch":
        return TorchEngine(spec, parameters, dtype, device)
    if name in ("reference", "numpy"):
        return LayerwiseEngine(spec, parameters, name, dtype)
    raise ValueError(f"engine: unknown {label!r} (reference, numpy, torch)")


def batches(spec, count):
    """[(epoch, indices)] for every step: the same order for every engine."""
    rng = np.random.default_rng(spec.seed + 1)
    steps = []
    for epoch in range(spec.epochs):
        order = rng.permutation(count) if spec.shuffle else np.arange(count)
        steps.extend((epoch, order[i : i + spec.batch_size]) for i in range(0, count, spec.batch_size))
    return steps


@dataclass(frozen=True)
class Divergence:
    step: int
    layer: int
    op: str
    parameter: str
    index: tuple
    values: dict  # engine -> value
    relative: float

    def describe(self):
        where = f"{self.parameter}" + "".join(f"[{i}]" for i in self.index)
        values = ", ".join(f"{engine} {value!r}" for engine, value in self.values.items())
        return (
            f"step {self.step}, layer {self.layer} ({self.op}), {where}: {values} "
            f"(relative divergence {self.relative:.3g} > {PARITY_REL:g})"
        )


def relative_divergence(a, b):
    """||a - b||_inf / ||a||_inf: the parity measure of one parameter array."""
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    return float(np.max(np.abs(a - b))) / scale if scale else float(np.max(np.abs(a - b), initial=0.0))


@dataclass
class EngineHistory:
    losses: list = field(default_factory=list)  # per step
    epoch_loss: list = field(default_factory=list)
    epoch_accuracy: list = field(default_factory=list)  # train accuracy after each epoch


@dataclass
class ParityRun:
    spec: object
    steps: int
    histories: dict  # engine -> EngineHistory
    max_divergence: dict  # (engine, engine) -> largest relative divergence seen
    first_divergence: Divergence = None  # the first disagreement
    first_amplified: Divergence = None  # past PARITY_REL, but within TWIN_FACTOR of the twin
    twin_drift: float = None  # the twin's divergence at first_amplified's step
    test_accuracy: dict = field(default_factory=dict)

    @property
    def ok(self):
        return self.first_divergence is None


def _largest_divergence(left, right):
    """(divergence, layer, parameter) of the parameter arrays that differ most."""
    return max(
        (
            (relative_divergence(a, right[index][name]), index, name)
            for index, layer in enumerate(left)
            for name, a in layer.items()
        ),
        default=(0.0, 0, ""),
    )


def _compare(spec, step, baseline, name, other, engine, run, twin_drift):
    left, right = baseline.parameter_arrays(), other.parameter_arrays()
    divergence, index, parameter = _largest_divergence(left, right)
    pair = (name, engine)
    run.max_divergence[pair] = max(run.max_divergence.get(pair, 0.0), divergence)
    if divergence <= PARITY_REL or run.first_divergence is not None:
        return
    a, b = left[index][parameter], right[index][parameter]
    where = np.unravel_index(int(np.argmax(np.abs(a - b))), a.shape)
    found = Divergence(
        step,
        index,
        spec.layers[index].op,
        parameter,
        tuple(int(i) for i in where),
        {name: float(a[where]), engine: float(b[where])},
        divergence,
    )
    if twin_drift is not None and divergence <= TWIN_FACTOR * twin_drift:
        if run.first_amplified is None:
            run.first_amplified, run.twin_drift = found, twin_drift
    else:
        run.first_divergence = found


def train(
    spec,
    split,
    engine_names=("numpy", "torch"),
    max_steps=None,
    device="cpu",
    on_epoch=None,
    evaluate=True,
    twin=False,
):
    """Train every engine in lockstep from one set of initial parameters,
    comparing all parameters of each engine with the first after every step.
    evaluate: measure train accuracy after each epoch and test accuracy at
    the end (costly for the pure-Python engine: prefixes leave it off).
    twin: also train a NudgedTwin, to tell amplified rounding (reported)
    from a disagreement (failed); the first engine must be float64 numpy."""
    if twin and engine_names[0] != "numpy":
        raise ValueError("twin: the first engine must be numpy (float64)")
    parameters = spec.initial_parameters()
    trainers = {name: make_engine(name, spec, parameters, device) for name in engine_names}
    shadow = NudgedTwin(spec, parameters, spec.seed) if twin else None
    targets = spec.targets(split.y_train)
    plan = batches(spec, len(split.x_train))
    if max_steps is not None:
        plan = plan[:max_steps]
    run = ParityRun(spec, len(plan), {name: EngineHistory() for name in trainers}, {})
    baseline_name, epoch_start = engine_names[0], 0
    for step, (epoch, indices) in enumerate(plan):
        x, y_true = split.x_train[indices], targets[indices]
        x.flags.writeable = y_true.flags.writeable = False  # one batch for every engine: read only
        for name, trainer in trainers.items():
            run.histories[name].losses.append(trainer.step(x, y_true))
        twin_drift = None
        if shadow is not None:
            shadow.step(x, y_true)
            twin_drift = _largest_divergence(
                trainers[baseline_name].parameter_arrays(), shadow.parameter_arrays()
            )[0]
        for name in engine_names[1:]:
            _compare(
                spec, step, trainers[baseline_name], baseline_name, trainers[name], name, run, twin_drift
            )
        if evaluate and (step == len(plan) - 1 or plan[step + 1][0] != epoch):
            _close_epoch(run, trainers, split, epoch, step + 1 - epoch_start, on_epoch)
            epoch_start = step + 1
    if evaluate:
        run.test_accuracy = {
            name: accuracy(trainer, split.x_test, split.y_test) for name, trainer in trainers.items()
        }
    return run


PREFIX_BATCH = 4


def reference_prefix(spec, split, engine_names, steps):
    """The pure-Python engine in lockstep with the others for a few steps
    of at most PREFIX_BATCH samples each (same network, same parameters)."""
    small = dataclasses.replace(spec, batch_size=min(spec.batch_size, PREFIX_BATCH))
    return train(small, split, ["reference", *engine_names], max_steps=steps, evaluate=False)


def _close_epoch(run, trainers, split, epoch, steps_in_epoch, on_epoch):
    for name, trainer in trainers.items():
        history = run.histories[name]
        history.epoch_loss.append(float(np.mean(history.losses[-steps_in_epoch:])))
        history.epoch_accuracy.append(accuracy(trainer, split.x_train, split.y_train))
    if on_epoch:
        on_epoch(epoch, run)


def accuracy(trainer, x, labels):
    return float(np.mean(network.predicted_labels(trainer.predict(x)) == np.asarray(labels)))
