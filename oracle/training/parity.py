"""`cnn-oracle parity NET`: train one of the documents' networks on every
engine in lockstep and report where, if anywhere, they part.

The last line is the verdict: `PASSED: ...` (exit 0), `FAILED: ...` (exit 1,
two engines parted) or `error: ...` (exit 2, nothing was trained)."""

import textwrap
from pathlib import Path

from oracle import engines
from oracle.training import datasets, lockstep, network


def add_arguments(parser):
    parser.add_argument("network", choices=network.NAMES, help="the document's network")
    parser.add_argument(
        "--engine", action="append", choices=("numpy", "torch"), help="full-training engines (default: both)"
    )
    parser.add_argument("--epochs", type=int, help="override the document's number of epochs")
    parser.add_argument("--steps", type=int, help="stop after this many steps")
    parser.add_argument(
        "--reference-steps",
        type=int,
        default=3,
        help="steps the slow pure-Python engine runs in lockstep (default 3)",
    )
    parser.add_argument("--data", help="folder with real MNIST (IDX files or *train*.csv/*test*.csv)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=lockstep.TRAINING_THREADS,
        metavar="N",
        help="threads for each engine's BLAS and torch pools while training (default "
        f"{lockstep.TRAINING_THREADS}: the networks are small, and more threads only wait on each op)",
    )
    parser.add_argument(
        "--plot", metavar="FILE.png", help="write the engines' loss curves to this PNG (needs matplotlib)"
    )


def _print_epoch(epoch, run):
    cells = "  ".join(
        f"{name}: loss {history.epoch_loss[-1]:.6f} acc {history.epoch_accuracy[-1]:.4f}"
        for name, history in run.histories.items()
    )
    print(f"epoch {epoch + 1:>3}  {cells}", flush=True)


def _divergences(run):
    return ", ".join(f"{a} vs {b} {value:.2e}" for (a, b), value in run.max_divergence.items()) or "n/a"


class UsageError(ValueError):
    """What makes the run impossible before anything is trained (exit 2)."""


