"""Side-by-side timings: the NumPy engine against torch (CPU, float64), the
finite-difference gradient checks against torch.autograd.gradcheck, and
the throughput of the pure-Python reference, and an epoch of training on
the NumPy and torch engines of `cnn-oracle parity`.

Every comparison runs both sides in one process, alternating in blocks of
calls, and keeps the best time of each: the least disturbed by the rest of
the machine. A short pause before each block lets the other side's idle
threads (OpenBLAS and torch both spin a while after their work) go to
sleep, so that each side gets the cores it expects. Ratios are printed next
to their targets; nothing here passes or fails on speed (`run` returns 0
whenever the measurements could be taken).
"""

import contextlib
import functools
import itertools
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import reference
from oracle import engines, registry
from oracle.checks import finite_diff
from oracle.conformance import adapters, verify
from oracle.engines import numpy_ops
from oracle.training import lockstep, network

# (N, C, H, W) x (D, C, kh, kw): a first layer on MNIST-sized images, and a
# deeper one with several channels.
CONV_SIZES = (((64, 1, 28, 28), (5, 1, 3, 3)), ((32, 8, 32, 32), (16, 8, 3, 3)))
QUICK_CONV_SIZES = (((4, 1, 8, 8), (2, 1, 3, 3)), ((2, 2, 8, 8), (3, 2, 3, 3)))
CONV_TARGET = 1.0  # numpy time / torch time
# The machine's float64 matrix-multiply rate, the ceiling the conv rates are
# read against: a square product on every BLAS thread.
DGEMM_SIZE, QUICK_DGEMM_SIZE = 2000, 200
DGEMM_ROUNDS = 3

# Cases of conv2d, (C, H, W) x (D, C, kh, kw), tied biases: a first layer on
# MNIST-sized images (the one the target is for), and a layer with several channels.
GRADCHECK_SIZES = (((1, 28, 28), (5, 1, 3, 3)), ((3, 24, 24), (4, 3, 3, 3)))
QUICK_GRADCHECK_SIZES = (((1, 6, 6), (2, 1, 3, 3)), ((2, 5, 5), (2, 2, 3, 3)))
GRADCHECK_TARGET = 0.05  # finite_diff.check_full time / gradcheck's time, on the first case
DIRECTIONAL_CALLS = 10  # timed calls of each directional check per call of a full one (ms, not s)

# `verify` of the reference through each front door: the function-module
# worker, a streaming --command program, and the same program one process
# per case (timed on ONE_SHOT_OPS only, and scaled to every case).
EXAMPLE_WORKER = Path("examples", "python", "reference_worker.py")  # in a source checkout
ONE_SHOT_OPS = ("relu", "dense")
QUICK_VERIFY_OPS = ("rot180",)  # few cases: a smoke test
VERIFY_TARGET = 3.0  # streaming command time / function-module time

REFERENCE_SIZE = ((4, 12, 12), (4, 4, 3, 3))
QUICK_REFERENCE_SIZE = ((1, 5, 5), (1, 1, 3, 3))
REFERENCE_SECONDS = 1.0  # the reference runs for about this long unless --repeat is given

DEFAULT_ROUNDS = {"conv": 200, "gradcheck": 3, "verify": 3}  # timed calls of each side
QUICK_ROUNDS = {"conv": 3, "gradcheck": 1, "verify": 1}
BLOCK = {"conv": 10, "gradcheck": 1}  # calls of one side in a row
PAUSE_S = 0.02


def add_arguments(parser):
    parser.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="timed calls of each side of every measurement (default: 200 for the conv layer, 3 for "
        "the gradient checks, about 1 s of calls for the reference, 5 epochs of training parity)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few rounds (a smoke test)")
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="torch threads (torch.set_num_threads); numpy's BLAS threads are fixed when it loads: "
        "set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before starting",
    )
    return parser


def run(args):
    if args.repeat is not None and args.repeat < 1:
        print("bench: --repeat must be at least 1", file=sys.stderr)
        return 2
    if args.threads is not None and args.threads < 1:
        print("bench: --threads must be at least 1", file=sys.stderr)
        return 2
    results = measure(repeat=args.repeat, quick=args.quick, threads=args.threads)
    print("\n".join(report(results)))
    return 0


