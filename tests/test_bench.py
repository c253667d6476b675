"""Smoke tests of the benchmark on tiny sizes: it runs, and prints every ratio
line with its target. Speed itself is never asserted."""

import argparse
import contextlib
import io

import pytest

from oracle import bench, engines
from oracle.training import lockstep


def _run(argv, capsys):
    args = bench.add_arguments(argparse.ArgumentParser()).parse_args(argv)
    status = bench.run(args)
    return status, capsys.readouterr()


def _quick_bench(torch_reason=None):
    """`cnn-oracle bench --quick --threads 1`, with torch unavailable for
    torch_reason when given: (exit status, printed lines, the measurements)."""
    measured, printed = [], io.StringIO()
    measure = bench.measure
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            bench,
            "measure",
            lambda *args, **kwargs: measured.append(measure(*args, **kwargs)) or measured[-1],
        )
        if torch_reason:
            patch.setattr(engines, "torch_available", lambda: (False, torch_reason))
        with contextlib.redirect_stdout(printed):
            status = bench.run(
                bench.add_arguments(argparse.ArgumentParser()).parse_args(["--quick", "--threads", "1"])
            )
    return status, printed.getvalue().splitlines(), measured[0]


# One run of each kind, shared by the tests that read it.
@pytest.fixture(scope="module")
def with_torch():
    ok, reason = engines.torch_available()
    if not ok:
        pytest.skip(reason)
    return _quick_bench()


@pytest.fixture(scope="module")
def without_torch():
    return _quick_bench("torch is not installed (test)")


def test_quick_bench_prints_every_ratio(with_torch):
    status, lines, _ = with_torch
    assert status == 0
    assert lines[0].startswith("machine: ") and "numpy" in lines[0] and "torch" in lines[0]
    conv = [line for line in lines if "ratio numpy/torch" in line]
    assert len(conv) == len(bench.QUICK_CONV_SIZES)
    assert all(f"(target <= {bench.CONV_TARGET})" in line for line in conv)
    assert all(line.count("% of dgemm") == 2 for line in conv)  # numpy's and torch's rates
    assert any(f"({bench.QUICK_DGEMM_SIZE}x{bench.QUICK_DGEMM_SIZE} product: " in line for line in lines)
    full = [line for line in lines if "ratio check_full/gradcheck" in line]
    assert len(full) == len(bench.QUICK_GRADCHECK_SIZES)
    assert f"(target <= {bench.GRADCHECK_TARGET})" in full[0]  # the first case only
    # ours and gradcheck's, for each case
    assert sum("max |numeric - analytic|" in line for line in lines) == 2 * len(bench.QUICK_GRADCHECK_SIZES)
    directional = [line for line in lines if "ratio check_directional/gradcheck" in line]
    assert len(directional) == len(bench.QUICK_GRADCHECK_SIZES)
    assert all(line.count("(passed)") == 2 for line in directional)
    assert any("M multiply-adds/s" in line for line in lines)
    assert any(
        "ratio streaming/module" in line and f"(target <= {bench.VERIFY_TARGET})" in line for line in lines
    )
    assert any("one process per case" in line and "ms per case" in line for line in lines)
    assert sum("ratio (numpy/torch)" in line for line in lines) == 2 * len(bench.PARITY_NETWORKS)


def test_bench_without_torch_skips_its_parts(without_torch):
    status, lines, _ = without_torch
    out = "\n".join(lines)
    assert status == 0
    assert "torch parts skipped: torch is not installed (test)" in out
    assert "ratio numpy/torch" not in out and "/gradcheck" not in out
    assert "torch skipped" in out and "gradcheck skipped" in out
    assert "M multiply-adds/s" in out


def test_measurements_are_returned_as_a_dict(without_torch):
    results = without_torch[2]
    assert {"machine", "dgemm", "conv", "gradcheck", "reference", "verify"} <= set(results)
    assert results["dgemm"]["size"] == bench.QUICK_DGEMM_SIZE and results["dgemm"]["rate"] > 0
    rate = f"product: {results['dgemm']['rate'] / 1e9:.2f} G multiply-adds/s)"
    assert any(rate in line for line in bench.report(results))
    assert results["verify"]["module_s"] > 0 and results["verify"]["one_shot_per_case_s"] > 0
    assert len(results["conv"]) == len(bench.QUICK_CONV_SIZES)
    assert all(row["numpy_s"] > 0 for row in results["conv"])
    full, directional = results["gradcheck"]["full"], results["gradcheck"]["directional"]
    assert len(full) == len(directional) == len(bench.QUICK_GRADCHECK_SIZES)
    assert all(row["ours_passed"] and row["ours_max_difference"] < 1e-6 for row in full)
    assert all(row["ours_passed"] and row["ours_s"] > 0 for row in directional)
    assert results["reference"]["multiply_adds_per_s"] > 0
    assert [row["network"] for row in results["parity"]] == [n for n in bench.PARITY_NETWORKS for _ in "12"]


def test_bad_repeat_is_refused(capsys):
    status, captured = _run(["--repeat", "0"], capsys)
    assert status == 2 and "--repeat" in captured.err


def test_quick_parity_section_times_both_engines_on_every_network(with_torch):
    rows = with_torch[2]["parity"]
    # each network with parity's thread setting, then with the pools' defaults
    assert [(row["network"], row["threads"]) for row in rows] == [
        (name, threads) for name in bench.PARITY_NETWORKS for threads in (lockstep.TRAINING_THREADS, None)
    ]
    assert all(0 < row["steps"] <= bench.QUICK_PARITY_STEPS for row in rows)
    assert all(row["numpy_s"] > 0 and row["torch_s"] > 0 for row in rows)
    assert all(row["ratio"] == pytest.approx(row["numpy_s"] / row["torch_s"]) for row in rows)
    lines = bench._parity_lines(rows, quick=True)
    assert lines[1].startswith(f"(e) training parity, the first {bench.QUICK_PARITY_STEPS} steps of an epoch")
    ratios = [line for line in lines if "ratio (numpy/torch)" in line]
    assert [line.split()[0] for line in ratios] == [row["network"] for row in rows]
    assert ["default threads" in line for line in ratios] == [row["threads"] is None for row in rows]
    targeted = [line.split()[0] for line in ratios if f"(target <= {bench.PARITY_TARGET})" in line]
    assert targeted == list(bench.PARITY_TARGETED) == ["001", "004b"]


def test_parity_section_without_torch_times_numpy_alone(without_torch):
    rows = without_torch[2]["parity"]
    assert all(row["numpy_s"] > 0 and row["torch_s"] is None and row["ratio"] is None for row in rows)
    lines = bench._parity_lines(rows, quick=False)
    assert lines[1].startswith("(e) training parity, one epoch")
    assert sum(line.endswith("; torch skipped") for line in lines) == 2 * len(bench.PARITY_NETWORKS)
