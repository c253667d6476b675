"""Small networks as chains of registry ops, for gradient checks of a whole
network: the chained backward (each layer's dx is the previous layer's dy)
against central differences of the loss. Runs on the NumPy engine.

A layer is (op name, params, parameters): parameters are the op's inputs
other than x and dy (kernels and biases, weights and bias).
"""

from dataclasses import dataclass

import numpy as np

from oracle import engines, kinks, registry
from oracle.tolerance import FINITE_DIFFERENCE, FINITE_DIFFERENCE_STEP, compare


@dataclass
class Network:
    layers: list  # [(op, params, {name: array})]
    loss: str  # a registry loss op on (y_true, y_pred)

    def forward(self, x, y_true):
        """(loss, [input of each layer], output)."""
        activations = [np.asarray(x, dtype=float)]
        for op, params, parameters in self.layers:
            out = engines.run(registry.get(op), "numpy", {"x": activations[-1], **parameters}, params)
            activations.append(out["y"])
        loss_out = engines.run(
            registry.get(self.loss), "numpy", {"y_true": y_true, "y_pred": activations[-1]}, {}
        )
        return float(loss_out["loss"]), activations, loss_out["dy_pred"]

    def gradients(self, x, y_true):
        """Chained backward: [{parameter name: gradient}] per layer."""
        _, activations, dy = self.forward(x, y_true)
        grads = []
        for (op, params, parameters), layer_input in zip(reversed(self.layers), reversed(activations[:-1])):
            spec = registry.get(op)
            out = engines.run(spec, "numpy", {"x": layer_input, **parameters, "dy": dy}, params)
            grads.append({name: out[spec.gradients[name]] for name in parameters})
            dy = out["dx"]
        return list(reversed(grads))

    def numeric_gradients(self, x, y_true, step=FINITE_DIFFERENCE_STEP):
        grads = []
        for _, _, parameters in self.layers:
            layer = {}
            for name, value in parameters.items():
                flat = np.asarray(value, dtype=float).ravel()
                grad = np.empty_like(flat)
                for i in range(flat.size):
                    losses = []
                    for sign in (1.0, -1.0):
                        moved = flat.copy()
                        moved[i] += sign * step
                        parameters[name] = moved.reshape(np.shape(value))
                        losses.append(self.forward(x, y_true)[0])
                    grad[i] = (losses[0] - losses[1]) / (2.0 * step)
                parameters[name] = value
                layer[name] = grad.reshape(np.shape(value))
            grads.append(layer)
        return grads

    def check(self, x, y_true, tolerance=FINITE_DIFFERENCE):
        """[(layer index, parameter, Comparison)] of chained vs numeric gradients."""
        analytic, numeric = self.gradients(x, y_true), self.numeric_gradients(x, y_true)
        return [
            (index, name, compare(analytic[index][name], numeric[index][name], tolerance))
            for index, layer in enumerate(numeric)
            for name in layer
        ]

    def kink_distance(self, x, y_true):
        """Smallest distance of any layer's input from a kink of that layer."""
        _, activations, _ = self.forward(x, y_true)
        previous = [None] + [op for op, _, _ in self.layers]
        distances = [
            _layer_kink_distance(op, params, layer_input, before)
            for (op, params, _), layer_input, before in zip(self.layers, activations, previous)
        ]
        return min(distances, default=np.inf)


def _layer_kink_distance(op, params, layer_input, previous):
    """One layer's input's distance from its kinks; a max pool straight after
    a ReLU has flat ties at 0 (kinks.pooling_tie)."""
    if op == "maxpool2d" and previous == "relu":
        return kinks.pooling_tie({"x": layer_input}, params, after_relu=True)
    distance = registry.get(op).kink_distance
    return distance({"x": layer_input}, params) if distance else np.inf


def document_002_cnn(rng, leaky=False):
    """Document 002: 6x6 image (uniform noise in (-1, 1), class 1 with a 3x3
    square of 5.0) -> conv 3x3 (tied bias) -> ReLU -> max pool 2x2/2 ->
    flatten -> dense 4->1 -> sigmoid; binary cross-entropy."""
    image = rng.uniform(-1.0, 1.0, (6, 6))
    label = float(rng.integers(0, 2))
    if label:
        row, col = rng.integers(0, 4, size=2)
        image[row : row + 3, col : col + 3] = 5.0
    activation = ("leaky_relu", {"slope": 0.01}) if leaky else ("relu", {})
    layers = [
        (
            "conv2d",
            {"stride": 1, "padding": 0, "bias": "tied"},
            {"kernels": rng.uniform(-1, 1, (1, 1, 3, 3)), "biases": rng.uniform(-1, 1, (1,))},
        ),
        (activation[0], activation[1], {}),
        ("maxpool2d", {"window": 2, "stride": 2}, {}),
        ("reshape", {"shape": [4]}, {}),
        ("dense", {}, {"weights": rng.uniform(-1, 1, (1, 4)), "bias": rng.uniform(-1, 1, (1,))}),
        ("sigmoid", {}, {}),
    ]
    return Network(layers, "binary_cross_entropy"), image[None], np.array([label])


def document_003_mlp():
    """Document 003: input (1, 2, 3) -> dense 3 ReLU -> dense 2 sigmoid,
    target (1, 0), half squared error, with the document's weights."""
    layers = [
        (
            "dense",
            {},
            {
                "weights": np.array([[0.1, 0.2, -0.1], [-0.3, 0.4, -0.2], [0.5, 0.6, -0.3]]),
                "bias": np.array([-0.1, -0.2, 0.1]),
            },
        ),
        ("relu", {}, {}),
        (
            "dense",
            {},
            {"weights": np.array([[0.1, -0.1, -0.2], [-0.3, 0.2, 0.3]]), "bias": np.array([-0.1, 0.2])},
        ),
        ("sigmoid", {}, {}),
    ]
    return Network(layers, "half_squared_error"), np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0])
