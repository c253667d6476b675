"""The implementation under test cannot fool, crash or hang the harness.

Each fault and cheat runs through the real command line, and each must
end with the right verdict and exit code, a one-line reason, no traceback
of ours, a complete report, and no process left behind (every process the
run started carries a marker in its environment, and none may be alive
afterwards). The implementation runs in worker processes either way; the
command line itself runs in a subprocess where the claim is about that
process (its exit status on a usage or import error, its stdout), and in
this process elsewhere. Timeouts only ever meet programs that never
answer; every other limit is generous.
"""

import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from sources import write_module
from verify_run import one_case, verify

from oracle.conformance.fixtures import fixtures_dir

HERE = Path(__file__).parent
LAYERS = HERE / "doc_style_layers"
COMMAND = f"{sys.executable} {HERE / 'command_impl.py'}"
RELU = """
    def relu_forward(x):
        return [max(v, 0.0) for v in x] if not isinstance(x[0], list) else [relu_forward(r) for r in x]
"""


# ---- the implementation cannot reach the harness ----


def test_patching_the_harness_at_import_changes_nothing(tmp_path):
    source = """
        import oracle.conformance.verify as verify
        import oracle.conformance.fixtures as fixtures
        import oracle.tolerance as tolerance
        from oracle.tolerance import Tolerance

        verify.compare = lambda *a, **k: tolerance.Comparison(1)
        verify.run_case = lambda *a, **k: []
        fixtures.tolerance_for = lambda case, name: Tolerance(1e300, 1e300)

        def relu_forward(x):
            return -1.0 if not isinstance(x, list) else [relu_forward(v) for v in x]
    """
    run = verify(tmp_path, write_module(tmp_path, source), "--op", "relu", in_process=True)
    assert run.code == 1
    assert run.results("fail") and not run.results("pass")


def test_reading_the_callers_frames_finds_no_expected_values(tmp_path):
    source = """
        import sys

        def relu_forward(x):
            frame = sys._getframe(1)
            while frame is not None:
                for value in frame.f_locals.values():
                    if isinstance(value, dict) and "expected" in value:
                        return value["expected"]["y"]
                frame = frame.f_back
            return x
    """
    run = verify(tmp_path, write_module(tmp_path, source), "--op", "relu", in_process=True)
    assert run.code == 1 and run.results("fail")


# ---- a dying or hanging implementation fails one case and the run goes on ----

CALLS = """
    import os
    import pathlib

    COUNT = pathlib.Path(__file__).with_suffix(".count")

    def first_call():
        # True on the very first call of the run, in whichever worker
        done = COUNT.exists()
        COUNT.write_text("1")
        return not done

    def relu_forward(x):
        if first_call():
            {fault}
        return [max(v, 0.0) for v in x] if not isinstance(x[0], list) else [relu_forward(r) for r in x]
"""


@pytest.mark.parametrize(
    "fault, reason",
    [
        ("os._exit(0)", "the worker exited with status 0"),
        ("import sys; sys.exit(0)", "called sys.exit(0)"),
        ("raise KeyboardInterrupt", "raised KeyboardInterrupt"),
        ("raise BaseException('out')", "raised BaseException: out"),
        ("import ctypes; ctypes.string_at(0)", "killed by signal 11 (SIGSEGV, a segmentation fault)"),
        ("while True: pass", "timed out after 2 s; the worker was killed"),
        ("bytearray(64 * 2**30)", "raised MemoryError"),
    ],
    ids=[
        "os-exit",
        "sys-exit",
        "keyboard-interrupt",
        "base-exception",
        "segfault",
        "infinite-loop",
        "memory",
    ],
)
def test_a_fault_fails_one_case_and_the_run_goes_on(tmp_path, fault, reason):
    path = write_module(tmp_path, CALLS.replace("{fault}", fault))
    # 2 s per case: the loop never answers, and a relu case takes microseconds
    run = verify(tmp_path, path, "--op", "relu", "--timeout", "2", "--memory", "2048", in_process=True)
    assert run.code == 1
    failed = run.results("fail")
    assert len({r["case"] for r in failed}) == 1, [r["message"] for r in failed]
    assert all(reason in r["message"] for r in failed), failed[0]["message"]
    assert len(run.results("pass")) > 10  # the cases after it ran in a fresh worker


def test_exit_at_import_is_an_import_error_naming_the_line(tmp_path):
    path = write_module(tmp_path, "import sys\n\nsys.exit(0)\n" + textwrap.dedent(RELU))
    run = verify(tmp_path, path, "--op", "relu")
    assert run.code == 2
    assert f"error: cannot import {path}: called sys.exit(0) ({path}, line 3)" in run.err


@pytest.mark.parametrize(
    "source, message",
    [
        ("def relu_forward(x)\n    return x\n", "SyntaxError: expected ':'"),
        ("import no_such_package_here\n", "ModuleNotFoundError: No module named 'no_such_package_here'"),
        ("raise RuntimeError('at import')\n", "RuntimeError: at import"),
    ],
    ids=["syntax", "missing-package", "exception"],
)
def test_an_import_failure_is_reported_once_with_exit_2(tmp_path, source, message):
    path = write_module(tmp_path, source)
    run = verify(tmp_path, path, in_process=True)
    assert run.code == 2
    assert run.err.count("error: cannot import") == 1 and message in run.err and "line 1" in run.err


