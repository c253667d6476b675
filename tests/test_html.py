"""`cnn-oracle verify --format html`: one self-contained page whose tables,
failures and maps agree with the JSON report of the same run, that escapes
what the implementation says, fetches nothing, and renders in a real
headless browser without console errors (skipped where none is installed)."""

import shutil
import struct
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from sources import write_module
from verify_run import run_marked, verify

from oracle.conformance.results import CaseCheck, Report
from oracle.reports import html as html_report
from oracle.reports import render_html

MISSING_ROT180 = """
    import reference as r
    from reference import conv2d_forward

    def conv2d_backward(x, kernels, dy, stride=1, padding=0, bias="untied"):
        flipped = [[r.rot180(k) for k in kernel] for kernel in kernels]
        dx, _, _ = r.conv2d_backward(x, flipped, dy, stride, padding, bias)
        return (dx,) + r.conv2d_backward(x, kernels, dy, stride, padding, bias)[1:]
"""

HOSTILE = "<script>alert(1)</script>"
RAISES_HOSTILE = f"""
    from reference import relu_forward

    def relu_backward(x, dy):
        raise ValueError("{HOSTILE} & 'quoted' \\"too\\"")
"""

RUN = ("--op", "conv2d", "--op", "relu", "--seed", "3", "--fresh", "4")  # relu: skipped, not implemented
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source", "area", "base", "embed", "track"}


class Node:
    def __init__(self, tag, attrs):
        self.tag, self.attrs, self.children, self.text = tag, dict(attrs), [], ""

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    def all(self, tag=None, cls=None):
        """Descendants (depth first) with this tag and class."""
        for child in self.children:
            if tag in (None, child.tag) and (cls is None or cls in child.classes):
                yield child
            yield from child.all(tag, cls)

    def first(self, tag=None, cls=None):
        return next(self.all(tag, cls))

    def text_content(self):
        return self.text + "".join(child.text_content() for child in self.children)


class Tree(HTMLParser):
    """A strict reading of the page: every element closed, in order (the
    renderer writes every end tag), the doctype first."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root, self.doctype = Node("#document", {}), None
        self.stack = [self.root]
        self.feed(text)
        self.close()
        assert self.stack == [self.root], f"unclosed: {[n.tag for n in self.stack[1:]]}"

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs)
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, attrs))

    def handle_endtag(self, tag):
        assert tag not in VOID and self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data):
        # text after a child goes into a text node so that text_content keeps the order
        target = self.stack[-1]
        if target.children:
            node = Node("#text", {})
            node.text = data
            target.children.append(node)
        else:
            target.text += data


def parse(text):
    """The page's tree, after the checks every page must pass."""
    tree = Tree(text)
    assert tree.doctype == "DOCTYPE html" and text.startswith("<!DOCTYPE html>")
    page = tree.root.first("html")
    assert page.attrs.get("lang") == "en"
    assert page.first("meta").attrs.get("charset") == "utf-8"
    titles = list(page.all("title"))
    assert len(titles) == 1 and titles[0].text_content().strip()
    assert_self_contained(text, page)
    return page


def assert_self_contained(text, page):
    """Nothing to fetch: no scripts, no embedded or linked resources, no URLs."""
    assert "http:" not in text and "https:" not in text and "url(" not in text and "@import" not in text
    fetching = {"script", "link", "img", "iframe", "object", "embed", "video", "audio", "source", "base"}
    assert not [node.tag for node in page.all() if node.tag in fetching]
    assert not [node.attrs for node in page.all() if {"src", "href", "srcset", "action"} & node.attrs.keys()]


def render(tmp_path, *args):
    """`cnn-oracle verify ARGS --format html --output FILE` in this process,
    with verify_run's checks; the exit code and the page's path."""
    output = tmp_path / "report.html"
    done = run_marked("verify", *args, "--format", "html", "--output", str(output), in_process=True)
    return done.returncode, output


@pytest.fixture(scope="module")
def missing_rotation(tmp_path_factory):
    """The page and the JSON report of one run of a conv2d missing the
    kernel's rotation in its input gradient."""
    folder = tmp_path_factory.mktemp("html")
    module = write_module(folder, MISSING_ROT180)
    code, page = render(folder, module, *RUN)
    run = verify(folder, module, *RUN, in_process=True)
    assert code == run.code == 1
    return page, run.report


def shown_planes(mask):
    """The part of a wrong-element mask its map draws, channel by channel
    (None when every element is right or the mask is not 2-D, 3-D or 4-D)."""
    wrong = np.array(mask, dtype=bool)
    wrong = wrong[0] if wrong.ndim == 4 else wrong
    if wrong.ndim not in (2, 3) or not wrong.any():
        return None
    planes = wrong if wrong.ndim == 3 else wrong[None]
    return planes[: html_report.MAX_CHANNELS, : html_report.MAX_ROWS, : html_report.MAX_COLUMNS]


