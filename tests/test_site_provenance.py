"""Every figure on the generated pages says truthfully where it came from (audit findings)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from tinyreport.analysis.boards import all_boards
from tinyreport.analysis.budget import EXCEEDED_ABOVE_PC, TIGHT_ABOVE_PC, verdict
from tinyreport.site import charts
from tinyreport.site import render as site

ROOT = Path(__file__).resolve().parents[1]


def _figures(page: str) -> list[dict]:
    specs = re.findall(r'<div class="tr-chart" data-figure="([^"]*)"></div>', page)
    return [json.loads(html.unescape(s)) for s in specs]


def _captions(page: str) -> list[str]:
    return re.findall(r'<p class="tr-provenance">Source: (.*?)</p>', page)


def _row(page: str, first_cell: str) -> list[str]:
    line = next(x for x in page.splitlines() if x.startswith(f"| {first_cell} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def _board_row(page: str, row: dict) -> list[str]:
    """The feasibility table's row of one board: family, board, usable SRAM, models, arena."""
    name = f"**{row['board_name']}** (target)" if row["target"] else row["board_name"]
    return _row(page, f"{row['family']} | {name}")


# ---------------------------------------------------------------------------------------------
# Nothing is "measured on device" without a device log


def test_no_page_claims_a_device_measurement_without_a_device_log(fixture_results):
    assert not fixture_results.device_logs
    assert not any(m.device for m in fixture_results.models)
    for rel, text in site.render(fixture_results).items():
        assert "measured on device" not in text, rel
    variants = site.render(fixture_results)["compare/variants.md"]
    for what in ("arena, on the device", "latency, median on the device"):
        assert _row(variants, what)[-1] == "not measured (no device log)"
    assert "log named in" not in variants
    assert "nothing measured on the device yet: no device log" in variants


# ---------------------------------------------------------------------------------------------
# Model card: ESP-NN scratch is in the head, listed per operator, not summed


def test_model_card_lists_the_scratch_buffers_in_the_head(fixture_results):
    card = site.render(fixture_results)["models/cnn.md"]
    target = fixture_results.model("cnn").variants["tflite_int8"].analysis["arena"]["target"]
    scratch = target["scratch"]
    assert [(b["op"], b["op_type"]) for b in scratch] == [
        (1, "CONV_2D"),
        (3, "CONV_2D"),
        (8, "SOFTMAX"),
    ]
    text = " ".join(card.split())
    assert f"int8: head {site.fmt_bytes(target['head_bytes'])} + tail" in text
    assert "The head includes the kernels' scratch buffers" in text
    for b in scratch:
        op_type = site.code(b["op_type"])
        assert f"{b['aligned_bytes']:,} B for op {b['op']} ({op_type}, {b['what']})" in text
    # The sum over operators is no figure of the head: no two of them are live together.
    assert f"{target['scratch_bytes']:,}" not in card
    assert "are kernel scratch." in text  # at the peak, only the peak operator's buffer
    peak = fixture_results.model("cnn").variants["tflite_int8"].analysis["peak_op"]
    assert f"{peak['live_bytes']:,} live bytes, of which {peak['scratch_bytes']:,}" in text
    assert peak["scratch_bytes"] == next(b["aligned_bytes"] for b in scratch if b["op"] == 1)


def test_model_card_of_an_older_results_file_does_not_invent_the_scratch_list(fixture_results):
    def strip(v):
        a = json.loads(json.dumps(v.analysis))
        del a["arena"]["target"]["scratch"]
        return replace(v, analysis=a)

    cnn = fixture_results.model("cnn")
    old = replace(cnn, variants={**cnn.variants, "tflite_int8": strip(cnn.variants["tflite_int8"])})
    results = replace(
        fixture_results, models=[old if m.name == "cnn" else m for m in fixture_results.models]
    )
    card = " ".join(site.render(results)["models/cnn.md"].split())
    assert "this results file does not list them per operator" in card


# ---------------------------------------------------------------------------------------------
# Overview: the recommendation names each model's size; the arena sentence is true


