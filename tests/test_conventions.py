"""Declared conventions: an implementation written in any of them passes,
a convention difference is never a failure, and a declaration that names
an unknown key or value is a usage error saying which.

Each implementation below is the NumPy engine behind conversions written
by hand for one set of conventions (independently of the harness's own
conversions, oracle/conformance/convert.py), run through the command line
(in this process: the claims are about what it reports) or the pytest plugin.
"""

import json
import re
import runpy
import sys
from pathlib import Path

import pytest
from sources import write_module
from verify_run import verify

from oracle import registry
from oracle.conformance import golden

NUMPY_ENGINE = """
    import numpy as np
    from oracle.engines import numpy_ops as n
"""

# Per sample, channels last, HWIO kernels; argmax (Ho, Wo, C, 2).
HWC_HWIO = """
    CONVENTIONS = {"layout": "HWC", "kernels": "HWIO"}
    ARRAYS = True
    chw = lambda a: np.moveaxis(a, -1, 0)
    hwc = lambda a: np.moveaxis(a, 0, -1)
    oihw = lambda k: np.transpose(k, (3, 2, 0, 1))

    def conv2d_forward(x, k, b, stride, padding):
        b = b if b.ndim == 1 else chw(b)
        return hwc(n.conv2d_forward(chw(x)[None], oihw(k), b, stride, padding)[0])

    def conv2d_backward(x, k, dy, stride, padding, bias):
        dx, dk, db = n.conv2d_backward(chw(x)[None], oihw(k), chw(dy)[None], stride, padding, bias)
        return hwc(dx[0]), np.transpose(dk, (2, 3, 1, 0)), db if db.ndim == 1 else hwc(db)

    def maxpool2d_forward(x, window, stride):
        y, argmax = n.maxpool2d_forward(chw(x)[None], window, stride)
        return hwc(y[0]), np.moveaxis(argmax[0], 0, 2)

    def maxpool2d_backward(dy, argmax, input_shape):
        rows, cols, channels = input_shape
        argmax = np.moveaxis(np.asarray(argmax), 2, 0)[None]
        return hwc(n.maxpool2d_backward(chw(dy)[None], argmax, (channels, rows, cols))[0])
"""

# Batch-first, (in, out) weights, row vectors (N, 1, n), summed gradients.
ROWS_IN_OUT_SUM = """
    CONVENTIONS = {"layout": "NCHW", "dense_weights": "in_out", "vectors": "row", "batch_gradients": "sum"}
    flat = lambda a: a[:, 0, :]

    def dense_forward(x, w, b):
        return (flat(x) @ w + b)[:, None, :]

    def dense_backward(x, w, dy):
        x, dy = flat(x), flat(dy)
        return (dy @ w.T)[:, None, :], x.T @ dy, dy.sum(axis=0)[None, :]

    def dense_batch_forward(x, w, b):
        return x @ w + b

    def dense_batch_backward(x, w, dy):
        return dy @ w.T, x.T @ dy, dy.sum(axis=0)[None, :]

    def softmax_forward(x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def mse(y, p):
        return ((p - y) ** 2).mean(axis=(1, 2))

    def mse_prime(y, p):
        return 2 * (p - y) / p.shape[-1]
"""

# Per sample, column vectors (n, 1); dense_batch takes samples as columns.
COLUMNS = """
    CONVENTIONS = {"vectors": "column"}
    ARRAYS = True

    def dense_forward(x, w, b):
        return w @ x + b

    def dense_backward(x, w, dy):
        return w.T @ dy, dy @ x.T, dy

    def dense_batch_forward(x, w, b):
        return w @ x + b

    def dense_batch_backward(x, w, dy):
        m = x.shape[1]
        return w.T @ dy, dy @ x.T / m, dy.sum(axis=1, keepdims=True) / m

    def softmax_forward(x):
        e = np.exp(x - x.max())
        return e / e.sum()

    def categorical_cross_entropy(y, p):
        return -float(np.sum(y * np.log(np.clip(p, 1e-12, 1 - 1e-12))))

    def categorical_cross_entropy_prime(y, p):
        return -y / np.clip(p, 1e-12, 1 - 1e-12)
"""