def measure(repeat=None, quick=False, threads=None):
    """Every measurement, as a dict (times in seconds); the torch parts are
    None, with `torch_skipped` saying why, when torch cannot run."""
    torch_ok, torch_reason = engines.torch_available()
    torch = _load_torch(threads) if torch_ok else None
    rounds = _rounds(repeat, quick)
    results = {
        "machine": _machine(torch),
        "quick": quick,
        "torch_skipped": None if torch_ok else torch_reason,
        "dgemm": _dgemm_rate(QUICK_DGEMM_SIZE if quick else DGEMM_SIZE),
        "conv": [
            _time_conv_layer(x_shape, k_shape, rounds["conv"], torch)
            for x_shape, k_shape in (QUICK_CONV_SIZES if quick else CONV_SIZES)
        ],
        "gradcheck": _time_gradient_checks(
            QUICK_GRADCHECK_SIZES if quick else GRADCHECK_SIZES, rounds["gradcheck"], torch
        ),
        "reference": _reference_throughput(
            *(QUICK_REFERENCE_SIZE if quick else REFERENCE_SIZE), repeat, quick
        ),
        "verify": _time_verify(rounds["verify"], quick),
        "parity": _time_parity_epochs(repeat, quick, torch),
    }
    return results


def _rounds(repeat, quick):
    if repeat is not None:
        return {part: repeat for part in DEFAULT_ROUNDS}
    return QUICK_ROUNDS if quick else DEFAULT_ROUNDS


def _load_torch(threads):
    from oracle.engines import torch_ops

    torch = torch_ops.load()
    if threads is not None:
        torch.set_num_threads(threads)
    return torch


def _machine(torch):
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "blas": _blas_name(),
        "blas_threads": _blas_threads_setting(),
        "torch": torch.__version__ if torch else None,
        "torch_threads": torch.get_num_threads() if torch else None,
    }


def _blas_name():
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # older numpy, or a build that does not report it
        return "unknown"
    return f"{blas.get('name', 'unknown')} {blas.get('version', '')}".strip()


def _blas_threads_setting():
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(variable):
            return f"{os.environ[variable]} ({variable})"
    return f"{os.cpu_count()} (the BLAS default: one per CPU)"


def _best_times(functions, calls, block=1):
    """({name: best wall time}, {name: last result}) over `calls` timed calls of
    each function, after one warm-up call: blocks of `block` calls of one
    function, then of the next, in turn, each after a short pause."""
    results = {name: function() for name, function in functions.items()}
    best = {name: math.inf for name in functions}
    for done in range(0, calls, block):
        for name, function in functions.items():
            time.sleep(PAUSE_S)
            for _ in range(min(block, calls - done)):
                start = time.perf_counter()
                results[name] = function()
                best[name] = min(best[name], time.perf_counter() - start)
    return best, results


def _dgemm_rate(size):
    """{"size", "rate"}: multiply-adds per second of a size x size float64
    product, the best of DGEMM_ROUNDS."""
    a, b = np.random.default_rng(0).standard_normal((2, size, size))
    best, _ = _best_times({"dgemm": lambda: a @ b}, DGEMM_ROUNDS)
    return {"size": size, "rate": size**3 / best["dgemm"]}


# ---- (a) the conv layer, forward + backward ----


def _conv_inputs(x_shape, k_shape, rng):
    depth, k_rows, k_cols = k_shape[0], k_shape[2], k_shape[3]
    out_shape = (x_shape[0], depth, x_shape[2] - k_rows + 1, x_shape[3] - k_cols + 1)
    # Two input batches, used in turn, as successive training steps would.
    xs = [rng.standard_normal(x_shape) for _ in range(2)]
    return xs, rng.standard_normal(k_shape), rng.standard_normal(depth), rng.standard_normal(out_shape)


def _numpy_layer_step(xs, kernels, biases, dy):
    batches = itertools.cycle(xs)

    def step():
        x = next(batches)
        numpy_ops.conv2d_forward(x, kernels, biases)
        numpy_ops.conv2d_backward(x, kernels, dy, bias="tied")

    return step


