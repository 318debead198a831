"""Generated pages: golden files from a fixed results fixture, determinism, stale-page cleanup."""

import hashlib
import html
import json
import math
import re
import shutil
from pathlib import Path

from tinyreport.analysis.boards import board_ids, load_board
from tinyreport.site import render as site

GOLD = Path(__file__).parent / "gold"
ACTUAL = Path(__file__).parent / "_actual"
FIXTURE = Path(__file__).parent / "data" / "results_fixture.json"


def test_pages_match_gold(fixture_results, update_gold):
    pages = site.render(fixture_results)
    if update_gold:
        shutil.rmtree(GOLD, ignore_errors=True)
        for rel, text in pages.items():
            (GOLD / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLD / rel).write_text(text, encoding="utf-8")
    expected = {p.relative_to(GOLD).as_posix(): p.read_text() for p in GOLD.rglob("*.md")}
    differing = sorted(
        rel for rel in pages.keys() | expected.keys() if pages.get(rel) != expected.get(rel)
    )
    if differing:  # keep the actual output for diffing
        for rel in differing:
            if rel in pages:
                (ACTUAL / rel).parent.mkdir(parents=True, exist_ok=True)
                (ACTUAL / rel).write_text(pages[rel], encoding="utf-8")
    assert not differing, f"pages differ from tests/gold (actual in tests/_actual): {differing}"


def test_overview_table_holds_the_measured_numbers(fixture_results):
    page = site.render(fixture_results)["index.md"]
    mlp = fixture_results.model("mlp")
    int8 = mlp.variants["tflite_int8"]
    a = int8.analysis
    answer, variants = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in page.splitlines()
        if line.startswith("| [mlp]")
    ]
    # The answer first: verdicts, the board's arena (one figure: the board's), accuracy, MACs.
    sram = a["budget"]["sram"]
    pc = 100 * sram["demand_bytes"] / sram["capacity_bytes"]
    assert answer[1] == f"{site.verdict_badge(sram['verdict'])} {pc:.1f} %"
    assert answer[2] == site.verdict_badge(a["budget"]["flash"]["verdict"])
    assert answer[3] == f"{a['arena']['target_bytes'] / 1024:,.1f} KiB"
    assert answer[4] == f"{100 * int8.accuracy:.2f} %"
    assert answer[5] == f"{int8.size_bytes / 1024:,.1f} KiB"
    assert answer[6] == f"{a['model']['n_macs']:,}" == "109,184"  # 784×128 + 128×64 + 64×10
    assert answer[7] == "not yet"
    # The host arena is one click away, not on the overview.
    assert f"{int8.arena.host_bytes / 1024:,.1f} KiB" not in answer
    # The versions behind the computed arena are named where it is shown.
    assert "esp-tflite-micro 1.3.8 with ESP-NN 1.1.2" in page
    for cell, kind in zip(variants[1:], ("keras", "tflite_float", "tflite_int8"), strict=True):
        v = mlp.variants[kind]
        assert cell == f"{v.size_bytes / 1024:,.1f} KiB, {100 * v.accuracy:.2f} %"


def test_model_card_lists_macs_weights_and_activations_per_operator(fixture_results):
    card = site.render(fixture_results)["models/cnn.md"]
    a = fixture_results.model("cnn").variants["tflite_int8"].analysis
    rows = {r["index"]: r for r in site.layer_rows(fixture_results.model("cnn"))}
    assert sum(r["n_macs"] for r in rows.values()) == a["model"]["n_macs"]
    conv = next(r for r in rows.values() if r["op"] == "CONV_2D")
    # 26×26 outputs × 8 filters × 3×3 taps; int8 weights 8×3×3×1 plus 8 int32 biases.
    assert conv["n_macs"] == 26 * 26 * 8 * 9
    assert conv["weights_bytes"] == 8 * 9 + 8 * 4
    assert conv["in_bytes"] == 28 * 28 and conv["out_bytes"] == 26 * 26 * 8
    assert (
        f"| {conv['index']} | CONV_2D | 1×26×26×8 | 48,672 | 104 B | 784 B | 5,408 B |"
        f" {conv['live_bytes']:,} B |" in card
    )


