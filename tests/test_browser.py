"""The built site in headless Chromium: every page, every chart, instant navigation, palettes.

One small project is collected and built once for the module, under a sub-path
(`/tinyreport/`) as on GitHub Pages, and served over HTTP on 127.0.0.1. Chromium resolves no
other host, and every request it tries is recorded: a request to another host fails the test.
Screenshots go to tests/_actual/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
from e2e import ROOT, SMALL_CONFIG, make_project, results, tinyreport

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = Path(__file__).parent / "_actual" / "screenshots"
PREFIX = "/tinyreport/"
TIMEOUT = 30.0


class _Handler(SimpleHTTPRequestHandler):
    """Serve the site under PREFIX, like a GitHub Pages project site; quietly."""

    def translate_path(self, path: str) -> str:
        path = urlparse(path).path
        if not path.startswith(PREFIX):
            return str(Path(self.directory) / "__outside_the_site__")
        return super().translate_path("/" + path[len(PREFIX) :])

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """An HTTP server on 127.0.0.1 (port chosen first, so the site can be built for it)."""
    root = tmp_path_factory.mktemp("browser-site")
    site_dir = root / "site"
    site_dir.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(site_dir)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}{PREFIX}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def site(server):
    """Collect a small project and build it with the server's URL as site_url (a sub-path)."""
    root, base = server
    reuse = os.environ.get("TINYREPORT_BROWSER_PROJECT")  # a collected project, to iterate fast
    if reuse:  # its trained models are reused; its pages are rendered again below
        shutil.copytree(reuse, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("site"))
    make_project(root, (root / "tinyreport.toml").read_text() if reuse else SMALL_CONFIG)
    proc = tinyreport(root, "collect")
    assert proc.returncode == 0, proc.stderr
    # A device log for the cnn's int8 file, written here in the board's protocol (no board is
    # attached): the pages then show device results, and their charts get rendered too.
    cnn = next(m for m in results(root)["models"] if m["name"] == "cnn")
    _write_device_log(root / "benchmarks" / "logs" / "test-board.log", cnn)
    proc = tinyreport(root, "collect")
    assert proc.returncode == 0, proc.stderr
    assert results(root)["device_logs"][0]["n_runs"] == 1
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "SITE_URL": base}
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", "site"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert build.returncode == 0, build.stderr
    return root / "site", base


def _write_device_log(path: Path, model: dict) -> None:
    from tinyreport.device.serial.protocol import format_record as rec

    model_id = model["variants"]["tflite_int8"]["sha256"]
    lines = [
        rec("boot", {"seq": 0, "run": "0badc0de", "chip": "esp32s3", "cores": 2,
                     "cpu_mhz": 240, "flash_bytes": 8388608, "psram_bytes": 8388608,
                     "idf": "v5.3.1", "fw": "tinyfw-browser-test", "esp_nn": 1, "n_models": 1}),
        rec("model", {"seq": 1, "id": model_id, "name": "cnn_int8", "arena_given_bytes": 65536}),
        rec("alloc", {"seq": 2, "id": model_id, "status": "ok", "arena_given_bytes": 65536,
                      "arena_used_bytes": 9356}),
        rec("lat", {"seq": 3, "id": model_id, "i": 0, "us": [1800, 1840, 1900, 2000, 1850]}),
        rec("op", {"seq": 4, "id": model_id, "i": 0, "op": "CONV_2D", "us": 912.5, "n": 5}),
        rec("op", {"seq": 5, "id": model_id, "i": 1, "op": "MAX_POOL_2D", "us": 88.2, "n": 5}),
        rec("done", {"seq": 6, "n_models": 1, "n_ok": 1}),
    ]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _pages(site_dir: Path) -> list[str]:
    """Every page of the site, as paths relative to the site root ('' for the home page)."""
    pages = []
    for html in sorted(site_dir.rglob("index.html")):
        rel = html.parent.relative_to(site_dir).as_posix()
        if rel.startswith(("assets", "search")):
            continue
        pages.append("" if rel == "." else rel + "/")
    return pages


