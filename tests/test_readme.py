"""The README's samples of command output are real: each is checked
against a run of the command it shows, so the README cannot drift
silently."""

import argparse
import re
import shlex
from pathlib import Path

import pytest

from oracle import cli, engines
from oracle.checks import compare

README = Path(__file__).resolve().parent.parent / "README.md"
TORCH, TORCH_REASON = engines.torch_available()


def _section(title):
    """The README's text from the heading `title` to the next heading."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n{title}\n")
    end = re.compile(r"\n#{1,3} ").search(text, start + len(title) + 2)
    return text[start : end.start() if end else len(text)]


def _samples(section, command):
    """[(argv, [sample lines])] of each ``` block of `section` that starts
    with `$ cnn-oracle COMMAND`."""
    blocks, block = [], None
    for line in section.split("\n"):
        if line.startswith("```") and block is None:
            block = []
        elif line.startswith("```"):
            blocks.append(block)
            block = None
        elif block is not None:
            block.append(line)
    found = []
    for first, *lines in filter(None, blocks):
        words = shlex.split(first, comments=True)
        if words[:3] == ["$", "cnn-oracle", command]:
            found.append((words[2:], lines))
    return found


NUMBER = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+(?=[eE]))([eE][-+]?\d+)?$")  # with a point or exponent
FACTOR = 4.0


def _close(shown, real):
    """Measured errors as a table prints them: the same, or within a factor
    of FACTOR of each other (another BLAS or torch build rounds differently,
    by a few units in the last place), or both below 1e-15 (rounding of
    numbers of order 1). Integers (counts, seeds) must be equal."""
    a, b = float(shown), float(real)
    if a == b or (abs(a) < 1e-15 and abs(b) < 1e-15):
        return True
    return a != 0 and b != 0 and (a > 0) == (b > 0) and 1 / FACTOR <= a / b <= FACTOR


def _matches(shown, real):
    """Whether a README line is this line of real output: the same words,
    numbers within _close."""
    left, right = shown.split(), real.split()
    if len(left) != len(right):
        return False
    return all(a == b or (NUMBER.match(a) and NUMBER.match(b) and _close(a, b)) for a, b in zip(left, right))


def _unmatched(shown_lines, real_lines):
    """The README lines (except `...`) not found, in order, in the real output."""
    missing, position = [], 0
    for shown in shown_lines:
        if shown.strip() in ("", "..."):
            continue
        hit = next((i for i in range(position, len(real_lines)) if _matches(shown, real_lines[i])), None)
        if hit is None:
            missing.append(shown)
        else:
            position = hit + 1
    return missing


def test_line_matching_tells_rounding_from_drift():
    row = "conv2d   numpy vs reference   forward   8.88e-16   5.93e-15   0.0031  pass"
    assert _matches(row, row.replace("5.93e-15", "7.1e-15").replace("0.0031", "0.0042"))
    assert _matches(row, row.replace("8.88e-16", "4.44e-16"))
    assert not _matches(row, row.replace("0.0031", "0.12"))  # 40 times more of the tolerance used
    assert not _matches(row, row.replace("5.93e-15", "3.2e-13"))
    assert not _matches("7 passed, 0 failed", "5 passed, 0 failed")  # counts are exact
    assert not _matches(row, row.replace("pass", "FAIL"))
    assert not _matches(row, row.replace("forward", "backward"))
    assert _unmatched(["a 1", "...", "b 2"], ["a 1", "x", "b 2"]) == []
    assert _unmatched(["b 2", "a 1"], ["a 1", "b 2"]) == ["a 1"]  # order counts


@pytest.mark.skipif(not TORCH, reason=f"the README's compare sample shows torch rows: {TORCH_REASON}")
def test_the_agreement_matrix_sample_is_the_commands_real_output(capsys):
    section = _section("### The agreement matrix")
    samples = _samples(section, "compare")
    assert samples, "the README's agreement matrix section shows no `$ cnn-oracle compare ...` sample"
    for argv, shown in samples:
        code = cli.main(argv)
        real = capsys.readouterr().out.splitlines()
        missing = _unmatched(shown, real)
        assert not missing, (
            f"README sample of `cnn-oracle {shlex.join(argv)}` differs from its real output (exit {code}); "
            "not found in order:\n" + "\n".join(missing) + "\n\nreal output:\n" + "\n".join(real)
        )


def test_the_readme_states_the_default_number_of_seeds_of_compare():
    parser = argparse.ArgumentParser()
    compare.add_arguments(parser)
    default = parser.parse_args([]).seeds
    section = " ".join(_section("### The agreement matrix").split())  # the README's line breaks aside
    assert f"`--seeds N` sets the number of random samples per op ({default} by default" in section
    assert f"{default} seeds per op" in section
