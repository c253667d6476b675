"""`cnn-oracle grade SUBMISSIONS_DIR`: `verify` every submission (a .py
file, a package, a folder holding one, or a layer folder) the same way,
in parallel, each in its own process with its own time budget, and write
a gradebook (one CSV row per submission, also for one that crashes,
hangs or cannot be imported) beside one report per submission.

Each submission's run is `cnn-oracle verify` in a subprocess of its own
session: a submission that exceeds its budget is killed with its workers
and gets a zero row saying so; nothing one submission does reaches
another's row. A re-run skips the submissions whose report is newer than
every file of the submission and was made with the same options, unless
--force. `--shard K/N` grades a deterministic slice (by a hash of the
submission's name, stable as submissions are added), so that a CI matrix
or one container per submission spreads the work; the gradebooks of the
shards concatenate.

Exit codes: 0 every submission graded (whatever its score); 1 a
submission could not be graded (budget, a harness error); 2 usage.
"""

import concurrent.futures
import csv
import dataclasses
import json
import os
import secrets
import signal
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

from oracle import registry
from oracle.conformance import adapters, conventions, fresh, grading
from oracle.conformance.results import EXIT_UNUSABLE, report_from_json

DEFAULT_BUDGET = 900.0  # seconds per submission: the whole verify run, all cases
REPORT_SUFFIX = ".report.json"
STOP_GRACE = 30.0  # seconds a verify run over its budget has to close its worker


def add_arguments(parser):
    parser.add_argument("submissions", help="folder with one submission per entry (a .py file or a folder)")
    parser.add_argument("--output", metavar="DIR", help="reports and gradebook.csv (default: ./grades)")
    parser.add_argument(
        "--entry", default="impl.py", help="the module in a submission folder (default impl.py)"
    )
    parser.add_argument(
        "--layer-api", action="store_true", help="each submission is a folder of layer classes"
    )
    parser.add_argument(
        "--command", metavar="TEMPLATE", help="run each submission as this command; {submission} is its path"
    )
    parser.add_argument("--conventions", metavar="FILE", help="the array conventions of every submission")
    parser.add_argument("--points", metavar="FILE", help="points per op and check (see README: Grading)")
    parser.add_argument("--op", action="append", help="only this op (repeatable)")
    parser.add_argument("--fresh", type=int, default=fresh.DEFAULT_COUNT, metavar="N")
    parser.add_argument(
        "--seed", type=int, metavar="S", help="fresh cases' seed, the same for every submission"
    )
    parser.add_argument("--timeout", type=float, default=adapters.DEFAULT_TIMEOUT, help="seconds per case")
    parser.add_argument("--memory", type=int, default=adapters.DEFAULT_MEMORY_MB, metavar="MIB")
    parser.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET,
        help=f"seconds per submission (default {DEFAULT_BUDGET:g})",
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once")
    parser.add_argument("--shard", default="1/1", metavar="K/N", help="grade only the K-th of N slices")
    parser.add_argument("--force", action="store_true", help="grade again even where the report is current")


@dataclass
class Submission:
    id: str
    path: Path


@dataclass
class Row:
    """One line of the gradebook."""

    id: str
    status: str  # graded, or why not
    score: float = 0.0
    max_score: float = 0.0
    per_op: dict = None
    seed: int = None


def submissions(folder):
    """[Submission] of the folder's entries, sorted (hidden entries left out)."""
    entries = sorted(p for p in Path(folder).iterdir() if not p.name.startswith((".", "__")))
    return [
        Submission(p.stem if p.is_file() else p.name, p) for p in entries if p.is_dir() or p.suffix == ".py"
    ]


def in_shard(submission, shard):
    index, count = shard
    return zlib.crc32(submission.id.encode()) % count == index - 1


def parse_shard(text):
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard: expected K/N such as 2/4, got {text!r}") from None
    if not 1 <= index <= count:
        raise ValueError(f"--shard: K must be between 1 and N, got {text!r}")
    return index, count


def verify_command(submission, args, seed, report):
    """The `cnn-oracle verify` command line that grades one submission."""
    words = [sys.executable, "-m", "oracle.cli", "verify"]
    path = submission.path
    if args.command:
        words += ["--command", args.command.replace("{submission}", str(path.resolve()))]
    elif args.layer_api:
        words += ["--layer-api", str(path)]
    elif path.is_dir() and not (path / "__init__.py").is_file():
        words.append(str(path / args.entry))
    else:
        words.append(str(path))
    for flag in ("conventions", "points"):
        if getattr(args, flag):
            words += [f"--{flag}", str(Path(getattr(args, flag)).resolve())]
    for op in args.op or ():
        words += ["--op", op]
    words += ["--fresh", str(args.fresh), "--seed", str(seed), "--timeout", str(args.timeout)]
    words += ["--memory", str(args.memory), "--format", "json", "--output", str(report)]
    return words


def current(submission, report, options):
    """Whether the report was made with these options after every change of the submission."""
    stamp = report.with_suffix(".options")
    if not report.is_file() or not stamp.is_file() or stamp.read_text() != options:
        return False
    files = [submission.path] if submission.path.is_file() else list(submission.path.rglob("*"))
    newest = max((f.stat().st_mtime for f in files if f.is_file()), default=0.0)
    return report.stat().st_mtime > newest


def run_one(submission, args, seed, out):
    """Grade one submission: its report on disk, and its Row."""
    report = out / f"{submission.id}{REPORT_SUFFIX}"
    command = verify_command(submission, args, seed, report)
    options = json.dumps(command[3:])
    if args.force or not current(submission, report, options):
        report.unlink(missing_ok=True)
        status = _run_within_budget(command, args.budget, cwd=submission.path.parent)
        if status:
            return Row(submission.id, status, seed=seed)
        report.with_suffix(".options").write_text(options)
    return row_of(submission.id, report, args.points_grading, seed)


def _run_within_budget(command, budget, cwd):
    """'' once the verify run has ended; why not when it did not."""
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        _, stderr = process.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        # SIGTERM first: verify then kills its worker (a session of its own,
        # which a signal to this group misses); SIGKILL if it does not end.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.communicate(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        return f"not graded: exceeded the time budget of {budget:g} s"
    if process.returncode not in (0, 1, 2, 3):
        tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        return f"not graded: verify exited with status {process.returncode} {tail[0]}".strip()
    return ""


def row_of(submission_id, report_path, grading_spec, seed):
    """The Row of a submission from its JSON report."""
    try:
        report = report_from_json(json.loads(report_path.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as error:
        return Row(submission_id, f"not graded: unreadable report ({error})", seed=seed)
    graded = grading.grade(report, grading_spec)
    status = "graded" if report.exit_code != EXIT_UNUSABLE else f"graded 0: {report.unavailable}"
    per_op = {}
    for test in graded.tests:
        per_op[test.op] = per_op.get(test.op, 0.0) + test.score
    return Row(submission_id, status, graded.score, graded.max_score, per_op, seed)


def _seed_of(out):
    """The output folder's seed: drawn on its first run and kept, so that a
    re-run grades on the same fresh cases (and current reports stand)."""
    kept = out / "seed"
    if not kept.is_file():
        kept.write_text(f"{secrets.randbelow(10**6)}\n")
    return int(kept.read_text())


def write_gradebook(path, rows, ops):
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "score", "max_score", "status", "seed", *ops])
        for row in rows:
            per_op = row.per_op or {}
            writer.writerow(
                [
                    row.id,
                    _points(row.score),
                    _points(row.max_score),
                    row.status,
                    row.seed if row.seed is not None else "",
                ]
                + [_points(per_op.get(op, 0.0)) for op in ops]
            )


def _points(value):
    return f"{value:.4g}"


def run(args):
    try:
        shard = parse_shard(args.shard)
        folder = Path(args.submissions).resolve()
        if not folder.is_dir():
            raise ValueError(f"{folder}: no such folder of submissions")
        for op in args.op or ():
            registry.get(op)
        if args.conventions:
            conventions.read_file(args.conventions)
        loaded = grading.load(args.points) if args.points else grading.Grading()
        if args.jobs < 1 or args.budget <= 0:
            raise ValueError("--jobs and --budget must be positive")
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    # Every submission is graded on the rows the reference produces, whatever it implements.
    planned = grading.planned_rows(args.op, None, "float64", args.fresh > 0)
    args.points_grading = dataclasses.replace(loaded, rows=planned)
    chosen = [s for s in submissions(folder) if in_shard(s, shard)]
    out = Path(args.output or "grades").resolve()
    out.mkdir(parents=True, exist_ok=True)
    seed = args.seed if args.seed is not None else _seed_of(out)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda s: run_one(s, args, seed, out), chosen))
    ops = [op for op in registry.REGISTRY if not args.op or op in args.op]
    name = "gradebook.csv" if shard == (1, 1) else f"gradebook-{shard[0]}-of-{shard[1]}.csv"
    write_gradebook(out / name, rows, ops)
    failed = [row for row in rows if row.status.startswith("not graded")]
    print(f"{len(rows)} submissions, {len(rows) - len(failed)} graded (seed {seed}): {out / name}")
    for row in failed:
        print(f"  {row.id}: {row.status}")
    return 1 if failed else 0
