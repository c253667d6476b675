"""The report as JUnit XML: one testsuite per op, one testcase per case and check."""

from xml.etree import ElementTree as ET


def render_junit(report):
    root = ET.Element(
        "testsuites",
        name=f"cnn-oracle verify {report.implementation} ({report.dtype})",
        tests=str(len(report.results) + len(report.errors) + bool(report.unavailable)),
        failures=str(report.count("fail")),
        errors=str(len(report.errors) + bool(report.unavailable)),
        skipped=str(report.count("skip") + report.count("xfail")),
    )
    if report.unavailable:
        suite = ET.SubElement(root, "testsuite", name="implementation", tests="1", errors="1")
        case = ET.SubElement(suite, "testcase", classname="implementation", name="load")
        ET.SubElement(case, "error", message=report.unavailable[:200]).text = report.unavailable
    by_op = {}
    for r in report.results:
        name = r.op if r.origin == "fixed" else f"{r.op} (fresh, seed {report.seed})"
        by_op.setdefault(name, []).append(r)
    for op, results in sorted(by_op.items()):
        suite = ET.SubElement(
            root,
            "testsuite",
            name=op,
            tests=str(len(results)),
            failures=str(sum(r.status == "fail" for r in results)),
            skipped=str(sum(r.status in ("skip", "xfail") for r in results)),
        )
        if report.conventions is not None:
            properties = ET.SubElement(suite, "properties")
            ET.SubElement(properties, "property", name="conventions", value=report.conventions.describe())
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=f"{r.op}.{r.check}", name=r.case)
            if r.status == "fail":
                ET.SubElement(case, "failure", message=r.message[:200]).text = f"{r.message}\nat {r.location}"
            elif r.status in ("skip", "xfail"):
                ET.SubElement(case, "skipped", message=r.message or "expected failure (xfail)")
    for error in report.errors:
        suite = ET.SubElement(root, "testsuite", name="fixtures", tests="1", errors="1")
        ET.SubElement(
            ET.SubElement(suite, "testcase", classname="fixtures", name="load"), "error", message=error[:200]
        ).text = error
    return ET.tostring(root, encoding="unicode") + "\n"
