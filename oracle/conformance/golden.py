"""Golden fixtures: cases generated from the reference with fixed seeds, one
file per op under fixtures/golden/, rebuilt byte-identically.

Each case holds the inputs drawn by the op's sample generator (several
channels and kernels, rectangular shapes, stride, padding, tied and untied
biases, batch sizes; values away from kinks and ties), the upstream
gradient dy where the op has a backward, and every output of the float64
reference. Max pooling also gets cases that exercise the tie rule.
"""

from pathlib import Path

from oracle import engines, jsonfmt, registry, samples
from oracle.conformance import fixtures

SEEDS = range(12)
# An implementation in float64 agrees with the reference to ~1e-14 here; the
# tolerance leaves a wide margin and still catches any real bug.
TOLERANCE = {"abs": 1e-9, "rel": 1e-9}
GENERATOR = "oracle.golden (reference engine, oracle.samples with seeds 0-11)"

# Windows whose maximum appears more than once: the documented rule sends the
# gradient to the first maximum in row-major order.
TIE_CASES = [
    ([[[1.0, 1.0], [1.0, 1.0]]], 2, 2),
    ([[[0.5, 2.0, 2.0, -1.0], [2.0, 0.0, 3.0, 3.0], [1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]], 2, 2),
    ([[[4.0, 1.0, 4.0], [0.0, 4.0, 2.0], [4.0, 3.0, 1.0]]], 2, 1),
]


# Inputs where a naive formula overflows or loses everything: a numerically
# safe implementation gives finite, exact values.
EDGE_CASES = {
    "sigmoid": [{"x": [[-1000.0, -40.0, 0.0, 40.0, 1000.0]], "dy": [[1.0, 1.0, 1.0, 1.0, 1.0]]}],
    "tanh": [{"x": [[-1000.0, -20.0, 0.0, 20.0, 1000.0]], "dy": [[1.0, 1.0, 1.0, 1.0, 1.0]]}],
    "softmax": [
        {"x": [1000.0, 1000.0, 0.0], "dy": [1.0, -1.0, 0.5]},
        {"x": [-1000.0, 0.0, 1000.0], "dy": [0.5, 1.0, -1.0]},
    ],
    "sigmoid_bce": [{"y_true": [0.0, 1.0, 1.0], "z": [1000.0, -1000.0, 40.0]}],
    "softmax_cce": [{"y_true": [0.0, 1.0, 0.0], "z": [1000.0, 0.0, -1000.0]}],
}

# Values float32 cannot hold (its largest is 3.4e38): a float64 result the
# float64 tier checks, and the float32 tier skips saying why.
FLOAT32_OVERFLOW_CASES = {
    "relu": [{"x": [[1e39, -1e39, 0.5]], "dy": [[1.0, 2.0, 3.0]]}],  # inputs beyond float32
    "mse": [{"y_true": [0.0, 0.0], "y_pred": [3e19, -3e19]}],  # loss 9e38 beyond float32
}


def make_case(spec, case_id, inputs, params, section, kind="generated", tolerance=None, batched=False):
    """A fixture case whose expected values are the float64 reference's
    (batched: per-sample inputs with a leading batch axis, and the shared
    inputs' gradients summed over the batch, as oracle.engines.run does)."""
    if batched:
        outputs = {k: v.tolist() for k, v in engines.run(spec, "reference", inputs, params, True).items()}
    else:
        outputs = spec.run_reference(inputs, params)
    case = {
        "format": fixtures.FORMAT,
        "id": case_id,
        "op": spec.name,
        "params": params,
        "inputs": inputs,
        "expected": outputs,
        "tolerance": tolerance or TOLERANCE,
        "source": {"document": "generated", "section": section, "kind": kind},
        "errata": [],
    }
    return {**case, "batched": True} if batched else case


def _tie_cases(spec):
    cases = []
    for number, (x, window, stride) in enumerate(TIE_CASES):
        y, _ = spec.reference({"x": x}, {"window": window, "stride": stride}).values()
        dy = [
            [[float(1 + r * len(row) + c) for c, _ in enumerate(row)] for r, row in enumerate(channel)]
            for channel in y
        ]
        section = "tie rule: the first maximum in row-major order of the window"
        cases.append(
            make_case(
                spec,
                f"golden-{spec.name}-tie-{number}",
                {"x": x, "dy": dy},
                {"window": window, "stride": stride},
                section,
            )
        )
    return cases


def sample_case(spec, seed):
    """A golden case from the op's sample generator with this seed."""
    inputs, params = samples.draw(spec.samples, seed)
    return make_case(spec, f"golden-{spec.name}-{seed:03d}", inputs, params, f"reference, seed {seed}")


# RMSprop with epsilon outside the square root (Keras 2, which the documents
# used, and torch) or inside it (Keras 3): small caches and a large epsilon
# make the two updates differ by far more than any tolerance, and rho and
# epsilon vary. (inputs, params)
RMSPROP_EPSILON_CASES = [
    (
        {
            "param": [[1.0, -2.0], [0.5, 3.0]],
            "grad": [[0.1, -0.01], [0.001, 0.2]],
            "cache": [[0.0, 1e-06], [1e-08, 0.01]],
        },
        {"learning_rate": 0.1, "rho": 0.9, "epsilon": 0.001},
    ),
    (
        {"param": [[0.25, -0.75, 1.5]], "grad": [[0.02, 0.5, -0.003]], "cache": [[0.001, 0.04, 0.0]]},
        {"learning_rate": 0.01, "rho": 0.5, "epsilon": 0.1},
    ),
    (
        {"param": [[2.0], [-1.0]], "grad": [[1e-06], [-3e-06]], "cache": [[0.0], [1e-12]]},
        {"learning_rate": 0.001, "rho": 0.99, "epsilon": 1e-07},
    ),
]


def cases_for(spec):
    cases = [sample_case(spec, seed) for seed in SEEDS]
    if spec.name == "maxpool2d":
        cases.extend(_tie_cases(spec))
    edges = (
        ("edge", EDGE_CASES, "numerical edge: large inputs, where a naive formula overflows"),
        ("huge", FLOAT32_OVERFLOW_CASES, "numerical edge: values beyond float32's range"),
    )
    for label, table, section in edges:
        for number, inputs in enumerate(table.get(spec.name, [])):
            cases.append(make_case(spec, f"golden-{spec.name}-{label}-{number}", inputs, {}, section))
    if spec.name == "rmsprop":
        section = (
            "epsilon outside the square root (Keras 2, torch), not inside (Keras 3); rho and epsilon vary"
        )
        for number, (inputs, params) in enumerate(RMSPROP_EPSILON_CASES):
            cases.append(make_case(spec, f"golden-rmsprop-epsilon-{number}", inputs, params, section))
    return cases


def document_for(spec):
    return {"format": fixtures.SET_FORMAT, "op": spec.name, "generator": GENERATOR, "cases": cases_for(spec)}


def golden_dir():
    return fixtures.fixtures_dir() / "golden"


def render():
    """{file name: text} of every golden file."""
    return {f"{spec.name}.json": jsonfmt.dumps(document_for(spec)) for spec in registry.OPS}


def build(directory=None):
    """Write every golden file; returns the names that changed."""
    directory = Path(directory or golden_dir())
    directory.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in render().items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(name)
    return changed


def stale(directory=None):
    """Messages for golden files a rebuild would change, add or remove."""
    directory = Path(directory or golden_dir())
    expected = render()
    problems = []
    for name, text in expected.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{path}: missing (run cnn-oracle fixtures build)")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: a rebuild would change it (run cnn-oracle fixtures build)")
    for path in sorted(directory.glob("*.json")):
        if path.name not in expected:
            problems.append(f"{path}: no op of the registry generates it")
    return problems