@pytest.fixture(scope="module")
def browser(site):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Debian's chromium and chromium-driver are missing: run scripts/test")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = site[0].parent / "chromium-profile"
    shutil.rmtree(profile, ignore_errors=True)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
        # No other host resolves: a page that reaches out fails to, and the log shows it.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not download anything
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(TIMEOUT)
    yield driver
    driver.quit()


# ---------------------------------------------------------------------------------------------
# Helpers


def wait_for(driver, script: str, what: str, timeout: float = TIMEOUT):
    """Poll a JavaScript expression until it is truthy; fail with `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script("return " + script)
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


CHARTS_DONE = """(function () {
  var charts = document.querySelectorAll('article .tr-chart');
  var done = Array.prototype.filter.call(charts, function (el) {
    return el.classList.contains('js-plotly-plot') && el.querySelector('.main-svg');
  });
  return charts.length === done.length ? charts.length + 1 : 0;
})()"""


def wait_for_charts(driver, page: str) -> int:
    """Wait until every chart of the page has an SVG drawn by plotly.js; return their number."""
    return wait_for(driver, CHARTS_DONE, f"every chart rendered on {page or 'home'}") - 1


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def foreign_requests(driver) -> list[str]:
    """URLs of requests to any host but 127.0.0.1 since the last call."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            parsed = urlparse(url)
            if parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname != "127.0.0.1":
                urls.append(url)
    return urls


def screenshot(driver, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, min(max(height, 1000), 6000))
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    return path


def set_scheme(driver, scheme: str) -> None:
    """Switch the palette with Material's own toggle until the body has `scheme`."""
    for _ in range(3):
        if driver.execute_script("return document.body.dataset.mdColorScheme") == scheme:
            return
        driver.execute_script(
            "var labels = document.querySelectorAll('form[data-md-component=palette] label');"
            "for (var i = 0; i < labels.length; i++) {"
            "  if (labels[i].offsetParent !== null) { labels[i].click(); break; } }"
        )
        time.sleep(0.2)
    assert driver.execute_script("return document.body.dataset.mdColorScheme") == scheme


def slug(page: str) -> str:
    return page.strip("/").replace("/", "-") or "home"


# ---------------------------------------------------------------------------------------------
# Tests


def test_every_page_renders_every_chart_without_errors(site, browser):
    site_dir, base = site
    pages = _pages(site_dir)
    expected = {
        "",
        "report/",
        "report/models/mlp/",
        "report/models/cnn/",
        "report/compare/variants/",
        "report/compare/feasibility/",
        "reference/cli/",
        "report/config/",
        "reference/results/",
        "labs/lab05-feasibility/",
    }
    assert expected <= set(pages)
    browser.get_log("performance")
    counts = {}
    for page in pages:
        browser.get(base + page)
        counts[page] = wait_for_charts(browser, page)
        assert console_errors(browser) == [], page
    assert foreign_requests(browser) == []
    # Overview 2, variants 4, feasibility 5 (with the device latency), model cards 5 (per
    # digit, three confusion matrices in tabs, arena timeline) and the cnn's device operator
    # profile, the lab notebook 2.
    assert counts["report/"] == 2
    assert counts["report/compare/variants/"] == 4
    assert counts["report/compare/feasibility/"] == 5
    assert counts["report/models/mlp/"] == 5
    assert counts["report/models/cnn/"] == 6
    assert counts["labs/lab05-feasibility/"] == 2


