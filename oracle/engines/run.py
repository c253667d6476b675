"""Running one op on one engine: reference (pure Python), numpy, scipy,
torch. Inputs and outputs are NumPy arrays (or nested lists) in the
fixture format; `batched` says the per-sample inputs carry a leading
batch axis, on which the reference loops and the others vectorize.
"""

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from oracle.engines import numpy_ops, torch_ops

ENGINES = ("reference", "numpy", "scipy", "torch")


@dataclass(frozen=True)
class Backend:
    """Any module with the reference's function names (conv2d_forward,
    sigmoid_backward, binary_cross_entropy_prime, ...), e.g. an
    implementation under test. batch_first: its functions take a leading
    batch axis on per-sample arguments, like oracle.numpy_ops; otherwise
    one sample, like reference/. arrays: pass NumPy arrays instead of
    nested lists (batch-first backends always get arrays)."""

    name: str
    module: object
    batch_first: bool = False
    arrays: bool = False
    conventions: object = (
        None  # its declared conventions choose how some ops are called (registry.call_forms)
    )

    def namespace(self):
        """The module, with the harness' shape helpers where it has none."""
        if self.batch_first:
            helpers = numpy_ops
        else:
            helpers = _ONE_SAMPLE_ARRAYS if self.arrays else __import__("reference")
        return _WithHelpers(self.module, helpers)


# One sample as a NumPy array: its whole shape (numpy_ops's leaves out a batch axis).
_ONE_SAMPLE_ARRAYS = SimpleNamespace(
    shape=lambda x, name="x": tuple(np.shape(x)), bias_mode=numpy_ops.bias_mode
)


class _WithHelpers:
    """Attribute lookup on the module first, then `shape` and `bias_mode`
    (harness helpers, not ops) from the matching engine."""

    HELPERS = ("shape", "bias_mode")

    def __init__(self, module, helpers):
        self._module, self._helpers = module, helpers

    def __getattr__(self, name):
        if hasattr(self._module, name) or name not in self.HELPERS:
            return getattr(self._module, name)
        return getattr(self._helpers, name)


def torch_available():
    """(True, '') or (False, the reason the torch engine cannot run)."""
    try:
        torch_ops.load()
    except ImportError as error:
        return False, f"torch is not installed ({error}); install the 'torch' extra"
    return True, ""


def cuda_available():
    ok, reason = torch_available()
    if not ok:
        return ok, reason
    if not torch_ops.torch.cuda.is_available():
        return False, "no CUDA device visible to torch"
    return True, ""


def _floats(value, dtype):
    """An input as an array of dtype; integer arrays (class indices) stay integers."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        return value
    return np.asarray(value, dtype=dtype)


def _to_lists(value):
    return value.tolist() if isinstance(value, np.ndarray) else value


def _run_single(spec, run_case, inputs, params, batched, per_sample=False, arrays=False):
    """A single-sample engine (the reference, or a backend like it); on a
    batch it loops over the samples and sums the shared inputs' gradients."""
    convert = (lambda v: np.asarray(v, dtype=float)) if arrays else _to_lists
    values = {name: convert(value) for name, value in inputs.items()}
    if not (batched and spec.batch_inputs):
        return {k: np.asarray(v) for k, v in run_case(values, params).items()}
    batch = len(values[spec.batch_inputs[0]])
    results = [
        run_case({k: (v[n] if k in spec.batch_inputs else v) for k, v in values.items()}, params)
        for n in range(batch)
    ]
    outputs = {}
    for name in results[0]:
        stacked = np.array([np.asarray(sample[name], dtype=float) for sample in results])
        outputs[name] = stacked.sum(axis=0) if name in spec.summed_outputs and not per_sample else stacked
    return outputs


def _run_torch(spec, arrays, params, device):
    torch = torch_ops.load(device)
    tensors = {name: torch.tensor(value, device=device) for name, value in arrays.items()}
    wanted = [name for name in spec.gradients if "dy" in tensors or spec.forward == "loss"]
    for name in wanted:
        tensors[name].requires_grad_(True)
    outputs = spec.torch(tensors, params)
    result = {name: value.detach().cpu().numpy() for name, value in outputs.items()}
    if wanted:
        target = outputs[spec.forward]
        objective = (target * tensors["dy"]).sum() if "dy" in tensors else target.sum()
        grads = torch.autograd.grad(objective, [tensors[name] for name in wanted])
        for name, grad in zip(wanted, grads):
            if name in spec.batch_mean:
                grad = grad / tensors["x"].shape[0]
            result[spec.gradients[name]] = grad.detach().cpu().numpy()
    return result


def run(spec, engine, inputs, params, batched=False, dtype=np.float64, device="cpu", per_sample=False):
    """Outputs of `engine` for one case (or one batch) of op `spec`.

    per_sample (batched reference and numpy runs of ops with shared
    parameters): keep the batch axis on parameter gradients instead of
    summing them, one gradient per sample.
    """
    params = spec.with_defaults(params)
    spec.check_call(inputs, params)
    if engine == "reference":
        return _run_single(spec, spec.reference, inputs, params, batched, per_sample)
    if isinstance(engine, Backend):
        run_case = spec.for_backend(engine.namespace(), engine.conventions)
        if not engine.batch_first:
            return _run_single(spec, run_case, inputs, params, batched, per_sample, engine.arrays)
    elif getattr(spec, engine) is None:
        raise ValueError(f"op {spec.name}: no {engine} engine")
    else:
        run_case = getattr(spec, engine)
    arrays = {name: _floats(value, dtype) for name, value in inputs.items()}
    add_batch = not batched and bool(spec.batch_inputs)
    if add_batch:
        arrays = {k: (v[None] if k in spec.batch_inputs else v) for k, v in arrays.items()}
    if engine == "torch":
        outputs = _run_torch(spec, arrays, params, device)
    else:
        options = {"per_sample": True} if per_sample and batched and spec.summed_outputs else {}
        outputs = {name: np.asarray(value) for name, value in run_case(arrays, params, **options).items()}
    if add_batch:
        outputs = {k: (v if k in spec.summed_outputs else v[0]) for k, v in outputs.items()}
    return outputs