# Batch-first channels last, untied biases (Ho, Wo, D), averaged gradients.
NHWC_UNTIED_MEAN = """
    CONVENTIONS = {"layout": "NHWC", "bias": "untied", "batch_gradients": "mean"}
    nchw = lambda a: np.moveaxis(a, -1, 1)
    nhwc = lambda a: np.moveaxis(a, 1, -1)

    def conv2d_forward(x, k, b, stride, padding):
        assert b.ndim == 3, "untied biases only"
        return nhwc(n.conv2d_forward(nchw(x), k, np.moveaxis(b, -1, 0), stride, padding))

    def conv2d_backward(x, k, dy, stride, padding, bias):
        assert bias in (None, "untied"), bias
        dx, dk, db = n.conv2d_backward(nchw(x), k, nchw(dy), stride, padding, "untied")
        return nhwc(dx), dk / len(x), np.moveaxis(db, 0, -1) / len(x)
"""

# Tied biases only, max pooling from the input, integer labels, logits, and
# RMSprop with epsilon inside the square root; one sample per call.
KERAS_MEANINGS = """
    CONVENTIONS = {
        "bias": "tied", "maxpool_backward": "input", "labels": "index",
        "cross_entropy_input": "logits", "rmsprop_epsilon": "inside_sqrt",
    }
    ARRAYS = True

    def conv2d_forward(x, k, b, stride, padding):
        assert b.ndim == 1, "tied biases only"
        return n.conv2d_forward(x[None], k, b, stride, padding)[0]

    def conv2d_backward(x, k, dy, stride, padding, bias):
        dx, dk, db = n.conv2d_backward(x[None], k, dy[None], stride, padding, "tied")
        return dx[0], dk, db

    def maxpool2d_forward(x, window, stride):
        return n.maxpool2d_forward(x[None], window, stride)[0][0]

    def maxpool2d_backward(x, dy, window, stride):
        _, argmax = n.maxpool2d_forward(x[None], window, stride)
        return n.maxpool2d_backward(dy[None], argmax, x.shape)[0]

    def categorical_cross_entropy(label, z):
        return float(np.log(np.sum(np.exp(z - z.max()))) + z.max() - z[label])

    def categorical_cross_entropy_prime(label, z):
        p = np.exp(z - z.max())
        p /= p.sum()
        p[label] -= 1
        return p

    def binary_cross_entropy(y, z):
        return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))

    def binary_cross_entropy_prime(y, z):
        return (1 / (1 + np.exp(-z)) - y) / z.size

    def rmsprop(param, grad, cache, learning_rate, rho, epsilon):
        cache = rho * cache + (1 - rho) * grad * grad
        return param - learning_rate * grad / np.sqrt(cache + epsilon), cache
"""

# Optimizers that update their arguments in place and return nothing.
IN_PLACE = """
    CONVENTIONS = {"optimizer_update": "in_place"}
    ARRAYS = True

    def sgd(w, dw, lr):
        w -= lr * dw

    def rmsprop(w, dw, cache, learning_rate, rho, epsilon):
        cache *= rho
        cache += (1 - rho) * dw * dw
        w -= learning_rate * dw / (np.sqrt(cache) + epsilon)
"""

IMPLEMENTATIONS = {
    "in-place-updates": (IN_PLACE, ["sgd", "rmsprop"]),
    "HWC-HWIO": (HWC_HWIO, ["conv2d", "maxpool2d"]),
    "rows-in_out-sum": (ROWS_IN_OUT_SUM, ["dense", "dense_batch", "softmax", "mse"]),
    "columns": (COLUMNS, ["dense", "dense_batch", "softmax", "categorical_cross_entropy"]),
    "NHWC-untied-mean": (NHWC_UNTIED_MEAN, ["conv2d"]),
    "tied-input-index-logits-inside": (
        KERAS_MEANINGS,
        [
            "conv2d",
            "maxpool2d",
            "categorical_cross_entropy",
            "softmax_cce",
            "binary_cross_entropy",
            "sigmoid_bce",
            "rmsprop",
        ],
    ),
}


def _ops(ops):
    return [word for op in ops for word in ("--op", op)]


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_an_implementation_in_declared_conventions_passes(name, tmp_path):
    source, ops = IMPLEMENTATIONS[name]
    module = write_module(tmp_path, NUMPY_ENGINE + source)
    run = verify(tmp_path, module, *_ops(ops), "--fresh", "4", "--seed", "7", in_process=True)
    failures = [f"{r['op']} {r['check']} {r['case']}: {r['message']}" for r in run.results("fail")]
    assert run.code == 0 and not failures, "\n".join(failures[:10])
    assert {r["op"] for r in run.results("pass")} == set(ops)
    declared = runpy.run_path(module)["CONVENTIONS"]
    assert run.report["conventions"] == {**run.report["conventions"], **declared}