def test_instant_navigation_renders_charts_without_reloading(site, browser):
    site_dir, base = site
    browser.get(base)
    wait_for_charts(browser, "")
    # The home page has no chart, so it does not load the megabytes of plotly.js.
    assert browser.execute_script("return typeof window.Plotly") == "undefined"
    browser.execute_script("window.__trNoReload = true")
    chart_pages = [
        "report/",
        "report/models/mlp/",
        "report/compare/variants/",
        "report/compare/feasibility/",
        "report/models/cnn/",
        "labs/lab05-feasibility/",
        "",
    ]
    for page in chart_pages:
        target = base + page
        # Find and click in one script (the DOM may be swapped between two calls), after
        # marking the current content, so that the wait below sees the new page's content.
        wait_for(
            browser,
            "(function () { var a = Array.prototype.find.call("
            "document.querySelectorAll('a[href]'), function (a) {"
            f" return a.href === {json.dumps(target)}; }});"
            " if (!a) return false;"
            " document.querySelector('article').__trOld = true; a.click(); return true; })()",
            f"a link to {page or 'home'} to click",
        )
        wait_for(
            browser,
            f"location.href === {json.dumps(target)} && document.querySelector('article')"
            " && !document.querySelector('article').__trOld",
            f"navigation to {page or 'home'}",
        )
        n = wait_for_charts(browser, page)
        assert browser.execute_script("return window.__trNoReload === true"), (
            f"{page}: the page reloaded, instant navigation is off"
        )
        if page not in ("",):
            assert n > 0, page
        assert console_errors(browser) == [], page
    assert foreign_requests(browser) == []


def test_charts_follow_the_palette_and_screenshots(site, browser):
    _, base = site
    for page in ("report/", "report/models/cnn/", "report/compare/feasibility/",
                 "labs/lab05-feasibility/"):  # fmt: skip
        browser.get(base + page)
        for scheme in ("default", "slate"):
            set_scheme(browser, scheme)
            expected = browser.execute_script(
                "return getComputedStyle(document.body)"
                ".getPropertyValue('--md-default-fg-color').trim()"
            )
            wait_for_charts(browser, page)
            wait_for(
                browser,
                "Array.prototype.every.call(document.querySelectorAll('.tr-chart'), "
                "function (el) { return el._fullLayout && "
                f"el._fullLayout.font.color === {json.dumps(expected)}; }})",
                f"charts restyled for {scheme} on {page}",
            )
            screenshot(browser, f"{slug(page)}-{scheme}")  # for people to look at
        set_scheme(browser, "default")
    assert console_errors(browser) == []


def test_chart_in_a_hidden_tab_fills_its_width_once_shown(site, browser):
    _, base = site
    browser.get(base + "report/models/mlp/")
    wait_for_charts(browser, "report/models/mlp/")
    labels = browser.find_elements("css selector", ".tabbed-labels label")
    assert [label.text for label in labels] == ["int8 TFLite", "float TFLite", "Keras"]
    browser.execute_script("arguments[0].click()", labels[2])
    width_ok = """(function () {
      var blocks = document.querySelectorAll('.tabbed-block');
      var el = blocks[2].querySelector('.tr-chart');
      var svg = el.querySelector('.main-svg');
      return el.offsetWidth > 0 &&
        Math.abs(svg.getBoundingClientRect().width - el.getBoundingClientRect().width) < 2;
    })()"""
    wait_for(browser, width_ok, "the Keras confusion matrix to fill its tab")


def test_tables_sort_by_number_on_click(site, browser):
    _, base = site
    browser.get(base + "report/compare/feasibility/")
    wait_for_charts(browser, "report/compare/feasibility/")
    table_js = (
        "var t = Array.prototype.find.call(document.querySelectorAll('article table'),"
        " function (t) { return t.tHead.rows[0].cells[0].textContent.trim() === 'model' &&"
        " t.tHead.rows[0].cells[5].textContent.trim() === 'arena (reserved)'; });"
    )
    header = browser.execute_script(table_js + "return t.tHead.rows[0].cells[2];")
    browser.execute_script("arguments[0].click()", header)
    column = (
        table_js + "return Array.prototype.map.call(t.tBodies[0].rows,"
        " function (r) { return r.cells[2].textContent.trim(); });"
    )
    values = browser.execute_script(column)
    numbers = [float(v.split()[0].replace(",", "")) for v in values]  # "18.8 KiB"
    assert numbers == sorted(numbers) and len(numbers) >= 2
    browser.execute_script("arguments[0].click()", header)
    values = browser.execute_script(column)
    assert [float(v.split()[0].replace(",", "")) for v in values] == sorted(numbers, reverse=True)