def test_charts_carry_valid_plotly_json(fixture_results):
    page = site.render(fixture_results)["index.md"]
    specs = re.findall(r'<div class="tr-chart" data-figure="([^"]*)"></div>', page)
    assert len(specs) == 2  # sizes and accuracy; the arena charts are on the variants page
    figures = [json.loads(html.unescape(s)) for s in specs]
    sizes = figures[0]
    assert [trace["name"] for trace in sizes["data"]] == ["Keras", "float TFLite", "int8 TFLite"]
    mlp = fixture_results.model("mlp")
    int8 = sizes["data"][2]
    assert int8["y"][int8["x"].index("mlp")] == round(
        mlp.variants["tflite_int8"].size_bytes / 1024, 1
    )


def test_accuracy_chart_zooms_and_annotates_the_differences(fixture_results):
    from tinyreport.site import charts

    fig = charts.accuracy(fixture_results)
    values = [y for trace in fig["data"] for y in trace["y"] if y is not None]
    bottom, top = fig["layout"]["yaxis"]["range"]
    assert bottom <= min(values) and max(values) < top
    assert bottom > 0  # zoomed: the fixture's accuracies are 78.7-84.7 %
    cnn = fixture_results.model("cnn")
    delta = 100 * (cnn.variants["tflite_int8"].accuracy - cnn.variants["tflite_float"].accuracy)
    notes = {a["x"]: a["text"] for a in fig["layout"]["annotations"]}
    assert notes["cnn"] == f"int8 − float: {delta:+.2f} points".replace("-", "−")
    assert notes["cnn"] == "int8 − float: −0.40 points"


def test_confusion_matrix_shows_counts_and_row_shares(fixture_results):
    from tinyreport.site import charts

    cnn = fixture_results.model("cnn")
    counts = cnn.variants["tflite_int8"].evaluation.confusion
    trace = charts.confusion(cnn, "tflite_int8", [str(d) for d in range(10)])["data"][0]
    i, j = next((i, j) for i, r in enumerate(counts) for j, c in enumerate(r) if c and i != j)
    share = round(100 * counts[i][j] / sum(counts[i]), 1)
    assert trace["text"][i][j] == f"{counts[i][j]}<br>{share:g}%"
    assert trace["customdata"][i][j] == [counts[i][j], share]
    # Log colours: one error is visibly coloured next to a diagonal of about a hundred.
    assert trace["z"][i][j] == round(math.log10(counts[i][j] + 1), 4) > 0
    assert trace["colorbar"]["ticktext"][:3] == ["0", "1", "10"]


def test_budget_chart_shows_the_arena_share_on_a_zoomed_axis(fixture_results):
    data = site.page_data(fixture_results)
    fig = charts_budget = site.charts.budget(data["sram"], "SRAM", "usable SRAM", ["x"])
    arena = charts_budget["data"][0]
    rows = data["sram"]
    assert arena["name"] == rows[0]["items"][0]["what"]
    for row, x in zip(rows, arena["x"], strict=True):
        assert x == round(100 * row["items"][0]["bytes"] / row["limit_bytes"], 2)
    top = fig["layout"]["xaxis"]["range"][1]
    shares = [100 * r["demand_bytes"] / r["limit_bytes"] for r in rows]
    assert max(shares) < top < 100  # zoomed to the demand, not to the whole board
    assert f"(axis 0 to {top:g} % of usable SRAM)" in fig["layout"]["title"]["text"]
    assert len(fig["data"]) <= 1 + 3 + 1  # arena, three largest lines, "other"
    assert arena["marker"]["color"] not in [t["marker"]["color"] for t in fig["data"][1:]]
    ends = [a["text"].strip() for a in fig["layout"]["annotations"]]
    assert ends == [f"{s:.1f} % {r['verdict']}" for s, r in zip(shares, rows, strict=True)]


def test_rendering_is_deterministic_and_clean(fixture_results):
    first, second = site.render(fixture_results), site.render(fixture_results)
    assert first == second
    for text in first.values():
        assert text.startswith("# ") and site.is_generated(text)
        assert all(line == line.rstrip() for line in text.splitlines())


def test_write_pages_removes_only_stale_generated_pages(tmp_path, fixture_results):
    pages_dir = tmp_path / "report"
    (pages_dir / "models").mkdir(parents=True)
    (pages_dir / "models" / "old.md").write_text("# old\n\n" + site.GENERATED_MARK + "\n")
    (pages_dir / "older.md").write_text(site.GENERATED_MARK + "\n# older, mark first\n")
    (pages_dir / "notes.md").write_text("# hand-written\n")
    changed = site.write_pages(fixture_results, pages_dir)
    assert not (pages_dir / "models" / "old.md").exists()
    assert not (pages_dir / "older.md").exists()
    assert (pages_dir / "notes.md").read_text() == "# hand-written\n"
    assert (pages_dir / "models" / "mlp.md").is_file()
    assert changed == len(site.render(fixture_results)) + 2
    assert site.write_pages(fixture_results, pages_dir) == 0


