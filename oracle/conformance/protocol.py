"""The streaming worker protocol (docs/protocol.md): JSON Lines over the
worker's stdin and stdout, a handshake, then one request and one reply per
line. This module is the one place that writes and reads its messages and
values; both sides (the harness and oracle's own Python worker) use it.

Values are JSON numbers, nested arrays of them, or one of the strings
"NaN", "Infinity", "-Infinity" for the non-finite floats JSON cannot
spell. The Python worker reports any other value it is handed as
{"type": ..., "repr": ...}, so that the harness can name what it got.
"""

import json
import math
import numbers
from dataclasses import dataclass

import numpy as np

from oracle.conformance import conventions as declared_conventions

NAME = "cnn-oracle-worker"
VERSION = 1
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
MAX_LINE_BYTES = 64 * 2**20  # a reply larger than this is a fault, not a case


class ProtocolError(ValueError):
    """A message that breaks the protocol, with what was wrong."""


class InvalidValue(ValueError):
    """An output that is not a real number or an array of them."""


# ---- messages ----


def dump_line(message):
    """One message as one line of UTF-8 bytes (ending with a newline)."""
    return (json.dumps(message, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")


def parse_line(line, what="message"):
    """A JSON object from one line of bytes (ProtocolError otherwise)."""
    try:
        message = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ProtocolError(f"{what} is not UTF-8 (byte {error.object[error.start]:#04x})") from None
    except (json.JSONDecodeError, ValueError, RecursionError) as error:
        raise ProtocolError(f"{what} is not JSON ({error}): {_excerpt(line)}") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"{what} is not a JSON object: {_excerpt(line)}")
    return message


def _excerpt(line, limit=120):
    text = line.decode("utf-8", errors="replace").strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def hello():
    """The harness's first line."""
    return {"protocol": NAME, "version": VERSION}


@dataclass(frozen=True)
class Handshake:
    implementation: str  # a name for the report ('' if none was given)
    ops: list  # the ops offered, or None for every op
    notes: list  # lines for the report
    batch: bool  # it takes batches: per-sample inputs with a leading batch axis
    conventions: object  # the Conventions it declared (oracle.conformance.conventions)


def check_handshake(message):
    """The worker's Handshake; ProtocolError if it is not one. The worker's
    own error (it could not load the implementation) is raised as
    ProtocolError too, verbatim."""
    if message.get("protocol") != NAME:
        raise ProtocolError(f'expected a handshake with "protocol": "{NAME}", got {_short(message)}')
    if message.get("version") != VERSION:
        version = message.get("version")
        raise ProtocolError(f"speaks version {version!r} of the protocol; the harness speaks {VERSION}")
    if "error" in message:
        raise ProtocolError(str(message["error"]))
    ops = message.get("ops")
    if ops is not None and not (isinstance(ops, list) and all(isinstance(op, str) for op in ops)):
        raise ProtocolError(f'handshake: "ops" must be a list of op names, got {_short(ops)}')
    notes = message.get("notes", [])
    if not (isinstance(notes, list) and all(isinstance(note, str) for note in notes)):
        raise ProtocolError(f'handshake: "notes" must be a list of strings, got {_short(notes)}')
    batch = message.get("batch", False)
    if not isinstance(batch, bool):
        raise ProtocolError(f'handshake: "batch" must be true or false, got {_short(batch)}')
    declared = message.get("conventions", {})
    try:
        conventions = declared_conventions.parse(
            declared, 'handshake: "conventions"', base=declared_conventions.Conventions().with_batch(batch)
        )
    except declared_conventions.ConventionError as error:
        raise ProtocolError(str(error)) from None
    if "batch" in message and conventions.batch_first != batch:
        raise ProtocolError(
            f'handshake: "batch" is {json.dumps(batch)} but the declared layout {conventions.layout!r} '
            f"{'has' if conventions.batch_first else 'has no'} batch axis"
        )
    return Handshake(str(message.get("implementation", "")), ops, notes, conventions.batch_first, conventions)


def _short(value, limit=120):
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "..."


def request(number, op, params, inputs, batched=False):
    message = {"id": number, "op": op, "params": params, "inputs": {k: encode(v) for k, v in inputs.items()}}
    return {**message, "batched": True} if batched else message


REPLY_KINDS = ("outputs", "not_implemented", "error")


def check_reply(message, number):
    """(kind, content, extra) of the reply to request `number`; extra holds
    the optional "variants" and "modified" fields."""
    if message.get("id") != number:
        raise ProtocolError(f"reply to request {number} carries id {_short(message.get('id'))}")
    kinds = [kind for kind in REPLY_KINDS if kind in message]
    if len(kinds) != 1:
        raise ProtocolError(f"a reply holds exactly one of {', '.join(REPLY_KINDS)}; got {_short(message)}")
    kind, content = kinds[0], message[kinds[0]]
    if kind == "outputs" and not isinstance(content, dict):
        raise ProtocolError(f'"outputs" must be an object of named values, got {_short(content)}')
    if kind != "outputs":
        content = str(content)
    variants = message.get("variants", {})
    if not (isinstance(variants, dict) and all(isinstance(v, dict) for v in variants.values())):
        raise ProtocolError(f'"variants" must map names to objects of outputs, got {_short(variants)}')
    modified = message.get("modified", [])
    if not (isinstance(modified, list) and all(isinstance(name, str) for name in modified)):
        raise ProtocolError(f'"modified" must be a list of input names, got {_short(modified)}')
    return kind, content, {"variants": variants, "modified": modified}


# ---- values ----


def encode(value):
    """A value as protocol JSON: arrays and numbers, non-finite floats as
    strings; strings, booleans and None as JSON has them; anything else as
    {"type", "repr"} (never an exception)."""
    if type(value) is float:  # most values: told before the slower checks below
        return _real(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iu":
            return value.tolist()
        if value.dtype.kind == "f":
            if np.isfinite(value).all():
                return value.tolist()
            return [encode(item) for item in value] if value.ndim else encode(float(value))
        return [encode(item) for item in value] if value.ndim and value.dtype == object else _other(value)
    if isinstance(value, (list, tuple)):
        if all(type(item) is float for item in value) and all(map(math.isfinite, value)):  # a row of numbers
            return list(value)
        return [encode(item) for item in value]
    if value is None or isinstance(value, (bool, np.bool_, str)):
        return (
            value if not isinstance(value, np.bool_) else bool(value)
        )  # JSON has these: the harness names them
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return _real(float(value))
    return _other(value)


def _real(number):
    if math.isnan(number):
        return "NaN"
    return number if math.isfinite(number) else ("Infinity" if number > 0 else "-Infinity")


ARRAY_KINDS = {"U": "strings", "S": "bytes", "c": "complex numbers", "b": "booleans", "O": "objects"}


def _other(value):
    text = " ".join(repr(value).split())
    kind = type(value).__name__
    if isinstance(value, np.ndarray):
        kind = f"an array of {ARRAY_KINDS.get(value.dtype.kind, str(value.dtype))} ({value.dtype})"
    return {"type": kind, "repr": text if len(text) <= 80 else text[:80] + "..."}


def decode_inputs(inputs):
    """Request inputs as Python values: the non-finite strings become floats."""
    return {name: _decode(value) for name, value in inputs.items()}


def _decode(value):
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    return value


def real_array(value, name):
    """A float array from a decoded output value; InvalidValue naming the
    first thing that is not a real number (strings other than the three
    non-finite spellings, booleans, null, objects) or a ragged nesting."""
    flat = []
    shape = _collect(value, name, flat)
    return np.array(flat, dtype=float).reshape(shape)


def _collect(value, where, flat):
    """The shape of `value`, its numbers appended to flat."""
    if not isinstance(value, list):
        flat.append(_number(value, where))
        return ()
    if value and all(type(item) is float for item in value):  # fast path: a row of floats
        flat.extend(value)
        return (len(value),)
    shape = None
    for index, item in enumerate(value):
        inner = _collect(item, f"{where}[{index}]", flat)
        if shape is None:
            shape = inner
        elif inner != shape:
            raise InvalidValue(f"{where}: ragged nesting ({where}[{index}] has shape {inner}, not {shape})")
    return (len(value),) + (shape or ())


def _number(value, where):
    if type(value) is float:
        return value
    if type(value) is int:
        if abs(value) > FLOAT_MAX_INT:
            raise InvalidValue(f"{where}: an integer too large for a float ({_digits(value)})")
        return value
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    if isinstance(value, bool):
        raise InvalidValue(f"{where}: got a boolean ({json.dumps(value)}), not a number")
    if value is None:
        raise InvalidValue(f"{where}: got null (None), not a number")
    if isinstance(value, str):
        raise InvalidValue(f"{where}: got a string {_short(json.dumps(value), 40)}, not a number")
    if isinstance(value, dict) and set(value) == {"type", "repr"}:
        raise InvalidValue(f"{where}: got {value['type']} {value['repr']}, not a real number")
    raise InvalidValue(f"{where}: got {type(value).__name__} {_short(value, 40)}, not a number")


FLOAT_MAX_INT = int(np.finfo(float).max)


def _digits(value):
    return f"{len(str(abs(value)))} digits"
