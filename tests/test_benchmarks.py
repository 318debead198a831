"""The benchmark suite still runs: its quick mode on tiny inputs, checked for shape, not speed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from e2e import ROOT

TARGET_KEYS = {
    "warm_collect_s",
    "warm_collect_pc_of_cold",
    "analyze_1mb_s",
    "ingest_mb_per_s",
    "mkdocs_build_s",
    "largest_page_bytes",
}


def test_changed_config_widens_only_the_mlp():
    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_collect import changed_config

    config = '[models.mlp]\nkind = "mlp"\nhidden = [128, 64]\n[models.cnn]\nkind = "cnn"\n'
    text = changed_config(config, 2)
    assert text == config.replace("hidden = [128, 64]", "hidden = [128, 66]")


def test_quality_page_prints_errors_from_the_exact_bytes():
    """benchmarks.json rounds floats to 4 digits; the page recomputes errors from the bytes."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.quality import with_exact_errors

    rule = {"rule": "2 × model size", "basis": "b", "bytes": 879_520, "pc_error": 10870.0}
    row = {"name": "m", "measured_bytes": 8016, "predicted_bytes": 8020, "pc_error_predicted": 0.0}
    exact = with_exact_errors({"models": [{**row, "rules": [rule]}], "rules": []})
    [model] = exact["models"]
    assert model["rules"][0]["pc_error"] == pytest.approx(100 * (879_520 - 8016) / 8016)
    assert round(model["rules"][0]["pc_error"]) == 10872
    assert model["pc_error_predicted"] == pytest.approx(100 * 4 / 8016)
    [summary] = exact["rules"]
    assert summary["max_pc_error"] == model["rules"][0]["pc_error"]
    assert (summary["n_models"], summary["n_under"], summary["n_within_25pc"]) == (1, 0, 0)


@pytest.mark.slow
def test_quick_benchmarks_write_json_and_pages(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "benchmarks.json").read_text())

    assert data["format"] == 1 and data["mode"] == "quick"
    machine = data["machine"]
    assert machine["n_cpus"] > 0 and machine["memory_bytes"] > 0 and machine["cpu_model"]
    assert machine["packages"]["tinyreport"] != "not installed"

    collect = data["collect"]
    assert collect["models"] == ["mlp", "cnn"]
    for run in ("cold", "warm", "changed"):
        assert collect[run]["median_s"] > 0 and collect[run]["cpu_median_s"] > 0
    stages = {row["stage"]: row for row in collect["cold"]["stages"]}
    assert set(stages["train"]["by_model"]) == {"mlp", "cnn"}
    assert {"convert", "evaluate", "host arena (TFLM)", "pages and assets"} <= set(stages)
    changed = {row["stage"]: row for row in collect["changed"]["stages"]}
    assert set(changed["train"]["by_model"]) == {"mlp"}  # the CNN came from the cache
    assert 0 < collect["warm"]["pc_of_cold"] < 100

    models = data["analyze"]["models"]
    for sweep, key in (("size", "file_bytes"), ("operators", "n_operators")):
        values = [m[key] for m in models if m["sweep"] == sweep]
        assert len(values) >= 2 and values == sorted(values) and values[0] > 0
    assert all(m["command"]["median_s"] > 0 and m["library_call"]["median_s"] > 0 for m in models)

    ingest = data["ingest"]
    assert ingest["log_bytes"] >= 1_000_000 and ingest["n_records"] > 0 and ingest["n_runs"] > 0
    assert ingest["command"]["mb_per_s"] > 0 and ingest["library_call"]["mb_per_s"] > 0

    site = data["site"]
    assert site["build"]["median_s"] > 0 and site["site"]["n_pages"] > 0
    assert 0 < site["site"]["heaviest_page"]["bytes"] < site["site"]["total_bytes"]

    quality = data["quality"]
    assert {m["group"] for m in quality["models"]} == {"bundled", "test graph"}
    for m in quality["models"]:
        assert m["measured_bytes"] > 0 and m["predicted_bytes"] > 0 and m["rules"]
    assert quality["rules"] and quality["accuracy"]["models"]

    assert {t["key"] for t in data["targets"]} == TARGET_KEYS
    assert all(isinstance(t["passed"], bool) and t["measured"] > 0 for t in data["targets"])
    missed = {t["key"] for t in data["targets"] if not t["passed"]}
    assert set(data["profiles"]) <= {"warm_collect", "analyze", "ingest", "mkdocs_build"}
    assert ("ingest" in data["profiles"]) == ("ingest_mb_per_s" in missed)

    page = (tmp_path / "benchmarks.md").read_text()
    assert "## Targets" in page and "Quick run" in page
    assert "## Arena: predicted against measured" in (tmp_path / "quality.md").read_text()