def test_formatting_filters():
    assert site.fmt_bytes(1000) == "1,000 B"
    assert site.fmt_bytes(118384) == "118,384 B (115.6 KiB)"
    assert site.fmt_bytes(1340506) == "1,340,506 B (1.28 MiB)"
    assert site.fmt_pct(0.9781) == "97.81 %"


# ---------------------------------------------------------------------------------------------
# Memory analysis, feasibility, device runs, CLI reference, provenance


def _cells(page: str, first_cell: str) -> list[str]:
    row = next(line for line in page.splitlines() if line.startswith(f"| {first_cell} |"))
    return [c.strip() for c in row.strip("|").split("|")]


def test_model_card_shows_the_arena_every_way_and_the_budget(fixture_results):
    card = site.render(fixture_results)["models/cnn.md"]
    cnn = fixture_results.model("cnn")
    int8 = cnn.variants["tflite_int8"]
    a = int8.analysis
    # board computed | device | host TFLM measured | host computed: the board's figure first
    arena_row = next(
        line.strip("|").split("|")
        for line in card.splitlines()
        if line.startswith("| int8 TFLite |") and "not measured" in line
    )
    assert arena_row[1].strip() == site.fmt_bytes(a["arena"]["target_bytes"])
    assert arena_row[2].strip() == "not measured"
    assert arena_row[3].strip() == site.fmt_bytes(int8.arena.host_bytes)
    assert arena_row[4].strip() == site.fmt_bytes(a["arena"]["host_bytes"])
    assert "esp-tflite-micro 1.3.8 with ESP-NN 1.1.2 kernels" in card
    assert a["arena"]["host_bytes"] == int8.arena.host_bytes  # the planner equals host TFLM
    sram = a["budget"]["sram"]
    assert (
        f"### SRAM budget of the int8 TFLite model: {site.verdict_badge(sram['verdict'])}" in card
    )
    assert f"| **demand** | **{site.fmt_bytes(sram['demand_bytes'])}** | |" in card
    assert f"Reserve **{site.fmt_bytes(a['arena']['reserve_bytes'])}** in firmware" in card
    metrics = _cells(card, "int8 TFLite")
    assert metrics[1] == site.fmt_bytes(int8.size_bytes)
    # Conv and dense weights: per-channel, as the int8 file says.
    assert "| CONV_2D | 8×3×3×1 | int8 | per-channel (8 scales, axis 0) |" in card
    assert "Not measured on a device yet." in card and site.CAPTURE_COMMAND in card


