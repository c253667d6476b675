"""PyTorch versions of the ops: forward only, batch first; gradients come
from autograd (oracle.engines). Everything is expressed in torch's own
terms: untied biases are added to the output, "full" correlation is
padding, convolution is a flipped kernel, argmax comes from max_pool2d.

torch is imported on first use (load()), so the rest of the suite neither
needs it nor pays for importing it.
"""

import functools
import inspect

torch = None
F = None


def load(device="cpu"):
    """Import torch; on CUDA, disable TF32 so float64/float32 results are IEEE."""
    global torch, F
    if torch is None:
        import torch as _torch
        import torch.nn.functional as _functional

        torch, F = _torch, _functional
    if str(device).startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return torch


def correlate2d(t, params):
    x, k = t["x"], t["k"]
    padding = (k.shape[0] - 1, k.shape[1] - 1) if params["mode"] == "full" else 0
    return {"y": F.conv2d(x[:, None], k[None, None], padding=padding)[:, 0]}


def convolve2d(t, params):
    return correlate2d({**t, "k": torch.flip(t["k"], (0, 1))}, params)


def rot180(t, params):
    return {"y": torch.flip(t["k"], (-2, -1))}


def conv2d(t, params):
    biases = t["biases"]
    tied = biases.dim() == 1
    y = F.conv2d(
        t["x"],
        t["kernels"],
        bias=biases if tied else None,
        stride=params["stride"],
        padding=params["padding"],
    )
    return {"y": y if tied else y + biases}


def reshape(t, params):
    x = t["x"]
    return {"y": x.reshape((x.shape[0],) + tuple(params["shape"]))}


def dense(t, params):
    return {"y": F.linear(t["x"], t["weights"], t["bias"])}


def sigmoid(t, params):
    return {"y": torch.sigmoid(t["x"])}


def tanh(t, params):
    return {"y": torch.tanh(t["x"])}


def relu(t, params):
    return {"y": F.relu(t["x"])}


def leaky_relu(t, params):
    return {"y": F.leaky_relu(t["x"], negative_slope=params["slope"])}


def softmax(t, params):
    return {"y": F.softmax(t["x"], dim=-1)}


def binary_cross_entropy(t, params):
    return {"loss": F.binary_cross_entropy(t["y_pred"], t["y_true"], reduction="none").mean(-1)}


def sigmoid_bce(t, params):
    return {"loss": F.binary_cross_entropy_with_logits(t["z"], t["y_true"], reduction="none").mean(-1)}


def mse(t, params):
    return {"loss": F.mse_loss(t["y_pred"], t["y_true"], reduction="none").mean(-1)}


def half_squared_error(t, params):
    return {"loss": 0.5 * F.mse_loss(t["y_pred"], t["y_true"], reduction="none").sum(-1)}


def categorical_cross_entropy(t, params):
    # Cross-entropy on probabilities: negative log-likelihood of log(p).
    return {"loss": -(t["y_true"] * torch.log(t["y_pred"])).sum(-1)}


def softmax_cce(t, params):
    return {"loss": F.cross_entropy(t["z"], t["y_true"], reduction="none")}


def maxpool2d(t, params):
    x = t["x"]
    y, flat = F.max_pool2d(x, params["window"], params["stride"], return_indices=True)
    width = x.shape[-1]
    return {"y": y, "argmax": torch.stack([flat // width, flat % width], dim=-1)}


# torch.optim's updates as its optimizers' step() runs them (the functions
# torch.optim.sgd.sgd and torch.optim.rmsprop.rmsprop), on lists of tensors
# updated in place: an optimizer object's constructor and step() import
# torch._dynamo, some 2.7 s the first time.
_PLAIN = {"weight_decay": 0.0, "momentum": 0.0, "maximize": False}


def sgd_update(params, grads, lr):
    from torch.optim.sgd import sgd

    with torch.no_grad():
        sgd(params, grads, [None] * len(params), lr=lr, dampening=0.0, nesterov=False, **_PLAIN)


def rmsprop_update(params, grads, square_avgs, lr, rho, epsilon):
    """RMSprop with alpha = rho, which matches Keras: eps is added to sqrt(v)."""
    from torch.optim.rmsprop import rmsprop

    steps = {"state_steps": [torch.tensor(0.0) for _ in params]} if _rmsprop_takes_steps() else {}
    with torch.no_grad():
        rmsprop(
            params,
            grads,
            square_avgs,
            [],
            [],
            **steps,
            lr=lr,
            alpha=rho,
            eps=epsilon,
            centered=False,
            **_PLAIN,
        )


@functools.cache
def _rmsprop_takes_steps():
    """Newer torch takes the step counts too (unused without bias correction)."""
    from torch.optim.rmsprop import rmsprop

    return "state_steps" in inspect.signature(rmsprop).parameters


def sgd(t, params):
    param = t["param"].detach().clone()
    sgd_update([param], [t["grad"].detach()], params["learning_rate"])
    return {"param": param}


def rmsprop(t, params):
    param, cache = t["param"].detach().clone(), t["cache"].detach().clone()
    rmsprop_update(
        [param], [t["grad"].detach()], [cache], params["learning_rate"], params["rho"], params["epsilon"]
    )
    return {"param": param, "cache": cache}


def accuracy(t, params):
    return {"accuracy": (t["y_true"] == t["y_pred"]).double().mean()}


def dense_parameter_count(t, params):
    layer = torch.nn.Linear(int(t["input_size"]), int(t["output_size"]), device="meta")
    return {"count": torch.tensor(sum(p.numel() for p in layer.parameters()))}