def _torch_layer_step(torch, xs, kernels, biases, dy):
    from oracle.engines.torch_ops import F

    tensors = [torch.tensor(x, requires_grad=True) for x in xs]
    k, b = (torch.tensor(v, requires_grad=True) for v in (kernels, biases))
    upstream = torch.tensor(dy)
    batches = itertools.cycle(tensors)

    def step():
        x = next(batches)
        y = F.conv2d(x, k, b)
        torch.autograd.grad(y, (x, k, b), upstream)

    return step


def _time_conv_layer(x_shape, k_shape, rounds, torch):
    xs, kernels, biases, dy = _conv_inputs(x_shape, k_shape, np.random.default_rng(0))
    steps = {"numpy": _numpy_layer_step(xs, kernels, biases, dy)}
    if torch is not None:
        steps["torch"] = _torch_layer_step(torch, xs, kernels, biases, dy)
    best, _ = _best_times(steps, rounds, BLOCK["conv"])
    ho, wo = dy.shape[2:]
    multiply_adds = 3 * math.prod(k_shape) * x_shape[0] * ho * wo  # forward, dK and dX
    result = {
        "x": x_shape,
        "kernels": k_shape,
        "multiply_adds": multiply_adds,
        "numpy_s": best["numpy"],
        "torch_s": best.get("torch"),
    }
    result["ratio"] = result["numpy_s"] / result["torch_s"] if torch is not None else None
    return result


# ---- (b) the gradient checks of conv2d ----


def _conv2d_case(x_shape, k_shape, rng):
    return {
        "x": rng.standard_normal(x_shape),
        "kernels": rng.standard_normal(k_shape),
        "biases": rng.standard_normal(k_shape[0]),
    }, {"bias": "tied"}


def _our_jacobians(spec, inputs, params):
    """(numeric, analytic) Jacobians of every differentiable input, as check_full computes them."""
    analytic = finite_diff.analytic_jacobian(spec, inputs, params)
    numeric = {name: finite_diff.numeric_jacobian(spec, inputs, params, name) for name in spec.gradients}
    return numeric, analytic


def _max_difference(numeric, analytic):
    return max(float(np.max(np.abs(n - a))) for n, a in zip(numeric, analytic))


def _time_gradient_checks(sizes, rounds, torch):
    """{"full": a row per size, "directional": a row per size}."""
    return {
        "full": [
            _time_full_check(x_shape, k_shape, rounds, torch, GRADCHECK_TARGET if number == 0 else None)
            for number, (x_shape, k_shape) in enumerate(sizes)
        ],
        "directional": [
            _time_directional_check(x_shape, k_shape, rounds * DIRECTIONAL_CALLS, torch)
            for x_shape, k_shape in sizes
        ],
    }


def _time_full_check(x_shape, k_shape, rounds, torch, target):
    """The Jacobians alone, check_full (the Jacobians, then comparing them) and
    gradcheck(fast_mode=False), alternating."""
    spec = registry.get("conv2d")
    inputs, params = _conv2d_case(x_shape, k_shape, np.random.default_rng(0))
    checks = {
        "jacobians": lambda: _our_jacobians(spec, inputs, params),
        "check_full": lambda: finite_diff.check_full(spec, inputs, params),
    }
    if torch is not None:
        function, tensors = _torch_conv2d(torch, inputs)
        checks["gradcheck"] = lambda: torch.autograd.gradcheck(function, tensors, fast_mode=False)
    best, outcomes = _best_times(checks, rounds)
    numeric, analytic = outcomes["jacobians"]
    result = {
        "x": x_shape,
        "kernels": k_shape,
        "elements": sum(np.size(value) for value in inputs.values()),
        "outputs": k_shape[0] * (x_shape[1] - k_shape[2] + 1) * (x_shape[2] - k_shape[3] + 1),
        "jacobians_s": best["jacobians"],
        "check_full_s": best["check_full"],
        "ours_passed": all(check.ok for check in outcomes["check_full"]),
        "ours_max_difference": _max_difference(
            [numeric[name] for name in spec.gradients], [analytic[name] for name in spec.gradients]
        ),
        "gradcheck_s": best.get("gradcheck"),
        "gradcheck_passed": None,
        "gradcheck_max_difference": None,
        "ratio": None,  # check_full / gradcheck
        "jacobians_ratio": None,
        "target": target,
    }
    if torch is not None:
        result["gradcheck_passed"] = bool(outcomes["gradcheck"])
        result["gradcheck_max_difference"] = _gradcheck_max_difference(torch, function, tensors)
        result["ratio"] = result["check_full_s"] / result["gradcheck_s"]
        result["jacobians_ratio"] = result["jacobians_s"] / result["gradcheck_s"]
    return result