def test_feasibility_page_budgets_and_recommendation(fixture_results):
    page = site.render(fixture_results)["compare/feasibility.md"]
    data = site.page_data(fixture_results)
    rows = {r["label"]: r for r in data["sram"]}
    assert set(rows) == {
        f"{m} {v}" for m in ("mlp", "cnn") for v in ("float TFLite", "int8 TFLite")
    }
    for m in fixture_results.models:
        sram = m.variants["tflite_int8"].analysis["budget"]["sram"]
        row = rows[f"{m.name} int8 TFLite"]
        assert row["demand_bytes"] == sram["demand_bytes"] == sum(i["bytes"] for i in row["items"])
        # usable SRAM of the XIAO ESP32-S3, from its board file when the fixture was collected
        assert (
            row["limit_bytes"] == m.variants["tflite_int8"].analysis["board"]["usable_sram_bytes"]
        )
    # The map: every known board for every model; the target's cell equals its budget.
    boards = {c["board"] for c in data["map_cells"]}
    assert {"xiao-esp32s3", "esp32", "stm32f4", "raspberry-pi-pico"} <= boards
    target = {c["model"]: c for c in data["map_cells"] if c["board"] == "xiao-esp32s3"}
    for m in fixture_results.models:
        budget = m.variants["tflite_int8"].analysis["budget"]["sram"]
        assert target[m.name]["demand_bytes"] == budget["demand_bytes"]
        assert target[m.name]["verdict"] == budget["verdict"]
        assert target[m.name]["provenance"] == "computed"
    assert {c["board"] for c in data["map_cells"]} == set(board_ids())  # every board
    for c in data["map_cells"]:
        kept = fixture_results.model(c["model"]).variants["tflite_int8"].analysis["boards"]
        board = load_board(c["board"])
        if c["board"] in kept:  # a board the analysis in the results planned: its figures
            assert c["demand_bytes"] == kept[c["board"]]["budget"]["sram"]["demand_bytes"]
            assert c["flash_verdict"] == kept[c["board"]]["budget"]["flash"]["verdict"]
        else:  # the fixture predates the board: the arena of a kept board with its profile
            same = [k for k in kept.values() if k["profile"] == board.arena_profile]
            assert c["arena_bytes"] == same[0]["arena_bytes"]
        # Only boards whose kernels the planner models with their scratch buffers (ESP-NN on
        # the S3, reference kernels) are computed; the others are estimated lower bounds, and
        # boards without a TFLM port estimates for comparison.
        lower = not board.kernel_scratch_modelled
        computed = not lower and board.tflm_supported
        assert (c["provenance"], c["lower_bound"]) == (
            ("computed", False) if computed else ("estimated", lower)
        ), c["board"]
        assert c["family"] == board.family and c["tflm_supported"] == board.tflm_supported
    # The recommendation: the most accurate int8 model whose budgets are not exceeded.
    best = max(fixture_results.models, key=lambda m: m.variants["tflite_int8"].accuracy)
    assert f'!!! success "Deploy {best.name}"' in page
    assert page.count('<div class="tr-chart"') == 4  # SRAM, flash, accuracy per KiB, map


def test_every_chart_says_where_its_numbers_come_from(fixture_results):
    for rel, text in site.render(fixture_results).items():
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if '<div class="tr-chart"' in line:
                caption = lines[i + 1].strip()
                assert caption.startswith('<p class="tr-provenance">Source: '), rel
                assert "measured" in caption or "computed" in caption or "estimated" in caption


def _device_log(path: Path, model_id: str, sim: int, samples: list[int]) -> Path:
    """A session of the serial protocol for one model, as the firmware prints it."""
    from tinyreport.device.serial.protocol import format_record as rec

    lines = [
        rec(
            "boot",
            {
                "seq": 0,
                "run": "0badc0de",
                "chip": "esp32s3",
                "cores": 2,
                "cpu_mhz": 240,
                "flash_bytes": 8388608,
                "psram_bytes": 8388608,
                "idf": "v5.3.1",
                "fw": "tinyfw-test",
                "esp_nn": 1,
                "n_models": 1,
                "sim": sim,
            },
        ),  # fmt: skip
        rec("model", {"seq": 1, "id": model_id, "name": "cnn_int8", "arena_given_bytes": 65536}),
        rec(
            "alloc",
            {
                "seq": 2,
                "id": model_id,
                "status": "ok",
                "arena_given_bytes": 65536,
                "arena_used_bytes": 9900,
            },
        ),  # fmt: skip
        rec("lat", {"seq": 3, "id": model_id, "i": 0, "us": samples}),
        rec("op", {"seq": 4, "id": model_id, "i": 0, "op": "CONV_2D", "us": 912.5, "n": 5}),
        rec("vec", {"seq": 5, "id": model_id, "n": 10, "match": 9, "max_abs_diff": 1, "tol": 0}),
        rec("done", {"seq": 6, "n_models": 1, "n_ok": 1}),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _with_runs(results, logs: list[Path]):
    from dataclasses import replace

    from tinyreport.device.serial.ingest import ingest_logs

    owner = {m.variants[k].sha256: (m, k) for m in results.models for k in site.TFLITE}
    known = {sha: f"{m.name}_{k}" for sha, (m, k) in owner.items()}
    runs = {m.name: [] for m in results.models}
    for run in ingest_logs(logs, known):
        m, kind = owner[run["model_id"]]
        runs[m.name].append({**run, "variant": kind})
    return replace(results, models=[replace(m, device=runs[m.name]) for m in results.models])


def test_device_runs_are_shown_with_their_log_and_simulated_ones_apart(tmp_path, fixture_results):
    from dataclasses import replace

    cnn_id = fixture_results.model("cnn").variants["tflite_int8"].sha256
    measured = _device_log(tmp_path / "board.log", cnn_id, 0, [1800, 1840, 1900, 2000, 1850])
    results = _with_runs(fixture_results, [measured])
    pages = site.render(results)
    card = pages["models/cnn.md"]
    assert "Not measured on a device yet." not in card
    # Two tables that fit the column: timing, then memory, test vectors and the log.
    row = next(line for line in card.splitlines() if line.startswith("| int8 TFLite | ok |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "1.850 ms"  # median of the five samples
    assert cells[5] == "5"  # invokes
    row = next(line for line in card.splitlines() if line.startswith("| int8 TFLite | 9,900 B"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == site.fmt_bytes(9900)  # arena_used_bytes from the alloc record
    assert cells[3] == "9/10 match, max abs diff 1"  # test vectors, one cell
    assert str(measured) in cells[4]
    assert "| int8 TFLite |" in card and "9,900 B (9.7 KiB) |" in card
    assert "| 0 | CONV_2D | 912.5 µs | 5 |" in card
    # The samples stay in the log; the page shows their histogram: 20 bins of 10 µs.
    assert (
        f"Latency histogram, int8 TFLite ({site.code(measured)}, boot 0): 5 invokes\nin 20 equal "
        "bins from 1.800 ms to\n2.000 ms, each bin holding its left edge (the last also its right):"
        "\n1 · 0 · 0 · 0 · 1 · 1 · 0 · 0 · 0 · 0 · 1 · 0 · 0 · 0 · 0 · 0 · 0 · 0 · 0 · 1." in card
    )
    assert card.count('<div class="tr-chart"') == 6  # the operator profile's chart too
    assert f"operator profile measured on device, {measured}" in card
    assert _cells(pages["index.md"], "[cnn](models/cnn.md)")[-1] == "measured, arena 9.7 KiB"
    assert f"| {site.code(measured)} | 1 | 7 | 1 | 0 | 0 |" in site.render(
        replace(results, device_logs=[{"path": str(measured), "n_boots": 1, "n_records": 7,
                                       "n_runs": 1, "n_runs_unknown_model": 0, "problems": []}])
    )["index.md"]  # fmt: skip
    assert (
        f"| arena, on the device | — | not measured | 9,900 B (9.7 KiB) | measured on device, "
        f"{site.code(measured)} |" in pages["compare/variants.md"]
    )
    assert (
        "| latency, median on the device | — | not measured | 1.850 ms |"
        in pages["compare/variants.md"]
    )
    feasibility = pages["compare/feasibility.md"]
    assert f"| cnn int8 TFLite | 1.850 ms | 1.960 ms | {site.code(measured)} |" in feasibility
    assert feasibility.count('<div class="tr-chart"') == 5  # the latency chart too

    simulated = _device_log(tmp_path / "fake.log", cnn_id, 1, [100, 100, 100])
    card = site.render(_with_runs(fixture_results, [simulated]))["models/cnn.md"]
    assert "Not measured on a device yet." in card
    assert '!!! note "Simulated runs (not measurements)"' in card
    assert site.code(simulated) in card


def _cli_page_html() -> str:
    """docs/reference/cli.md as `mkdocs build` turns it into HTML (the mkdocs-click extension)."""
    import markdown

    text = (Path(__file__).parents[1] / "docs/reference/cli.md").read_text(encoding="utf-8")
    return markdown.Markdown(extensions=["mkdocs-click", "toc", "pymdownx.superfences"]).convert(
        text
    )


def test_cli_reference_lists_every_command_and_option():
    """Every click command (nested groups too) has its heading, usage and options on the page."""
    import click

    from tinyreport.cli import cli

    page = _cli_page_html()
    assert '<h2 id="tinyreport">tinyreport</h2>' in page

    def walk(group: click.Group, prefix: str):
        for name, cmd in group.commands.items():
            yield f"{prefix} {name}", name, cmd
            if isinstance(cmd, click.Group):
                yield from walk(cmd, f"{prefix} {name}")

    commands = list(walk(cli, "tinyreport"))
    assert {"collect", "analyze", "capture", "ingest", "firmware"} <= {c[1] for c in commands}
    for full, name, cmd in commands:
        assert re.search(rf'<h\d id="[^"]*{re.escape(name)}">{re.escape(name)}</h\d>', page), name
        assert f"{full} [OPTIONS]" in page, full
        assert html.escape(cmd.help.strip().splitlines()[0], quote=False) in page, name
    assert "--port TEXT            Serial port, e.g. /dev/ttyACM0 or COM5.  [required]" in page
    # Help text is text, not HTML: placeholders in angle brackets stay visible.
    assert "benchmarks/logs/&lt;time&gt;-&lt;port&gt;.log" in page


def test_site_does_not_import_the_cli():
    """site/ reads the results file only: rendering every page leaves tinyreport.cli unloaded."""
    import subprocess
    import sys

    script = (
        "import sys, json\n"
        "from tinyreport.results import Results\n"
        "from tinyreport.site import render\n"
        f"results = Results.from_dict(json.loads(open({str(FIXTURE)!r}).read()))\n"
        "render.render(results)\n"
        "print('tinyreport.cli' in sys.modules, 'tinyreport.pipeline' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert proc.stdout.split() == ["False", "False"]


def test_notebook_runs_against_the_results_file(tmp_path, fixture_results):
    """The lab write-up executes on the fixture and prints the same recommendation as the site."""
    import nbformat
    from nbclient import NotebookClient

    from tinyreport.results import dumps

    docs = tmp_path / "docs"
    (docs / "data").mkdir(parents=True)
    (docs / "labs").mkdir()
    (docs / "data" / "results.json").write_text(dumps(fixture_results.to_dict()))
    nb = nbformat.read(Path(__file__).parents[1] / "docs/labs/lab05-feasibility.ipynb", 4)
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(docs / "labs")}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    html_out = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert sum('class="tr-chart"' in h for h in html_out) == 2
    text = "".join(o.get("text", "") for o in outputs)
    best = site.recommendation(fixture_results)["model"]
    assert f"Deploy {best} as int8 on the Seeed Studio XIAO ESP32-S3" in text
    # The feasibility table: bytes as integers with separators, KiB with one decimal.
    feasibility = next(h for h in html_out if "T_lab05-feasibility" in h)
    cells = re.findall(r">\s*([^<]*?)\s*</td>", feasibility)
    for m in fixture_results.models:
        for kind in site.TFLITE:
            v = m.variants[kind]
            assert f"{v.arena.host_bytes:,}" in cells
            assert f"{v.analysis['arena']['target_bytes']:,}" in cells
            assert f"{v.size_bytes / 1024:,.1f}" in cells
    assert not [c for c in cells if re.fullmatch(r"[\d,]+\.00|nan|None", c)]
    assert "device: no serial log read yet: nothing here is measured on the device yet" in text


def test_notebook_page_is_the_same_at_every_build(tmp_path, fixture_results):
    """Two builds of the lab write-up give the same HTML, so a PR diff shows only real changes.

    The page is converted twice as mkdocs-jupyter converts it at `mkdocs build` (executed, no
    errors allowed). pandas Styler tables, for one, get a random id (`T_7612e`) unless the
    notebook gives them one.
    """
    from mkdocs_jupyter.convert import nb2html

    from tinyreport.results import dumps

    docs = tmp_path / "docs"
    (docs / "data").mkdir(parents=True)
    (docs / "labs").mkdir()
    (docs / "data" / "results.json").write_text(dumps(fixture_results.to_dict()))
    notebook = docs / "labs" / "lab05-feasibility.ipynb"
    shutil.copy(Path(__file__).parents[1] / "docs/labs/lab05-feasibility.ipynb", notebook)
    builds = [
        nb2html(str(notebook), execute=True, allow_errors=False, include_requirejs=False)
        for _ in range(2)
    ]
    if builds[0] != builds[1]:  # keep both for diffing
        for i, page in enumerate(builds, 1):
            (ACTUAL / "notebook").mkdir(parents=True, exist_ok=True)
            (ACTUAL / "notebook" / f"lab05-feasibility.{i}.html").write_text(page)
    assert builds[0] == builds[1], "the notebook page differs between builds (tests/_actual)"
    assert not re.findall(r'id="T_[0-9a-f]{5}', builds[0]), "a Styler table has a random id"
    assert builds[0].count("<table") >= 4


def test_pages_render_without_the_memory_analysis(fixture_results):
    """A results file without `analysis` (older collect) still renders, and says what is missing."""
    from dataclasses import replace

    bare = replace(
        fixture_results,
        models=[
            replace(m, variants={k: replace(v, analysis=None) for k, v in m.variants.items()})
            for m in fixture_results.models
        ],
    )
    pages = site.render(bare)
    assert (
        "not in the results\nfile yet (no analysis of the TFLite files)" in pages["models/mlp.md"]
    )
    assert (
        "Not in the results file yet (no analysis of the TFLite files)"
        in pages["compare/feasibility.md"]
    )
    assert site.recommendation(bare) is None
    row = _cells(pages["index.md"], "[mlp](models/mlp.md)")
    assert row[1:4] == ["—", "—", "—"]  # no verdicts or board arena without the analysis


def test_feasibility_map_without_per_board_analysis_is_estimated(fixture_results):
    """An analysis without `boards` (older analyze): other boards' cells are estimates."""
    from dataclasses import replace

    def strip(v):
        return replace(v, analysis={k: x for k, x in v.analysis.items() if k != "boards"})

    models = [
        replace(m, variants={**m.variants, "tflite_int8": strip(m.variants["tflite_int8"])})
        for m in fixture_results.models
    ]
    cells, _, notes = site.feasibility_cells(replace(fixture_results, models=models))
    kept = fixture_results.model("mlp").variants["tflite_int8"].analysis["boards"]
    by_board = {c["board"]: c for c in cells if c["model"] == "mlp"}
    # Same TFLM build as the target: the same numbers as analyze() gives.
    assert by_board["xiao-esp32s3"]["provenance"] == "computed"
    assert (
        by_board["xiao-esp32s3"]["demand_bytes"]
        == kept["xiao-esp32s3"]["budget"]["sram"]["demand_bytes"]
    )
    assert by_board["stm32f4"]["provenance"] == "estimated"
    assert any("estimated" in n for n in notes)
    assert "estimated" in next(c for c in cells if c["board"] == "stm32f4")["label"]


# ---------------------------------------------------------------------------------------------
# Navigation


NAV_HOOK = """
import json


def on_nav(nav, config, files):
    def walk(items):
        for item in items:
            yield item.title or (item.file.src_uri if item.is_page else "")
            yield from walk(item.children or [])

    with open(config.config_file_path + ".nav.json", "w") as out:
        json.dump(list(walk(nav.items)), out)
"""


def test_nav_puts_the_report_first_and_takes_in_new_generated_pages(tmp_path):
    """docs/.nav.yml on the site's pages plus pages others may generate later: the strict build
    passes (no page left out of the nav) and every new page lands in its section."""
    import subprocess
    import sys

    root = Path(__file__).parents[1]
    docs = tmp_path / "docs"
    shutil.copy(root / "docs/.nav.yml", tmp_path / "nav.yml")
    pages = [
        p.relative_to(root / "docs").as_posix()
        for p in (root / "docs").rglob("*")
        if p.suffix in (".md", ".ipynb") and "data" not in p.parts
    ]
    pages += ["report/models/mlp.md", "report/models/cnn.md", "report/config.md"]
    # Pages other people's generators may add.
    pages += ["report/compare/pr-diff.md", "report/variants/optimization.md", "report/espdl.md"]
    for rel in set(pages):  # untitled in the nav unless .nav.yml names them: their path
        (docs / rel).with_suffix(".md").parent.mkdir(parents=True, exist_ok=True)
        (docs / rel).with_suffix(".md").write_text("Text.\n")
    nav = (tmp_path / "nav.yml").read_text().replace(".ipynb", ".md")
    (docs / ".nav.yml").write_text(nav)
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nstrict: true\nplugins:\n  - awesome-nav\n"
        "validation:\n  omitted_files: warn\nhooks:\n  - nav_hook.py\n"
    )
    (tmp_path / "nav_hook.py").write_text(NAV_HOOK)
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    titles = json.loads((tmp_path / "mkdocs.yml.nav.json").read_text())
    sections = ["Report", "Labs", "Reference", "About tinyreport"]
    assert [t for t in titles if t in sections] == sections
    report = titles[titles.index("Report") : titles.index("Labs")]
    assert report[:2] == ["Report", "Overview"]
    assert report.index("Models") < report.index("Comparisons")
    comparisons = report[report.index("Comparisons") :]
    assert comparisons[1:3] == ["Keras vs float vs int8", "report/compare/feasibility.md"]
    assert {"report/compare/pr-diff.md", "report/variants/optimization.md"} <= set(comparisons)
    assert report[-1] == "report/espdl.md"
    about = titles[titles.index("About tinyreport") :]
    assert "tinyreport's own speed" in about and "How good the numbers are" in about
    reference = titles[titles.index("Reference") : titles.index("About tinyreport")]
    assert reference[1:3] == ["Command line", "Configuration"]


# ---------------------------------------------------------------------------------------------
# Lab page


def test_lab_page_hides_its_setup_code_links_its_notebook_and_drops_jupyterlab_css():
    """The lab page as mkdocs-jupyter converts it with the site's settings, then the hook."""
    import pytest
    from mkdocs.exceptions import PluginError
    from mkdocs.utils.yaml import yaml_load
    from mkdocs_jupyter.nbconvert2 import nb2html

    from tinyreport.site.notebook_css import strip_jupyter_css

    root = Path(__file__).parents[1]
    config = yaml_load((root / "mkdocs.yml").read_text(encoding="utf-8"))
    jupyter = next(p["mkdocs-jupyter"] for p in config["plugins"] if isinstance(p, dict))
    assert "hooks/notebook_css.py" in config["hooks"]
    notebook = root / "docs/labs/lab05-feasibility.ipynb"
    page = nb2html(
        str(notebook),
        execute=False,
        remove_tag_config=jupyter["remove_tag_config"],
        include_requirejs=False,
    )
    assert "find_results" not in page  # the setup cell's helper code is hidden
    assert "facts" in page  # the lab's own code stays
    assert '<a href="lab05-feasibility.ipynb">Download this notebook</a>' in page
    stripped = strip_jupyter_css(page)
    assert len(page) - len(stripped) > 550_000  # JupyterLab's 574 KiB stylesheet and its theme
    assert "jupyter-wrapper{--md-red-50" not in stripped
    with pytest.raises(PluginError, match="found 0 JupyterLab stylesheet"):
        strip_jupyter_css(stripped)


# ---------------------------------------------------------------------------------------------
# plotly.js bundle


def _plotly_version(js: bytes) -> str:
    return re.search(rb"plotly\.js (?:\([^)]*\) )?v(\d+\.\d+\.\d+)", js[:300])[1].decode()


def test_vendored_plotly_bundle_matches_the_plotly_package_and_the_charts(fixture_results):
    """The cartesian bundle is the plotly.js release of the installed plotly package, and every
    trace type the generated pages use is one the bundle has."""
    from importlib.resources import files

    vendor = files("tinyreport.site") / "vendor"
    bundle = (vendor / site.PLOTLY_BUNDLE).read_bytes()
    full = (files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    assert _plotly_version(bundle) == _plotly_version(full)
    assert b"(cartesian - minified)" in bundle[:200]
    assert len(bundle) < len(full) / 2  # 1.5 MB against 4.6 MB
    assert b"MIT" in (vendor / "plotly-cartesian.LICENSE").read_bytes()
    assert hashlib.sha256(bundle).hexdigest() in (vendor / "README.md").read_text()
    used = set()
    for text in site.render(fixture_results).values():
        for spec in re.findall(r'data-figure="([^"]*)"', text):
            used |= {t.get("type", "scatter") for t in json.loads(html.unescape(spec))["data"]}
    assert used == {"bar", "scatter", "heatmap"}
    assert used <= site.PLOTLY_TRACE_TYPES
    assets = site.asset_files(Path("docs"))
    assert assets[Path("docs") / site.PLOTLY_ASSET] == bundle
    assert Path("docs/assets/vendor/plotly.LICENSE.txt") in assets


def test_every_results_page_says_which_run_produced_it(fixture_results):
    """The footer comes from the run block; what the machine reported is escaped text."""
    from dataclasses import replace

    run = dict(fixture_results.run)
    run["machine"] = {**run["machine"], "cpu": "<img src=x onerror=alert(1)>|CPU"}
    pages = site.render(
        replace(fixture_results, run=run), links={"results": "../data/results.json"}
    )
    assert set(pages) - {"config.md"} == {p for p, t in pages.items() if "Produced by" in t}
    card = pages["models/cnn.md"]
    assert "Produced by tinyreport from commit <code>0123456789ab</code> on 2026-12-01;" in card
    assert "&lt;img src=x onerror=alert(1)&gt;\\|CPU, 2 cores" in card
    assert "<img" not in card
    assert "cnn: trained, converted and measured in that run." in card
    assert "Every figure: [results.json](../../data/results.json)." in card
    assert "Every figure: [results.json](../data/results.json)." in pages["index.md"]
