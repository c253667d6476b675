"""The array conventions an implementation declares: a module's
`CONVENTIONS` dict, `--conventions FILE` (JSON), or the handshake's
"conventions" object. One table, KEYS, is the rule for what may be
declared; the harness converts every case to the declared conventions
(oracle.conformance.convert) and never asks the implementation to.

This module is read by the worker too (it validates a module's
declaration and chooses call forms from it), so it imports nothing that
judges.
"""

import json
from dataclasses import dataclass, fields
from pathlib import Path

from oracle.conformance.files import unreadable

# key -> (allowed values, the default first where there is one, what it means)
KEYS = {
    "layout": (
        ("CHW", "HWC", "NCHW", "NHWC"),
        "images; a leading N means a batch axis on every per-sample argument (batch-first)",
    ),
    "kernels": (("OIHW", "HWIO"), "conv kernels: (D, C, kh, kw) or (kh, kw, C, D)"),
    "dense_weights": (
        ("out_in", "in_out"),
        "dense weights: (out, in) with y = W x + b, or (in, out) with y = x W + b",
    ),
    "vectors": (("flat", "column", "row"), "a per-sample vector: (n,), (n, 1) or (1, n)"),
    "batch_gradients": (
        ("sum", "mean"),
        "parameter gradients of a batch: summed or averaged (undeclared: each op's own)",
    ),
    "bias": (
        ("both", "tied", "untied"),
        "conv biases: either shape, one per kernel (D,), or one per output (D, Ho, Wo)",
    ),
    "maxpool_backward": (
        ("argmax", "input"),
        "max-pool backward from the forward's argmax, or from the forward input (no argmax)",
    ),
    "labels": (
        ("one_hot", "index"),
        "class labels of the categorical losses: one-hot vectors or integer indices",
    ),
    "cross_entropy_input": (
        ("probabilities", "logits"),
        "the cross-entropy losses take probabilities, or logits (fused with sigmoid / softmax)",
    ),
    "optimizer_update": (
        ("returned", "in_place"),
        "sgd and rmsprop return the new parameter (and cache), or update param (and cache) in place",
    ),
    "rmsprop_epsilon": (
        ("outside_sqrt", "inside_sqrt"),
        "RMSprop: lr g / (sqrt(cache) + eps) (Keras 2, torch) or lr g / sqrt(cache + eps) (Keras 3)",
    ),
}


class ConventionError(ValueError):
    """A declaration naming an unknown key or value; the message says where."""


@dataclass(frozen=True)
class Conventions:
    """The conventions in force (undeclared keys keep the reference's)."""

    layout: str = "CHW"
    kernels: str = "OIHW"
    dense_weights: str = "out_in"
    vectors: str = "flat"
    batch_gradients: str = ""  # '' : each op's own reduction (registry)
    bias: str = "both"
    maxpool_backward: str = "argmax"
    labels: str = "one_hot"
    cross_entropy_input: str = "probabilities"
    optimizer_update: str = "returned"
    rmsprop_epsilon: str = "outside_sqrt"

    @property
    def batch_first(self):
        return self.layout.startswith("N")

    @property
    def channels_last(self):
        return self.layout.endswith("HWC")

    def declared(self):
        """{key: value} of the keys that differ from the reference's."""
        default = Conventions()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }

    def with_batch(self, batch_first):
        """The same conventions, batch-first or not (the layout's N)."""
        layout = self.layout.lstrip("N")
        return _replace(self, layout=("N" + layout) if batch_first else layout)

    def describe(self):
        """One line for a report's header."""
        declared = self.declared()
        if not declared:
            return "the reference's (CHW, OIHW kernels, (out, in) weights, flat vectors, ...)"
        return ", ".join(f"{key} {value}" for key, value in declared.items()) + "; the rest the reference's"


def _replace(conventions, **changes):
    return Conventions(**{**{f.name: getattr(conventions, f.name) for f in fields(conventions)}, **changes})


def parse(declaration, where, base=None):
    """Conventions from a mapping (over `base`, default the reference's);
    ConventionError naming `where` and the key or value that is wrong."""
    if not isinstance(declaration, dict):
        raise ConventionError(f"{where}: expected an object of conventions, got {type(declaration).__name__}")
    changes = {}
    for key, value in declaration.items():
        if key not in KEYS:
            raise ConventionError(f"{where}: unknown convention {key!r} (known: {', '.join(KEYS)})")
        allowed = KEYS[key][0]
        if value not in allowed:
            raise ConventionError(
                f"{where}: {key}: unknown value {value!r} (allowed: {', '.join(map(repr, allowed))})"
            )
        changes[key] = value
    return _replace(base or Conventions(), **changes)


def read_file(path):
    """The declaration (a dict, validated) in a JSON file: --conventions FILE."""
    try:
        declaration = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConventionError(f"--conventions {unreadable(path, error)}") from None
    except ValueError as error:
        raise ConventionError(f"--conventions {path}: not JSON ({error})") from None
    parse(declaration, path)
    return declaration
