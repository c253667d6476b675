"""A worker process the harness does not trust: started in a session of its
own (so that it and every child it starts form one process group that is
killed as a whole), under a memory limit, with its stderr drained into a
bounded tail and its stdout read line by line against a deadline. oracle's
own Python worker is forked by the zygote (oracle.conformance.zygote),
every other program started as it is.
"""

import collections
import os
import resource
import selectors
import signal
import subprocess
import threading
import time

from oracle.conformance.protocol import MAX_LINE_BYTES
from oracle.conformance.zygote import ForkedWorker, zygote

STDERR_KEPT = 16 * 1024  # bytes of the worker's stderr kept for messages


class WorkerGone(Exception):
    """The worker cannot answer: it timed out (and was killed) or it died.
    The message says which, with the exit status and the stderr tail."""


def _limit_memory(megabytes):
    def apply():
        limit = megabytes * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


# Workers started and not yet killed. Each is in a session of its own, out of
# reach of a signal to the harness's process group: kill_all() ends them when
# the harness is stopped from outside.
_LIVE = set()


def kill_all():
    """SIGKILL to the process group of every worker this process started that
    is still alive, and to the zygote, waiting for nothing: for a signal
    handler, whose thread may be in the middle of any of them."""
    for worker in list(_LIVE):
        worker.signal_group()
    zygote.kill()


class WorkerProcess:
    def __init__(self, argv, memory_mb=None, cwd=None):
        self.argv, self.memory_mb = list(argv), memory_mb
        self.process = zygote.start(self.argv, memory_mb, cwd)  # oracle's own worker, forked
        if self.process is None:
            try:
                self.process = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    cwd=cwd,
                    start_new_session=True,
                    preexec_fn=_limit_memory(memory_mb) if memory_mb else None,
                )
            except OSError as error:
                raise WorkerGone(f"cannot start {self.argv[0]!r}: {error.strerror or error}") from None
        _LIVE.add(self)
        self._buffer = b""
        self._stdout = self.process.stdout.fileno()
        os.set_blocking(self._stdout, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._stdout, selectors.EVENT_READ)
        self._stderr = collections.deque()
        self._stderr_size = 0
        self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drain.start()

    # ---- stderr ----

    def _drain_stderr(self):
        for chunk in iter(lambda: self.process.stderr.read1(65536), b""):
            self._stderr.append(chunk)
            self._stderr_size += len(chunk)
            while self._stderr_size - len(self._stderr[0]) >= STDERR_KEPT:
                self._stderr_size -= len(self._stderr.popleft())

    def stderr_tail(self, lines=3, chars=300):
        """The last lines the worker wrote to stderr, decoded with
        replacement, joined by ' | ', at most `chars` long ('' if none)."""
        text = b"".join(self._stderr)[-STDERR_KEPT:].decode("utf-8", errors="replace")
        kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
        joined = " | ".join(kept)
        return joined if len(joined) <= chars else "..." + joined[-chars:]

    # ---- stdout ----

    def send(self, data):
        """Write bytes to the worker's stdin (WorkerGone if it is closed)."""
        try:
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise WorkerGone(self.death()) from None

    def read_line(self, timeout):
        """The next line the worker writes, without its newline. On timeout
        the worker is killed; at end of output it is reaped; both raise
        WorkerGone saying what happened."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_LINE_BYTES:
                self.kill()
                raise WorkerGone(
                    f"wrote a line longer than {MAX_LINE_BYTES // 2**20} MiB; the worker was killed"
                )
            left = deadline - time.monotonic()
            if left <= 0 or not self._selector.select(left):
                if time.monotonic() < deadline:
                    continue
                self.kill()
                raise WorkerGone(f"timed out after {timeout:g} s; the worker was killed")
            try:
                chunk = os.read(self._stdout, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                raise WorkerGone(self.death())
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def read_until_exit(self, timeout):
        """Everything the worker writes to stdout until it exits (not until
        end of output: a child it left behind may hold stdout open)."""
        deadline = time.monotonic() + timeout
        chunks = [self._buffer]
        self._buffer = b""
        while not self.exited():
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise WorkerGone(f"timed out after {timeout:g} s; the command was killed")
            if self._selector.get_map() and self._selector.select(min(left, 0.05)):
                chunk = self._read_available()
                if chunk == b"":  # end of output: only the exit is left to wait for
                    self._selector.unregister(self._stdout)
                chunks.append(chunk or b"")
            elif not self._selector.get_map():
                time.sleep(0.01)
            if sum(map(len, chunks)) > MAX_LINE_BYTES:
                self.kill()
                raise WorkerGone(f"wrote more than {MAX_LINE_BYTES // 2**20} MiB; the command was killed")
        chunks.append(self._read_available() or b"")
        return b"".join(chunks)

    def _read_available(self):
        try:
            return os.read(self._stdout, 1 << 20)
        except (BlockingIOError, ValueError, OSError):
            return None

    # ---- the end ----

    def death(self):
        """Why the worker stopped answering: says how it ended (after
        killing what is left of its process group)."""
        deadline = time.monotonic() + 5
        while not self.exited() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self.exited():
            self.kill()
            return "closed its output but did not exit; the worker was killed" + self._tail()
        status = self.kill()
        return f"the worker {describe_status(status)}{self._tail()}"

    def exited(self):
        """Whether the worker has exited, without reaping it: its process
        group id stays ours to kill until kill() reaps it."""
        if self.process.returncode is not None:
            return True
        if isinstance(self.process, ForkedWorker):
            return self.process.exited()
        try:
            return os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def _tail(self):
        self._drain.join(timeout=1)
        tail = self.stderr_tail()
        return f"; stderr: {tail}" if tail else ""

    def signal_group(self):
        """SIGKILL to the worker's whole process group (while it is not reaped,
        its process group id is still its own)."""
        if self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def kill(self):
        """SIGKILL to the worker's whole process group, then reap the
        worker; returns its exit status."""
        _LIVE.discard(self)
        self.signal_group()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._selector.close()
        return self.process.returncode

    def close(self, grace=2.0):
        """End of the run: close stdin (the worker's cue to exit), give it
        `grace` seconds, then kill whatever is left of its process group."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        deadline = time.monotonic() + grace
        while not self.exited() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.kill()
        self._drain.join(timeout=1)


def run_once(argv, data, timeout, memory_mb=None):
    """Start argv, write `data` and end of input, and read its stdout until
    it exits: (output, exit status, stderr tail). The process group is
    killed either way, children included. WorkerGone if it cannot start or
    runs past `timeout`."""
    process = WorkerProcess(argv, memory_mb)
    try:
        try:
            process.send(data)
            process.process.stdin.close()
        except (WorkerGone, OSError):
            pass  # it may exit without reading; its status tells
        output = process.read_until_exit(timeout)
    finally:
        status = process.kill()
    return output, status, process.stderr_tail()


def describe_status(status):
    """'exited with status 3' or 'was killed by signal 11 (SIGSEGV)'."""
    if status is None:  # its parent, the zygote, died before it: nobody told its status
        return "ended; its exit status is unknown"
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = "unknown signal"
        hint = {"SIGSEGV": ", a segmentation fault", "SIGKILL": ", perhaps the memory limit"}.get(name, "")
        return f"was killed by signal {-status} ({name}{hint})"
    return f"exited with status {status}"
