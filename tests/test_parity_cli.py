"""`cnn-oracle parity` as a user meets it: the verdict on its last line,
--plot refused before any training when it cannot be honoured, and the
figure's axis and legend. Network 003 (one step of one sample) keeps
every run short."""

import sys

import pytest

from oracle import cli, engines
from oracle.engines import numpy_ops, torch_ops
from oracle.training import lockstep, network, parity


def _last_line(out):
    return out.strip().splitlines()[-1]


def test_a_passing_run_ends_with_a_passed_verdict(capsys):
    assert cli.main(["parity", "003", "--engine", "numpy"]) == 0
    last = _last_line(capsys.readouterr().out)
    assert last.startswith("PASSED: network 003: every engine within 1e-10 of the first"), last
    assert "(reference prefix: 1 step; numpy: 1 step)" in last


def test_a_divergence_ends_with_a_failed_verdict_naming_where(monkeypatch, capsys):
    original = numpy_ops.sigmoid_backward
    monkeypatch.setattr(numpy_ops, "sigmoid_backward", lambda x, dy: 1.001 * original(x, dy))
    assert cli.main(["parity", "003", "--engine", "numpy"]) == 1
    last = _last_line(capsys.readouterr().out)
    assert last.startswith("FAILED: network 003: the reference prefix parted from the other engines"), last
    assert "step 0, layer 2 (dense), " in last


def _refuse_training(monkeypatch):
    """Any training from here on fails the test."""

    def trained(*args, **kwargs):
        raise AssertionError("parity trained although it should have stopped first")

    monkeypatch.setattr(lockstep, "train", trained)


def test_plot_without_matplotlib_stops_before_training(monkeypatch, tmp_path, capsys):
    # None in sys.modules makes `import matplotlib` (and its submodules) raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    _refuse_training(monkeypatch)
    target = tmp_path / "loss.png"
    assert cli.main(["parity", "003", "--engine", "numpy", "--plot", str(target)]) == 2
    out = capsys.readouterr().out
    assert "epoch" not in out and "reference prefix" not in out, out
    last = _last_line(out)
    assert last.startswith("error: --plot needs matplotlib"), last
    assert "pip install 'cnn-oracle[plot]'" in last
    assert not target.exists()


@pytest.mark.parametrize("where", ["missing-folder", "a-folder"])
def test_plot_to_a_place_it_cannot_write_stops_before_training(monkeypatch, tmp_path, capsys, where):
    pytest.importorskip("matplotlib", reason="--plot needs the plot extra (matplotlib)")
    _refuse_training(monkeypatch)
    target = tmp_path / "nowhere" / "loss.png" if where == "missing-folder" else tmp_path
    assert cli.main(["parity", "003", "--plot", str(target)]) == 2
    last = _last_line(capsys.readouterr().out)
    expected = "does not exist" if where == "missing-folder" else "a folder, not a file name"
    assert last.startswith(f"error: --plot {target}: ") and expected in last, last


@pytest.mark.parametrize("name, epochs", [("003", None), ("004a", 3)])
def test_the_plot_has_whole_epochs_and_the_reference_prefix_in_its_legend(name, epochs):
    pytest.importorskip("matplotlib", reason="--plot needs the plot extra (matplotlib)")
    spec, split = network.build(name, epochs=epochs)
    prefix = lockstep.reference_prefix(spec, split, ["numpy"], 1)
    full = lockstep.train(spec, split, ["numpy"])
    figure = parity.loss_figure(prefix, full, len(split.x_train))
    try:
        (axis,) = figure.axes
        low, high = axis.get_xlim()
        ticks = [tick for tick in axis.get_xticks() if low <= tick <= high]
        assert len(ticks) >= 2 and all(float(tick).is_integer() for tick in ticks), ticks
        assert high >= spec.epochs
        labels = [text.get_text() for text in axis.get_legend().get_texts()]
        batch = prefix.spec.batch_size
        assert labels == ["numpy", f"reference (prefix: 1 step, batch {batch}; loss per step)"]
        assert "reference prefix: reference vs numpy" in axis.get_title().replace("\n", " ")
    finally:
        parity._pyplot().close(figure)


def _pool_threads(torch):
    """[each BLAS library's threads] and torch's intra-op threads (or None)."""
    from threadpoolctl import threadpool_info

    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return blas, torch.get_num_threads() if torch else None


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_training_holds_every_pool_to_threads_and_restores_it(monkeypatch, capsys, engine):
    ok, reason = engines.torch_available()
    if engine == "torch" and not ok:
        pytest.skip(reason)
    torch = torch_ops.load() if engine == "torch" else None
    before, seen = _pool_threads(torch), []
    train = lockstep.train

    def recording(*args, **kwargs):
        seen.append(_pool_threads(torch))
        return train(*args, **kwargs)

    monkeypatch.setattr(lockstep, "train", recording)
    assert cli.main(["parity", "003", "--engine", engine, "--threads", "3"]) == 0, capsys.readouterr().out
    blas, torch_threads = seen[0]
    assert blas and set(blas) == {3}
    assert torch_threads == (3 if torch else None)
    assert _pool_threads(torch) == before


@pytest.mark.parametrize(
    "option, value, least",
    [("--threads", 0, 1), ("--epochs", 0, 1), ("--steps", -1, 1), ("--reference-steps", -1, 0)],
)
def test_a_count_below_its_least_stops_before_training(option, value, least, monkeypatch, capsys):
    """No run that trains nothing (or, for a negative --steps, all but the
    last step) and passes."""
    _refuse_training(monkeypatch)
    assert cli.main(["parity", "003", option, str(value)]) == 2
    assert _last_line(capsys.readouterr().out) == f"error: {option} must be at least {least}, got {value}"
