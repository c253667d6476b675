"""Front door for a Python module with the reference's function names
(conv2d_forward, relu_backward, mse_prime, ...). Runs inside the worker
process (oracle.conformance.worker), never in the harness.

Every function of the module is called through a watcher that keeps a
copy of its arguments and reports any argument the call changed.
"""

import copy
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

import numpy as np

from oracle import engines, registry
from oracle.conformance import conventions as declared_conventions
from oracle.conformance import protocol


class Unavailable(Exception):
    """The implementation cannot be loaded; the message says why and where."""


class NotOffered(AttributeError):
    """The implementation has no function for this op (the case is skipped).
    An AttributeError, so that hasattr() on the watched module works."""


def load_module(target):
    """Import a module given as a dotted name, a .py file or a package folder
    (the working directory comes first on sys.path, as with `python -m`)."""
    path = Path(target)
    if target.endswith(".py") or path.is_file():
        if not path.is_file():
            raise Unavailable(f"cannot import {target}: no such Python file")
        folder, name = path.resolve().parent, path.stem
    elif path.is_dir():
        if not (path / "__init__.py").is_file():
            raise Unavailable(
                f"cannot import {target}: a folder without __init__.py is not a Python package "
                "(for a folder of layer classes use --layer-api)"
            )
        folder, name = path.resolve().parent, path.resolve().name
    else:
        folder, name = Path.cwd(), target
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    except BaseException as error:  # SystemExit and KeyboardInterrupt at import too
        raise Unavailable(f"cannot import {target}: {describe_failure(error)}") from None


def describe_failure(error):
    """'Type: message (file, line N)' of an exception raised by user code:
    the innermost frame outside the import machinery."""
    text = f"{type(error).__name__}: {error}".strip().rstrip(":")
    if isinstance(error, SystemExit):
        text = f"called sys.exit({error.code!r})"
    if isinstance(error, SyntaxError) and error.filename:
        return f"SyntaxError: {error.msg} ({error.filename}, line {error.lineno})"
    frames = [
        frame
        for frame in _frames(error)
        if "importlib" not in frame.filename and not frame.filename.startswith("<frozen")
    ]
    where = f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""
    return " ".join(text.split()) + where


def _frames(error):
    import traceback

    return traceback.extract_tb(error.__traceback__)


# ---- watching arguments ----


def _snapshot(value):
    return value.copy() if isinstance(value, np.ndarray) else copy.deepcopy(value)


def _changed(before, after):
    if isinstance(before, np.ndarray):
        return not (
            isinstance(after, np.ndarray)
            and before.shape == after.shape
            and np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
        )
    return protocol.encode(before) != protocol.encode(after)


# optimizer_update 'in_place': the arguments these functions may change.
UPDATED_IN_PLACE = {"sgd": (0,), "rmsprop": (0, 2)}


class _Watched:
    """The module's functions, each wrapped to record changed arguments
    (except those `allowed` to change: {function name: argument positions})."""

    def __init__(self, module, modified, allowed=None):
        self._module, self._modified, self._allowed = module, modified, allowed or {}

    def __getattr__(self, name):
        try:
            function = getattr(self._module, name)
        except AttributeError:
            raise NotOffered(f"{self._module.__name__} has no {name}") from None
        if not callable(function):
            return function

        def call(*args, **kwargs):
            before = [_snapshot(arg) for arg in args]
            result = function(*args, **kwargs)
            for index, (old, new) in enumerate(zip(before, args)):
                if index not in self._allowed.get(name, ()) and _changed(old, new):
                    self._modified.append(f"{_parameter_name(function, index)} (in {name})")
            return result

        return call


def _parameter_name(function, index):
    """The name of a function's index-th parameter (looked up only when an
    argument changed: inspecting the signature on every call costs)."""
    try:
        names = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        names = []
    return names[index] if index < len(names) else f"#{index + 1}"


class FunctionModule:
    """declaration: {key: value} from --conventions FILE, over the module's
    own CONVENTIONS (and its BATCH_FIRST, the older spelling of a layout
    with a batch axis)."""

    def __init__(self, target, batch_first=None, arrays=None, declaration=None):
        self.module = load_module(target)
        self.name = getattr(self.module, "__name__", target)
        option = lambda given, attribute: bool(  # noqa: E731
            getattr(self.module, attribute, False) if given is None else given
        )
        self.arrays = option(arrays, "ARRAYS")
        base = declared_conventions.Conventions().with_batch(option(batch_first, "BATCH_FIRST"))
        try:
            own = declared_conventions.parse(
                getattr(self.module, "CONVENTIONS", {}), f"{self.name}.CONVENTIONS", base
            )
            self.conventions = declared_conventions.parse(declaration or {}, "--conventions", own)
        except declared_conventions.ConventionError as error:
            raise Unavailable(str(error)) from None
        self.batch_first = self.conventions.batch_first
        self.notes = []

    def offered_ops(self):
        return None  # found per case: a missing function is a skip

    @property
    def takes_batches(self):
        return self.batch_first

    def outputs(self, op, params, inputs, batched=False):
        """(outputs, variants, modified) of one request."""
        modified = []
        backend = engines.Backend(
            self.name,
            _Watched(
                self.module,
                modified,
                UPDATED_IN_PLACE if self.conventions.optimizer_update == "in_place" else None,
            ),
            self.batch_first,
            self.arrays,
            self.conventions,
        )
        spec = registry.get(op)
        integer = self._class_indices(spec)
        inputs = {name: np.asarray(v, dtype=int) if name in integer else v for name, v in inputs.items()}
        if self.batch_first:  # a single sample gets a batch axis of 1 around the call
            return engines.run(spec, backend, inputs, params, batched=batched), {}, modified
        if batched:
            raise NotOffered(f"{self.name} takes one sample per call (BATCH_FIRST is not set)")
        params = spec.with_defaults(params)
        spec.check_call(inputs, params)
        values = (
            {name: v if name in integer else np.asarray(v, dtype=float) for name, v in inputs.items()}
            if self.arrays
            else inputs
        )
        # The outputs go back as the implementation returned them: the
        # harness judges what they are, strings and complex numbers included.
        return spec.for_backend(backend.namespace(), self.conventions)(values, params), {}, modified

    def _class_indices(self, spec):
        """Inputs that are class indices (labels 'index'): integers, not floats."""
        roles = spec.roles.items() if self.conventions.labels == "index" else ()
        return {name for name, role in roles if role == "labels"}
