"""Data for the documents' networks, with no download.

The embedded default is scikit-learn's bundled handwritten digits (8x8,
1797 images); real MNIST is read from local files, in the IDX format
(optionally gzipped) or in document 004's CSV layout (label, then 784 pixel
columns). Images come back as float64 arrays (N, 1, H, W) scaled to [0, 1].
"""

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray
    y_train: np.ndarray  # integer labels
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def digits():
    """scikit-learn's bundled digits: the first 1437 images train, 360 test."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images[:, None, :, :] / 16.0
    cut = 1437
    return Split(
        images[:cut], bunch.target[:cut], images[cut:], bunch.target[cut:], "scikit-learn digits (8x8)"
    )


def two_classes(split, classes=(0, 1), per_class=100):
    """Document 001's subset: the first `per_class` images of each class in
    each part, labels renumbered 0..len(classes)-1 in that order."""

    def take(x, y):
        chosen = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in classes])
        chosen.sort()
        return x[chosen], np.searchsorted(np.array(classes), y[chosen])

    x_train, y_train = take(split.x_train, split.y_train)
    x_test, y_test = take(split.x_test, split.y_test)
    return Split(
        x_train, y_train, x_test, y_test, f"{split.source}, classes {classes}, {per_class} per class"
    )


def square_images(count, seed, size=6, square=3, value=5.0):
    """Document 002's generator: class 0 is uniform noise in (-1, 1); class 1
    the same with a square x square block of `value` at a random position."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1.0, 1.0, (count, 1, size, size))
    labels = rng.integers(0, 2, count)
    for image, label in zip(images, labels):
        if label:
            row, col = rng.integers(0, size - square + 1, size=2)
            image[0, row : row + square, col : col + square] = value
    return images, labels


def classification_004(seed):
    """Document 004's task: make_classification, 5000 samples, 20 features,
    first 4000 train, last 1000 test. The document's n_informative argument
    is cut off in the text; 10 is used here."""
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=5000, n_features=20, n_informative=10, random_state=seed)
    return Split(x[:4000], y[:4000], x[4000:], y[4000:], "make_classification(5000, 20 features)")


# ---- real MNIST from local files ----


class DataError(ValueError):
    """A data file that cannot be read, with the file and the reason."""


def _open(path):
    path = Path(path)
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path):
    """One IDX array (the MNIST distribution format): magic 0x0000 0x08 (ubyte)
    then the number of dimensions, big-endian sizes, and the data."""
    with _open(path) as handle:
        header = handle.read(4)
        if len(header) < 4 or header[:2] != b"\x00\x00" or header[2] != 0x08:
            raise DataError(f"{path}: not an unsigned-byte IDX file (magic {header.hex()})")
        dims = struct.unpack(f">{header[3]}I", handle.read(4 * header[3]))
        data = np.frombuffer(handle.read(), dtype=np.uint8)
    if data.size != int(np.prod(dims)):
        raise DataError(
            f"{path}: header promises {int(np.prod(dims))} values for shape {dims}, file has {data.size}"
        )
    return data.reshape(dims)


def read_csv(path):
    """Document 004's layout: one image a row, label first, then the pixels
    (784 for 28x28); a header row is skipped. Returns (images, labels)."""
    try:
        rows = np.loadtxt(path, delimiter=",", skiprows=_header_rows(path), ndmin=2)
    except ValueError as error:
        raise DataError(f"{path}: {error}") from None
    side = int(round(np.sqrt(rows.shape[1] - 1)))
    if side * side != rows.shape[1] - 1:
        raise DataError(f"{path}: {rows.shape[1] - 1} pixel columns is not a square image")
    return rows[:, 1:].reshape(-1, side, side), rows[:, 0].astype(int)


def _header_rows(path):
    with open(path) as handle:
        first = handle.readline().split(",")[0].strip()
    return 0 if first.lstrip("-").replace(".", "", 1).isdigit() else 1


def _find(folder, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).exists():
            return folder / name
    raise DataError(f"{folder}: no {stem}[.gz]")


def mnist(path):
    """Real MNIST from a folder of the four IDX files, or from a folder or
    pair of CSV files (mnist_train.csv, mnist_test.csv)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    csvs = sorted(path.glob("*train*.csv")), sorted(path.glob("*test*.csv"))
    if path.is_dir() and all(csvs):
        (train_x, train_y), (test_x, test_y) = read_csv(csvs[0][0]), read_csv(csvs[1][0])
        source = f"MNIST CSV in {path}"
    elif path.is_dir():
        train_x = read_idx(_find(path, "train-images-idx3-ubyte"))
        train_y = read_idx(_find(path, "train-labels-idx1-ubyte"))
        test_x = read_idx(_find(path, "t10k-images-idx3-ubyte"))
        test_y = read_idx(_find(path, "t10k-labels-idx1-ubyte"))
        source = f"MNIST IDX in {path}"
    else:
        raise DataError(f"{path}: expected a folder with the MNIST IDX files or *train*.csv and *test*.csv")
    for images, labels, part in ((train_x, train_y, "train"), (test_x, test_y, "test")):
        if len(images) != len(labels):
            raise DataError(f"{path}: {part} has {len(images)} images but {len(labels)} labels")
    scale = lambda images: images[:, None, :, :].astype(float) / 255.0  # noqa: E731
    return Split(scale(train_x), np.asarray(train_y, int), scale(test_x), np.asarray(test_y, int), source)