def test_recommendation_names_each_model_with_its_file_size(fixture_results):
    rec = site.recommendation(fixture_results)
    pages = site.render(fixture_results)
    for rel in ("index.md", "compare/feasibility.md"):
        for other in rec["others"]:
            sizes = (
                f"int8 files: {rec['model']} {site.fmt_kib(rec['size_bytes'])}, "
                f"{other['name']} {site.fmt_kib(other['size_bytes'])}."
            )
            assert sizes in pages[rel], rel
        assert "KiB against" not in pages[rel], rel


def test_overview_says_how_the_board_arena_differs_from_the_host(fixture_results):
    page = " ".join(site.render(fixture_results)["index.md"].split())
    assert "so its arena differs in the tail" not in page
    shift = site.arena_shift(fixture_results)
    assert shift["tail_smaller"]
    cnn = fixture_results.model("cnn").variants["tflite_int8"].analysis["arena"]
    assert cnn["target"]["head_bytes"] > cnn["host"]["head_bytes"]  # ESP-NN scratch
    assert [r["label"] for r in shift["head_larger"]] == ["cnn int8 TFLite"]
    assert (
        f"cnn int8 TFLite: {cnn['host']['head_bytes']:,} B on the host, "
        f"{cnn['target']['head_bytes']:,} B on the board" in page
    )
    assert "the tail is smaller" in page


# ---------------------------------------------------------------------------------------------
# Feasibility across boards: lower bounds where kernel scratch is not modelled


def test_other_boards_are_estimated_lower_bounds_everywhere(fixture_results):
    page = site.render(fixture_results)["compare/feasibility.md"]
    data = site.page_data(fixture_results)
    assert "computed for each board's TFLM build" not in page
    lower = [r for r in data["map_rows"] if r["lower_bound"]]
    expected = {b.id for b in all_boards() if not b.kernel_scratch_modelled}
    assert {r["board"] for r in lower} == expected
    assert {"arduino-nano-33-ble", "raspberry-pi-pico", "stm32f4", "teensy41"} <= expected
    assert "esp32" not in expected  # generic ESP-NN scratch is planned by the esp32 profile
    for row in data["map_rows"]:
        cells = _board_row(page, row)
        if row["lower_bound"]:
            assert row["label"].startswith("estimated lower bound")
            assert row["kind"].startswith("lower bound:")
            assert all(c.startswith("≥ ") for c in cells[3:-1]), row["board"]
        else:
            assert not any(c.startswith("≥") for c in cells[3:-1])
    assert "**estimated lower bound**" in page
    figure = _figures(page)[-1]
    caption = _captions(page)[-1]
    assert "estimated lower bounds" in caption
    texts = [t for row in figure["data"][0]["text"] for t in row]
    assert sum("≥" in t for t in texts) == 2 * len(lower)


# ---------------------------------------------------------------------------------------------
# Feasibility map: the colours are the verdicts, with the verdicts' thresholds


def _colour(figure: dict, z: float) -> str:
    trace = figure["data"][0]
    t = (z - trace["zmin"]) / (trace["zmax"] - trace["zmin"])
    scale = trace["colorscale"]
    return next(c for (lo, c), (hi, _) in zip(scale, scale[1:], strict=False) if lo <= t <= hi)


@pytest.mark.parametrize("pc", [10.0, 89.99, 90.0, 90.01, 99.99, 100.0, 100.01, 400.0])
def test_feasibility_map_colours_follow_the_verdict_thresholds(pc):
    capacity = 1_000_000
    demand = round(pc * capacity / 100)
    cell = {
        "model": "m",
        "board": "b",
        "pc_sram": 100 * demand / capacity,
        "verdict": verdict(demand, capacity),
        "lower_bound": False,
    }
    figure = charts.feasibility_map([cell], ["m"], ["b"], [])
    z = figure["data"][0]["z"][0][0]
    assert _colour(figure, z) == charts.VERDICT_FILLS[cell["verdict"]]
    expected = "EXCEEDED" if pc > EXCEEDED_ABOVE_PC else "TIGHT" if pc > TIGHT_ABOVE_PC else "OK"
    assert cell["verdict"] == expected


