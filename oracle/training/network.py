"""One declarative specification per network of the documents, run by
every training engine (oracle.training).

A network is a chain of registry ops; each layer names its op, the op's
params, and how to initialise the op's parameter inputs (kernels, biases,
weights, bias). Sizes follow the data: a 28x28 MNIST input gives the
documents' sizes, the embedded 8x8 digits smaller ones.
"""

from dataclasses import dataclass, field

import numpy as np

from oracle.training import datasets


@dataclass(frozen=True)
class Init:
    """How one parameter starts: rule in randn, uniform (-1, 1), zeros,
    glorot_uniform (Keras' Dense default), or fixed (the given values)."""

    shape: tuple
    rule: str = "randn"
    scale: float = 1.0
    values: tuple = None

    def draw(self, rng):
        if self.rule == "randn":
            return self.scale * rng.standard_normal(self.shape)
        if self.rule == "uniform":
            return self.scale * rng.uniform(-1.0, 1.0, self.shape)
        if self.rule == "zeros":
            return np.zeros(self.shape)
        if self.rule == "glorot_uniform":
            fan_out, fan_in = self.shape
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            return rng.uniform(-limit, limit, self.shape)
        if self.rule == "fixed":
            return np.array(self.values, dtype=float).reshape(self.shape)
        raise ValueError(f"init rule: unknown rule {self.rule!r}")


@dataclass(frozen=True)
class Layer:
    op: str
    params: dict = field(default_factory=dict)
    init: dict = field(default_factory=dict)  # parameter input name -> Init


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    description: str
    layers: tuple
    loss: str  # a registry loss op on (y_true, y_pred)
    learning_rate: float
    optimizer: str = "sgd"  # a registry update op: sgd or rmsprop
    optimizer_params: dict = field(default_factory=dict)
    batch_size: int = 1  # the loss of a step is the mean over its batch
    epochs: int = 1
    shuffle: bool = True  # a new sample order each epoch, the same for every engine
    seed: int = 0
    document_accuracy: str = ""  # what the document reports, for the report

    def initial_parameters(self):
        """[{name: array}] per layer, drawn in layer order from the seed."""
        rng = np.random.default_rng(self.seed)
        return [{name: init.draw(rng) for name, init in layer.init.items()} for layer in self.layers]

    def targets(self, labels):
        """Network outputs for integer labels: one column, or one-hot."""
        width = _output_width(self)
        labels = np.asarray(labels)
        if width == 1:
            return labels.reshape(-1, 1).astype(float)
        return np.eye(width)[labels]


def _output_width(spec):
    for layer in reversed(spec.layers):
        if "weights" in layer.init:
            return layer.init["weights"].shape[0]
    raise ValueError(f"network {spec.name}: no dense layer gives the output width")


def predicted_labels(outputs):
    outputs = np.asarray(outputs)
    return (outputs[:, 0] > 0.5).astype(int) if outputs.shape[1] == 1 else outputs.argmax(axis=1)


# ---- the documents' networks ----


def network_001(input_shape, epochs=20, seed=0):
    """Document 001: Conv(kernel 3, depth 5, untied biases) -> sigmoid ->
    reshape -> Dense(., 100) -> sigmoid -> Dense(100, 2) -> sigmoid; BCE;
    per-sample SGD, lr 0.1; weights and biases ~ randn as in its code."""
    channels, height, width = input_shape
    out_h, out_w = height - 2, width - 2
    flat = 5 * out_h * out_w
    layers = (
        Layer(
            "conv2d",
            {"bias": "untied"},
            {"kernels": Init((5, channels, 3, 3)), "biases": Init((5, out_h, out_w))},
        ),
        Layer("sigmoid"),
        Layer("reshape", {"shape": [flat]}),
        Layer("dense", {}, {"weights": Init((100, flat)), "bias": Init((100,))}),
        Layer("sigmoid"),
        Layer("dense", {}, {"weights": Init((2, 100)), "bias": Init((2,))}),
        Layer("sigmoid"),
    )
    return NetworkSpec(
        "001",
        f"Conv({channels}x{height}x{width}, k3, depth 5) sigmoid Dense({flat},100) sigmoid "
        "Dense(100,2) sigmoid; BCE",
        layers,
        "binary_cross_entropy",
        learning_rate=0.1,
        epochs=epochs,
        seed=seed,
        document_accuracy="not reported (prints predictions on MNIST 0/1)",
    )


def network_002(leaky=False, epochs=20, seed=0):
    """Document 002: 6x6 -> conv 3x3 (tied bias) -> ReLU (or leaky 0.01) ->
    max pool 2x2/2 -> flatten 4 -> dense 4->1 -> sigmoid; BCE; SGD lr 0.01;
    parameters ~ Uniform(-1, 1) as the notebook draws them."""
    activation = Layer("leaky_relu", {"slope": 0.01}) if leaky else Layer("relu")
    layers = (
        Layer(
            "conv2d",
            {"bias": "tied"},
            {"kernels": Init((1, 1, 3, 3), "uniform"), "biases": Init((1,), "uniform")},
        ),
        activation,
        Layer("maxpool2d", {"window": 2, "stride": 2}),
        Layer("reshape", {"shape": [4]}),
        Layer("dense", {}, {"weights": Init((1, 4), "uniform"), "bias": Init((1,), "uniform")}),
        Layer("sigmoid"),
    )
    name = "002-leaky" if leaky else "002"
    kind = "leaky ReLU" if leaky else "ReLU"
    return NetworkSpec(
        name,
        f"6x6 conv 3x3 {kind} maxpool 2x2 dense 4->1 sigmoid; BCE",
        layers,
        "binary_cross_entropy",
        learning_rate=0.01,
        epochs=epochs,
        seed=seed,
        document_accuracy="not reported",
    )


