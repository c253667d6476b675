"""A worker written from scratch against the streaming protocol
(docs/protocol.md), serving every op with the pure-Python reference: the
shape of a worker for your own Python code when you would rather not use
the function-module adapter.

    cnn-oracle verify --command "python examples/python/reference_worker.py"

Given --one-shot it speaks the older protocol instead (one request on
stdin, one reply, exit): `cnn-oracle bench` times both against the
function-module adapter.
"""

import json
import math
import sys

import reference as ref

NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def decode(value):
    if isinstance(value, list):
        return [decode(item) for item in value]
    return NON_FINITE.get(value, value) if isinstance(value, str) else value


def encode(value):
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def elementwise(forward, backward):
    """An activation: y from x, and dx from x and dy."""
    return lambda i, p: {
        "y": forward(i["x"], **p),
        **({"dx": backward(i["x"], i["dy"], **p)} if "dy" in i else {}),
    }


def loss(value, gradient, prediction="y_pred"):
    """A loss of (y_true, prediction) and its gradient d loss / d prediction."""
    name = "dz" if prediction == "z" else "dy_pred"
    return lambda i, p: {
        "loss": value(i["y_true"], i[prediction]),
        name: gradient(i["y_true"], i[prediction]),
    }


def conv2d(inputs, params):
    x, kernels, stride, padding = inputs["x"], inputs["kernels"], params["stride"], params["padding"]
    out = {"y": ref.conv2d_forward(x, kernels, inputs["biases"], stride, padding)}
    if "dy" in inputs:
        bias = params["bias"] or ref.bias_mode(inputs["biases"])
        out["dx"], out["dkernels"], out["dbiases"] = ref.conv2d_backward(
            x, kernels, inputs["dy"], stride, padding, bias
        )
    return out


def dense(forward, backward):
    def run(inputs, params):
        x, weights = inputs["x"], inputs["weights"]
        out = {"y": forward(x, weights, inputs["bias"])}
        if "dy" in inputs:
            out["dx"], out["dweights"], out["dbias"] = backward(x, weights, inputs["dy"])
        return out

    return run


def reshape(inputs, params):
    out = {"y": ref.reshape_forward(inputs["x"], params["shape"])}
    if "dy" in inputs:
        out["dx"] = ref.reshape_backward(inputs["dy"], list(ref.shape(inputs["x"])))
    return out


def maxpool2d(inputs, params):
    y, argmax = ref.maxpool2d_forward(inputs["x"], params["window"], params["stride"])
    out = {"y": y, "argmax": argmax}
    if "dy" in inputs:
        out["dx"] = ref.maxpool2d_backward(inputs["dy"], argmax, ref.shape(inputs["x"]))
    return out


def rmsprop(inputs, params):
    param, cache = ref.rmsprop(inputs["param"], inputs["grad"], inputs["cache"], **params)
    return {"param": param, "cache": cache}


OPS = {
    "correlate2d": lambda i, p: {"y": ref.correlate2d(i["x"], i["k"], p["mode"])},
    "convolve2d": lambda i, p: {"y": ref.convolve2d(i["x"], i["k"], p["mode"])},
    "rot180": lambda i, p: {"y": ref.rot180(i["k"])},
    "conv2d": conv2d,
    "reshape": reshape,
    "dense": dense(ref.dense_forward, ref.dense_backward),
    "dense_batch": dense(ref.dense_batch_forward, ref.dense_batch_backward),
    "sigmoid": elementwise(ref.sigmoid_forward, ref.sigmoid_backward),
    "tanh": elementwise(ref.tanh_forward, ref.tanh_backward),
    "relu": elementwise(ref.relu_forward, ref.relu_backward),
    "leaky_relu": elementwise(ref.leaky_relu_forward, ref.leaky_relu_backward),
    "softmax": elementwise(ref.softmax_forward, ref.softmax_backward),
    "binary_cross_entropy": loss(ref.binary_cross_entropy, ref.binary_cross_entropy_prime),
    "mse": loss(ref.mse, ref.mse_prime),
    "half_squared_error": loss(ref.half_squared_error, ref.half_squared_error_prime),
    "categorical_cross_entropy": loss(ref.categorical_cross_entropy, ref.categorical_cross_entropy_prime),
    "sigmoid_bce": loss(ref.sigmoid_bce, ref.sigmoid_bce_prime, "z"),
    "softmax_cce": loss(ref.softmax_cce, ref.softmax_cce_prime, "z"),
    "maxpool2d": maxpool2d,
    "sgd": lambda i, p: {"param": ref.sgd(i["param"], i["grad"], p["learning_rate"])},
    "rmsprop": rmsprop,
    "accuracy": lambda i, p: {"accuracy": ref.accuracy(i["y_true"], i["y_pred"])},
    "dense_parameter_count": lambda i, p: {
        "count": ref.dense_parameter_count(i["input_size"], i["output_size"])
    },
}


def answer(request):
    """The reply's content: outputs, not_implemented, or error."""
    if request["op"] not in OPS:
        return {"not_implemented": f"no {request['op']}"}
    inputs = {name: decode(value) for name, value in request["inputs"].items()}
    try:
        outputs = OPS[request["op"]](inputs, request["params"])
    except Exception as error:  # one case's failure, reported on that case
        return {"error": f"{type(error).__name__}: {error}"}
    return {"outputs": {name: encode(value) for name, value in outputs.items()}}


def write(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main():
    if "--one-shot" in sys.argv:
        reply = answer(json.load(sys.stdin))
        write(reply.get("outputs", reply))
        return
    sys.stdin.readline()  # the harness's hello
    write(
        {
            "protocol": "cnn-oracle-worker",
            "version": 1,
            "implementation": "reference_worker",
            "ops": list(OPS),
        }
    )
    for line in sys.stdin:
        request = json.loads(line)
        write({"id": request["id"], **answer(request)})


if __name__ == "__main__":
    main()
