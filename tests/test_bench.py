"""Smoke tests of the benchmark on tiny sizes: it runs, and prints every ratio
line with its target. Speed itself is never asserted."""

import argparse

import pytest

from oracle import bench, engines


def _run(argv, capsys):
    args = bench.add_arguments(argparse.ArgumentParser()).parse_args(argv)
    status = bench.run(args)
    return status, capsys.readouterr()


def test_quick_bench_prints_every_ratio(capsys):
    ok, reason = engines.torch_available()
    if not ok:
        pytest.skip(reason)
    status, captured = _run(["--quick", "--threads", "1"], capsys)
    assert status == 0
    lines = captured.out.splitlines()
    assert lines[0].startswith("machine: ") and "numpy" in lines[0] and "torch" in lines[0]
    conv = [line for line in lines if "ratio numpy/torch" in line]
    assert len(conv) == len(bench.QUICK_CONV_SIZES)
    assert all(f"(target <= {bench.CONV_TARGET})" in line for line in conv)
    assert any(
        "ratio ours/gradcheck" in line and f"(target <= {bench.GRADCHECK_TARGET})" in line for line in lines
    )
    assert sum("max |numeric - analytic|" in line for line in lines) == 2  # ours and gradcheck's
    assert any("M multiply-adds/s" in line for line in lines)
    assert any(
        "ratio streaming/module" in line and f"(target <= {bench.VERIFY_TARGET})" in line for line in lines
    )
    assert any("one process per case" in line and "ms per case" in line for line in lines)


def test_bench_without_torch_skips_its_parts(monkeypatch, capsys):
    monkeypatch.setattr(engines, "torch_available", lambda: (False, "torch is not installed (test)"))
    status, captured = _run(["--quick"], capsys)
    assert status == 0
    assert "torch parts skipped: torch is not installed (test)" in captured.out
    assert "ratio numpy/torch" not in captured.out and "ratio ours/gradcheck" not in captured.out
    assert "torch skipped" in captured.out and "gradcheck skipped" in captured.out
    assert "M multiply-adds/s" in captured.out


def test_measurements_are_returned_as_a_dict():
    results = bench.measure(repeat=1, quick=True)
    assert {"machine", "conv", "gradcheck", "reference", "verify"} <= set(results)
    assert results["verify"]["module_s"] > 0 and results["verify"]["one_shot_per_case_s"] > 0
    assert len(results["conv"]) == len(bench.QUICK_CONV_SIZES)
    assert all(row["numpy_s"] > 0 for row in results["conv"])
    assert results["gradcheck"]["ours_max_difference"] < 1e-6
    assert results["reference"]["multiply_adds_per_s"] > 0


def test_bad_repeat_is_refused(capsys):
    status, captured = _run(["--repeat", "0"], capsys)
    assert status == 2 and "--repeat" in captured.err
