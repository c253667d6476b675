"""Distance of an op's input from the nearest kink, where the op is not
differentiable and a central difference of step h is meaningless when the
distance is below h."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def zero_crossing(inputs, params):
    """ReLU and leaky ReLU: how far the input is from 0."""
    return float(np.abs(np.asarray(inputs["x"], dtype=float)).min())


def pooling_tie(inputs, params, after_relu=False):
    """Max pooling: the gap between each window's maximum and its runner-up.
    Two values tied for a window's maximum are a kink wherever they are: a
    step up on one of them moves the maximum, a step down does not. With
    after_relu (the input is a ReLU's output, inside a network), a window
    whose two largest values are both exactly 0 is flat instead: a step of
    the network's input smaller than the ReLU's own kink distance leaves
    them both 0."""
    x, window, stride = np.asarray(inputs["x"], dtype=float), params["window"], params["stride"]
    if window == 1:
        return np.inf
    windows = sliding_window_view(x, (window, window), axis=(-2, -1))[..., ::stride, ::stride, :, :]
    ranked = np.sort(windows.reshape(windows.shape[:-2] + (-1,)), axis=-1)
    top, runner_up = ranked[..., -1], ranked[..., -2]
    gap = top - runner_up
    if after_relu:
        gap = np.where((top == 0) & (runner_up == 0), np.inf, gap)
    return float(gap.min())