def test_the_declaration_is_what_makes_them_pass(tmp_path):
    """Not vacuous: the same implementation declared with the reference's
    conventions (--conventions overrides the module's) fails."""
    module = write_module(tmp_path, NUMPY_ENGINE + HWC_HWIO)
    undeclared = tmp_path / "undeclared.json"
    undeclared.write_text(json.dumps({"layout": "CHW", "kernels": "OIHW"}))
    run = verify(tmp_path, module, "--op", "conv2d", "--conventions", str(undeclared), in_process=True)
    assert run.code == 1 and run.results("fail")


# ---- implementations as found, each with a short adapter ----

STYLES = Path(__file__).parent / "conventions"
ADAPTER_MARK = "# ---- cnn-oracle adapter ----"


def _adapter_lines(path):
    """Code lines after the adapter mark, the CONVENTIONS and ARRAYS declarations left out."""
    adapter = path.read_text().split(ADAPTER_MARK, 1)[1]
    declaration = re.compile(r"^(CONVENTIONS = \{.*?^\}|ARRAYS = True)$", re.M | re.S)
    lines = declaration.sub("", adapter).splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("style", ["keras_style", "course_style", "plain_style"])
def test_real_styles_pass_with_a_short_adapter_and_their_planted_bug_fails(style, tmp_path):
    assert len(_adapter_lines(STYLES / f"{style}.py")) <= 15
    run = verify(tmp_path, str(STYLES / f"{style}.py"), "--fresh", "3", "--seed", "11", in_process=True)
    failures = [f"{r['op']} {r['check']} {r['case']}: {r['message']}" for r in run.results("fail")]
    assert run.code == 0 and not failures, "\n".join(failures[:10])
    bug = STYLES / f"{style}_bug.py"
    broken = re.search(r"(\w+) must fail", bug.read_text()).group(1)
    run = verify(tmp_path, str(bug), "--fresh", "3", "--seed", "11", in_process=True)
    assert run.code == 1 and {r["op"] for r in run.results("fail")} == {broken}


# ---- what cannot be expressed is skipped with the reason, the rest checked ----


def test_a_tied_bias_implementation_is_checked_on_untied_cases_without_their_bias_gradient(tmp_path):
    module = write_module(tmp_path, NUMPY_ENGINE + KERAS_MEANINGS)
    run = verify(tmp_path, module, "--op", "conv2d", in_process=True)
    untied = [r for r in run.results() if r["case"].startswith(("doc000", "doc001"))]
    assert untied and {r["status"] for r in untied} <= {"pass", "skip"}
    assert {r["check"] for r in untied if r["status"] == "pass"} == {"forward", "backward"}
    skipped = {r["message"] for r in untied if r["status"] == "skip"}
    assert skipped == {"the gradient of untied biases: this implementation declares bias 'tied'"}


def _case_file(folder, op, inputs, params=None):
    spec = registry.get(op)
    case = golden.make_case(spec, f"{op}-by-hand", inputs, params or {}, "conventions test")
    (folder / f"{op}.json").write_text(json.dumps(case))