def test_internal_links_resolve(site):
    """lychee, offline, over the built site: every internal link and anchor exists.

    The site is checked where it is served, under the sub-path, so the absolute links of the
    404 page (site_url's path) resolve like on GitHub Pages.
    """
    site_dir, _ = site
    served = site_dir.parent / "served"
    served.mkdir(exist_ok=True)
    link = served / PREFIX.strip("/")
    if not link.exists():
        link.symlink_to(site_dir, target_is_directory=True)
    lychee = shutil.which("lychee") or str(Path(sys.executable).parent / "lychee")
    proc = subprocess.run(
        [
            lychee,
            "--offline",
            "--include-fragments",
            "--no-progress",
            "--index-files",
            "index.html",
            "--root-dir",
            str(served),
            str(site_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------------------------
# Layout: tables that fit, no sideways scrolling on a phone, the nav's order, chart ranges

REPORT_PAGES = (
    "report/",
    "report/models/mlp/",
    "report/models/cnn/",
    "report/compare/variants/",
    "report/compare/feasibility/",
    "labs/lab05-feasibility/",
)

# Every table of the page with its width and the width of the box it scrolls in (Material's
# scroll wrapper, a notebook output, or the article).
TABLE_FIT = """return Array.prototype.map.call(document.querySelectorAll('article table'),
  function (t) {
    var box = t.closest('.md-typeset__scrollwrap') || t.closest('.jp-OutputArea-output')
      || t.closest('article');
    var head = t.tHead ? t.tHead.rows[0].textContent.replace(/\\s+/g, ' ').trim() : '';
    return {head: head.slice(0, 60), table: Math.ceil(t.getBoundingClientRect().right),
            box: Math.floor(box.getBoundingClientRect().right), width: t.offsetWidth};
  });"""


def _resize(driver, width: int, height: int) -> None:
    driver.set_window_size(width, height)
    wait_for(driver, f"window.innerWidth === {width} || window.outerWidth === {width}", "resize")


def test_report_tables_show_their_last_column_at_1280(site, browser):
    _, base = site
    _resize(browser, 1280, 900)
    try:
        cut = {}
        n_tables = 0
        for page in REPORT_PAGES:
            browser.get(base + page)
            wait_for_charts(browser, page)
            tables = browser.execute_script(TABLE_FIT)
            assert tables, page
            n_tables += len(tables)
            over = [t for t in tables if t["table"] > t["box"] + 1]
            if over:
                cut[page] = over
        assert cut == {}, f"tables wider than their column at 1280 px: {cut}"
        assert n_tables >= 25
    finally:
        _resize(browser, 1280, 1000)


def test_no_page_scrolls_sideways_at_390(site, browser):
    site_dir, base = site
    _resize(browser, 390, 844)
    try:
        wide = {}
        for page in _pages(site_dir):
            browser.get(base + page)
            wait_for_charts(browser, page)
            width = browser.execute_script(
                "return [document.documentElement.scrollWidth, "
                "document.documentElement.clientWidth]"
            )
            if width[0] > width[1]:
                wide[page] = width
        assert wide == {}, f"pages wider than a 390 px phone (scroll width, view width): {wide}"
        # Charts are laid out for the phone: wrapped titles, no chart wider than the view.
        browser.get(base + "report/compare/feasibility/")
        wait_for_charts(browser, "report/compare/feasibility/")
        charts = browser.execute_script(
            "return Array.prototype.map.call(document.querySelectorAll('.tr-chart'),"
            " function (el) { return [el.getBoundingClientRect().right,"
            " el._fullLayout.title.text]; });"
        )
        view = browser.execute_script("return document.documentElement.clientWidth")
        assert all(right <= view + 1 for right, _ in charts)
        assert any("<br>" in title for _, title in charts)
    finally:
        _resize(browser, 1280, 1000)


def test_nav_puts_the_report_first(site, browser):
    _, base = site
    browser.get(base)
    top = browser.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll("
        "'.md-nav--primary > .md-nav__list > .md-nav__item'), function (li) {"
        " var label = li.querySelector(':scope > .md-nav__link, :scope > label, :scope > a');"
        " return label ? label.textContent.replace(/\\s+/g, ' ').trim() : ''; });"
    )
    assert top == ["Home", "Report", "Labs", "Reference", "About tinyreport"]
    report = browser.execute_script(
        "var li = document.querySelectorAll('.md-nav--primary > .md-nav__list > .md-nav__item')[1];"
        "return Array.prototype.map.call(li.querySelectorAll('.md-nav__link'),"
        " function (a) { return a.textContent.replace(/\\s+/g, ' ').trim(); });"
    )
    assert report.index("Overview") < report.index("Models") < report.index("Comparisons")


def test_charts_show_differences(site, browser):
    """Accuracy zoomed with its range in the title, budgets zoomed to the demand, confusion
    matrices with counts and row shares, as plotly.js drew them."""
    _, base = site
    browser.get(base + "report/")
    wait_for_charts(browser, "report/")
    acc = browser.execute_script(
        "var el = Array.prototype.find.call(document.querySelectorAll('.tr-chart'), function (e)"
        " { return e._fullLayout.title.text.indexOf('Test accuracy') === 0; });"
        "return {range: el._fullLayout.yaxis.range, title: el._fullLayout.title.text,"
        " ys: el.data.map(function (t) { return t.y; }),"
        " notes: el._fullLayout.annotations.map(function (a) { return a.text; })};"
    )
    values = [y for ys in acc["ys"] for y in ys if y is not None]
    bottom, top = acc["range"]
    assert 0 < bottom <= min(values) and max(values) < top <= 100
    assert f"axis {bottom:g} to" in acc["title"]
    assert len(acc["notes"]) == 2 and all("points" in n for n in acc["notes"])
    browser.get(base + "report/compare/feasibility/")
    wait_for_charts(browser, "report/compare/feasibility/")
    budget = browser.execute_script(
        "var el = Array.prototype.find.call(document.querySelectorAll('.tr-chart'), function (e)"
        " { return e._fullLayout.title.text.indexOf('SRAM budget') === 0; });"
        "return {range: el._fullLayout.xaxis.range, first: el.data[0].x,"
        " ends: el._fullLayout.annotations.map(function (a) { return a.x; })};"
    )
    assert 0 < max(budget["ends"]) < budget["range"][1] < 100
    assert all(x > 0 for x in budget["first"])  # the arena's share, drawn
    browser.get(base + "report/models/cnn/")
    wait_for_charts(browser, "report/models/cnn/")
    cells = browser.execute_script(
        "var el = document.querySelector('.tabbed-block .tr-chart');"
        "return Array.prototype.map.call(el.querySelectorAll('text, tspan'),"
        " function (t) { return t.textContent; });"
    )
    assert any(re.fullmatch(r"\d+\.?\d*%", c) for c in cells), cells[:20]


def test_lab_page_is_light_hides_setup_code_and_links_its_notebook(site, browser):
    site_dir, base = site
    page = site_dir / "labs" / "lab05-feasibility" / "index.html"
    text = page.read_text(encoding="utf-8")
    assert len(text.encode()) < 250_000  # 750 KB with JupyterLab's inline CSS
    assert "def find_results" not in text
    browser.get(base + "labs/lab05-feasibility/")
    wait_for_charts(browser, "labs/lab05-feasibility/")
    link = browser.execute_script(
        "var a = Array.prototype.find.call(document.querySelectorAll('article a'), function (a)"
        " { return a.textContent.trim() === 'Download this notebook'; }); return a && a.href;"
    )
    assert link == base + "labs/lab05-feasibility/lab05-feasibility.ipynb"
    assert (site_dir / "labs" / "lab05-feasibility" / "lab05-feasibility.ipynb").is_file()
    prompts = browser.execute_script(
        "return Array.prototype.filter.call(document.querySelectorAll('.jp-InputPrompt'),"
        " function (e) { return e.offsetParent !== null; }).length"
    )
    assert prompts == 0
    # Outputs keep their lines: a printed line is one line, scrolled, not wrapped mid-word.
    white = browser.execute_script(
        "return getComputedStyle(document.querySelector('.jp-OutputArea-output pre')).whiteSpace"
    )
    assert white == "pre"
