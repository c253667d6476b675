"""`cnn-oracle parity NET`: train one of the documents' networks on every
engine in lockstep and report where, if anywhere, they part."""

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
    parser.add_argument("--plot", help="write the engines' loss curves to this PNG (needs matplotlib)")


def _print_epoch(epoch, run):
    cells = "  ".join(
        f"{name}: loss {history.epoch_loss[-1]:.6f} acc {history.epoch_accuracy[-1]:.4f}"
        for name, history in run.histories.items()
    )
    print(f"epoch {epoch + 1:>3}  {cells}", flush=True)


def _divergences(run):
    return ", ".join(f"{a} vs {b} {value:.2e}" for (a, b), value in run.max_divergence.items()) or "n/a"


def run(args):
    try:
        spec, split = network.build(args.network, args.data, args.epochs, args.seed)
    except (datasets.DataError, ValueError) as error:
        print(f"error: {error}")
        return 2
    names = args.engine or ["numpy", "torch"]
    torch_ok, reason = engines.torch_available()
    if "torch" in names and not torch_ok:
        print(f"torch engine skipped: {reason}")
        names = [name for name in names if name != "torch"]
    print(f"network {spec.name}: {spec.description}")
    print(f"data: {split.source}; {len(split.x_train)} train, {len(split.x_test)} test")
    schedule = f"batch {spec.batch_size}, {spec.epochs} epochs, seed {spec.seed}"
    print(f"{spec.optimizer} lr {spec.learning_rate:g}, {schedule}\n")

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
    full = lockstep.train(spec, split, labels, max_steps=args.steps, on_epoch=_print_epoch, twin=True)
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
        verdict = "float32 drift (reported, not failed):" if float32 else "DIVERGED"
        print(f"{verdict} {full.first_divergence.describe()}")
    accuracy = ", ".join(f"{name} {value:.4f}" for name, value in full.test_accuracy.items())
    print(f"test accuracy: {accuracy}   (document: {spec.document_accuracy})")
    if args.plot:
        _plot(full, args.plot)
    return 1 if not prefix.ok or (not float32 and not full.ok) else 0


def _plot(run, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib: pip install 'cnn-oracle[plot]'")
        return
    figure, axis = plt.subplots(figsize=(7, 4))
    # Engines that agree draw on top of each other: distinct styles keep each visible.
    styles = [("-", "o", 7), ("--", "x", 6), (":", "s", 3)]
    for (name, history), (line, marker, size) in zip(run.histories.items(), styles):
        epochs = range(1, len(history.epoch_loss) + 1)
        axis.plot(epochs, history.epoch_loss, label=name, linestyle=line, marker=marker, markersize=size)
    axis.set_xlabel("epoch")
    axis.set_ylabel("mean training loss")
    axis.set_title(
        f"network {run.spec.name} ({run.spec.loss}); max divergence {_divergences(run)}", fontsize=9
    )
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    print(f"loss curves written to {path}")
