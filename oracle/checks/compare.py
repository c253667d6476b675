"""`cnn-oracle compare`: the agreement matrix of every op and engine pair
against the float64 reference, forward and backward, plus the analytic
(NumPy) gradients against finite differences."""

from dataclasses import dataclass, field

from oracle import engines, registry, samples
from oracle.checks import agreement, finite_diff

BATCH = 3


@dataclass
class Cell:
    """One row of the matrix: worst errors over all seeds, first failure."""

    op: str
    pair: str
    direction: str
    max_abs: float = 0.0
    max_rel: float = 0.0
    max_ratio: float = 0.0  # worst error / allowance: the margin left
    checks: int = 0
    failure: str = ""
    reproduce: str = ""
    kinks: int = 0
    notes: list = field(default_factory=list)

    def add(self, comparison, ok, describe, reproduce):
        self.checks += 1
        self.max_abs = max(self.max_abs, comparison.max_abs)
        self.max_rel = max(self.max_rel, comparison.max_rel)
        self.max_ratio = max(self.max_ratio, comparison.max_ratio)
        if not ok and not self.failure:
            self.failure, self.reproduce = describe(), reproduce

    @property
    def status(self):
        return "FAIL" if self.failure else "pass"


def add_arguments(parser):
    parser.add_argument("--op", action="append", help="only this op (repeatable); default: every op")
    parser.add_argument("--engine", action="append", choices=engines.ENGINES[1:], help="only this engine")
    parser.add_argument("--seeds", type=int, default=10, help="random samples per op (default 10)")
    parser.add_argument("--seed", type=int, help="run this one seed only (to reproduce a failure)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="engine precision")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda (TF32 is disabled)")
    parser.add_argument("--no-gradcheck", action="store_true", help="skip the finite-difference rows")


def _selected_ops(args):
    names = args.op or [spec.name for spec in registry.OPS]
    return [registry.get(name) for name in names]


def _engines_for(spec, args, torch_ok):
    wanted = args.engine or engines.ENGINES[1:]
    return [e for e in spec.engines[1:] if e in wanted and (e != "torch" or torch_ok)]


def _reproduce(spec, engine, seed, args):
    command = f"cnn-oracle compare --op {spec.name} --engine {engine} --seed {seed}"
    if args.dtype != "float64":
        command += f" --dtype {args.dtype}"
    if engine == "torch" and args.device != "cpu":
        command += f" --device {args.device}"
    return command


def _agreement_cells(spec, engine, seeds, args):
    cells = {}
    for seed in seeds:
        batch = BATCH if spec.batch_inputs else None
        inputs, params = samples.draw(spec.samples, seed, batch)
        device = args.device if engine == "torch" else "cpu"
        for result in agreement.agree(spec, engine, inputs, params, batch is not None, args.dtype, device):
            cell = cells.setdefault(
                result.direction, Cell(spec.name, f"{engine} vs reference", result.direction)
            )
            cell.add(result.comparison, result.ok, result.describe, _reproduce(spec, engine, seed, args))
    return list(cells.values())


def _gradient_cell(spec, seeds, args):
    cell = Cell(spec.name, "numpy vs finite differences", "backward")
    for seed in seeds:
        inputs, params = samples.draw(spec.samples, seed)
        for check in finite_diff.check_full(spec, inputs, params):
            if check.status == "kink crossed":
                cell.kinks += 1
                continue
            reproduce = f"cnn-oracle compare --op {spec.name} --seed {seed}"
            cell.add(check.comparison, check.ok, check.describe, reproduce)
    return cell


def _format(value):
    return f"{value:.2e}" if value else "0"


def run(args):
    torch_ok, reason = engines.torch_available()
    if args.device != "cpu":
        ok, why = engines.cuda_available() if args.device.startswith("cuda") else (torch_ok, reason)
        if not ok:
            print(f"error: --device {args.device}: {why}")
            return 2
        name = (
            engines.torch_ops.torch.cuda.get_device_name(args.device)
            if args.device.startswith("cuda")
            else ""
        )
        print(f"torch engine on {args.device} {name}: TF32 disabled (matmul and cuDNN)\n")
    if not torch_ok:
        print(f"torch engine skipped: {reason}\n")
    try:
        if args.seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
        specs = _selected_ops(args)
    except ValueError as error:
        print(f"error: {error}")
        return 2
    seeds = [args.seed] if args.seed is not None else list(range(args.seeds))
    cells = []
    for spec in specs:
        for engine in _engines_for(spec, args, torch_ok):
            cells.extend(_agreement_cells(spec, engine, seeds, args))
        if spec.gradients and not args.no_gradcheck and (not args.engine or "numpy" in args.engine):
            cells.append(_gradient_cell(spec, seeds, args))
    header = f"{'op':<26}{'engines':<30}{'direction':<11}{'max abs err':>12}{'max rel err':>12}"
    header += f"{'err/tol':>9}  status"
    print(header)
    print("-" * len(header))
    for cell in cells:
        note = f" ({cell.kinks} kink crossed)" if cell.kinks else ""
        print(
            f"{cell.op:<26}{cell.pair:<30}{cell.direction:<11}"
            f"{_format(cell.max_abs):>12}{_format(cell.max_rel):>12}"
            f"{cell.max_ratio:>9.2g}  {cell.status}{note}"
        )
    failed = [cell for cell in cells if cell.failure]
    for cell in failed:
        print(f"\nFAIL {cell.failure}\n     reproduce: {cell.reproduce}")
    summary = f"{len(cells) - len(failed)} passed, {len(failed)} failed"
    print(f"\n{summary} ({args.dtype}, seeds {seeds[0]}..{seeds[-1]})")
    return 1 if failed or not cells else 0
