"""The one escape of the generated pages: any text shows as itself, in every place a template
puts it, once Markdown (with the site's extensions) and a browser have read it."""

from __future__ import annotations

import copy
import html
import json
import re
from functools import cache
from pathlib import Path

import markdown
from bs4 import BeautifulSoup, NavigableString
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tinyreport.results import Results
from tinyreport.site import render as site

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "tinyreport" / "site" / "templates"

# Text that tries every way Markdown and HTML have of becoming markup.
NASTY = st.lists(
    st.one_of(
        st.sampled_from(list("<>&\"'\\`*_{}[]()#|!-+.=?:~ \t\n\r0123456789aZé")),
        st.sampled_from(["<script>", "&lt;", "&#60;", "{: onclick=x }", "](javascript:x)", "\u2028",
                         "\x00", "\x1b", "\x85", "\u202e", "===", "!!! note", "    ", "1. "]),
        st.characters(),
    ),
    max_size=20,
).map("".join)  # fmt: skip


@cache
def _markdown() -> markdown.Markdown:
    """Python-Markdown with the extensions of the site's mkdocs.yml."""
    from mkdocs.config import load_config

    config = load_config(str(ROOT / "mkdocs.yml"))
    return markdown.Markdown(
        extensions=config["markdown_extensions"], extension_configs=config["mdx_configs"]
    )


def _html(source: str) -> BeautifulSoup:
    md = _markdown()
    md.reset()
    return BeautifulSoup(md.convert(source), "html.parser")


def shown(value: str) -> str:
    """What a page should show for `value`: its text on one line, unprintables marked."""
    value = re.sub(r"\r\n|[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]", " ", value)
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]", "\ufffd", value)


def _only_text(el) -> bool:
    return all(isinstance(c, NavigableString) for c in el.children)


@settings(max_examples=300, deadline=None)
@given(NASTY)
@example("<script>alert(1)</script>")
@example("[x](javascript:alert(1)){: onclick=alert(2) }")
@example("`a` _b_ *c* __d__ a_b_c")
@example("    indented")
@example("1. one")
@example("# heading")
@example('=== "tab"')
@example("!!! note")
def test_text_shows_as_itself_wherever_a_template_puts_it(value):
    escaped = site.text(value)
    # In a paragraph, mid-line and at the start of a line.
    for source, expected in (
        (f"before {escaped} after", f"before {shown(value)} after"),
        (f"{escaped}after", f"{shown(value)}after"),
    ):
        soup = _html(source)
        (p,) = soup.find_all(True)
        assert p.name == "p" and _only_text(p), (source, str(soup))
        assert p.get_text() == expected
    # In a table cell, in a list item, as code.
    soup = _html(f"| a | b |\n|---|---|\n| x{escaped}y | z |\n")
    cells = soup.find_all("td")
    assert [c.get_text() for c in cells] == [f"x{shown(value)}y", "z"], str(soup)
    assert all(_only_text(c) for c in cells)
    soup = _html(f"- item: {escaped}\n- next\n")
    assert [li.get_text() for li in soup.find_all("li")] == [f"item: {shown(value)}", "next"]
    soup = _html(f"see {site.code(value)}.")
    (code,) = soup.find_all("code")
    assert _only_text(code)
    if shown(value).strip():  # Markdown keeps an element of spaces alone as one space
        assert code.get_text() == shown(value)
    assert _only_text(soup.p.code) and len(soup.find_all(True)) == 2


@settings(max_examples=200, deadline=None)
@given(NASTY)
@example("L1`<img src=x onerror=alert(1)>`_x_|[a](javascript:b)")
def test_chart_labels_and_captions_stay_text_at_the_top_and_in_a_content_tab(value):
    """Markdown leaves HTML at the start of a line alone, but reads an indented block (a
    content tab) as text with tags: a chart must come out whole either way."""
    figure = {"data": [{"x": [value], "name": value}], "layout": {}, "provenance": [f"a{value}"]}
    html_chart = site.chart(figure)
    indented = "\n".join("    " + line for line in html_chart.splitlines())
    for source in (f"{html_chart}\n", f'=== "A tab"\n\n{indented}\n'):
        soup = _html(source)
        (div,) = soup.select("div.tr-chart")
        spec = json.loads(div["data-figure"])
        (label,) = spec["data"][0]["x"]
        assert "<" not in label and html.unescape(label) == shown(value)  # as Plotly reads it
        (caption,) = soup.select("p.tr-provenance")
        assert _only_text(caption), str(caption)
        assert caption.get_text() == f"Source: a{shown(value)}."
        assert not [el for el in soup.find_all(True) if el.name not in ALLOWED_IN_TABS], str(soup)


