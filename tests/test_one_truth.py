"""One truth per site: every committed page that states a figure of the published models states
the value in docs/data/results.json. The Quality page (written by the benchmarks) and the
report pages (written by collect) are checked against the same file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = json.loads((ROOT / "docs" / "data" / "results.json").read_text())
MODELS = {m["name"]: m for m in RESULTS["models"]}
SHORT = {"tflite_float": "float", "tflite_int8": "int8"}


def _bytes(cell: str) -> int:
    match = re.match(r"^\s*([\d,]+) B\b", cell)
    assert match, f"not a byte count: {cell!r}"
    return int(match[1].replace(",", ""))


def _rows(text: str, first_cell: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith(f"| {first_cell} |")
    ]


def _stated(page: str, root: Path = ROOT) -> list[tuple[str, str, str, object]]:
    """(model, variant, figure, value) for every published-model figure a page states."""
    text = (root / page).read_text()
    found = []
    for name in MODELS:
        for kind, short in SHORT.items():
            for row in _rows(text, f"{name}_{short}"):
                if len(row) >= 6 and row[1] == "bundled":  # arena: predicted against measured
                    found.append((name, kind, "size_bytes", _bytes(row[2])))
                    found.append((name, kind, "arena.host_bytes", _bytes(row[4])))
                elif len(row) == 4 and row[3].startswith("`esp32s3`"):  # target arena
                    found.append((name, kind, "analysis.arena.target_bytes", _bytes(row[2])))
        for row in _rows(text, name):  # int8 against float accuracy
            if len(row) >= 4 and row[1].endswith("%"):
                for kind, cell in zip(
                    ("keras", "tflite_float", "tflite_int8"), row[1:4], strict=True
                ):
                    found.append((name, kind, "accuracy %", cell))
    for name in MODELS:  # a model card's summary
        card = ROOT / "docs" / "report" / "models" / f"{name}.md"
        if page == card.relative_to(ROOT).as_posix():
            match = re.search(r"int8 TFLite: [^,]+, ([\d.]+ %) test accuracy", text)
            if match:
                found.append((name, "tflite_int8", "accuracy %", match[1]))
    return found


def _published(model: str, kind: str, figure: str):
    variant = MODELS[model]["variants"][kind]
    if figure == "accuracy %":
        return f"{100 * variant['accuracy']:.2f} %"
    value = variant
    for key in figure.split("."):
        value = value[key]
    return value


PAGES = ["docs/quality.md"] + [f"docs/report/models/{name}.md" for name in MODELS]


def test_the_pages_state_figures_of_the_published_models():
    """The check below reads something: the quality page states sizes, arenas and accuracies
    of every published model variant, and each card its int8 accuracy."""
    stated = {(m, k, f) for page in PAGES for m, k, f, _ in _stated(page)}
    for name in MODELS:
        for kind in SHORT:
            for figure in ("size_bytes", "arena.host_bytes", "analysis.arena.target_bytes"):
                assert (name, kind, figure) in stated
        for kind in ("keras", "tflite_float", "tflite_int8"):
            assert (name, kind, "accuracy %") in stated


@pytest.mark.parametrize("page", PAGES)
def test_every_stated_figure_is_the_published_one(page):
    wrong = [
        f"{model} {kind} {figure}: the page says {value}, results.json {published}"
        for model, kind, figure, value in _stated(page)
        if value != (published := _published(model, kind, figure))
    ]
    assert wrong == [], f"{page} is stale; regenerate it (`python -m benchmarks.run --render`)"


def test_a_stale_page_is_caught(tmp_path):
    """The same comparison fails on a quality page whose accuracy is not the published one."""
    text = (ROOT / "docs" / "quality.md").read_text()
    name = next(iter(MODELS))
    row = next(line for line in text.splitlines() if line.startswith(f"| {name} | "))
    cells = row.split("|")
    cells[3] = " 12.34 % "
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "quality.md").write_text(text.replace(row, "|".join(cells)))
    stated = _stated("docs/quality.md", tmp_path)
    assert (name, "tflite_float", "accuracy %", "12.34 %") in stated
