"""scipy.signal versions, coded as documents 000 and 001 code the layer:
signal.correlate2d / signal.convolve2d per (sample, kernel, channel) pair.

Same names and batch-first signatures as oracle.numpy_ops. Stride and
padding, which the documents' code does not have, are added around the
same calls: pad the input, keep every stride-th valid output, dilate dY.
"""

import numpy as np

from oracle.engines.numpy_ops import _dilate, bias_mode, rot180, shape  # noqa: F401  (shared helpers)


class _Signal:
    """scipy.signal, imported on first use: it takes most of a second, and
    the registry (hence every worker process) imports this module."""

    def __getattr__(self, name):
        from scipy import signal as module

        return getattr(module, name)


signal = _Signal()


def correlate2d(x, k, mode="valid", stride=1):
    return np.stack([signal.correlate2d(image, k, mode=mode)[::stride, ::stride] for image in np.asarray(x)])


def convolve2d(x, k, mode="valid", stride=1):
    return np.stack([signal.convolve2d(image, k, mode=mode)[::stride, ::stride] for image in np.asarray(x)])


def _padded(x, padding):
    return np.pad(np.asarray(x), [(0, 0), (0, 0), (padding, padding), (padding, padding)])


def conv2d_forward(x, kernels, biases, stride=1, padding=0):
    x, kernels, biases = _padded(x, padding), np.asarray(kernels), np.asarray(biases)
    outputs = []
    for sample in x:
        y = []
        for i, kernel in enumerate(kernels):
            y_i = sum(signal.correlate2d(sample[j], kernel[j], mode="valid") for j in range(len(sample)))
            y.append(y_i[::stride, ::stride] + biases[i])
        outputs.append(y)
    return np.array(outputs)


def conv2d_backward(x, kernels, dy, stride=1, padding=0, bias="untied"):
    x, kernels, dy = np.asarray(x), np.asarray(kernels), np.asarray(dy)
    padded = _padded(x, padding)
    k_rows, k_cols = kernels.shape[2:]
    height, width = x.shape[2:]
    dkernels = np.zeros(kernels.shape)
    dx = np.zeros(padded.shape)
    for n, sample in enumerate(padded):
        for i in range(len(kernels)):
            dy_i = _dilate(dy[n, i], stride)
            # Cover the input rows/columns no window reached (they get no gradient).
            spare = (
                sample.shape[1] - dy_i.shape[0] - k_rows + 1,
                sample.shape[2] - dy_i.shape[1] - k_cols + 1,
            )
            dy_i = np.pad(dy_i, [(0, spare[0]), (0, spare[1])])
            for j in range(len(sample)):
                dkernels[i, j] += signal.correlate2d(sample[j], dy_i, mode="valid")
                dx[n, j] += signal.convolve2d(dy_i, kernels[i, j], mode="full")
    dx = dx[:, :, padding : padding + height, padding : padding + width]
    dbiases = dy.sum(axis=(0, 2, 3)) if bias == "tied" else dy.sum(axis=0)
    return dx, dkernels, dbiases
