"""oracle's Python workers forked by the zygote are what a fresh
`python -m oracle.conformance.worker` would be: their own session, memory
limit, working folder and environment, the exit status told as subprocess
tells it, and nothing of the harness's loaded. A zygote that dies after
serving is replaced; where none can serve, workers start as any program does."""

import json
import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from verify_run import MARK, _alive_with, clock_ticks, verify

from oracle.conformance import fixtures, protocol
from oracle.conformance import process as worker_process
from oracle.conformance.zygote import WORKER, ForkedWorker, Zygote

LAYERS = Path(__file__).parent / "doc_style_layers"
PROBE = """
import json, os, resource, sys
with open(os.environ["PROBE_OUT"], "w") as out:
    json.dump({
        "cwd": os.getcwd(),
        "path0": sys.path[0],
        "marker": os.environ.get("PROBE_MARKER"),
        "own_session": os.getsid(0) == os.getpid(),
        "memory_limit": resource.getrlimit(resource.RLIMIT_AS)[0],
        "modules": sorted(sys.modules),
        "stdin_is_null": os.path.samefile("/dev/null", "/proc/self/fd/0"),
    }, out)
"""


@pytest.fixture
def zygote(monkeypatch):
    """A zygote of this test's own, used by every worker it starts."""
    fresh = Zygote()
    monkeypatch.setattr(worker_process, "zygote", fresh)
    yield fresh
    fresh.close()


def _probe(tmp_path, monkeypatch, memory_mb=512):
    """(the WorkerProcess serving the probe module, what the probe saw)."""
    module = tmp_path / "probe.py"
    module.write_text(PROBE)
    monkeypatch.setenv("PROBE_OUT", str(tmp_path / "seen.json"))
    worker = worker_process.WorkerProcess([*WORKER, "--module", str(module)], memory_mb)
    worker.send(protocol.dump_line(protocol.hello()))
    handshake = json.loads(worker.read_line(60))
    assert handshake["implementation"], handshake
    return worker, json.loads((tmp_path / "seen.json").read_text())


def test_a_forked_worker_has_the_harness_folder_environment_session_and_limit(tmp_path, monkeypatch, zygote):
    _probe(tmp_path, monkeypatch)[0].close()  # the zygote starts here, before the changes below
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROBE_MARKER", "set after the zygote started")
    worker, seen = _probe(tmp_path, monkeypatch, memory_mb=512)
    try:
        assert isinstance(worker.process, ForkedWorker)
        assert seen["cwd"] == seen["path0"] == str(tmp_path)
        assert seen["marker"] == "set after the zygote started"
        assert seen["own_session"] and seen["stdin_is_null"]
        assert seen["memory_limit"] == 512 * 2**20
        assert resource.getrlimit(resource.RLIMIT_AS)[0] != 512 * 2**20  # the zygote's own is untouched
    finally:
        worker.close()


def test_a_forked_worker_holds_nothing_of_the_harness(tmp_path, monkeypatch, zygote):
    """The harness has read fixtures and loaded hypothesis; the worker, forked
    from a zygote started afresh, has neither."""
    import hypothesis  # noqa: F401

    from oracle.conformance import fixtures  # noqa: F401

    worker, seen = _probe(tmp_path, monkeypatch)
    worker.close()
    assert isinstance(worker.process, ForkedWorker)
    assert "oracle.conformance.fixtures" not in seen["modules"]
    assert not [name for name in seen["modules"] if name.startswith(("hypothesis", "pytest", "_pytest"))]
    assert "numpy" in seen["modules"]  # what the zygote is for


@pytest.mark.parametrize("ending, status", [("end of input", 0), ("SIGKILL", -signal.SIGKILL)])
def test_a_forked_worker_s_exit_status_is_told_as_subprocess_tells_it(
    tmp_path, monkeypatch, zygote, ending, status
):
    worker, _ = _probe(tmp_path, monkeypatch)
    assert isinstance(worker.process, ForkedWorker)
    if ending == "end of input":
        worker.process.stdin.close()  # the worker's cue to exit
    else:
        os.killpg(worker.process.pid, signal.SIGKILL)
    message = worker.death()
    assert worker.process.returncode == status
    assert worker_process.describe_status(status) in message
    assert worker.exited()


def test_workers_start_as_any_program_when_the_interpreter_settings_change(tmp_path, monkeypatch, zygote):
    _probe(tmp_path, monkeypatch)[0].close()
    monkeypatch.setenv("PYTHONWARNINGS", "default")  # read as the interpreter starts: a fresh one is needed
    worker, _ = _probe(tmp_path, monkeypatch)
    worker.close()
    assert isinstance(worker.process, worker_process.subprocess.Popen)


