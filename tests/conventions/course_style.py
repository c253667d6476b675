"""A course-assignment implementation under test, in the style of the
documents: one sample at a time, NumPy, column vectors.

- An image volume is (C, H, W); kernels are (D, C, kh, kw); a convolutional
  layer has one bias per output position, B of shape (D, Ho, Wo) (documents
  000 and 001: Y_i = B_i + sum_j X_j * K_ij).
- Vectors are columns (n, 1). A dense layer computes Z = W A + b with W of
  shape (out, in); a batch is the matrix A of shape (in, m), one sample per
  column, and its parameter gradients are averaged over the batch
  (document 004: dW = 1/m dZ A^T, db = 1/m sum(dZ)).
- Max pooling keeps the "switches" (the [row, col] of each maximum) for the
  backward pass; cross-entropy takes probabilities and one-hot targets;
  RMSprop adds epsilon outside the square root (Keras 2).

After the `cnn-oracle adapter` line: the conventions declaration and the few
aliases that give these functions the reference's names.
"""

import numpy as np

# ---- cross-correlation and convolution (scipy.signal's, written out) ----


def correlate2d(x, k, mode="valid"):
    """Y[i, j] = sum_u sum_v X[i + u, j + v] K[u, v]; 'full' pads X with zeros first."""
    kh, kw = k.shape
    if mode == "full":
        x = np.pad(x, ((kh - 1, kh - 1), (kw - 1, kw - 1)))
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i : i + kh, j : j + kw] * k)
    return out


def convolve2d(x, k, mode="valid"):
    """Convolution = cross-correlation with the kernel rotated by 180 degrees."""
    return correlate2d(x, np.rot90(k, 2), mode)


# ---- convolutional layer, with stride and zero padding ----


def conv_forward(X, K, B, stride=1, pad=0):
    """Y_i = B_i + sum_j X_j * K_ij, correlating the padded input at every stride-th position."""
    Xp = np.pad(X, ((0, 0), (pad, pad), (pad, pad)))
    depth, channels = K.shape[:2]
    Y = np.array(B, dtype=float)
    for i in range(depth):
        for j in range(channels):
            Y[i] += correlate2d(Xp[j], K[i, j], "valid")[::stride, ::stride]
    return Y


def conv_backward(dY, X, K, stride=1, pad=0):
    """(dX, dK, dB). dY is spread back onto the stride-1 output grid (zeros
    between its elements), which makes dK_ij = X_j * dY_i and
    dX_j = sum_i dY_i (full convolution) K_ij hold as for stride 1."""
    Xp = np.pad(X, ((0, 0), (pad, pad), (pad, pad)))
    depth, channels, kh, kw = K.shape
    dYs = np.zeros((depth, Xp.shape[1] - kh + 1, Xp.shape[2] - kw + 1))
    dYs[:, ::stride, ::stride] = dY
    dK = np.zeros(K.shape)
    dXp = np.zeros(Xp.shape)
    for i in range(depth):
        for j in range(channels):
            dK[i, j] = correlate2d(Xp[j], dYs[i], "valid")
            dXp[j] += convolve2d(dYs[i], K[i, j], "full")
    height, width = X.shape[1:]
    return dXp[:, pad : pad + height, pad : pad + width], dK, np.array(dY, dtype=float)


# ---- max pooling ----


def pool_forward(A, f, stride):
    """(A_out, switches): switches[c, h, w] = [row, col] in A of the window's
    maximum (the first one in row-major order on a tie)."""
    channels, height, width = A.shape
    out_h, out_w = (height - f) // stride + 1, (width - f) // stride + 1
    A_out = np.zeros((channels, out_h, out_w))
    switches = np.zeros((channels, out_h, out_w, 2), dtype=int)
    for c in range(channels):
        for h in range(out_h):
            for w in range(out_w):
                window = A[c, h * stride : h * stride + f, w * stride : w * stride + f]
                r, s = np.unravel_index(np.argmax(window), window.shape)
                A_out[c, h, w] = window[r, s]
                switches[c, h, w] = (h * stride + r, w * stride + s)
    return A_out, switches


def pool_backward(dA, switches, input_shape):
    dA_prev = np.zeros(input_shape)
    for c in range(dA.shape[0]):
        for h in range(dA.shape[1]):
            for w in range(dA.shape[2]):
                r, s = switches[c, h, w]
                dA_prev[c, r, s] += dA[c, h, w]
    return dA_prev