def test_the_page_holds_the_tables_the_failures_and_their_maps(missing_rotation):
    path, report = missing_rotation
    page = parse(path.read_text())
    assert page.first("h1").text_content() == f"Conformance of {report['implementation']}"
    assert report["command"] in page.first("dl", "meta").text_content()

    sections = {s.attrs.get("id"): s for s in page.all("section")}
    for origin in ("fixed", "fresh"):
        # one table row per op and check that ran; the ones skipped whole are listed below the table
        rows = [r for r in report["rows"] if r["origin"] == origin and r["pass"] + r["fail"] + r["xfail"]]
        table = sections[origin].first("table", "conformance")
        shown = [[td.text_content() for td in tr.all("td")] for tr in table.first("tbody").all("tr")]
        assert [(cells[0], cells[1]) for cells in shown] == [(r["op"], r["check"]) for r in rows]
        for cells, row in zip(shown, rows):
            total = row["pass"] + row["fail"] + row["xfail"] + row["skip"]
            assert cells[2].endswith(f"{row['pass']}/{total}") and cells[4] == row["first_failure"]
    skipped = sections["fixed"].first("ul", "skipped").text_content()
    assert "relu" in skipped and "conv2d" not in skipped

    articles = list(page.all("article", "failure"))
    failing = {}
    for result in report["results"]:
        if result["status"] == "fail":
            failing.setdefault((result["op"], result["check"], result["origin"]), []).append(result)
    expected = [r for group in failing.values() for r in group[:3]]  # the first 3 per op, check and origin
    assert [a.attrs["data-case"] for a in articles] == [r["case"] for r in expected]

    maps = 0
    for article, result in zip(articles, expected):
        assert result["message"] in article.first("p", "message").text_content()
        figures = {f.attrs["data-output"]: f for f in article.all("figure", "map")}
        for name, mask in (result["wrong"] or {}).items():
            planes = shown_planes(mask)
            label = f"{name}[0]" if np.ndim(mask) == 4 else name
            if planes is None:
                assert label not in figures
                continue
            drawn = [td for grid in figures[label].all("table", "mask") for td in grid.all("td")]
            assert len(drawn) == planes.size and sum("w" in td.classes for td in drawn) == planes.sum()
            maps += 1
    assert maps >= 3, "the run should draw maps of dx"
    text = page.text_content()
    assert "the 180-degree rotation of the kernel is missing" in text
    assert "smallest failing case" in text and "expected dx" in text and "got dx" in text

    body = page.first("body")
    last = [n for n in body.children if n.tag != "#text"][-1]
    assert "verdict" in last.classes and last.text_content() == report["verdict"]


def test_what_the_implementation_says_is_escaped(tmp_path):
    module = write_module(tmp_path, RAISES_HOSTILE)
    code, path = render(tmp_path, module, "--op", "relu", "--seed", "1", "--fresh", "2")
    assert code == 1
    text = path.read_text()
    page = parse(text)
    assert "<script" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    messages = [p.text_content() for p in page.all("p", "message")]
    assert messages and all(f"{HOSTILE} & 'quoted' \"too\"" in m for m in messages)


def test_every_field_is_escaped_even_in_attributes():
    """Every string of a report, hostile, rendered directly: none becomes
    markup, and attribute values keep their text."""
    hostile = f'{HOSTILE}"><b onmouseover=x>'
    failing = CaseCheck(
        op="conv2d",
        check="backward",
        case=hostile,
        location=hostile,
        status="fail",
        message=hostile,
        worst_ratio=2.0,
        params={},
        diagnosis=[{"id": "x", "text": hostile, "detail": hostile}],
        wrong={"dx": [[[0, 1], [1, 0]]]},
        counterexample={
            "case": {"params": {hostile: hostile}, "inputs": {hostile: [hostile]}, "expected": {"dx": [1]}},
            "got": {"dx": [hostile]},
            "message": hostile,
            "note": hostile,
            "saved": hostile,
        },
    )
    skipped = CaseCheck(op="relu", check="forward", case="c", location="l", status="skip", message=hostile)
    report = Report(hostile, results=[failing, skipped], notes=[hostile], command=hostile, errors=[hostile])
    text = render_html(report)
    page = parse(text)
    assert (
        "<script" not in text
        and "<b " not in text
        and "onmouseover" not in {key for node in page.all() for key in node.attrs}
    )
    assert page.first("article", "failure").attrs["data-case"] == hostile
    assert [td.attrs.get("title") for td in page.all("td", "w")] == ["dx[0][0][1]", "dx[0][1][0]"]


BROWSER = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


# A mark, not a skip in the test: without a browser the page is not made at all.
@pytest.mark.skipif(BROWSER is None, reason="no headless Chromium on PATH; apt-get install chromium")
def test_the_page_renders_in_a_headless_browser(missing_rotation, tmp_path):
    path, report = missing_rotation

    def chromium(*args):
        command = [
            BROWSER,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            f"--user-data-dir={tmp_path / 'profile'}",  # its own profile: parallel tests do not share one
            "--enable-logging=stderr",
            "--v=0",
            *args,
            path.resolve().as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        # console messages (an uncaught error, a failed load) are logged as `...:CONSOLE:...] "..."`
        console = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
        assert console == [], console
        return done.stdout

    screenshot = tmp_path / "report.png"
    chromium(f"--screenshot={screenshot}", "--window-size=1200,2000")
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and struct.unpack(">II", data[16:24]) == (1200, 2000)
    assert len(data) > 40_000, "a blank 1200x2000 page compresses to about 11 KB: was anything drawn?"

    dom = Tree(chromium("--dump-dom")).root
    tables = list(dom.all("table", "conformance"))
    assert len(tables) == 2 and any(report["verdict"] == p.text_content() for p in dom.all("p", "verdict"))


@pytest.mark.parametrize(
    "report, verdict",
    [
        (Report("impl", unavailable="cannot import impl.py: SyntaxError"), "error"),
        (Report("impl"), "nothing"),
        (Report("impl", results=[CaseCheck("relu", "forward", "c", "l", "pass")]), "passed"),
    ],
)
def test_a_page_for_every_verdict(report, verdict):
    page = parse(render_html(report))
    last = [n for n in page.first("body").children if n.tag != "#text"][-1]
    assert last.classes == ["verdict", verdict] and last.text_content() == report.verdict
    assert bool(list(page.all("table", "conformance"))) == (verdict == "passed")
