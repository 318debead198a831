"""Text from logs, file names and the config reaches the site as text, never as markup.

End to end: a device log whose every string field carries HTML, JavaScript and Markdown goes
through `tinyreport collect` and `mkdocs build`; every built page is parsed and searched for
anything live that came from the log.
"""

from __future__ import annotations

import html
import json
import re
import zlib
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from e2e import make_project, mkdocs_build, results, tinyreport

from tinyreport.device.serial.protocol import format_record

pytestmark = pytest.mark.slow

# A model name with the underscores the config allows: Markdown must not read them as emphasis.
MODEL = "mlp__x__y"
# Class names from the config, shown on the cards and as chart labels.
LABELS = [f"L{i}`<img src=x onerror=alert({i})>`_x_|[a](javascript:b)" for i in range(10)]
CONFIG = f"""\
board = "xiao-esp32s3"
[dataset]
n_train = 100
n_test = 100
labels = {json.dumps(LABELS)}
[training]
epochs = 1
[models.{MODEL}]
kind = "mlp"
hidden = [16]
"""


def hostile(field: str) -> str:
    """HTML, script, and the Markdown that makes links, attributes, code and emphasis."""
    tag = f"XSS-{field}"
    return (
        f'{tag}<script>alert("{tag}")</script><img src=x onerror=alert("{tag}")>'
        f'[{tag}](javascript:alert("{tag}")) `{tag}` _{tag}_ *{tag}* a|b &amp; \\'
        f'<a href="javascript:alert(1)">{tag}</a>{{: onclick=alert("{tag}") }}'
    )


# No space, no "=": what a field may hold raw before its %-escapes are decoded.
RAW = "XSS<script>alert(7)</script><img/src/onerror>[a](javascript:alert(8))`_x_`"
# A log file name: no "/", but a backtick, a tag and an event handler.
LOG_NAME = "XSS`<img src=x onerror=alert(9)>`_x_|.log"
# Payloads that must never come alive, anywhere.
LIVE = re.compile(r"alert\(|javascript:", re.I)


def _log(int8_id: str) -> str:
    unknown = "ab" * 32
    lines = [
        ("boot", {"seq": 0, "run": "5a17c0de", "chip": hostile("chip"), "rev": hostile("rev"),
                  "cores": 2, "cpu_mhz": 240, "flash_bytes": 8 << 20, "psram_bytes": 8 << 20,
                  "idf": hostile("idf"), "fw": hostile("fw"), "esp_nn": 1,
                  "board": hostile("board"), "reset": hostile("reset"), "n_models": 2,
                  "note": hostile("unknown-field")}),
        ("model", {"seq": 1, "id": int8_id, "name": hostile("name"), "arena_given_bytes": 65536}),
        ("alloc", {"seq": 2, "id": int8_id, "status": "ok", "arena_given_bytes": 65536,
                   "arena_used_bytes": 2048}),
        ("lat", {"seq": 3, "id": int8_id, "i": 0, "us": [812, 815, 820]}),
        ("op", {"seq": 4, "id": int8_id, "i": 0, "op": hostile("op"), "us": 500.5, "n": 3}),
        ("op", {"seq": 5, "id": int8_id, "i": 1, "op": "SOFTMAX", "us": 20.0, "n": 3}),
        ("err", {"seq": 6, "stage": "other", "msg": hostile("msg") + "\n<script>alert(0)</script>"
                 + "\u2028# heading\r\n    code"}),
        ("model", {"seq": 7, "id": unknown, "name": hostile("unknown-model"),
                   "arena_given_bytes": 1}),
        ("done", {"seq": 8, "n_models": 2, "n_ok": 1}),
    ]  # fmt: skip
    text = [format_record(kind, fields) for kind, fields in lines]
    # A record whose %-escape is bad, and one whose int is not one: the raw values are quoted.
    for body in (
        f"@TR1 op seq=9 id={int8_id} i=2 op=%ZZ{RAW} us=1 n=1",
        f"@TR1 heap seq=10 at=end free_internal_bytes={RAW} free_psram_bytes=0",
    ):
        text.append(f"{body} crc={zlib.crc32(body.encode()):08x}")
    return "\n".join(text) + "\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = make_project(tmp_path_factory.mktemp("hostile"), CONFIG)
    proc = tinyreport(root, "collect", "-q")
    assert proc.returncode == 0, proc.stderr
    (model,) = results(root)["models"]
    logs = root / "benchmarks" / "logs"
    logs.mkdir(parents=True)
    (logs / LOG_NAME).write_text(_log(model["variants"]["tflite_int8"]["sha256"]))
    proc = tinyreport(root, "collect", "-q")
    assert proc.returncode == 0, proc.stderr
    proc = mkdocs_build(root)
    assert proc.returncode == 0, proc.stderr
    return root / "site"


