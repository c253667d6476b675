"""Vectorized NumPy versions of the reference ops, batch first.

Same names and signatures as reference/, with a leading batch axis on the
per-sample arguments (x, dy, y_true, y_pred, z): volumes are (N, C, H, W),
vectors (N, features). Parameter gradients (dkernels, dbiases, dweights,
dbias) are summed over the batch, as a training step needs them.
No Python loop runs over pixels or samples: windows come from
sliding_window_view and the sums are tensordot/einsum (BLAS); the conv
layer loops only over its kernel offsets (see "convolutional layer").
"""

import contextlib
import itertools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import threadpoolctl
from numpy.lib.stride_tricks import sliding_window_view

from reference.activations import LEAKY_RELU_SLOPE
from reference.losses import PROBABILITY_EPSILON


def shape(x, name="x"):
    """Per-sample shape (the batch axis left out)."""
    return tuple(np.shape(x)[1:])


def bias_mode(biases):
    return "tied" if np.ndim(biases) == 1 else "untied"


def _windows(x, k_rows, k_cols, stride):
    """(..., Ho, Wo, k_rows, k_cols) views of the last two axes."""
    view = sliding_window_view(x, (k_rows, k_cols), axis=(-2, -1))
    return view[..., ::stride, ::stride, :, :]


def _pad(x, top, bottom, left, right):
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(x, widths)


def _dilate(dy, stride):
    if stride == 1:
        return dy
    rows, cols = dy.shape[-2:]
    out = np.zeros(dy.shape[:-2] + ((rows - 1) * stride + 1, (cols - 1) * stride + 1), dtype=dy.dtype)
    out[..., ::stride, ::stride] = dy
    return out


# ---- cross-correlation and convolution of a batch of matrices (N, H, W) ----


def rot180(k):
    return np.asarray(k)[..., ::-1, ::-1]


def correlate2d(x, k, mode="valid", stride=1):
    x, k = np.asarray(x), np.asarray(k)
    k_rows, k_cols = k.shape
    if mode == "full":
        x = _pad(x, k_rows - 1, k_rows - 1, k_cols - 1, k_cols - 1)
    return np.einsum("nhwij,ij->nhw", _windows(x, k_rows, k_cols, stride), k)


def convolve2d(x, k, mode="valid", stride=1):
    return correlate2d(x, rot180(k), mode, stride)


# ---- convolutional layer ----
#
# Both passes are a few BLAS products over a part of the batch (im2col). The
# input is copied once into zero-padded planes, channel-major (C, N, Hp, Wp); the
# columns matrix stacks, for each kernel offset (i, j), the inputs that offset
# meets at every output (a strided view of the planes). The input gradient
# scatter-adds each offset's share of dx, K^T dy, back at that offset. With
# stride 1 the shares are computed on the whole padded plane (dy being zero
# where there is no output), so that each scatter-add is one contiguous block:
# the planes are one flat buffer, and offset (i, j) is that buffer shifted by
# i * Wp + j.
#
# The batch is cut into parts when the work is large enough, and the caller's
# thread and helper threads take the parts in turn, BLAS held to one thread, as
# torch runs its conv: the copies and scatter-adds around the products are half
# the work, and BLAS would run them on one core. A helper that starts late
# delays nothing: the caller takes the parts left. Each part keeps its own work
# arrays (_Scratch) from call to call, whichever thread takes it.