# ---- dense layer: columns are samples ----


def linear_forward(A, W, b):
    return W @ A + b


def linear_backward(dZ, A_prev, W):
    """(dA_prev, dW, db) for m = A_prev.shape[1] samples (m = 1: one column)."""
    m = A_prev.shape[1]
    dW = (1 / m) * np.dot(dZ, A_prev.T)
    db = (1 / m) * np.sum(dZ, axis=1, keepdims=True)
    return np.dot(W.T, dZ), dW, db


# ---- activations: f(Z), and f_grad(Z, dA) = dL/dZ from dL/dA ----


def sigmoid(Z):
    E = np.exp(-np.abs(Z))  # stable for large |Z|
    return np.where(Z >= 0, 1 / (1 + E), E / (1 + E))


def sigmoid_grad(Z, dA):
    S = sigmoid(Z)
    return dA * S * (1 - S)


def tanh(Z):
    return np.tanh(Z)


def tanh_grad(Z, dA):
    return dA * (1 - np.tanh(Z) ** 2)


def relu(Z):
    return np.maximum(0, Z)


def relu_grad(Z, dA):
    return dA * (Z > 0)


def softmax(Z):
    """Over a column."""
    E = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return E / np.sum(E, axis=0, keepdims=True)


def softmax_grad(Z, dA):
    """Jacobian of the softmax, (I - S^T) * S, times dA."""
    S = softmax(Z)
    return np.dot((np.identity(S.shape[0]) - S.T) * S, dA)


# ---- losses: y_true, y_pred are columns; a scalar per sample ----

EPS = 1e-12  # keeps log() finite at predictions of exactly 0 or 1


def mse(y_true, y_pred):
    return np.mean(np.power(y_true - y_pred, 2))


def mse_prime(y_true, y_pred):
    return 2 * (y_pred - y_true) / np.size(y_true)


def squared_error(y_true, y_pred):
    """Document 003: E = 1/2 sum (target - out)^2."""
    return 0.5 * np.sum(np.power(y_true - y_pred, 2))


def squared_error_prime(y_true, y_pred):
    return y_pred - y_true


def binary_cross_entropy(y_true, y_pred):
    p = np.clip(y_pred, EPS, 1 - EPS)
    return np.mean(-y_true * np.log(p) - (1 - y_true) * np.log(1 - p))


def binary_cross_entropy_prime(y_true, y_pred):
    p = np.clip(y_pred, EPS, 1 - EPS)
    return ((1 - y_true) / (1 - p) - y_true / p) / np.size(y_true)


def categorical_cross_entropy(y_true, y_pred):
    return -np.sum(y_true * np.log(np.clip(y_pred, EPS, 1 - EPS)))


def categorical_cross_entropy_prime(y_true, y_pred):
    return -y_true / np.clip(y_pred, EPS, 1 - EPS)


# ---- updates ----


def gradient_descent(param, grad, learning_rate):
    return param - learning_rate * grad


def rmsprop_update(param, grad, cache, learning_rate=0.001, rho=0.9, epsilon=1e-7):
    """Keras 2: cache = rho cache + (1 - rho) grad^2; param -= lr grad / (sqrt(cache) + eps)."""
    cache = rho * cache + (1 - rho) * grad**2
    return param - learning_rate * grad / (np.sqrt(cache) + epsilon), cache


# ---- cnn-oracle adapter ----

CONVENTIONS = {"layout": "CHW", "vectors": "column", "bias": "untied"}
ARRAYS = True

conv2d_forward = conv_forward


def conv2d_backward(x, kernels, dy, stride, padding, bias="untied"):
    return conv_backward(dy, x, kernels, stride, padding)


maxpool2d_forward, maxpool2d_backward = pool_forward, pool_backward
dense_forward = dense_batch_forward = linear_forward


def dense_backward(x, weights, dy):
    return linear_backward(dy, x, weights)


dense_batch_backward = dense_backward
sigmoid_forward, sigmoid_backward = sigmoid, sigmoid_grad
tanh_forward, tanh_backward = tanh, tanh_grad
relu_forward, relu_backward = relu, relu_grad
softmax_forward, softmax_backward = softmax, softmax_grad
half_squared_error, half_squared_error_prime = squared_error, squared_error_prime
sgd, rmsprop = gradient_descent, rmsprop_update