def _time_directional_check(x_shape, k_shape, rounds, torch):
    """check_directional (its default directions) and gradcheck(fast_mode=True), alternating."""
    spec = registry.get("conv2d")
    inputs, params = _conv2d_case(x_shape, k_shape, np.random.default_rng(0))
    checks = {"ours": lambda: finite_diff.check_directional(spec, inputs, params)}
    if torch is not None:
        function, tensors = _torch_conv2d(torch, inputs)
        checks["gradcheck"] = lambda: torch.autograd.gradcheck(function, tensors, fast_mode=True)
    best, outcomes = _best_times(checks, rounds)
    result = {
        "x": x_shape,
        "kernels": k_shape,
        "directions": outcomes["ours"][0].comparison.checked,  # one derivative per direction
        "ours_s": best["ours"],
        "ours_passed": all(check.ok for check in outcomes["ours"]),
        "gradcheck_s": best.get("gradcheck"),
        "gradcheck_passed": None,
        "ratio": None,
    }
    if torch is not None:
        result["gradcheck_passed"] = bool(outcomes["gradcheck"])
        result["ratio"] = result["ours_s"] / result["gradcheck_s"]
    return result


def _torch_conv2d(torch, inputs):
    from oracle.engines.torch_ops import F

    x = torch.tensor(inputs["x"][None], requires_grad=True)  # a batch of one, as F.conv2d wants
    kernels, biases = (torch.tensor(inputs[name], requires_grad=True) for name in ("kernels", "biases"))
    return (lambda x_, k_, b_: F.conv2d(x_, k_, b_)), (x, kernels, biases)


