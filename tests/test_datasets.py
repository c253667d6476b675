"""Data loaders, tested on small files the tests write."""

import gzip
import struct

import numpy as np
import pytest

from oracle.training import datasets, lockstep, network


def _write_idx(path, array, compress=False):
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with (gzip.open if compress else open)(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def _mnist_folder(folder, compress=False, count=(30, 20)):
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    for prefix, n in zip(("train", "t10k"), count):
        _write_idx(
            folder / f"{prefix}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n, 28, 28)), compress
        )
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(n) % 10, compress)
    return folder


@pytest.mark.parametrize("compress", [False, True], ids=["idx", "idx.gz"])
def test_mnist_idx_files_load_scaled_to_unit_range(tmp_path, compress):
    split = datasets.mnist(_mnist_folder(tmp_path, compress))
    assert split.x_train.shape == (30, 1, 28, 28) and split.x_test.shape == (20, 1, 28, 28)
    assert 0.0 <= split.x_train.min() and split.x_train.max() <= 1.0
    assert list(split.y_test[:12]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


@pytest.mark.parametrize("header", [True, False])
def test_mnist_csv_layout_of_document_004(tmp_path, header):
    rng = np.random.default_rng(1)
    for part, n in (("train", 12), ("test", 5)):
        rows = np.column_stack([np.arange(n) % 10, rng.integers(0, 256, (n, 784))])
        text = ("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n") if header else ""
        text += "\n".join(",".join(str(v) for v in row) for row in rows) + "\n"
        (tmp_path / f"mnist_{part}.csv").write_text(text)
    split = datasets.mnist(tmp_path)
    assert split.x_train.shape == (12, 1, 28, 28) and list(split.y_train[:3]) == [0, 1, 2]


def test_real_mnist_switches_network_001_to_28x28_sizes(tmp_path):
    folder = _mnist_folder(tmp_path, count=(60, 40))
    spec, split = network.build("001", data_path=str(folder), epochs=1)
    assert spec.layers[3].init["weights"].shape == (100, 5 * 26 * 26)
    run = lockstep.train(spec, split, ("reference", "numpy"), max_steps=1, evaluate=False)
    assert run.ok


def test_bad_files_are_named(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x0d\x03")
    with pytest.raises(datasets.DataError, match="train-images-idx3-ubyte: not an unsigned-byte IDX file"):
        datasets.read_idx(tmp_path / "train-images-idx3-ubyte")
    truncated = tmp_path / "short"
    _write_idx(truncated, np.zeros((4, 2, 2)))
    truncated.write_bytes(truncated.read_bytes()[:-3])
    with pytest.raises(datasets.DataError, match="header promises 16 values"):
        datasets.read_idx(truncated)
    with pytest.raises(datasets.DataError, match="no train-images-idx3-ubyte"):
        datasets.mnist(_empty(tmp_path))


def _empty(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_embedded_digits_and_document_002_generator():
    split = datasets.digits()
    assert split.x_train.shape == (1437, 1, 8, 8) and split.x_test.shape == (360, 1, 8, 8)
    images, labels = datasets.square_images(50, seed=3)
    squares = images[labels == 1]
    assert all((image == 5.0).sum() == 9 for image in squares)
    assert np.all(np.abs(images[labels == 0]) < 1.0)