def test_feasibility_map_legend_and_page_name_the_verdict_thresholds(fixture_results):
    figure = charts.feasibility_map([], [], [], [])
    ticks = figure["data"][0]["colorbar"]["ticktext"]
    tight, exceeded = f"{TIGHT_ABOVE_PC:g} %", f"{EXCEEDED_ABOVE_PC:g} %"
    assert ticks == [
        f"OK: up to {tight}",
        f"TIGHT: above {tight}, up to {exceeded}",
        f"EXCEEDED: above {exceeded}",
    ]
    page = " ".join(site.render(fixture_results)["compare/feasibility.md"].split())
    assert f"Up to {tight} is OK, above that and up to {exceeded} TIGHT" in page


# ---------------------------------------------------------------------------------------------
# One label for a file's size; wording


def test_file_sizes_have_one_label(fixture_results):
    pages = site.render(fixture_results)
    card = pages["models/cnn.md"]
    assert _row(card, "model (.tflite as a C array)")[-1] == "measured on host (file bytes)"
    flash_caption = next(c for c in _captions(pages["compare/feasibility.md"]) if "model:" in c)
    assert flash_caption.startswith("model: file bytes (measured on host)")
    assert _row(pages["compare/variants.md"], "file size")[-1] == "measured on host"
    for rel, text in pages.items():
        for caption in _captions(text):
            assert "file bytes (computed" not in caption, rel


def test_wording(fixture_results):
    pages = site.render(fixture_results)
    for rel, text in pages.items():
        assert "Keras with Keras" not in text, rel
        assert "computed exactly arena" not in text, rel
    accuracy = next(
        f for f in _figures(pages["index.md"]) if f["layout"]["title"]["text"].startswith("Test")
    )
    # A zoomed axis states its range in the title and in the caption.
    bottom, top = accuracy["layout"]["yaxis"]["range"]
    assert f"(axis {bottom:g} to {top:.3g} %)" in accuracy["layout"]["title"]["text"]
    assert "not 0–100 %" in pages["index.md"]  # the caption under the chart
    mkdocs = (ROOT / "mkdocs.yml").read_text()
    site_description = re.search(r"^site_description: (.*)$", mkdocs, re.M)[1]
    assert "Measured facts" not in site_description
    # The description is shown by search engines long after a build: it states no state.
    assert "yet" not in site_description and "no device" not in site_description
    home = " ".join((ROOT / "docs" / "index.md").read_text().split())
    assert "measured facts" not in home.lower()
    assert "measured on the board only where a device log" in home


def test_feasibility_map_has_one_row_per_board_grouped_by_family(fixture_results):
    """Boards are the rows (family, then usable SRAM), models the columns; the map grows with
    the rows so that every board keeps a readable row."""
    page = site.render(fixture_results)["compare/feasibility.md"]
    figure = _figures(page)[-1]
    trace = figure["data"][0]
    boards = all_boards()
    families, names = trace["y"]
    assert names == [b.name for b in boards] and families == [b.family for b in boards]
    assert families == sorted(families)  # grouped: each family once, in one block
    assert trace["x"] == [m.name for m in fixture_results.models]
    assert len(trace["z"]) == len(boards) >= 31 and all(
        len(r) == len(trace["x"]) for r in trace["z"]
    )
    assert figure["layout"]["yaxis"]["type"] == "multicategory"
    assert figure["layout"]["height"] >= 26 * len(boards)
    # The table lists the same boards in the same order.
    data = site.page_data(fixture_results)
    assert [r["board"] for r in data["map_rows"]] == [b.id for b in boards]
    uno = next(r for r in data["map_rows"] if r["board"] == "arduino-uno")
    assert uno["kind"] == "comparison only: no TFLM port"
    assert all(c.startswith("~ ") for c in _board_row(page, uno)[3:-1])