def test_printing_and_replacing_stdout_do_not_reach_the_report(tmp_path):
    source = """
        import io
        import sys

        print("hello from import")
        sys.stdout = io.StringIO()

        def relu_forward(x):
            print("hello from a call", file=sys.__stdout__)
            return [max(v, 0.0) for v in x] if not isinstance(x[0], list) else [relu_forward(r) for r in x]
    """
    run = verify(tmp_path, write_module(tmp_path, source), "--op", "relu")
    assert run.code == 0 and "hello" not in run.out


def test_numpy_error_settings_of_the_implementation_stay_in_its_process(tmp_path):
    source = """
        import numpy as np

        np.seterr(all="raise")

        def sigmoid_forward(x):
            x = np.asarray(x, dtype=float)
            with np.errstate(all="ignore"):
                return 1.0 / (1.0 + np.exp(-x))
    """
    run = verify(tmp_path, write_module(tmp_path, source), "--op", "sigmoid", "--arrays", in_process=True)
    assert run.code == 0


# ---- strict judging ----


def test_changing_an_argument_fails_naming_it_even_at_float32(tmp_path):
    source = """
        def conv2d_forward(x, kernels, biases, stride=1, padding=0):
            rows = len(x[0]) + 2 * padding - len(kernels[0][0]) + 1
            cols = len(x[0][0]) + 2 * padding - len(kernels[0][0][0]) + 1
            out = [[[0.0] * (cols // stride) for _ in range(rows // stride)] for _ in kernels]
            for channel in x:
                for row in channel:
                    row[:] = [1e150] * len(row)
            return out
    """
    run = verify(
        tmp_path, write_module(tmp_path, source), "--op", "conv2d", "--dtype", "float32", in_process=True
    )
    assert run.code == 1 and not run.results("pass")
    assert any("modified its argument x (in conv2d_forward) in place" in r["message"] for r in run.results())


@pytest.mark.parametrize(
    "op, source, message",
    [
        ("relu", "def relu_forward(x):\n    return ['0.5' for v in x]\n", 'got a string "0.5", not a number'),
        ("relu", "def relu_forward(x):\n    return [None for v in x]\n", "got null (None), not a number"),
        ("relu", "def relu_forward(x):\n    return [True for v in x]\n", "got a boolean"),
        (
            "rot180",
            "import numpy as np\nfrom reference import rot180 as right\n"
            "def rot180(k):\n    return np.array(right(k)) + 1j",
            "got an array of complex numbers (complex128)",
        ),
        (
            "dense_parameter_count",
            "def dense_parameter_count(i, o):\n    return 10**400\n",
            "count: an integer too large for a float (401 digits)",
        ),
    ],
    ids=["string", "none", "bool", "complex", "huge-integer"],
)
def test_only_real_numbers_are_accepted(tmp_path, op, source, message):
    run = verify(tmp_path, write_module(tmp_path, source), "--op", op, in_process=True)
    assert run.code == 1
    forward = [r for r in run.results() if r["check"] == "forward"]
    assert forward and all(r["status"] == "fail" and message in r["message"] for r in forward), forward[0]


# ---- no vacuous verdicts ----