ALLOWED_IN_TABS = {"div", "p", "input", "label"}  # the chart, its caption, the tab's own


def test_markup_tinyreport_wrote_is_kept_and_numbers_are_printed_as_they_are():
    env = site.environment()
    template = env.from_string("{{ a }} {{ b }} {{ n }} {{ x }} {{ m | num('%+.2f') }} {{ c }}")
    out = template.render(a="<b>", b=site.verdict_badge("OK"), n=-3, x=0.5, m=-1.25, c=None)
    assert out == '&lt;b&gt; <span class="tr-verdict tr-verdict--ok">OK</span> -3 0.5 -1.25 None'
    assert site.fmt_num(None) == "—"
    for bad in ("1<script>", True, [1]):
        try:
            site.fmt_num(bad)
        except TypeError:
            continue
        raise AssertionError(f"num accepted {bad!r}")


def test_no_template_puts_a_value_in_a_markdown_code_span():
    """A backtick in the value would end the span; `| code` writes an HTML code element."""
    for path in TEMPLATES.glob("*.jinja"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            spans = re.findall(r"`[^`]*`", re.sub(r"```\w*", "", line))
            assert not [s for s in spans if "{{" in s], f"{path.name}:{number}: {line}"


# Strings a model file can hold (custom operator names), through every page that shows them.
HOSTILE_OP = "CUSTOM:<img src=x onerror=alert(1)>[a](javascript:alert(2))`x`_y_{: onclick=z }"


HOSTILE_PATH = "models/x`<svg onload=alert(3)>`_y_[a](javascript:b).keras"


def _hostile_results(fixture: Results) -> Results:
    data = copy.deepcopy(fixture.to_dict())
    for m in data["models"]:
        a = m["variants"]["tflite_int8"]["analysis"]
        for op in a["ops"] + a["timeline"] + [a["peak_op"]]:
            op["op"] = HOSTILE_OP
        for b in a["arena"]["target"].get("scratch", []):
            b["op_type"] = HOSTILE_OP
        a["model"]["resolver"] = ["AddCustom" + HOSTILE_OP]
    # A model of one's own: its file's name comes from the config.
    data["models"][1]["kind"] = "keras"
    data["models"][1]["source"] = {"path": HOSTILE_PATH}
    return Results.from_dict(data)


def test_strings_from_a_model_file_reach_the_pages_as_text(fixture_results):
    pages = site.render(_hostile_results(fixture_results))
    card = pages["models/cnn.md"]
    soup = _html(card)
    for el in soup.find_all(True):
        assert not [a for a in el.attrs if a.startswith("on")], el
        assert el.name not in ("img", "script"), el
        assert "javascript" not in el.get("href", ""), el
    text = soup.get_text()
    assert f"({HOSTILE_OP}) with" in text  # the peak operator
    assert f"AddCustom{HOSTILE_OP}()." in text  # the resolver list
    assert f"A trained Keras file {HOSTILE_PATH}" in text
    assert HOSTILE_OP in [td.get_text() for td in soup.find_all("td")]  # the weights table
    figures = [json.loads(el["data-figure"]) for el in soup.select(".tr-chart")]
    timeline = next(f for f in figures if f["layout"]["title"]["text"].startswith("Live arena"))
    label = timeline["data"][0]["x"][1]
    assert "<" not in label and html.unescape(label) == "1: " + HOSTILE_OP


def test_the_notebook_shows_model_file_strings_as_text(tmp_path, fixture_results):
    """pandas writes Styler cells as raw HTML unless the notebook asks it to escape them."""
    import nbformat
    from nbclient import NotebookClient

    from tinyreport.results import dumps

    docs = tmp_path / "docs"
    (docs / "data").mkdir(parents=True)
    (docs / "labs").mkdir()
    (docs / "data" / "results.json").write_text(dumps(_hostile_results(fixture_results).to_dict()))
    nb = nbformat.read(ROOT / "docs/labs/lab05-feasibility.ipynb", 4)
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(docs / "labs")}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    pages = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    weights = next(h for h in pages if "T_lab05-weight-quantization" in h)
    assert html.escape(HOSTILE_OP, quote=False) in weights.replace("&#x27;", "'")
    for page in pages:
        soup = BeautifulSoup(page, "html.parser")
        assert not soup.find_all("img")
        assert not [s for s in soup.find_all("script") if "alert" in s.get_text()]
        assert not [el for el in soup.find_all(True) if any(a.startswith("on") for a in el.attrs)]
