"""The text, Markdown and JUnit renderings read at a glance: passed/total
in every row, a legend, skipped ops grouped by reason, failure messages
and skip reasons in Markdown, totals on the JUnit root."""

from xml.etree import ElementTree as ET

from oracle.conformance.results import CaseCheck, Report
from oracle.reports import render_junit, render_markdown, render_text


def _report():
    report = Report("impl")
    report.results = [
        CaseCheck("conv2d", "forward", "c1", "conv2d.json $.cases[0]", "pass"),
        CaseCheck(
            "conv2d", "forward", "c2", "conv2d.json $.cases[1]", "fail", "y: got <1>, expected 2", 1.0, 2.0
        ),
        CaseCheck("conv2d", "backward", "c1", "conv2d.json $.cases[0]", "pass"),
        CaseCheck("conv2d", "backward", "c2", "conv2d.json $.cases[1]", "xfail", "dx: known"),
        CaseCheck("relu", "forward", "r1", "relu.json", "skip", "not implemented: impl has no relu_forward"),
        CaseCheck("relu", "backward", "r1", "relu.json", "skip", "not implemented: impl has no relu_forward"),
        CaseCheck("tanh", "forward", "t1", "tanh.json", "skip", "not implemented: impl has no tanh_forward"),
        CaseCheck("sgd", "forward", "s1", "sgd.json", "skip", "input x (1e+39) is outside float32's range"),
    ]
    report.errors = ["broken.json: $.op: unknown operation 'conv3d'"]
    return report


def test_text_rows_count_passed_over_total_and_a_legend_explains_the_ratio():
    text = render_text(_report())
    assert "FAIL 1/2" in text and "pass 1/2 (1 xfail)" in text
    assert (
        "worst err/tol: the largest error over its allowance (below 1 passes); -: every value exact;" in text
    )


def test_text_groups_the_skipped_ops_by_reason():
    lines = render_text(_report()).splitlines()
    grouped = lines.index("skipped, not implemented: impl has no function for them:")
    assert lines[grouped + 1].strip() == "relu, tanh"
    assert lines[lines.index("skipped, input x (1e+39) is outside float32's range:") + 1].strip() == "sgd"
    assert not any(line.startswith(("relu ", "tanh ")) for line in lines)


def test_markdown_carries_failures_skip_reasons_and_counts():
    text = render_markdown(_report())
    assert "2 passed, 1 failed, 4 skipped, 1 xfailed (known failures), 1 fixture errors." in text
    assert "<details><summary>Failures (1, the first 3 per op and check)</summary>" in text
    assert "- conv2d forward c2: y: got &lt;1&gt;, expected 2 (at conv2d.json $.cases[1])" in text
    assert "- not implemented: impl has no relu_forward (2x)" in text
    assert "<details><summary>Fixture errors (1)</summary>" in text


def test_the_junit_root_carries_the_totals():
    root = ET.fromstring(render_junit(_report()))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "9",
        "1",
        "1",
        "5",
    )
    suites = root.findall("testsuite")
    assert sum(int(s.get("tests")) for s in suites) == int(root.get("tests"))