def test_cases_the_declaration_cannot_express_are_skipped_saying_why(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    _case_file(cases, "categorical_cross_entropy", {"y_true": [0.25, 0.75], "y_pred": [0.5, 0.5]})
    _case_file(cases, "binary_cross_entropy", {"y_true": [1.0, 0.0], "y_pred": [1.0, 0.25]})
    module = write_module(tmp_path, NUMPY_ENGINE + KERAS_MEANINGS)
    run = verify(tmp_path, module, "--root", str(cases), in_process=True)
    assert run.code == 3 and not run.results("pass")
    reasons = {r["op"]: r["message"] for r in run.results("skip")}
    assert reasons["categorical_cross_entropy"].startswith("soft labels (y_true is not one-hot)")
    assert reasons["binary_cross_entropy"].startswith("a probability of 0 or 1")


# ---- the declaration is validated ----


@pytest.mark.parametrize(
    "declaration, message",
    [
        (
            '{"layuot": "NHWC"}',
            "impl_under_test.CONVENTIONS: unknown convention 'layuot' (known: layout, kernels",
        ),
        (
            '{"kernels": "OHWI"}',
            "impl_under_test.CONVENTIONS: kernels: unknown value 'OHWI' (allowed: 'OIHW', 'HWIO')",
        ),
        ('["NHWC"]', "impl_under_test.CONVENTIONS: expected an object of conventions, got list"),
    ],
)
def test_a_module_declaring_an_unknown_convention_is_unusable(declaration, message, tmp_path):
    module = write_module(tmp_path, f"CONVENTIONS = {declaration}\ndef relu_forward(x):\n    return x\n")
    run = verify(tmp_path, module, in_process=True)
    assert run.code == 2 and message in run.err


def test_a_conventions_file_is_validated_before_anything_runs(tmp_path):
    module = write_module(tmp_path, "def relu_forward(x):\n    return x\n")
    wrong = tmp_path / "conventions.json"
    wrong.write_text('{"vectors": "columns"}')
    run = verify(tmp_path, module, "--conventions", str(wrong), in_process=True)
    assert run.code == 2 and f"{wrong}: vectors: unknown value 'columns'" in run.err
    wrong.write_text("{layout: NHWC}")
    run = verify(tmp_path, module, "--conventions", str(wrong), in_process=True)
    assert run.code == 2 and f"--conventions {wrong}: not JSON" in run.err
    run = verify(tmp_path, "--engine", "numpy", "--conventions", str(wrong), in_process=True)
    assert run.code == 2 and "the built-in engines follow the reference's conventions" in run.err


# A streaming worker in another "language": it declares its conventions in
# the handshake, and the harness converts for it.
HANDSHAKE_WORKER = """
    import json, sys
    import numpy as np
    from oracle.engines import numpy_ops as n

    sys.stdin.readline()
    hello = {"protocol": "cnn-oracle-worker", "version": 1, "ops": ["conv2d"], "conventions": CONVENTIONS}
    print(json.dumps(hello), flush=True)
    nchw, nhwc = (lambda a: np.moveaxis(np.asarray(a, float), -1, 1)), (lambda a: np.moveaxis(a, 1, -1))
    for line in sys.stdin:
        request = json.loads(line)
        i, p = request["inputs"], request["params"]
        x, k = nchw(np.asarray(i["x"])[None]), np.asarray(i["kernels"], float)
        b = np.asarray(i["biases"], float)
        b = b if b.ndim == 1 else np.moveaxis(b, -1, 0)
        out = {"y": nhwc(n.conv2d_forward(x, k, b, p["stride"], p["padding"]))[0].tolist()}
        print(json.dumps({"id": request["id"], "outputs": out}), flush=True)
"""


def test_a_worker_declares_its_conventions_in_the_handshake(tmp_path):
    worker = write_module(tmp_path, HANDSHAKE_WORKER.replace("CONVENTIONS", '{"layout": "HWC"}'), "worker")
    run = verify(tmp_path, "--command", f"{sys.executable} {worker}", in_process=True)
    assert run.code == 0 and run.report["conventions"]["layout"] == "HWC"
    assert {r["op"] for r in run.results("pass")} == {"conv2d"}
    worker = write_module(tmp_path, HANDSHAKE_WORKER.replace("CONVENTIONS", '{"layout": "WHC"}'), "worker")
    run = verify(tmp_path, "--command", f"{sys.executable} {worker}", in_process=True)
    assert run.code == 2 and """handshake: "conventions": layout: unknown value 'WHC'""" in run.err


def test_the_pytest_plugin_converts_to_declared_conventions(pytester):
    module = write_module(pytester.path, NUMPY_ENGINE + HWC_HWIO)

    def run(*args):
        return pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", f"--impl={module}", *args)

    done = run("--oracle-op=conv2d")
    output = "\n".join(done.outlines)
    assert done.ret == 0 and " passed" in output, output[-2000:]
    undeclared = pytester.path / "undeclared.json"
    undeclared.write_text(json.dumps({"layout": "CHW", "kernels": "OIHW"}))
    assert run("--oracle-op=conv2d", f"--oracle-conventions={undeclared}").ret == 1
    undeclared.write_text(json.dumps({"layout": "CWH"}))
    done = run("--oracle-op=conv2d", f"--oracle-conventions={undeclared}")
    assert done.ret == 2 and "layout: unknown value 'CWH'" in "\n".join(done.outlines + done.errlines)


def test_a_loss_without_its_derivative_has_its_forward_checked(tmp_path):
    source = (
        "def mse(y_true, y_pred):\n    return sum((p - t) ** 2 for t, p in zip(y_true, y_pred)) / len(y_true)"
    )
    module = write_module(tmp_path, source)
    run = verify(tmp_path, module, "--op", "mse", in_process=True)
    assert run.code == 0
    assert {r["check"] for r in run.results("pass")} == {"forward"}
    assert {r["message"] for r in run.results("skip")} == {
        "not implemented: no backward (dy_pred not returned)"
    }