@pytest.mark.parametrize(
    "args, message",
    [
        ([""], "the module name is empty"),
        (["--command", ""], "the command is empty"),
        (["--layer-api", ""], "the layer folder is empty"),
        (["reference", "--op", "conv2dd"], "--op: unknown operation 'conv2dd'"),
    ],
    ids=["empty-module", "empty-command", "empty-layer-folder", "unknown-op"],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    run = verify(tmp_path, *args)
    assert run.code == 2 and message in run.err


@pytest.mark.parametrize("kind", ["empty-module", "empty-layer-folder", "empty-root", "all-skipped"])
def test_a_run_that_checks_nothing_does_not_pass(tmp_path, kind):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = {
        "empty-module": [write_module(tmp_path, "")],
        "empty-layer-folder": ["--layer-api", str(empty)],
        "empty-root": ["reference", "--root", str(empty)],
        "all-skipped": [
            write_module(tmp_path, "def relu_forward(x):\n    raise NotImplementedError('later')\n")
        ],
    }[kind]
    run = verify(tmp_path, *args, in_process=True)
    assert run.code == 3
    assert run.report["verdict"].startswith("nothing was checked: ")
    assert run.out.startswith("nothing was checked: ")


# ---- the layer adapter checks the learning rate ----


@pytest.mark.parametrize(
    "update, message",
    [
        ("self.weights -= weights_gradient", "the update ignores the learning rate"),
        (
            "self.weights -= learning_rate**2 * weights_gradient",
            "the update is learning_rate squared x gradient",
        ),
    ],
    ids=["ignored", "squared"],
)
def test_a_layer_that_misuses_the_learning_rate_fails(tmp_path, update, message):
    folder = tmp_path / "layers"
    folder.mkdir()
    text = (LAYERS / "dense.py").read_text()
    assert text.count("self.weights -= learning_rate * weights_gradient") == 1
    (folder / "dense.py").write_text(text.replace("self.weights -= learning_rate * weights_gradient", update))
    (folder / "layer.py").write_text((LAYERS / "layer.py").read_text())
    run = verify(tmp_path, "--layer-api", str(folder), "--op", "dense", in_process=True)
    backward = [r for r in run.results() if r["check"] == "backward"]
    assert run.code == 1 and backward and all(r["status"] == "fail" for r in backward)
    assert all("the parameter update is not learning_rate x gradient" in r["message"] for r in backward)
    assert all(message in r["message"] for r in backward), backward[0]["message"]


def test_an_input_gradient_that_depends_on_the_learning_rate_fails(tmp_path):
    folder = tmp_path / "layers"
    folder.mkdir()
    text = (LAYERS / "dense.py").read_text()
    old = "        input_gradient = np.dot(self.weights.T, output_gradient)\n"
    new = "        input_gradient = learning_rate * np.dot(self.weights.T, output_gradient)\n"
    (folder / "dense.py").write_text(text.replace(old, new))
    (folder / "layer.py").write_text((LAYERS / "layer.py").read_text())
    run = verify(tmp_path, "--layer-api", str(folder), "--op", "dense", in_process=True)
    failed = [r for r in run.results("fail") if r["check"] == "backward"]
    assert run.code == 1 and len(failed) >= 10  # every case that checks dx
    assert all("the input gradient depends on the learning rate: dx[" in r["message"] for r in failed)


# ---- the layer folder scan ----


def test_unrelated_broken_files_and_scripts_in_a_layer_folder_are_skipped_with_a_note(tmp_path):
    folder = tmp_path / "layers"
    folder.mkdir()
    for name in ("dense.py", "layer.py", "losses.py"):
        (folder / name).write_text((LAYERS / name).read_text())
    (folder / "train_mnist.py").write_text("def broken(:\n")
    (folder / "notes_latin1.py").write_bytes(b"# -*- coding: latin-1 -*-\nNAME = '\xe9'\n")
    (folder / "train.py").write_text(
        "import time\n\ndef mse(y_true, y_pred):\n    return 0.0\n\nwhile True:\n    time.sleep(1)\n"
    )
    run = verify(tmp_path, "--layer-api", str(folder), "--op", "dense", "--op", "mse", in_process=True)
    assert run.code == 0, run.out
    notes = " ".join(run.report["notes"])
    assert "train_mnist.py: skipped, cannot parse it: SyntaxError" in notes
    assert "train.py: skipped, it runs code when imported (a script); it defines mse" in notes
    assert "notes_latin1" not in notes


# ---- commands ----


def test_a_command_whose_child_holds_stdout_passes_and_leaves_nothing(tmp_path):
    pid_file = tmp_path / "child.pid"
    root = str(one_case(tmp_path))
    os.environ["COMMAND_IMPL_PID_FILE"] = str(pid_file)
    try:
        streaming = verify(
            tmp_path, "--command", f"{COMMAND} child-holds-stdout", "--op", "relu", in_process=True
        )
        # one process (and child) per check: one case's two checks show it
        one_shot = verify(
            tmp_path, "--command", f"{COMMAND} one-shot child-holds-stdout", "--root", root, in_process=True
        )
    finally:
        del os.environ["COMMAND_IMPL_PID_FILE"]
    assert streaming.code == 0 and one_shot.code == 0, one_shot.out
    assert pid_file.exists()
    assert any("one process per case" in note for note in one_shot.report["notes"])  # detected as one-shot
    assert not streaming.report["notes"]


def test_non_utf8_stderr_does_not_fail_a_case(tmp_path):
    run = verify(tmp_path, "--command", f"{COMMAND} bad-stderr", "--op", "relu", in_process=True)
    assert run.code == 0


def test_a_hanging_command_times_out_per_case(tmp_path):
    root = one_case(tmp_path)  # the command answers no case: nothing correct runs under the 1 s limit
    run = verify(
        tmp_path, "--command", f"{COMMAND} hang", "--root", str(root), "--timeout", "1", in_process=True
    )
    assert run.code == 1
    assert [r["message"] for r in run.results()] == ["timed out after 1 s; the worker was killed"] * 2


def test_rewriting_the_fixture_files_during_the_run_changes_nothing(tmp_path):
    """The cases are read before the implementation starts."""
    root = tmp_path / "cases"
    shutil.copytree(Path(fixtures_dir()) / "golden", root)
    source = f"""
        import json, pathlib

        # At import: make every relu case expect what this implementation returns.
        path = pathlib.Path({str(root / "relu.json")!r})
        document = json.loads(path.read_text())
        for case in document["cases"]:
            case["expected"] = {{"y": [[0.0] * len(row) for row in case["inputs"]["x"]]}}
        path.write_text(json.dumps(document))

        def relu_forward(x):
            return [[0.0] * len(row) for row in x]
    """
    run = verify(
        tmp_path, write_module(tmp_path, source), "--root", str(root), "--op", "relu", in_process=True
    )
    assert run.code == 1 and run.results("fail")
