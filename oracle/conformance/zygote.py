"""A parent for oracle's own Python workers: one process per harness that has
imported what every worker imports (NumPy, the worker's modules) and forks
a worker on request, where a fresh interpreter would import them all again
(some 0.3 s of CPU a worker; a run restarts its worker after every fault).

It is started fresh, never forked from the harness: it holds no case and no
expected value, and it never imports an implementation (before its first
layer-folder worker it imports what the documents' layers import,
LAYER_FOLDER_IMPORTS). A worker forked from it is what `python -m
oracle.conformance.worker` would be: a process in a session of its own,
under its own memory limit, with the harness's current directory and
environment, its stdin, stdout and stderr the pipes the harness passed.
The variables the interpreter reads as it starts (PYTHON*) are the
zygote's: a worker asked for after they changed, or when no zygote can be
had, is started as any program is. Like multiprocessing's forkserver, the
zygote lives as long as the harness process: it is killed at the harness's
exit (close()) or stop (kill()), and exits by itself when the harness's end
of its socket closes. A zygote that dies after it has served (a worker may
kill its parent) is replaced at the next start, so that no worker is ever
the harness's own child; the workers it leaves are asked about through
/proc, their exit status unknown.

The harness speaks to it over a socket of its own, one JSON object per
message, the worker's three pipe ends passed with a start request:
    {"start": [worker args], "cwd": ..., "env": {...}, "memory_mb": ...} -> {"pid": N} or {"error": ...}
    {"exited": N} -> {"exited": bool}  (without reaping it)
    {"reap": N, "timeout": seconds} -> {"status": exit status} or {"running": true}
"""

import atexit
import importlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import warnings

WORKER = [sys.executable, "-m", "oracle.conformance.worker"]
# What the documents' layer classes import, that every worker of a layer
# folder would import again (scipy.signal: some 1.6 s): imported in the
# zygote, once, before it forks its first layer-folder worker.
LAYER_FOLDER_IMPORTS = ("scipy.signal",)
MESSAGE_BYTES = 1 << 16  # a request's largest: one socket message (a larger environment: no zygote)
READY_TIMEOUT = 120.0  # seconds for the zygote to import and say so: generous on a busy machine


# ---- the zygote ----


def serve(control_fd):
    """The zygote's loop, until the harness closes its end of the socket."""
    import numpy  # noqa: F401  what every worker imports

    from oracle.conformance import worker

    filters = list(warnings.filters)  # a worker starts with the interpreter's own
    preloaded = False
    control = socket.socket(fileno=control_fd)
    control.send(b'{"ready": true}')
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, MESSAGE_BYTES, 3)
        except OSError:
            return
        if not data:
            return
        request = json.loads(data)
        if "start" in request:
            if "--layer-api" in request["start"] and not preloaded:
                preloaded = _preload(LAYER_FOLDER_IMPORTS)
            try:
                pid = os.fork()
            except OSError as error:  # the harness tries a plain start, which tells
                reply = {"error": str(error)}
            else:
                if pid == 0:
                    _become_worker(request, fds, control, worker, filters)
                reply = {"pid": pid}
            for fd in fds:
                os.close(fd)
        elif "exited" in request:
            reply = {"exited": _exited(request["exited"])}
        else:
            reply = _reap(request["reap"], request["timeout"])
        control.send(json.dumps(reply).encode())


def _preload(modules):
    """Imports what can be imported of `modules` (a missing one is the
    worker's to report); True, as they are tried once."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  anything an import raises is the worker's concern
            pass
    return True


def _become_worker(request, fds, control, worker, filters):
    """In the forked child: set up as the harness would have, run the
    worker, exit as the interpreter would. Never returns."""
    code = 1
    try:
        control.close()
        os.setsid()
        if request["memory_mb"]:
            limit = request["memory_mb"] * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        _close_inherited()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = request["cwd"]  # as `python -m` sets it
        sys.argv = [worker.__file__, *request["start"]]
        warnings.filters[:] = filters
        code = worker.main(request["start"])
    except SystemExit as stop:
        code = stop.code
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(_exit_status(code))


def _exit_status(code):
    """As the interpreter turns sys.exit's argument into a status, after
    running the exit handlers and flushing the standard streams."""
    try:
        atexit._run_exitfuncs()
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    except BaseException:
        code = 1
    return (code or 0) & 0xFF


def _close_inherited():
    """Every file descriptor but 0, 1 and 2, as subprocess leaves a child."""
    try:
        open_fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        open_fds = range(3, 1024)
    for fd in open_fds:
        if fd > 2:
            try:
                os.close(fd)
            except OSError:
                pass


def _exited(pid):
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _reap(pid, timeout):
    """{"status": its exit status, as subprocess gives it}, or {"running": true}
    after `timeout` seconds; {"status": null} if it is no child of ours."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return {"status": None}
        if done:
            return {"status": os.waitstatus_to_exitcode(status)}
        if time.monotonic() >= deadline:
            return {"running": True}
        time.sleep(0.005)


# ---- the harness's side ----


def _interpreter_settings():
    return {name: value for name, value in os.environ.items() if name.startswith("PYTHON")}


