"""Hunt false alarms: run the whole suite under many seeds, in random order.

Each run k sets CNN_ORACLE_SEED=k (fresh sample seeds for every randomized
test), lets hypothesis draw new examples (CNN_ORACLE_HYPOTHESIS=random,
--hypothesis-seed=k) and shuffles test order with pytest-randomly
(--randomly-seed=k), in parallel with pytest-xdist: a red run is
reproduced by running its seed again. A correct suite passes every run; any failure is a flake
(or a real bug that only some seeds expose), listed with the seed that
reproduces it.

    pip install pytest-randomly
    python tools/flake_hunt.py --runs 20 [-- extra pytest arguments]
"""

import argparse
import os
import re
import subprocess
import sys
import time

FAILED_LINE = re.compile(r"^(FAILED|ERROR) (\S+)", re.MULTILINE)
SUMMARY_LINE = re.compile(r"^=* ?(\d+ (passed|failed|errors?)\b.*?) ?=*$", re.MULTILINE)


def run_once(seed, extra):
    command = [sys.executable, "-m", "pytest", "-n", "auto", "-q", "-p", "randomly"]
    command += [f"--randomly-seed={seed}", f"--hypothesis-seed={seed}", "-p", "no:cacheprovider", "-rfE"]
    command += extra
    env = {**os.environ, "CNN_ORACLE_SEED": str(seed), "CNN_ORACLE_HYPOTHESIS": "random"}
    started = time.perf_counter()
    finished = subprocess.run(command, env=env, capture_output=True, text=True)
    output = finished.stdout + finished.stderr
    summary = SUMMARY_LINE.findall(output)
    return {
        "seed": seed,
        "code": finished.returncode,
        "failures": [name for _, name in FAILED_LINE.findall(output)],
        "summary": summary[-1][0] if summary else output.strip()[-200:],
        "seconds": time.perf_counter() - started,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="number of seeds (default 20)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest after --")
    args = parser.parse_args(argv)
    flaky = {}
    for seed in range(args.first_seed, args.first_seed + args.runs):
        result = run_once(seed, args.pytest_args)
        verdict = "green" if result["code"] == 0 else f"RED (exit {result['code']})"
        print(f"seed {seed:3d}: {verdict:14s} {result['summary']} [{result['seconds']:.0f} s]", flush=True)
        for name in result["failures"]:
            print(f"    {name}", flush=True)
            flaky.setdefault(name, []).append(seed)
        if result["code"] != 0 and not result["failures"]:
            flaky.setdefault("(run failed without a failing test)", []).append(seed)
    print(f"\n{args.runs} seeded runs, {len(flaky)} flaky test(s)")
    for name, seeds in sorted(flaky.items()):
        print(f"  {name}: seeds {', '.join(map(str, seeds))}")
    return 1 if flaky else 0


if __name__ == "__main__":
    sys.exit(main())