def test_a_zygote_that_dies_after_serving_is_replaced(tmp_path, monkeypatch, zygote):
    """A worker may kill its parent: the next worker is forked by a new
    zygote, never started as the harness's own child."""
    _probe(tmp_path, monkeypatch)[0].close()
    first = zygote.process
    first.kill()
    first.wait()
    worker, seen = _probe(tmp_path, monkeypatch)
    worker.close()
    assert isinstance(worker.process, ForkedWorker) and seen["own_session"]
    assert zygote.process is not first and zygote.process.poll() is None and not zygote.broken


def test_workers_start_as_any_program_when_the_zygote_dies_before_it_is_ready(tmp_path, monkeypatch, zygote):
    zygote.launch(WORKER)
    zygote.process.kill()  # long before it has imported NumPy
    zygote.process.wait()
    worker, seen = _probe(tmp_path, monkeypatch)
    worker.close()
    assert isinstance(worker.process, worker_process.subprocess.Popen) and seen["own_session"]
    assert zygote.broken


def test_an_implementation_that_kills_its_parent_fails_its_cases_and_the_run_goes_on(tmp_path):
    """Its parent is a zygote, never the harness: each check fails saying
    the worker ended, the report is complete, nothing is left running."""
    module = tmp_path / "parricide.py"
    module.write_text(
        "import os\nimport signal\n\n\n"
        "def relu_forward(x):\n    os.kill(os.getppid(), signal.SIGKILL)\n    os._exit(3)\n"
    )
    root = tmp_path / "two"  # the second case needs a new worker: its parent must not be the harness
    root.mkdir()
    relu = [c for _, c in fixtures.iter_cases(subdir="golden") if c["op"] == "relu" and "dy" in c["inputs"]]
    for case in relu[:2]:
        (root / f"{case['id']}.json").write_text(json.dumps(case))
    run = verify(tmp_path, str(module), "--root", str(root))
    assert run.code == 1, run.err
    failed = run.results("fail")
    assert [r["check"] for r in failed] == ["forward", "backward"] * 2
    assert all(r["message"].endswith("the worker ended; its exit status is unknown") for r in failed), failed


def test_other_programs_are_never_forked(zygote):
    assert zygote.start([sys.executable, "-c", "pass"], 0) is None
    assert zygote.process is None  # not even started for them


def test_a_zygote_launched_early_serves_the_first_worker_and_close_ends_it(tmp_path, monkeypatch, zygote):
    zygote.launch([sys.executable, "-c", "pass"])  # not oracle's worker: nothing to get ready for
    assert zygote.process is None
    zygote.launch(WORKER)
    launched = zygote.process
    assert launched is not None and launched.poll() is None  # importing while the harness works
    worker, _ = _probe(tmp_path, monkeypatch)
    worker.close()
    assert isinstance(worker.process, ForkedWorker) and zygote.process is launched
    zygote.close()
    assert launched.returncode is not None


def test_the_documents_layer_imports_are_made_once_before_the_first_layer_folder_worker(
    tmp_path, monkeypatch, zygote
):
    worker, seen = _probe(tmp_path, monkeypatch)
    worker.close()
    assert "scipy.signal" not in seen["modules"]  # no layer folder yet: nothing more than NumPy
    layers = worker_process.WorkerProcess([*WORKER, "--layer-api", str(LAYERS)], 0)
    layers.send(protocol.dump_line(protocol.hello()))
    assert json.loads(layers.read_line(60))["implementation"]
    layers.close()
    worker, seen = _probe(tmp_path, monkeypatch)
    worker.close()
    assert isinstance(worker.process, ForkedWorker) and "scipy.signal" in seen["modules"]


def test_sigterm_ends_the_run_its_worker_and_its_zygote(tmp_path):
    """`cnn-oracle verify` stopped from outside (grade's budget, a cancelled
    job) while its worker computes: nothing it started outlives it."""
    (tmp_path / "hang.py").write_text("def relu_forward(x):\n    while True:\n        pass\n")
    marker = uuid.uuid4().hex
    command = [sys.executable, "-m", "oracle.cli", "verify", "hang", "--op", "relu", "--timeout", "600"]
    run = subprocess.Popen(
        command,
        cwd=tmp_path,
        env={**os.environ, MARK: marker},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while len(_alive_with(marker, attempts=1)) < 3:  # the run, its zygote, the worker
            assert run.poll() is None and time.monotonic() < deadline, run.stderr.read()
            time.sleep(0.1)
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        run.kill()
    assert _alive_with(marker) == []


def test_the_leftover_check_finds_a_forked_worker_left_alive(tmp_path, monkeypatch):
    """/proc shows a forked worker's environment as the zygote's, without a
    run's marker: the check of runs made in this process (run_marked) finds
    the zygote's workers by their start instead."""
    since = clock_ticks()
    worker, _ = _probe(tmp_path, monkeypatch)
    try:
        assert isinstance(worker.process, ForkedWorker)
        assert worker.process.pid in _alive_with("no run's marker", since, attempts=1)
    finally:
        worker.close()
    assert worker.process.pid not in _alive_with("no run's marker", since, attempts=1)