class _Scratch:
    """Work arrays kept between calls: a fresh array costs a page fault per
    4 KiB on first touch, which on a VM is slower than the copy that fills it.
    Arrays over LIMIT bytes are allocated per call."""

    LIMIT = 32 << 20
    LINE = 64  # bytes in a cache line

    def __init__(self):
        self.arrays = {}
        self.layouts = {}  # name -> the layout whose frame is known to be zero (see framed)
        self.columns = None  # (geometry, its inputs as held, columns) of the last _columns call

    def array(self, name, shape, dtype):
        dtype, size = np.dtype(dtype), math.prod(shape)
        self.layouts.pop(name, None)
        if size * dtype.itemsize > self.LIMIT:
            return np.empty(shape, dtype)
        held = self.arrays.get(name)
        if held is None or held.dtype != dtype or held.size < size:
            held = self.arrays[name] = np.empty(size, dtype)
        return held[:size].reshape(shape)

    def matrix(self, name, rows, cols, dtype):
        """A (rows, cols) view whose rows lie an odd number of cache lines
        apart. Rows a power of two apart share cache sets: a product writing
        several such rows at once took a third longer (OpenBLAS)."""
        line = self.LINE // np.dtype(dtype).itemsize
        lines = -(-cols // line) | 1
        return self.array(name, (rows, lines * line), dtype)[:, :cols]

    def zeros(self, name, shape, dtype):
        array = self.array(name, shape, dtype)
        array.fill(0)
        return array

    def framed(self, name, shape, dtype, layout):
        """An array that is zero wherever its callers never write, provided they
        write the same region for the same `layout`: zero-filled only when the
        layout or the array changes."""
        if self.layouts.get(name) == layout:
            return self.arrays[name][: math.prod(shape)].reshape(shape)
        array = self.zeros(name, shape, dtype)
        if array.nbytes <= self.LIMIT:
            self.layouts[name] = layout
        return array


class _Parts:
    """Runs function(samples, scratch) over the batch of one layer call: in
    parts, taken in turn by the caller's thread and helper threads, when there
    is work enough for two, else whole on the caller's thread. One call in
    parts at a time: it uses every CPU, and part k's scratch is its own. A
    call made while another thread's call runs, or too small to cut, runs
    whole in its thread's own scratch: callers that bring their own threads
    (finite_diff does) each get a CPU, and no helper thread competes with them."""

    PART_WORK = 1 << 19  # least multiply-adds in a part: some 0.1 ms of a core, against ~25 us to wake one
    BLAS_WORK = 1 << 18  # from here BLAS may start threads in a product (OpenBLAS: M * N * K > 2^18)
    CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

    def __init__(self):
        self.lock = threading.Lock()  # held by the call in parts
        self.scratch = []  # scratch[k]: part k's work arrays
        self.own = threading.local()  # .scratch: a thread's work arrays for calls run whole
        self.helpers = None  # the threads that take parts alongside the caller's
        self.counting = threading.Lock()
        self.running = 0  # layer calls running now, in any thread
        self.whole = threading.local()  # .held: calls_whole() blocks this thread is in

    @contextlib.contextmanager
    def _counted(self):
        """Yields whether this is the only layer call running."""
        with self.counting:
            self.running += 1
            alone = self.running == 1
        try:
            yield alone
        finally:
            with self.counting:
                self.running -= 1

    def run(self, function, g):
        """[function(samples, scratch) for each part of the batch]."""
        work = g.multiply_adds
        if work < min(self.PART_WORK, self.BLAS_WORK):  # nothing to cut or to hold BLAS to: run at once
            return [function(slice(0, g.batch), self._own_scratch())]
        count = max(1, min(self.CPUS, g.batch, work // self.PART_WORK))
        with self._counted() as alone, _blas.one_thread():
            cut = count > 1 and alone and not getattr(self.whole, "held", 0)
            if cut and self.lock.acquire(blocking=False):
                try:
                    self.scratch += [_Scratch() for _ in range(count - len(self.scratch))]
                    return self._in_parts(function, g.batch, count)
                finally:
                    self.lock.release()
            return [function(slice(0, g.batch), self._own_scratch())]

    def _own_scratch(self):
        """The calling thread's work arrays, for calls run whole."""
        if not hasattr(self.own, "scratch"):
            self.own.scratch = _Scratch()
        return self.own.scratch

    def _in_parts(self, function, batch, count):
        bounds = [batch * k // count for k in range(count + 1)]
        parts = [slice(start, stop) for start, stop in zip(bounds, bounds[1:])]
        results, finished = [None] * count, threading.Semaphore(0)
        claims = iter(range(count))  # next() on it is atomic (the GIL)

        def take():
            for k in claims:
                try:
                    results[k] = function(parts[k], self.scratch[k])
                except BaseException as error:  # raised in the caller's thread below
                    results[k] = _Failed(error)
                finally:
                    finished.release()

        if self.helpers is None:
            self.helpers = ThreadPoolExecutor(self.CPUS - 1, thread_name_prefix="numpy_ops-conv")
        for _ in range(count - 1):
            self.helpers.submit(take)
        take()  # a helper that starts late finds fewer parts left, or none
        for _ in range(count):
            finished.acquire()
        for result in results:
            if isinstance(result, _Failed):
                raise result.error
        return results

    def forget_helpers(self):
        """In a forked child: the helper threads did not follow, and no call runs there."""
        self.lock, self.helpers = threading.Lock(), None
        self.counting, self.running = threading.Lock(), 0


class _BlasThreads:
    """BLAS held to the calling thread while any layer call runs: the parts
    (or the callers' own threads) are the parallelism, and BLAS's threads,
    waiting hot between products, would take CPU time from them on a busy
    machine. The BLAS setting is the process's: the first call in sets it,
    the last one out restores it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.inside = 0  # layer calls running
        self.libraries = None  # threadpoolctl's controls of the BLAS libraries loaded
        self.held = []  # (library, its threads before)

    @contextlib.contextmanager
    def one_thread(self):
        with self.lock:
            if not self.inside:
                if self.libraries is None:
                    blas = threadpoolctl.ThreadpoolController().select(user_api="blas")
                    self.libraries = blas.lib_controllers
                self.held = [(library, library.num_threads) for library in self.libraries]
                self._set([(library, 1) for library, _ in self.held])
            self.inside += 1
        try:
            yield
        finally:
            with self.lock:
                self.inside -= 1
                if not self.inside:
                    self._set(self.held)

    @staticmethod
    def _set(settings):
        for library, threads in settings:
            library.set_num_threads(threads)
        threadpoolctl.OpenBLASController.clear_controlling_thread()  # let the next caller's thread set it

    def forget(self):
        """In a forked child: no call is running there."""
        self.lock, self.inside = threading.Lock(), 0


@contextlib.contextmanager
def calls_whole():
    """Layer calls made on this thread inside the block are never cut into
    parts: for callers that keep every CPU busy with threads of their own
    (finite_diff), where a helper thread would only compete with them."""
    _parts.whole.held = getattr(_parts.whole, "held", 0) + 1
    try:
        yield
    finally:
        _parts.whole.held -= 1


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_parts, _blas = _Parts(), _BlasThreads()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_parts.forget_helpers)
    os.register_at_fork(after_in_child=_blas.forget)


class _Geometry(NamedTuple):
    """A conv call's shapes (a tuple: made and compared at every call, where
    a frozen dataclass took 18 us to make)."""

    batch: int
    channels: int
    height: int
    width: int
    depth: int
    k_rows: int
    k_cols: int
    stride: int
    padding: int
    dtype: np.dtype

    @classmethod
    def of(cls, x, kernels, stride, padding, dtype):
        depth, _, k_rows, k_cols = kernels.shape
        return cls(*x.shape, depth, k_rows, k_cols, stride, padding, np.dtype(dtype))

    @property
    def padded(self):
        return self.height + 2 * self.padding, self.width + 2 * self.padding

    @property
    def out(self):
        rows, cols = self.padded
        return (rows - self.k_rows) // self.stride + 1, (cols - self.k_cols) // self.stride + 1

    @property
    def scatter_grid(self):
        """Positions per sample at which the shares of dx are computed."""
        return self.padded if self.stride == 1 else self.out

    @property
    def offsets(self):
        return list(itertools.product(range(self.k_rows), range(self.k_cols)))

    @property
    def planes_size(self):
        return self.channels * self.batch * math.prod(self.padded)

    @property
    def buffer_size(self):
        """Padded planes plus room for the last shifted block."""
        return self.planes_size + (self.k_rows - 1) * self.padded[1] + self.k_cols - 1

    @property
    def multiply_adds(self):
        """Of one pass of the layer (forward, or dx, or dK)."""
        return self.batch * self.depth * self.channels * self.k_rows * self.k_cols * math.prod(self.out)

    def part(self, samples):
        """The geometry of a slice of the batch."""
        count = samples.stop - samples.start
        return self if count == self.batch else self._replace(batch=count)


def _planes(buffer, g):
    """(C, N, Hp, Wp) view of a flat padded buffer."""
    return buffer[: g.planes_size].reshape((g.channels, g.batch) + g.padded)


def _interior(buffer, g):
    """(C, N, H, W) view of the unpadded inputs in a flat padded buffer."""
    p = g.padding
    return _planes(buffer, g)[:, :, p : p + g.height, p : p + g.width]


def _offset_views(buffer, g, whole_plane=False):
    """Views of a flat padded buffer, one per kernel offset (i, j) in order: what
    the offset meets at each output, (C, N, Ho, Wo), or with whole_plane (stride
    1) at each position of the padded planes, (C, N * Hp * Wp): the buffer
    shifted by i * Wp + j."""
    if whole_plane:
        starts = (i * g.padded[1] + j for i, j in g.offsets)
        return [buffer[start : start + g.planes_size].reshape(g.channels, -1) for start in starts]
    planes, (rows, cols), s = _planes(buffer, g), g.out, g.stride
    return [planes[:, :, i : i + s * rows : s, j : j + s * cols : s] for i, j in g.offsets]


def _same_bits(a, b):
    """Two (C, N, H, W) arrays of one shape hold the same numbers bit for bit
    (0.0 and -0.0 differ, NaN equals NaN). One plane is compared first: a
    different input is told at little cost."""
    if a.dtype != b.dtype:
        return False
    if a.size <= 4096:  # their bytes: a few microseconds less than NumPy's comparisons and reductions
        return a.tobytes() == b.tobytes()
    unsigned = _UNSIGNED[a.dtype.itemsize]
    a, b = a.view(unsigned), b.view(unsigned)
    return bool((a[:1, :1] == b[:1, :1]).all()) and bool((a == b).all())


_UNSIGNED = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def _columns(x, g, scratch):
    """(kh * kw * C + 1, N * Ho * Wo) matrix: row (i, j, c) holds channel c under
    kernel offset (i, j) at every output; the last row is ones (the bias).
    Backward reuses the matrix forward built for the same x, checked bit for bit."""
    x = x.astype(g.dtype, copy=False)
    if scratch.columns is not None:
        held_geometry, held_inputs, held_columns = scratch.columns
        if held_geometry == g and _same_bits(held_inputs, x.transpose(1, 0, 2, 3)):
            return held_columns
    scratch.columns = None
    padded = scratch.framed("padded", (g.buffer_size,), g.dtype, g)
    inputs = _interior(padded, g)
    inputs[...] = x.transpose(1, 0, 2, 3)
    columns = scratch.matrix("columns", len(g.offsets) * g.channels + 1, g.batch * math.prod(g.out), g.dtype)
    by_offset = columns[:-1].reshape((len(g.offsets), g.channels, g.batch) + g.out)
    for block, window in zip(by_offset, _offset_views(padded, g)):
        block[...] = window
    columns[-1] = 1
    if columns.nbytes <= _Scratch.LIMIT:
        scratch.columns = (g, inputs, columns)
    return columns


def _by_sample(matrix, g):
    """(N, rows, Ho * Wo) view of a (rows, N * Ho * Wo) matrix."""
    return matrix.reshape(matrix.shape[0], g.batch, -1).transpose(1, 0, 2)


def _kernel_matrix(kernels):
    """(D, kh * kw * C), columns in the order of the rows of _columns."""
    depth, channels, k_rows, k_cols = kernels.shape
    return kernels.transpose(0, 2, 3, 1).reshape(depth, k_rows * k_cols * channels)


def _one_image(x):
    """The samples are one image repeated, a broadcast view (batch stride 0), as
    finite differences pass them: its columns are built, and multiplied, once."""
    return x.shape[0] > 1 and x.strides[0] == 0


def conv2d_forward(x, kernels, biases, stride=1, padding=0):
    """Y_i = B_i + sum_j X_j * K_ij for every sample: (N, D, Ho, Wo). For one
    image repeated (a broadcast view), its outputs repeated: a read-only view."""
    x, kernels, biases = np.asarray(x), np.asarray(kernels), np.asarray(biases)
    if _one_image(x):
        one = conv2d_forward(x[:1], kernels, biases, stride, padding)
        return np.broadcast_to(one, (len(x),) + one.shape[1:])
    g = _Geometry.of(x, kernels, stride, padding, np.result_type(x, kernels, biases))
    tied = biases.ndim == 1
    bias_column = biases if tied else np.zeros(g.depth, g.dtype)
    weights = np.concatenate([_kernel_matrix(kernels), bias_column[:, None]], axis=1)
    y = np.empty((g.batch, g.depth) + g.out, g.dtype)
    by_sample = y.reshape(g.batch, g.depth, -1)

    def forward(samples, scratch):
        h = g.part(samples)
        np.matmul(weights, _by_sample(_columns(x[samples], h, scratch), h), out=by_sample[samples])

    _parts.run(forward, g)
    if not tied:
        y += biases
    return y


def conv2d_backward(
    x, kernels, dy, stride=1, padding=0, bias="untied", per_sample=False, input_gradient=True
):
    """(dx, dkernels, dbiases). With per_sample, the parameter gradients keep
    the batch axis instead of being summed over it; without input_gradient,
    dx is None (a network's first layer: nobody reads it)."""
    x, kernels, dy = np.asarray(x), np.asarray(kernels), np.asarray(dy)
    g = _Geometry.of(x, kernels, stride, padding, np.result_type(x, kernels, dy))
    dx = np.empty(x.shape, g.dtype) if input_gradient else None

    def backward(samples, scratch):
        h = g.part(samples)
        if input_gradient:
            dx[samples] = _input_gradient(kernels, dy[samples], h, scratch)
        products = _parameter_products(x[samples], dy[samples], h, scratch)
        return products if per_sample else products.sum(axis=0)

    pieces = _parts.run(backward, g)
    gradients = np.concatenate(pieces) if per_sample else sum(pieces[1:], pieces[0])
    by_offset = gradients[..., :-1, :].reshape(
        gradients.shape[:-2] + (g.k_rows, g.k_cols, g.channels, g.depth)
    )
    lead = by_offset.ndim - 4  # the batch axis, per sample
    dkernels = by_offset.transpose(*range(lead), lead + 3, lead + 2, lead, lead + 1).copy()
    if bias == "tied":
        dbiases = gradients[..., -1, :].copy()
    else:
        dbiases = dy.sum(axis=() if per_sample else (0,))
    return dx, dkernels, dbiases


def _parameter_products(x, dy, g, scratch):
    """Per sample, columns @ dy^T: (N, kh * kw * C + 1, D), the ones row summing dy."""
    if _one_image(x):  # a single product: (N * D, Ho * Wo) @ (Ho * Wo, rows)
        columns = _columns(x[:1], g._replace(batch=1), scratch)
        return (dy.reshape(-1, columns.shape[1]) @ columns.T).reshape(g.batch, g.depth, -1).transpose(0, 2, 1)
    upstream = dy.reshape(g.batch, g.depth, -1).transpose(0, 2, 1)
    return np.matmul(_by_sample(_columns(x, g, scratch), g), upstream)


def _input_gradient(kernels, dy, g, scratch):
    """Each kernel offset's share of dx (K^T dy), scatter-added at that offset:
    (N, C, H, W), a view of scratch memory."""
    grid = g.scatter_grid
    rows, cols = g.out
    dy_grid = scratch.framed("dy_grid", (g.depth, g.batch) + grid, g.dtype, g)
    dy_grid[:, :, :rows, :cols] = dy.transpose(1, 0, 2, 3)
    positions = g.batch * math.prod(grid)
    shares = scratch.matrix("shares", len(g.offsets) * g.channels, positions, g.dtype)
    np.matmul(_kernel_matrix(kernels).T, dy_grid.reshape(g.depth, positions), out=shares)
    dx = scratch.zeros("dx", (g.buffer_size,), g.dtype)
    by_offset = shares.reshape(len(g.offsets), g.channels, positions)
    for share, window in zip(by_offset, _offset_views(dx, g, g.stride == 1)):
        window += share.reshape(window.shape)
    return _interior(dx, g).transpose(1, 0, 2, 3)


# ---- reshape and dense ----


def reshape_forward(x, target_shape):
    x = np.asarray(x)
    return x.reshape((x.shape[0],) + tuple(target_shape))


def reshape_backward(dy, input_shape):
    return reshape_forward(dy, input_shape)


def dense_forward(x, weights, bias):
    return np.asarray(x) @ np.asarray(weights).T + np.asarray(bias)


def dense_backward(x, weights, dy, per_sample=False, input_gradient=True):
    """(dx, dweights, dbias), per_sample and input_gradient as conv2d_backward's."""
    x, weights, dy = np.asarray(x), np.asarray(weights), np.asarray(dy)
    dx = dy @ weights if input_gradient else None
    if per_sample:
        return dx, dy[:, :, None] * x[:, None, :], dy.copy()
    return dx, dy.T @ x, dy.sum(axis=0)


def dense_batch_forward(x, weights, bias):
    return dense_forward(x, weights, bias)


def dense_batch_backward(x, weights, dy, input_gradient=True):
    """Document 004: parameter gradients averaged over the batch."""
    dx, dweights, dbias = dense_backward(x, weights, dy, input_gradient=input_gradient)
    m = np.shape(x)[0]
    return dx, dweights / m, dbias / m


def dense_parameter_count(input_size, output_size):
    return int(input_size) * int(output_size) + int(output_size)


# ---- activations (elementwise; softmax over the last axis) ----


def sigmoid_forward(x):
    x = np.asarray(x)
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1.0, e) / (1.0 + e)  # 1 / (1 + e) or e / (1 + e): one division


def sigmoid_backward(x, dy):
    """dy s (1 - s), as dy e / (1 + e)^2 with e = exp(-|x|): no cancellation
    in 1 - s where s is near 1, and four operations fewer."""
    e = np.exp(-np.abs(np.asarray(x)))
    d = 1.0 + e
    return np.asarray(dy) * (e / (d * d))


def tanh_forward(x):
    return np.tanh(x)


def tanh_backward(x, dy):
    return np.asarray(dy) * (1.0 - np.tanh(x) ** 2)


def relu_forward(x):
    x = np.asarray(x)
    return np.where(x > 0, x, 0.0).astype(x.dtype, copy=False)


def relu_backward(x, dy):
    return np.where(np.asarray(x) > 0, dy, 0.0).astype(np.result_type(dy), copy=False)


def leaky_relu_forward(x, slope=LEAKY_RELU_SLOPE):
    x = np.asarray(x)
    return np.where(x > 0, x, slope * x)


def leaky_relu_backward(x, dy, slope=LEAKY_RELU_SLOPE):
    dy = np.asarray(dy)
    return np.where(np.asarray(x) > 0, dy, slope * dy)


def softmax_forward(x):
    x = np.asarray(x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(x, dy):
    s, dy = softmax_forward(x), np.asarray(dy)
    return s * (dy - (dy * s).sum(axis=-1, keepdims=True))


# ---- losses: one value per sample (rows), mean over the last axis ----


def _clip(p):
    """The reference's clip, widened to the dtype's epsilon where 1 - 1e-12
    rounds to 1 (float32)."""
    epsilon = (
        max(PROBABILITY_EPSILON, float(np.finfo(p.dtype).eps)) if p.dtype.kind == "f" else PROBABILITY_EPSILON
    )
    return np.clip(p, epsilon, 1.0 - epsilon)


def binary_cross_entropy(y_true, y_pred):
    y, p = np.asarray(y_true), _clip(np.asarray(y_pred))
    return -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)).mean(axis=-1)


def binary_cross_entropy_prime(y_true, y_pred):
    y, p = np.asarray(y_true), _clip(np.asarray(y_pred))
    return ((1.0 - y) / (1.0 - p) - y / p) / y.shape[-1]


def sigmoid_bce(y_true, z):
    """Stable form max(z, 0) - z y + log(1 + exp(-|z|)), as the reference."""
    y, z = np.asarray(y_true), np.asarray(z)
    return (np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean(axis=-1)


def sigmoid_bce_prime(y_true, z):
    y = np.asarray(y_true)
    return (sigmoid_forward(z) - y) / y.shape[-1]


def mse(y_true, y_pred):
    return ((np.asarray(y_pred) - np.asarray(y_true)) ** 2).mean(axis=-1)


def mse_prime(y_true, y_pred):
    y = np.asarray(y_true)
    return 2.0 * (np.asarray(y_pred) - y) / y.shape[-1]


def half_squared_error(y_true, y_pred):
    return 0.5 * ((np.asarray(y_pred) - np.asarray(y_true)) ** 2).sum(axis=-1)


def half_squared_error_prime(y_true, y_pred):
    return np.asarray(y_pred) - np.asarray(y_true)


def categorical_cross_entropy(y_true, y_pred):
    return -(np.asarray(y_true) * np.log(_clip(np.asarray(y_pred)))).sum(axis=-1)


def categorical_cross_entropy_prime(y_true, y_pred):
    return -np.asarray(y_true) / _clip(np.asarray(y_pred))


def softmax_cce(y_true, z):
    """With log-sum-exp, as the reference: exact for large logits."""
    z = np.asarray(z)
    top = z.max(axis=-1, keepdims=True)
    log_sum_exp = top + np.log(np.exp(z - top).sum(axis=-1, keepdims=True))
    return -(np.asarray(y_true) * (z - log_sum_exp)).sum(axis=-1)


def softmax_cce_prime(y_true, z):
    return softmax_forward(z) - np.asarray(y_true)


# ---- max pooling, tie rule as the reference: first maximum in row-major order ----


def maxpool2d_forward(x, window, stride):
    """(y, argmax) with argmax[..., 0:2] = (row, col) of each maximum in x."""
    x = np.asarray(x)
    windows = _windows(x, window, window, stride)
    flat = windows.reshape(windows.shape[:-2] + (window * window,))
    best = flat.argmax(axis=-1)  # numpy's argmax returns the first maximum
    y = np.take_along_axis(flat, best[..., None], axis=-1)[..., 0]
    out_rows, out_cols = best.shape[-2:]
    rows = np.arange(out_rows)[:, None] * stride + best // window
    cols = np.arange(out_cols)[None, :] * stride + best % window
    return y, np.stack([rows, cols], axis=-1)


def maxpool2d_backward(dy, argmax, input_shape):
    dy, argmax = np.asarray(dy), np.asarray(argmax)
    batch, channels = dy.shape[:2]
    dx = np.zeros((batch,) + tuple(input_shape), dtype=dy.dtype)
    n = np.arange(batch)[:, None, None, None]
    c = np.arange(channels)[None, :, None, None]
    np.add.at(dx, (n, c, argmax[..., 0], argmax[..., 1]), dy)  # overlapping windows add
    return dx


# ---- updates and metrics ----


def sgd(param, grad, learning_rate):
    return np.asarray(param) - learning_rate * np.asarray(grad)


def rmsprop(param, grad, cache, learning_rate=0.001, rho=0.9, epsilon=1e-7):
    grad = np.asarray(grad)
    new_cache = rho * np.asarray(cache) + (1.0 - rho) * grad * grad
    return np.asarray(param) - learning_rate * grad / (np.sqrt(new_cache) + epsilon), new_cache


def accuracy(y_true, y_pred):
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))