def _pyplot():
    """matplotlib.pyplot on the Agg backend; UsageError without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise UsageError(
            f"--plot needs matplotlib, which cannot be imported ({error}): "
            "pip install 'cnn-oracle[plot]' (or pip install matplotlib), or leave out --plot"
        ) from None
    return plt


def _check_plot_target(path):
    """Fail before training, not after: matplotlib present, the folder there."""
    _pyplot()
    target = Path(path).resolve()
    if target.is_dir():
        raise UsageError(f"--plot {path}: a folder, not a file name (e.g. {Path(path) / 'loss.png'})")
    if not target.parent.is_dir():
        raise UsageError(f"--plot {path}: the folder {target.parent} does not exist")


def run(args):
    try:
        counts = (
            ("--epochs", args.epochs, 1),  # 0 epochs or steps would compare nothing and pass
            ("--steps", args.steps, 1),
            ("--reference-steps", args.reference_steps, 0),
            ("--threads", args.threads, 1),
        )
        for option, value, least in counts:
            if value is not None and value < least:
                raise UsageError(f"{option} must be at least {least}, got {value}")
        if args.plot:
            _check_plot_target(args.plot)
        spec, split = network.build(args.network, args.data, args.epochs, args.seed)
    except (UsageError, datasets.DataError, ValueError) as error:
        print(f"error: {error}")
        return 2
    names = args.engine or ["numpy", "torch"]
    torch_ok, reason = engines.torch_available()
    if "torch" in names and not torch_ok:
        print(f"torch engine skipped: {reason}")
        names = [name for name in names if name != "torch"]
    if not names:
        print("error: no engine left to train: --engine torch needs torch")
        return 2
    print(f"network {spec.name}: {spec.description}")
    print(f"data: {split.source}; {len(split.x_train)} train, {len(split.x_test)} test")
    schedule = f"batch {spec.batch_size}, {spec.epochs} epochs, seed {spec.seed}"
    print(f"{spec.optimizer} lr {spec.learning_rate:g}, {schedule}\n")

    with lockstep.engine_threads(args.threads, torch="torch" in names):
        return _train(args, spec, split, names)


def _train(args, spec, split, names):
    """Exit code 0 or 1 of the reference prefix and the full training."""
    prefix = lockstep.reference_prefix(spec, split, names, args.reference_steps)
    print(
        f"reference prefix ({prefix.steps} steps of {prefix.spec.batch_size} samples): "
        f"max relative divergence {_divergences(prefix)}"
    )
    if not prefix.ok:
        print(f"DIVERGED {prefix.first_divergence.describe()}")

    float32 = args.dtype == "float32"
    # float32: each engine in float32 against the float64 NumPy engine.
    labels = ["numpy", *[f"{name}/float32" for name in names]] if float32 else names
    # The NumPy twin tells amplified rounding from a disagreement; with torch alone nothing is compared.
    twin = labels[0] == "numpy"
    full = lockstep.train(spec, split, labels, max_steps=args.steps, on_epoch=_print_epoch, twin=twin)
    print(
        f"\nmax relative divergence ({lockstep.PARITY_REL:g} allowed, ||a-b||inf/||a||inf per parameter): "
        f"{_divergences(full)}"
    )
    if full.first_amplified is not None:
        print(
            f"rounding amplified by the training (reported, not failed): {full.first_amplified.describe()}; "
            f"a NumPy twin nudged by one unit of rounding per step had drifted {full.twin_drift:.3g} by then"
        )
    if not full.ok:
        label = "float32 drift (reported, not failed):" if float32 else "DIVERGED"
        print(f"{label} {full.first_divergence.describe()}")
    accuracy = ", ".join(f"{name} {value:.4f}" for name, value in full.test_accuracy.items())
    print(f"test accuracy: {accuracy}   (document: {spec.document_accuracy})")
    if args.plot:
        _plot(prefix, full, len(split.x_train), args.plot)
    code = 1 if not prefix.ok or (not float32 and not full.ok) else 0
    print(f"\n{verdict(spec, prefix, full, float32)}")
    return code


def _steps(count):
    return f"{count} step" + ("" if count == 1 else "s")


def verdict(spec, prefix, full, float32=False):
    """The last line of the run: FAILED (exit 1) or PASSED (exit 0), and why."""
    if not prefix.ok:
        return (
            f"FAILED: network {spec.name}: the reference prefix parted from the other engines at "
            f"{prefix.first_divergence.describe()}"
        )
    if not full.ok and not float32:
        return f"FAILED: network {spec.name}: the engines parted at {full.first_divergence.describe()}"
    trained = f"{', '.join(full.histories)}: {_steps(full.steps)}"
    if float32:
        drift = max(full.max_divergence.values(), default=0.0)
        return (
            f"PASSED: network {spec.name}: the reference prefix within {lockstep.PARITY_REL:g} "
            f"({_steps(prefix.steps)}); {trained}, float32 drift {drift:.3g} reported, not failed"
        )
    line = (
        f"PASSED: network {spec.name}: every engine within {lockstep.PARITY_REL:g} of the first "
        f"(reference prefix: {_steps(prefix.steps)}; {trained})"
    )
    if full.first_amplified is not None:
        line += "; rounding amplified by the training reported, not failed"
    return line


def _plot(prefix, run, samples, path):
    figure = loss_figure(prefix, run, samples)
    figure.savefig(path, dpi=120)
    _pyplot().close(figure)
    print(f"loss curves written to {path}")


def loss_figure(prefix, run, samples):
    """A matplotlib figure: each engine's mean training loss per epoch on a
    whole-epoch axis, and the per-step losses of the reference prefix (on
    `samples` training samples) at the fraction of the first epoch they cover."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 4))
    # Engines that agree draw on top of each other: distinct styles keep each visible.
    styles = [("-", "o", 7), ("--", "x", 6), (":", "s", 3)]
    for (name, history), (line, marker, size) in zip(run.histories.items(), styles):
        epochs = range(1, len(history.epoch_loss) + 1)
        axis.plot(epochs, history.epoch_loss, label=name, linestyle=line, marker=marker, markersize=size)
    reference = prefix.histories.get("reference")
    if reference is not None and reference.losses:
        batch = prefix.spec.batch_size
        steps = range(1, len(reference.losses) + 1)
        axis.plot(
            [step * batch / samples for step in steps],
            reference.losses,
            label=f"reference (prefix: {_steps(prefix.steps)}, batch {batch}; loss per step)",
            linestyle="none",
            marker="D",
            markersize=5,
        )
    # Whole epochs only, and at least two of them on the axis (0 is the start).
    epochs = max((len(history.epoch_loss) for history in run.histories.values()), default=1)
    axis.set_xlim(-0.05 * max(epochs, 1) - 0.1, epochs * 1.05 + 0.1)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("epoch")
    axis.set_ylabel("mean training loss")
    title = (
        f"network {run.spec.name} ({run.spec.loss}); max divergence {_divergences(run)}; "
        f"reference prefix: {_divergences(prefix)}"
    )
    axis.set_title(textwrap.fill(title, 110), fontsize=8)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure
