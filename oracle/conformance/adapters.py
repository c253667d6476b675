"""The implementation under test as the harness sees it: one call,
`outputs(spec, inputs, params) -> Reply`, whatever runs behind it.

- BuiltinEngine: one of the suite's own engines, trusted, in this process.
- StreamingWorker: anything else, in a worker process speaking the
  streaming protocol (docs/protocol.md): oracle's own Python worker for a
  function module or a layer folder, or any program (`--command`).
- OneShotCommand: a program started once per case (the slow path, for
  programs written before the streaming protocol).

A fault of the implementation (a timeout, a crash, a bad reply) raises
ImplementationFault with a one-line reason and fails that case only: the
worker is killed with its process group and a fresh one serves the next.
An implementation that cannot be loaded at all raises
ImplementationUnavailable when the run starts.
"""

import json
import shlex
import sys
from dataclasses import dataclass, field

import numpy as np

from oracle import engines
from oracle.conformance import conventions as declared_conventions
from oracle.conformance import process, protocol
from oracle.conformance.process import WorkerGone, WorkerProcess, run_once

DEFAULT_TIMEOUT = 10.0  # seconds per case
START_TIMEOUT = 120.0  # seconds for a worker to import and answer the handshake: generous on a busy machine
DEFAULT_MEMORY_MB = 4096  # address-space limit of a worker; 0 for none
PROTOCOLS = ("auto", "streaming", "one-shot")


class NotImplementedByTarget(Exception):
    """The implementation does not offer this op or case (a skip, with why)."""


class ImplementationFault(Exception):
    """This case fails: the implementation timed out, crashed, raised or
    broke the protocol. The message is one line."""


class ImplementationUnavailable(Exception):
    """The implementation cannot be used at all (import failure, no
    handshake): the run reports it once and exits 2."""


@dataclass
class Reply:
    outputs: dict
    variants: dict = field(default_factory=dict)  # e.g. {"learning_rate=0.25": backward outputs}
    omitted: dict = field(default_factory=dict)  # output -> why it is not checked (its conventions)


def one_line(text, limit=400):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class BuiltinEngine:
    """One of the suite's own engines (reference, numpy, scipy, torch),
    computing in dtype (the reference computes in float64 only)."""

    def __init__(self, engine, dtype="float64"):
        if engine == "reference" and dtype != "float64":
            raise ValueError(f"the reference engine computes in float64 only, not {dtype}")
        self.engine, self.dtype = engine, np.dtype(dtype)
        self.name = engine if dtype == "float64" else f"{engine} ({dtype})"
        self.notes = []
        self.batch = True
        self.conventions = declared_conventions.Conventions().with_batch(True)

    def start(self):
        return self

    def offers(self, op):
        return True

    def outputs(self, spec, inputs, params, batched=False):
        if self.engine not in spec.engines:
            raise NotImplementedByTarget(f"the {self.engine} engine has no {spec.name}")
        with np.errstate(over="ignore"):  # float32 overflow is judged, not warned about
            return Reply(engines.run(spec, self.engine, inputs, params, batched, dtype=self.dtype))

    def close(self):
        pass


class StreamingWorker:
    """A worker process serving the whole run; restarted after a fault.
    conventions: a declaration ({key: value}, from --conventions FILE) over
    the one in the worker's handshake."""

    def __init__(self, argv, name, timeout=DEFAULT_TIMEOUT, memory_mb=DEFAULT_MEMORY_MB, conventions=None):
        self.argv, self.name = list(argv), name
        self.timeout, self.memory_mb = timeout, memory_mb
        self.declaration = dict(conventions or {})
        process.zygote.launch(self.argv)  # if it will fork the worker, it imports meanwhile
        self.ops, self.notes, self.batch = None, [], False
        self.conventions = declared_conventions.Conventions()
        self.process = None
        self.requests = 0
        self.restarts = 0

    def start(self):
        """Start the worker and take its handshake (ImplementationUnavailable
        if it cannot be had)."""
        try:
            self.process = WorkerProcess(self.argv, self.memory_mb)
            self.process.send(protocol.dump_line(protocol.hello()))
            line = self.process.read_line(START_TIMEOUT)
            handshake = protocol.check_handshake(protocol.parse_line(line, "handshake"))
        except WorkerGone as gone:
            self.close()
            raise ImplementationUnavailable(f"{self.name}: no handshake: {gone}") from None
        except protocol.ProtocolError as error:
            self.close()
            raise ImplementationUnavailable(one_line(error, 2000)) from None
        self.ops, self.notes = handshake.ops, handshake.notes
        self.conventions = declared_conventions.parse(
            self.declaration, "--conventions", base=handshake.conventions
        )
        self.batch = self.conventions.batch_first
        self.name = handshake.implementation or self.name
        return self

    def offers(self, op):
        return self.ops is None or op in self.ops

    def outputs(self, spec, inputs, params, batched=False):
        if self.process is None:
            try:
                self.start()
            except ImplementationUnavailable as error:
                raise ImplementationFault(f"the worker could not be restarted: {error}") from None
            self.restarts += 1
        self.requests += 1
        message = protocol.request(self.requests, spec.name, spec.with_defaults(params), inputs, batched)
        try:
            self.process.send(protocol.dump_line(message))
            line = self.process.read_line(self.timeout)
            kind, content, extra = protocol.check_reply(protocol.parse_line(line, "reply"), self.requests)
        except WorkerGone as gone:
            self.process = None  # killed; the next case gets a fresh worker
            raise ImplementationFault(one_line(gone)) from None
        except protocol.ProtocolError as error:
            self._discard()
            raise ImplementationFault(one_line(f"broke the protocol: {error}")) from None
        if kind == "not_implemented":
            raise NotImplementedByTarget(one_line(content))
        if kind == "error":
            if "MemoryError" in content and self.memory_mb:
                content += f" (the worker's memory limit is {self.memory_mb} MiB)"
            raise ImplementationFault(one_line(content))
        if extra["modified"]:
            raise ImplementationFault(
                one_line(f"modified its argument {', '.join(extra['modified'])} in place")
            )
        return Reply(content, extra["variants"])

    def _discard(self):
        if self.process is not None:
            self.process.kill()
            self.process = None

    def close(self):
        if self.process is not None:
            self.process.close()
            self.process = None


