"""Generated pages: golden files from a fixed results fixture, determinism, stale-page cleanup."""

import html
import json
import re
import shutil
from pathlib import Path

from tinyreport import site

GOLD = Path(__file__).parent / "gold"
ACTUAL = Path(__file__).parent / "_actual"


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
    row = next(line for line in page.splitlines() if line.startswith("| [mlp]"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == f"{mlp.variants['keras'].size_bytes / 1024:,.1f} KiB"
    assert cells[3] == f"{mlp.variants['tflite_int8'].size_bytes / 1024:,.1f} KiB"
    acc = [
        f"{100 * mlp.variants[k].accuracy:.2f} %" for k in ("keras", "tflite_float", "tflite_int8")
    ]
    assert cells[4] == " / ".join(acc)
    arena = mlp.variants["tflite_int8"].arena.host_bytes
    assert cells[5].endswith(f"/ {arena / 1024:,.1f} KiB")


def test_charts_carry_valid_plotly_json(fixture_results):
    page = site.render(fixture_results)["index.md"]
    specs = re.findall(r'<div class="tr-chart" data-figure="([^"]*)"></div>', page)
    assert len(specs) == 3
    figures = [json.loads(html.unescape(s)) for s in specs]
    sizes = figures[0]
    assert [trace["name"] for trace in sizes["data"]] == ["Keras", "float TFLite", "int8 TFLite"]
    mlp = fixture_results.model("mlp")
    int8 = sizes["data"][2]
    assert int8["y"][int8["x"].index("mlp")] == round(
        mlp.variants["tflite_int8"].size_bytes / 1024, 1
    )


def test_rendering_is_deterministic_and_clean(fixture_results):
    first, second = site.render(fixture_results), site.render(fixture_results)
    assert first == second
    for text in first.values():
        assert text.startswith(site.GENERATED_MARK)
        assert all(line == line.rstrip() for line in text.splitlines())


def test_write_pages_removes_only_stale_generated_pages(tmp_path, fixture_results):
    pages_dir = tmp_path / "report"
    (pages_dir / "models").mkdir(parents=True)
    (pages_dir / "models" / "old.md").write_text(site.GENERATED_MARK + "\n# old\n")
    (pages_dir / "notes.md").write_text("# hand-written\n")
    changed = site.write_pages(fixture_results, pages_dir)
    assert not (pages_dir / "models" / "old.md").exists()
    assert (pages_dir / "notes.md").read_text() == "# hand-written\n"
    assert (pages_dir / "models" / "mlp.md").is_file()
    assert changed == len(site.render(fixture_results)) + 1
    assert site.write_pages(fixture_results, pages_dir) == 0


def test_formatting_filters():
    assert site.fmt_bytes(1000) == "1,000 B"
    assert site.fmt_bytes(118384) == "118,384 B (115.6 KiB)"
    assert site.fmt_bytes(1340506) == "1,340,506 B (1.28 MiB)"
    assert site.fmt_pct(0.9781) == "97.81 %"
