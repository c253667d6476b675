"""`cnn-oracle verify` run the way a user runs it, with the checks every
run must pass (no traceback, a complete report, one-line reasons, no
process left behind).

verify() and run_marked() run the command line in a subprocess: for claims
about that process (its exit status, its own output streams, its working
folder). With in_process=True they run it in this process instead
(run_cli: what `python -m oracle.cli` does, less the interpreter's start
and the imports): for claims about what the run reports, since the
implementation runs in worker processes either way."""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

MARK = "CNN_ORACLE_TEST_RUN"


SIGKILL_BIT = 1 << (9 - 1)  # in /proc/PID/status's signal masks
PF_EXITING = 0x4  # in /proc/PID/stat's flags


def _dying(entry):
    """Whether the process is a zombie, exiting, or has a SIGKILL pending
    (sent by the run's kill of its workers' process groups, a grandchild may
    not have acted on it yet when the run returns)."""
    fields = _stat(entry)
    if fields[0] in ("Z", "X") or int(fields[6]) & PF_EXITING:
        return True
    for line in (entry / "status").read_text().splitlines():
        if line.startswith(("SigPnd:", "ShdPnd:")) and int(line.split()[1], 16) & SIGKILL_BIT:
            return True
    return False


def _stat(entry):
    """/proc/PID/stat's fields from the state on (field 3 is index 0)."""
    return (entry / "stat").read_text().rsplit(")", 1)[1].split()


def clock_ticks():
    """Now, in /proc's start-time units (clock ticks since boot), less one
    tick: /proc/uptime and the start times come from clocks that may differ
    by that much."""
    return int(float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK")) - 1


def describe_processes(pids):
    """'pid (parent ppid, state S): command line' for each, for a failure message."""
    described = []
    for pid in pids:
        entry = Path("/proc") / str(pid)
        try:
            stat, command = (
                _stat(entry),
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"),
            )
            described.append(f"{pid} (parent {stat[1]}, state {stat[0]}): {command.strip()[:200]}")
        except OSError:
            described.append(f"{pid} (gone)")
    return "; ".join(described)


def _alive_with(marker, since=None, attempts=5):
    """Pids of live processes (not zombie, not dying) whose environment
    holds marker and, from clock_ticks() `since` on, of the workers this
    process's zygote forked: /proc shows their environment as the zygote's.
    The zygote itself lives as long as this process, as multiprocessing's
    forkserver does. Looked for again a few times 0.2 s apart while any is
    found, for the moment between a SIGKILL's delivery and the exit."""
    from oracle.conformance.zygote import zygote

    ours = zygote.process.pid if zygote.process is not None else None
    for _ in range(attempts):
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == ours:
                continue
            try:
                environ = (entry / "environ").read_bytes()
                stat = _stat(entry)
                forked = since is not None and int(stat[1]) == ours and int(stat[19]) >= since
                marked = f"{MARK}={marker}".encode() in environ.split(b"\0")
                if (marked or forked) and not _dying(entry):
                    found.append(int(entry.name))
            except OSError:
                continue
        if not found:
            break
        time.sleep(0.2)
    return found


@dataclass
class Done:
    """What a run of the command line left: like subprocess.CompletedProcess."""

    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _marked(marker):
    """os.environ holds MARK=marker meanwhile: the workers a run starts inherit it."""
    before = os.environ.get(MARK)
    os.environ[MARK] = marker
    try:
        yield
    finally:
        if before is None:
            del os.environ[MARK]
        else:
            os.environ[MARK] = before


def run_cli(*argv, cwd=None):
    """`cnn-oracle ARGV` in this process (in folder cwd if given):
    Done(exit status, stdout, stderr). The SIGTERM handler verify installs
    and the working folder are put back afterwards."""
    from oracle import cli

    out, err = io.StringIO(), io.StringIO()
    handler, before = signal.getsignal(signal.SIGTERM), os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(list(argv))
            except SystemExit as stop:  # argparse's usage errors
                code = 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 1
    finally:
        os.chdir(before)
        signal.signal(signal.SIGTERM, handler)
    return Done(code, out.getvalue(), err.getvalue())


def run_marked(*argv, in_process=False, cwd=None, timeout=600):
    """`cnn-oracle ARGV` (in a subprocess, or in this process) with the
    checks every run must pass that need no report: no traceback, no process
    left behind. Returns Done (or CompletedProcess)."""
    marker, since = uuid.uuid4().hex, clock_ticks()
    if in_process:
        with _marked(marker):
            done = run_cli(*argv, cwd=cwd)
    else:
        command = [sys.executable, "-m", "oracle.cli", *argv]
        env = {**os.environ, MARK: marker}
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]
    left = _alive_with(marker, since)
    assert left == [], f"the run left processes behind: {describe_processes(left)}"
    return done


class Run:
    def __init__(self, done, report):
        self.code, self.out, self.err, self.report = done.returncode, done.stdout, done.stderr, report

    def results(self, status=None):
        return [r for r in self.report["results"] if status in (None, r["status"])]


def verify(tmp_path, *args, timeout=600, in_process=False):
    """`cnn-oracle verify ARGS --format json --output FILE` in a subprocess,
    or in this process if in_process (without fresh cases unless ARGS has
    --fresh); asserts what every run must satisfy, returns the Run."""
    output = tmp_path / f"report-{uuid.uuid4().hex[:6]}.json"
    fresh = [] if "--fresh" in args else ["--fresh", "0"]  # the fixed cases, unless the test asks
    argv = ["verify", *args, *fresh, "--format", "json", "--output", str(output)]
    done = run_marked(*argv, in_process=in_process, timeout=timeout)
    report = json.loads(output.read_text()) if output.exists() else None
    if done.returncode in (0, 1, 3):
        assert report is not None and report["exit_code"] == done.returncode
        assert all("\n" not in r["message"] for r in report["results"])
    return Run(done, report)


def one_case(tmp_path):
    """A folder holding one relu case (forward and backward)."""
    from oracle.conformance import fixtures

    folder = tmp_path / "one"
    folder.mkdir()
    case = next(
        c for _, c in fixtures.iter_cases(subdir="golden") if c["op"] == "relu" and "dy" in c["inputs"]
    )
    (folder / f"{case['id']}.json").write_text(json.dumps(case))
    return folder