def _pages(site: Path) -> dict[str, BeautifulSoup]:
    return {
        p.relative_to(site).as_posix(): BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser")
        for p in sorted(site.rglob("*.html"))
    }


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_the_log_reached_the_results(site):
    data = json.loads((site.parent / "docs" / "data" / "results.json").read_text())
    (log,) = data["device_logs"]
    assert log["path"] == f"benchmarks/logs/{LOG_NAME}"
    assert data["dataset"]["labels"] == LABELS
    (run,) = data["models"][0]["device"]
    assert run["ops"][0]["op"] == hostile("op")
    assert run["board"]["fw"] == hostile("fw")


def test_no_page_holds_live_markup_from_the_log(site):
    pages = _pages(site)
    assert "report/models/mlp__x__y/index.html" in pages and "report/index.html" in pages
    for rel, soup in pages.items():
        for el in soup.find_all(True):
            where = f"{rel}: <{el.name} {el.attrs}>"
            for name, value in el.attrs.items():
                assert not name.lower().startswith("on"), where
                text = " ".join(value) if isinstance(value, list) else value
                if name == "data-figure":
                    continue  # checked below, as the JSON plotly reads
                assert not LIVE.search(text), where
            if el.name in ("script", "style"):
                assert not LIVE.search(el.get_text()), where
            assert el.name not in ("img", "iframe", "object", "embed"), where
            if el.name in ("em", "strong", "a"):  # nothing the log said became markup
                assert "XSS" not in el.get_text(), where
            if el.name == "code" and "alert" in el.get_text():  # a file name, whole: not cut
                # where a backtick in it ended a code span
                assert el.get_text() == f"benchmarks/logs/{LOG_NAME}", where


def test_chart_text_from_the_log_is_escaped_for_plotly(site):
    """Plotly renders a few tags in titles, tick labels and hovers: none may come from a log."""
    soup = _pages(site)["report/models/mlp__x__y/index.html"]
    figures = [json.loads(el["data-figure"]) for el in soup.select(".tr-chart")]
    ops = [f for f in figures if "Time per operator" in f["layout"]["title"]["text"]]
    assert len(ops) == 1
    label = ops[0]["data"][0]["x"][0]
    assert "<" not in label and html.unescape(label) == "0: " + hostile("op")  # as Plotly reads it
    for figure in figures:
        for text in _strings(figure):
            tags = re.findall(r"<\s*/?\s*([a-zA-Z]+)", text)
            assert set(tags) <= {"br", "extra"}, text  # plotly's, written by tinyreport


def _text(soup: BeautifulSoup) -> str:
    return re.sub(r"\s+", " ", soup.get_text())


def test_the_log_text_is_shown_as_text(site):
    pages = _pages(site)
    card = _text(pages["report/models/mlp__x__y/index.html"])
    overview = _text(pages["report/index.html"])
    name = f"benchmarks/logs/{LOG_NAME}"
    assert name in card and name in overview
    assert "0: " + hostile("op") not in card  # the table shows the name alone
    assert hostile("op") in card
    # The firmware's message, its line breaks shown as spaces; the raw values of bad records.
    msg = hostile("msg") + " <script>alert(0)</script> # heading code"
    assert f"the firmware reported an error (other): {msg}" in card
    assert f"bad %-escape in {f'%ZZ{RAW}'!r}" in card
    assert f"free_internal_bytes={RAW!r} is not a valid int" in card
    # The model's name with its underscores, in the heading, the link and the table.
    # Class names from the config.
    for label in LABELS:
        assert label in card
    heading = pages["report/models/mlp__x__y/index.html"].h1.get_text()
    assert heading.startswith(f"Model card: {MODEL}")
    links = [a["href"] for a in pages["report/index.html"].select("a")]
    assert "models/mlp__x__y/" in links
