"""What the failing cases of one op and check have in common: the findings
most of them share, and whether the failures follow a parameter (wrong
only when the stride is above 1, or only with padding)."""

import collections

PARAMETERS = (("stride", 1, "the stride is mishandled"), ("padding", 0, "the padding is mishandled"))


def summarize(results):
    """[{id, text, cases, of}] for the results (CaseChecks) of one op and
    check: the findings most of the diagnosed failures share, most cases
    first."""
    failing = [r for r in results if r.status == "fail"]
    diagnosed = [r for r in failing if r.diagnosis is not None]
    counts, texts = collections.Counter(), {}
    for r in diagnosed:
        for finding in {f["id"]: f for f in r.diagnosis}.values():
            counts[finding["id"]] += 1
            texts.setdefault(finding["id"], finding["text"])
    found = [
        {"id": id, "text": texts[id], "cases": n, "of": len(diagnosed)}
        for id, n in sorted(counts.items(), key=lambda item: (-item[1], list(texts).index(item[0])))
    ]
    common = [f for f in found if 2 * f["cases"] > f["of"]]  # what most failures share
    return common + _parameter_patterns(results, failing)


def _parameter_patterns(results, failing):
    found = []
    for name, plain, meaning in PARAMETERS:
        values = [r.params.get(name, plain) for r in failing if r.params is not None]
        passing = [r for r in results if r.status == "pass" and r.params is not None]
        if (
            values
            and all(v != plain for v in values)
            and any(r.params.get(name, plain) == plain for r in passing)
        ):
            text = f"wrong only when {name} is not {plain}: {meaning}"
            found.append({"id": f"pattern:{name}", "text": text, "cases": len(values), "of": len(failing)})
    return found