class OneShotCommand:
    """A program started once per case: the request on stdin (then end of
    input), the reply object on stdout, then exit. Slow: a process start
    per case."""

    def __init__(self, argv, name, timeout=DEFAULT_TIMEOUT, memory_mb=DEFAULT_MEMORY_MB, conventions=None):
        self.argv, self.name = list(argv), name
        self.timeout, self.memory_mb = timeout, memory_mb
        self.conventions = declared_conventions.parse(conventions or {}, "--conventions")
        self.batch = self.conventions.batch_first
        self.notes = [
            "one process per case (the slow path): this program does not speak the streaming protocol"
        ]

    def start(self):
        return self

    def offers(self, op):
        return True

    def outputs(self, spec, inputs, params, batched=False):
        message = protocol.request(0, spec.name, spec.with_defaults(params), inputs, batched)
        del message["id"]
        try:
            output, status, tail = run_once(
                self.argv, protocol.dump_line(message), self.timeout, self.memory_mb
            )
        except WorkerGone as gone:
            raise ImplementationFault(one_line(gone)) from None
        if status != 0:
            raise ImplementationFault(
                one_line(f"the command exited with status {status}" + (f": {tail}" if tail else ""))
            )
        try:
            reply = protocol.parse_line(output.strip() or b"<nothing>", "command output")
        except protocol.ProtocolError as error:
            raise ImplementationFault(one_line(error)) from None
        if "not_implemented" in reply:
            raise NotImplementedByTarget(one_line(f"command: {reply['not_implemented']}"))
        if "error" in reply:
            raise ImplementationFault(one_line(reply["error"]))
        return Reply(reply.get("outputs", reply))

    def close(self):
        pass


# ---- the three front doors ----


def _worker(*options):
    return [sys.executable, "-m", "oracle.conformance.worker", *options]


def _declaring(options, conventions):
    """Worker options carrying a --conventions declaration: the worker
    chooses call forms (maxpool_backward, batch-first) from it."""
    return options + (["--conventions", json.dumps(conventions)] if conventions else [])


def function_module(target, batch_first=None, arrays=None, conventions=None, **limits):
    """A Python module with the reference's function names (dotted name, .py
    file or package folder), served by oracle's worker."""
    if not target or not str(target).strip():
        raise ValueError("the module name is empty")
    options = ["--module", str(target)] + ["--batch-first"] * bool(batch_first) + ["--arrays"] * bool(arrays)
    return StreamingWorker(
        _worker(*_declaring(options, conventions)), str(target), conventions=conventions, **limits
    )


def layer_folder(folder, config=None, conventions=None, **limits):
    """A folder of document-style layer classes, served by oracle's worker."""
    if not folder or not str(folder).strip():
        raise ValueError("the layer folder is empty")
    options = ["--layer-api", str(folder)] + (["--layer-config", str(config)] if config else [])
    return StreamingWorker(
        _worker(*_declaring(options, conventions)), str(folder), conventions=conventions, **limits
    )


def command(text, protocol_name="auto", **limits):
    """Any program. 'auto' starts it once with the hello line and end of
    input: a streaming program answers with its handshake, an older
    one-shot program with something else (or nothing)."""
    argv = shlex.split(text or "")
    if not argv:
        raise ValueError("the command is empty")
    if protocol_name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol_name!r} (known: {', '.join(PROTOCOLS)})")
    if protocol_name == "auto":
        protocol_name = "streaming" if _speaks_streaming(argv, limits) else "one-shot"
    kind = StreamingWorker if protocol_name == "streaming" else OneShotCommand
    return kind(argv, text, **limits)


def _speaks_streaming(argv, limits):
    hello = protocol.dump_line(protocol.hello())
    try:
        output, _, _ = run_once(argv, hello, START_TIMEOUT, limits.get("memory_mb", DEFAULT_MEMORY_MB))
    except WorkerGone as gone:
        raise ImplementationUnavailable(
            one_line(f"{' '.join(argv)}: no answer to the hello line: {gone}")
        ) from None
    try:
        return protocol.parse_line(output.split(b"\n", 1)[0]).get("protocol") == protocol.NAME
    except protocol.ProtocolError:
        return False