def _gradcheck_max_difference(torch, function, tensors):
    """max |numeric - analytic| over the Jacobians gradcheck compares (its eps,
    1e-6), or None where torch no longer exposes them."""
    gradcheck = sys.modules["torch.autograd.gradcheck"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # both functions are deprecated
            numeric = gradcheck.get_numerical_jacobian(lambda inputs: function(*inputs), tensors, eps=1e-6)
            analytic = gradcheck.get_analytical_jacobian(tensors, function(*tensors))[0]
    except (AttributeError, TypeError):
        return None
    return _max_difference([n.numpy() for n in numeric], [a.numpy() for a in analytic])


# ---- (c) the pure-Python reference ----


def _reference_throughput(x_shape, k_shape, repeat, quick):
    rng = np.random.default_rng(0)
    depth = k_shape[0]
    out_shape = (depth, x_shape[1] - k_shape[2] + 1, x_shape[2] - k_shape[3] + 1)
    x, kernels, biases, dy = (
        rng.standard_normal(shape).tolist() for shape in (x_shape, k_shape, (depth,), out_shape)
    )
    wanted = repeat if repeat is not None else (1 if quick else None)  # None: about REFERENCE_SECONDS
    rounds, elapsed, best = 0, 0.0, math.inf
    while _more_rounds(rounds, elapsed, wanted):
        start = time.perf_counter()
        reference.conv2d_forward(x, kernels, biases)
        reference.conv2d_backward(x, kernels, dy, bias="tied")
        took = time.perf_counter() - start
        best, elapsed, rounds = min(best, took), elapsed + took, rounds + 1
    multiply_adds = 3 * math.prod(k_shape) * out_shape[1] * out_shape[2]
    return {
        "x": x_shape,
        "kernels": k_shape,
        "multiply_adds": multiply_adds,
        "rounds": rounds,
        "best_s": best,
        "multiply_adds_per_s": multiply_adds / best,
    }


# ---- (d) verify through each front door ----


def _time_verify(rounds, quick):
    """Wall times of a whole `verify` of the reference (every case, or
    QUICK_VERIFY_OPS) through the function-module worker and through the
    streaming example program, and per case of the one-shot path."""
    found = [
        folder / EXAMPLE_WORKER
        for folder in (Path.cwd(), Path(__file__).resolve().parent.parent)
        if (folder / EXAMPLE_WORKER).is_file()
    ]
    if not found:
        return {"skipped": f"{EXAMPLE_WORKER} not found (run from the root of a source checkout)"}
    ops = list(QUICK_VERIFY_OPS) if quick else None
    program = f"{sys.executable} {found[0]}"

    def run(implementation, only=ops):
        report = verify.verify(implementation, only)
        if not report.ok:
            raise RuntimeError(f"bench: verify of {implementation.name} did not pass: {report.verdict}")
        return len(report.results)

    sides = {
        "module": lambda: run(adapters.function_module("reference")),
        "streaming": lambda: run(adapters.command(program, "streaming")),
    }
    best, checks = _best_times(sides, rounds)
    one_shot_ops = list(QUICK_VERIFY_OPS if quick else ONE_SHOT_OPS)
    start = time.perf_counter()
    one_shot_checks = run(adapters.command(f"{program} --one-shot", "one-shot"), one_shot_ops)
    one_shot_s = time.perf_counter() - start
    cases = len({(r.op, r.case) for r in verify.verify(adapters.BuiltinEngine("reference"), ops).results})
    one_shot_cases = len(
        {(r.op, r.case) for r in verify.verify(adapters.BuiltinEngine("reference"), one_shot_ops).results}
    )
    return {
        "checks": checks["module"],
        "cases": cases,
        "module_s": best["module"],
        "streaming_s": best["streaming"],
        "ratio": best["streaming"] / best["module"],
        "one_shot_ops": one_shot_ops,
        "one_shot_checks": one_shot_checks,
        "one_shot_per_case_s": one_shot_s / one_shot_cases,
        "one_shot_estimate_s": one_shot_s / one_shot_cases * cases,
    }


def _more_rounds(rounds, elapsed, wanted):
    if wanted is not None:
        return rounds < wanted
    return rounds < 3 or elapsed < REFERENCE_SECONDS


# ---- (e) training parity: an epoch of each document's network on each engine ----

PARITY_NETWORKS = ("001", "002", "003", "004a", "004b")
PARITY_TARGET = 1.0  # numpy epoch time / torch epoch time, on PARITY_TARGETED
PARITY_TARGETED = ("001", "004b")
PARITY_ROUNDS, QUICK_PARITY_ROUNDS = 5, 1  # timed epochs of each engine
QUICK_PARITY_STEPS = 2  # --quick: the first steps of each epoch only


def _time_parity_epochs(repeat, quick, torch):
    """Best wall time of one epoch of each network on the NumPy and on the
    torch engine, each training alone through lockstep.train (what
    `cnn-oracle parity` runs, less the comparison after every step and the
    accuracy after every epoch); the engines alternate epoch by epoch. Each
    network runs with parity's thread setting, then with the pools' defaults."""
    rounds = repeat if repeat is not None else (QUICK_PARITY_ROUNDS if quick else PARITY_ROUNDS)
    steps = QUICK_PARITY_STEPS if quick else None
    names = ("numpy", "torch") if torch is not None else ("numpy",)
    rows = []
    for name in PARITY_NETWORKS:
        spec, split = network.build(name, epochs=1)
        epochs = {
            engine: functools.partial(lockstep.train, spec, split, (engine,), max_steps=steps, evaluate=False)
            for engine in names
        }
        for threads in (lockstep.TRAINING_THREADS, None):
            limits = lockstep.engine_threads(threads, torch=bool(torch)) if threads else None
            with limits or contextlib.nullcontext():
                best, runs = _best_times(epochs, rounds)
            row = {
                "network": name,
                "threads": threads,
                "steps": runs["numpy"].steps,
                "batch_size": spec.batch_size,
                "numpy_s": best["numpy"],
                "torch_s": best.get("torch"),
                "target": PARITY_TARGET if name in PARITY_TARGETED and threads else None,
            }
            row["ratio"] = row["numpy_s"] / row["torch_s"] if torch is not None else None
            rows.append(row)
    return rows


# ---- the report ----


def _shape(dims):
    return "(" + ",".join(str(d) for d in dims) + ")"


def _ms(seconds):
    return f"{seconds * 1e3:.3f} ms"


def report(results):
    """The lines printed by `cnn-oracle bench`."""
    m = results["machine"]
    torch_text = (
        f"torch {m['torch']} ({m['torch_threads']} threads)" if m["torch"] else "torch: not available"
    )
    lines = [
        f"machine: {m['cpus']} CPUs, python {m['python']}, numpy {m['numpy']} "
        f"(BLAS {m['blas']}, threads {m['blas_threads']}; fixed when numpy loads), {torch_text}",
        "best time of each side, the sides alternating in blocks of calls; ratios are time / other time, "
        "lower is faster; targets are printed, not enforced"
        + (" (--quick: tiny sizes, not meaningful)" if results["quick"] else ""),
    ]
    if results["torch_skipped"]:
        lines.append(f"torch parts skipped: {results['torch_skipped']}")
    lines += _conv_lines(results["conv"], results["dgemm"])
    lines += _gradcheck_lines(results["gradcheck"])
    lines += _reference_lines(results["reference"])
    lines += _verify_lines(results["verify"])
    lines += _parity_lines(results["parity"], results["quick"])
    return lines


def _conv_lines(rows, dgemm):
    lines = [
        "",
        "(a) conv layer forward + backward, float64, tied biases: NumPy engine vs torch CPU "
        "(F.conv2d, then autograd.grad for x, kernels, biases); each step takes the next of two "
        "input batches, as training does; rates as a share of the machine's float64 matrix-multiply "
        f"rate ({dgemm['size']}x{dgemm['size']} product: {_rate(dgemm['rate'], 1.0)})",
    ]
    for row in rows:
        size = f"{_shape(row['x'])} x {_shape(row['kernels'])}"
        timing = f"numpy {_ms(row['numpy_s'])} ({_rate(row['multiply_adds'], row['numpy_s'], dgemm)})"
        if row["torch_s"] is None:
            lines.append(f"  {size}: {timing}; torch skipped")
            continue
        lines.append(
            f"  {size}: {timing}, torch {_ms(row['torch_s'])} "
            f"({_rate(row['multiply_adds'], row['torch_s'], dgemm)}), "
            f"ratio numpy/torch {row['ratio']:.2f} (target <= {CONV_TARGET})"
        )
    return lines


def _rate(multiply_adds, seconds, dgemm=None, unit=1e9, prefix="G"):
    """'R G multiply-adds/s', with its share of the dgemm rate when one is given."""
    rate = multiply_adds / seconds
    share = f", {rate / dgemm['rate']:.0%} of dgemm" if dgemm else ""
    return f"{rate / unit:.2f} {prefix} multiply-adds/s{share}"


def _passed(passed):
    return "passed" if passed else "FAILED"


def _gradcheck_lines(rows):
    lines = [
        "",
        "(b) gradient checks of conv2d, tied biases: finite_diff against torch.autograd.gradcheck, the same "
        "float64 values on both sides, central differences with step 1e-6",
    ]
    for row in rows["full"]:
        lines += _full_check_lines(row)
    for row in rows["directional"]:
        lines += _directional_check_lines(row)
    return lines


def _full_check_lines(row):
    lines = [
        f"  full Jacobian, x {_shape(row['x'])}, kernels {_shape(row['kernels'])}: {row['outputs']} outputs "
        f"x {row['elements']} input elements",
        f"    ours, numeric + analytic Jacobians: {row['jacobians_s']:.4f} s, "
        f"max |numeric - analytic| {row['ours_max_difference']:.3g}",
        f"    ours, finite_diff.check_full (the Jacobians, then comparing them): {row['check_full_s']:.4f} s "
        f"({_passed(row['ours_passed'])})",
    ]
    if row["gradcheck_s"] is None:
        return lines + ["    torch.autograd.gradcheck skipped"]
    difference = row["gradcheck_max_difference"]
    difference_text = (
        f"{difference:.3g}" if difference is not None else "n/a (torch no longer exposes its Jacobians)"
    )
    target = f" (target <= {row['target']})" if row["target"] is not None else ""
    return lines + [
        f"    torch.autograd.gradcheck(fast_mode=False): {row['gradcheck_s']:.4f} s "
        f"({_passed(row['gradcheck_passed'])}), max |numeric - analytic| {difference_text}",
        f"    ratio check_full/gradcheck {row['ratio']:.3f}{target}; the Jacobians alone "
        f"{row['jacobians_ratio']:.3f}",
    ]


def _directional_check_lines(row):
    ours = (
        f"  directional, x {_shape(row['x'])}, kernels {_shape(row['kernels'])}: "
        f"finite_diff.check_directional ({row['directions']} random directions per input) "
        f"{_ms(row['ours_s'])} ({_passed(row['ours_passed'])})"
    )
    if row["gradcheck_s"] is None:
        return [f"{ours}; torch.autograd.gradcheck skipped"]
    return [
        f"{ours}, torch.autograd.gradcheck(fast_mode=True) {_ms(row['gradcheck_s'])} "
        f"({_passed(row['gradcheck_passed'])}), ratio check_directional/gradcheck {row['ratio']:.2f}"
    ]


def _reference_lines(row):
    size = f"{_shape(row['x'])} x {_shape(row['kernels'])}"
    return [
        "",
        f"(c) pure-Python reference conv layer, one sample {size}, forward + backward: "
        f"{row['multiply_adds']} multiply-adds (3 x D*C*Ho*Wo*kh*kw) in {_ms(row['best_s'])} "
        f"(best of {row['rounds']}): {_rate(row['multiply_adds'], row['best_s'], unit=1e6, prefix='M')}",
    ]


def _verify_lines(row):
    lines = ["", "(d) cnn-oracle verify of the pure-Python reference, each front door in a worker process"]
    if "skipped" in row:
        return lines + [f"  skipped: {row['skipped']}"]
    return lines + [
        f"  function module (python -m oracle.conformance.worker): {row['module_s']:.2f} s for "
        f"{row['cases']} cases, {row['checks']} checks",
        f"  --command, streaming protocol (examples/python/reference_worker.py): {row['streaming_s']:.2f} s, "
        f"ratio streaming/module {row['ratio']:.2f} (target <= {VERIFY_TARGET})",
        f"  --command, one process per case (--protocol one-shot): {_ms(row['one_shot_per_case_s'])} "
        f"per case (timed on {', '.join(row['one_shot_ops'])}), about {row['one_shot_estimate_s']:.1f} s "
        f"for all {row['cases']} cases",
    ]


def _threads(count):
    return f"{count} thread" + ("" if count == 1 else "s")


def _parity_lines(rows, quick):
    scope = f"the first {QUICK_PARITY_STEPS} steps of an epoch" if quick else "one epoch"
    lines = [
        "",
        f"(e) training parity, {scope} of each document's network on each engine alone (lockstep.train "
        "as `cnn-oracle parity` runs it, less the comparison after every step and the accuracy after "
        "every epoch), float64, embedded data; the engines alternate epoch by epoch; "
        f"first with {_threads(lockstep.TRAINING_THREADS)} per engine (parity's default, --threads), "
        "then with the BLAS and torch defaults",
    ]
    for row in rows:
        steps = f"{row['steps']} step{'' if row['steps'] == 1 else 's'} of {row['batch_size']}"
        threads = _threads(row["threads"]) if row["threads"] else "default threads"
        head = f"  {row['network']} ({steps}, {threads}): numpy {_ms(row['numpy_s'])}"
        if row["torch_s"] is None:
            lines.append(f"{head}; torch skipped")
            continue
        target = f" (target <= {row['target']})" if row["target"] is not None else ""
        lines.append(f"{head}, torch {_ms(row['torch_s'])}, ratio (numpy/torch) {row['ratio']:.2f}{target}")
    return lines