class Zygote:
    """The harness's zygote, started on first use; a forked child starts its own."""

    def __init__(self):
        self.lock = threading.Lock()
        self.process = self.control = self.settings = None
        self.served = False  # this zygote said it was ready (until then, it is importing)
        self.broken = False  # could not start: workers start as before

    def start(self, argv, memory_mb, cwd=None):
        """A ForkedWorker running argv, or None where the harness should start it itself."""
        if argv[: len(WORKER)] != WORKER or self.broken:
            return None
        request = {
            "start": argv[len(WORKER) :],
            "cwd": os.path.abspath(cwd or os.getcwd()),
            "env": dict(os.environ),
            "memory_mb": memory_mb or 0,
        }
        message = json.dumps(request).encode()
        if len(message) > MESSAGE_BYTES:
            return None
        pipes = [os.pipe() for _ in range(3)]  # stdin, stdout, stderr
        theirs, ours = [pipes[0][0], pipes[1][1], pipes[2][1]], [pipes[0][1], pipes[1][0], pipes[2][0]]
        reply = {}  # no pid in it (no zygote, or its fork failed): the harness starts the worker
        try:
            with self.lock:
                for _ in range(2):  # a zygote found dead is replaced once
                    try:
                        if self._ready():
                            reply, control = self._ask(message, theirs), self.control
                        break
                    except OSError:
                        self._lost()
        finally:
            for fd in theirs if "pid" in reply else theirs + ours:
                os.close(fd)
        return ForkedWorker(self, control, reply["pid"], *ours) if "pid" in reply else None

    def launch(self, argv):
        """Start the zygote now if it will fork argv, without waiting for it:
        it imports while the harness reads its cases."""
        with self.lock:
            if argv[: len(WORKER)] == WORKER and self.control is None and not self.broken:
                self._launch()

    def _launch(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        code = "import sys; from oracle.conformance.zygote import serve; serve(int(sys.argv[1]))"
        self.control, self.settings, self.served = ours, _interpreter_settings(), False
        try:
            with theirs:
                self.process = subprocess.Popen(
                    [sys.executable, "-c", code, str(theirs.fileno())],
                    pass_fds=[theirs.fileno()],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
        except OSError:
            self._lost()

    def _ready(self):
        """Whether the zygote (launched now if need be) can serve this harness."""
        if self.control is None:
            self._launch()
        if self.control is not None and not self.served:  # launched, its ready message not read yet
            try:
                self.control.settimeout(READY_TIMEOUT)
                ready = self.control.recv(64) == b'{"ready": true}'
                self.control.settimeout(None)
            except OSError:
                ready = False
            self.served = ready
            if not ready:
                self._lost()
        return self.control is not None and _interpreter_settings() == self.settings

    def _ask(self, message, fds=()):
        socket.send_fds(self.control, [message], list(fds))
        reply = self.control.recv(MESSAGE_BYTES)
        if not reply:
            raise OSError("the zygote is gone")
        return json.loads(reply)

    def ask(self, request, control):
        """The reply of the zygote whose socket is `control`, or None if it is gone."""
        with self.lock:
            if self.control is None or self.control is not control:
                return None
            try:
                return self._ask(json.dumps(request).encode())
            except OSError:
                self._lost()
                return None

    def _lost(self):
        """This zygote is gone. One that had served is replaced at the next
        start; one that never came up is not tried again."""
        self.broken = not self.served
        self._end()

    def _end(self):
        """Closes the socket and kills the zygote, whichever of them there is."""
        if self.control is not None:
            self.control.close()
        self.control = None
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def close(self):
        """Ends the zygote (its workers are the harness's to kill): killed, for
        it holds nothing to save, and an interpreter's exit takes a while."""
        with self.lock:
            if self.control is not None:
                self._end()

    def kill(self):
        """SIGKILL to the zygote, taking no lock and waiting for nothing: for a
        signal handler (process.kill_all), whose thread may be asking it."""
        process = self.process
        if process is not None and process.returncode is None:
            try:
                os.kill(process.pid, signal.SIGKILL)
            except OSError:
                pass

    def forget(self):
        """In a forked child: the socket is the parent's."""
        self.lock, self.process, self.control, self.settings = threading.Lock(), None, None, None


class ForkedWorker:
    """What the harness holds of a worker a zygote forked: its pid, the
    harness's ends of its pipes, and (subprocess.Popen's names) its exit
    status once reaped: None if its zygote died first (whoever adopted it
    reaps it; /proc tells whether it still runs)."""

    def __init__(self, zygote, control, pid, stdin_fd, stdout_fd, stderr_fd):
        self.zygote, self.control, self.pid, self.returncode = zygote, control, pid, None
        self.stdin = os.fdopen(stdin_fd, "wb")
        self.stdout = os.fdopen(stdout_fd, "rb")
        self.stderr = os.fdopen(stderr_fd, "rb")

    def exited(self):
        reply = self.zygote.ask({"exited": self.pid}, self.control)
        return not _running(self.pid) if reply is None else reply["exited"]

    def wait(self, timeout):
        if self.returncode is None:
            reply = self.zygote.ask({"reap": self.pid, "timeout": timeout}, self.control)
            if reply is None:  # orphaned: its status is lost
                deadline = time.monotonic() + timeout
                while _running(self.pid) and time.monotonic() < deadline:
                    time.sleep(0.005)
                reply = {"running": True} if _running(self.pid) else {"status": None}
            if "running" in reply:
                raise subprocess.TimeoutExpired(WORKER, timeout)
            self.returncode = reply["status"]
        return self.returncode


def _running(pid):
    """Whether process `pid` runs (exists and is no zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


zygote = Zygote()
atexit.register(zygote.close)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=zygote.forget)