def _fixed(values):
    array = np.array(values, dtype=float)
    return Init(array.shape, "fixed", values=tuple(array.ravel()))


def network_003():
    """Document 003: 3 -> 3 ReLU -> 2 sigmoid with the document's weights,
    half squared error, one SGD step at lr 0.01."""
    layers = (
        Layer(
            "dense",
            {},
            {
                "weights": _fixed([[0.1, 0.2, -0.1], [-0.3, 0.4, -0.2], [0.5, 0.6, -0.3]]),
                "bias": _fixed([-0.1, -0.2, 0.1]),
            },
        ),
        Layer("relu"),
        Layer(
            "dense",
            {},
            {"weights": _fixed([[0.1, -0.1, -0.2], [-0.3, 0.2, 0.3]]), "bias": _fixed([-0.1, 0.2])},
        ),
        Layer("sigmoid"),
    )
    return NetworkSpec(
        "003",
        "3 -> 3 ReLU -> 2 sigmoid, the document's weights; 1/2 squared error",
        layers,
        "half_squared_error",
        0.01,
        document_accuracy="n/a: one worked update of one sample",
    )


def network_004a(epochs=500, learning_rate=0.01, seed=0):
    """Document 004 ShallowNN: 20 -> 10 tanh -> 1 sigmoid; BCE; minibatches
    of 100 in a fixed order; weights randn * 0.01, biases 0."""
    layers = (
        Layer("dense", {}, {"weights": Init((10, 20), scale=0.01), "bias": Init((10,), "zeros")}),
        Layer("tanh"),
        Layer("dense", {}, {"weights": Init((1, 10), scale=0.01), "bias": Init((1,), "zeros")}),
        Layer("sigmoid"),
    )
    name = "004a" if learning_rate == 0.01 else f"004a-lr{learning_rate:g}"
    return NetworkSpec(
        name,
        f"20 -> 10 tanh -> 1 sigmoid; BCE; batch 100; lr {learning_rate:g}",
        layers,
        "binary_cross_entropy",
        learning_rate=learning_rate,
        batch_size=100,
        epochs=epochs,
        shuffle=False,
        seed=seed,
        document_accuracy="93.8% test (its update ignores lr: effectively lr 1)",
    )


def network_004b(input_size, epochs=5, seed=0):
    """Document 004 Keras model: Dense(512, relu) -> Dense(10, softmax);
    categorical cross-entropy; RMSprop (Keras defaults); batch 128."""
    layers = (
        Layer(
            "dense", {}, {"weights": Init((512, input_size), "glorot_uniform"), "bias": Init((512,), "zeros")}
        ),
        Layer("relu"),
        Layer("dense", {}, {"weights": Init((10, 512), "glorot_uniform"), "bias": Init((10,), "zeros")}),
        Layer("softmax"),
    )
    return NetworkSpec(
        "004b",
        f"Dense({input_size}, 512) relu Dense(512, 10) softmax; CCE; RMSprop; batch 128",
        layers,
        "categorical_cross_entropy",
        learning_rate=0.001,
        optimizer="rmsprop",
        optimizer_params={"rho": 0.9, "epsilon": 1e-7},
        batch_size=128,
        epochs=epochs,
        seed=seed,
        document_accuracy="98.9% train, 97.8% test on MNIST",
    )


# ---- network + data, by name ----


def _flat(split):
    reshape = lambda x: x.reshape(len(x), -1)  # noqa: E731
    return datasets.Split(
        reshape(split.x_train), split.y_train, reshape(split.x_test), split.y_test, split.source
    )


NAMES = ("001", "002", "002-leaky", "003", "004a", "004a-lr1", "004b")


def build(name, data_path=None, epochs=None, seed=0):
    """(NetworkSpec, Split) for a network name; data_path switches the
    MNIST-based networks to real MNIST files."""
    options = {} if epochs is None else {"epochs": epochs}
    if name == "001":
        images = datasets.mnist(data_path) if data_path else datasets.digits()
        split = datasets.two_classes(images, (0, 1), 100)
        return network_001(split.x_train.shape[1:], seed=seed, **options), split
    if name in ("002", "002-leaky"):
        x_train, y_train = datasets.square_images(200, seed)
        x_test, y_test = datasets.square_images(200, seed + 1)
        split = datasets.Split(x_train, y_train, x_test, y_test, "document 002 generator, 6x6")
        return network_002(name == "002-leaky", seed=seed, **options), split
    if name == "003":
        x = np.array([[1.0, 2.0, 3.0]])
        return network_003(), datasets.Split(x, np.array([0]), x, np.array([0]), "document 003 sample")
    if name in ("004a", "004a-lr1"):
        rate = 1.0 if name == "004a-lr1" else 0.01
        return network_004a(learning_rate=rate, seed=seed, **options), datasets.classification_004(seed)
    if name == "004b":
        split = _flat(datasets.mnist(data_path) if data_path else datasets.digits())
        return network_004b(split.x_train.shape[1], seed=seed, **options), split
    raise ValueError(f"network: unknown {name!r} (known: {', '.join(NAMES)})")
