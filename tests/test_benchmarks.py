"""The benchmark suite still runs: its quick mode on tiny inputs, checked for shape, not speed."""

from __future__ import annotations

import json
import math
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


def _timings(section: dict):
    """Every (key, value) of a section whose key names a duration, a rate or a percentage."""
    for key, value in section.items():
        if isinstance(value, dict):
            yield from _timings(value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for row in value:  # the stages of a collect, the models of analyze
                yield from _timings(row)
        elif key == "runs_s":
            yield from ((key, v) for v in value)
        elif key.endswith(("_s", "pc_of_cold")):
            yield key, value


def _check_summary(summary: dict, n_runs: int) -> None:
    """A timing summary (benchmarks.timing.summary) over exactly `n_runs` runs."""
    runs = summary["runs_s"]
    assert summary["n_runs"] == len(runs) == n_runs
    # runs_s is rounded to 0.1 ms and then, like min_s and max_s, to 4 significant digits.
    assert summary["min_s"] == pytest.approx(min(runs), rel=1e-3, abs=1e-4)
    assert summary["max_s"] == pytest.approx(max(runs), rel=1e-3, abs=1e-4)
    assert summary["min_s"] <= summary["median_s"] <= summary["max_s"]


@pytest.mark.slow
def test_quick_benchmarks_write_json_and_pages(tmp_path):
    """The quick run's JSON has every section with the counts its inputs fix; times are only
    checked to be numbers (finite, not negative): how fast anything ran is not a test result."""
    sys.path.insert(0, str(ROOT))
    from benchmarks import bench_ingest
    from benchmarks import models as bench_models
    from benchmarks.quality import QUICK_GRAPHS

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
    assert data["sections"] == ["collect", "analyze", "ingest", "site", "quality"]
    machine = data["machine"]
    assert machine["n_cpus"] > 0 and machine["memory_bytes"] > 0 and machine["cpu_model"]
    assert machine["packages"]["tinyreport"] != "not installed"
    for section in ("collect", "analyze", "ingest", "site"):
        for key, value in _timings(data[section]):
            assert isinstance(value, int | float) and math.isfinite(value) and value >= 0, key

    # collect: one cold run, three warm, one with the MLP changed (bench_collect, quick).
    collect = data["collect"]
    assert collect["models"] == ["mlp", "cnn"]
    for run, n_runs in (("cold", 1), ("warm", 3), ("changed", 1)):
        _check_summary(collect[run], n_runs)
    stages = {row["stage"]: row for row in collect["cold"]["stages"]}
    assert set(stages["train"]["by_model"]) == {"mlp", "cnn"}
    assert {"convert", "evaluate", "host arena (TFLM)", "pages and assets"} <= set(stages)
    changed = {row["stage"]: row for row in collect["changed"]["stages"]}
    assert set(changed["train"]["by_model"]) == {"mlp"}  # the CNN came from the cache
    assert collect["warm"]["pc_of_cold"] == pytest.approx(
        100 * collect["warm"]["median_s"] / collect["cold"]["median_s"], rel=2e-3
    )

    # analyze: the quick sweeps' models, in order, each timed 2 times as a command, 3 as a call.
    models = data["analyze"]["models"]
    specs = bench_models.specs(quick=True)
    assert [(m["name"], m["sweep"]) for m in models] == [(s["name"], s["sweep"]) for s in specs]
    assert [m["n_operators"] for m in models if m["sweep"] == "operators"] == [
        2 * s["blocks"] + 3 for s in specs if s["sweep"] == "operators"
    ]
    sizes = [m["file_bytes"] for m in models if m["sweep"] == "size"]
    assert sizes == sorted(sizes) and sizes[0] > 0
    for m in models:
        _check_summary(m["command"], 2)
        _check_summary(m["library_call"], 3)
    assert data["analyze"]["reference_model"] == "dense_100kb"  # the size closest to 1 MB

    # ingest: the seeded 1 MB synthetic log, written again here. Each boot has a boot, a heap
    # and a done record, and per model 5 records, the latencies in records of 32 and one record
    # per operator; one run per model.
    ingest = data["ingest"]
    n_lat = bench_ingest.N_SAMPLES // 32
    per_boot = 3 + sum(5 + n_lat + sum(n for _, n in ops) for _, _, ops in bench_ingest.MODELS)
    assert (per_boot, len(bench_ingest.MODELS)) == (41, 2)
    log_path = tmp_path / "synthetic.log"
    log_bytes = bench_ingest.write_log(log_path, 1_000_000)
    n_boots = log_path.read_text(encoding="latin-1").count("ESP-ROM:esp32s3")
    assert ingest["log_bytes"] == log_bytes and n_boots > 1
    assert (ingest["n_boots"], ingest["n_records"], ingest["n_runs"]) == (
        n_boots,
        per_boot * n_boots,
        2 * n_boots,
    )
    assert ingest["json_bytes"] > 0
    # Peak memory of the command's own process: Python and its imports take some 20 MiB; the
    # 1 MB log, read as a stream, adds little (a wrong unit would be 1,024 times off).
    assert 10 << 20 < ingest["command"]["peak_rss_bytes"] < 200 << 20
    for how in ("command", "library_call"):
        _check_summary(ingest[how], 2)
        assert ingest[how]["mb_per_s"] == pytest.approx(
            log_bytes / 1e6 / ingest[how]["median_s"], rel=2e-3
        )

    # site: one build; the heaviest page is one of the site's files.
    site = data["site"]
    _check_summary(site["build"], 1)
    weight = site["site"]
    assert 0 < weight["n_pages"] < weight["n_files"]
    assert 0 < weight["heaviest_page"]["bytes"] < weight["total_bytes"]
    assert weight["heaviest_page"]["path"].endswith(".html")

    # quality: the four bundled models, then each quick test graph as float and int8.
    quality = data["quality"]
    assert [(m["name"], m["group"]) for m in quality["models"]] == [
        (name, "bundled") for name in ("mlp_float", "mlp_int8", "cnn_float", "cnn_int8")
    ] + [(f"{g}_{kind}", "test graph") for g in QUICK_GRAPHS for kind in ("float", "int8")]
    for m in quality["models"]:
        assert m["measured_bytes"] > 0 and m["predicted_bytes"] > 0 and m["rules"]
    assert quality["n_exact"] == sum(
        m["measured_bytes"] == m["predicted_bytes"] for m in quality["models"]
    )
    assert quality["rules"]
    assert all(r["n_models"] == len(quality["models"]) for r in quality["rules"])
    assert [m["name"] for m in quality["accuracy"]["models"]] == ["mlp", "cnn"]

    # targets: each reported with its measurement; a profile for exactly the missed ones.
    assert {t["key"] for t in data["targets"]} == TARGET_KEYS
    for t in data["targets"]:
        assert isinstance(t["passed"], bool) and math.isfinite(t["measured"]), t["key"]
        assert t["measured"] >= 0, t["key"]
    missed = {t["key"] for t in data["targets"] if not t["passed"]}
    profiled = {
        "warm_collect_s": "warm_collect",
        "warm_collect_pc_of_cold": "warm_collect",
        "analyze_1mb_s": "analyze",
        "ingest_mb_per_s": "ingest",
        "mkdocs_build_s": "mkdocs_build",
    }
    assert set(data["profiles"]) == {profiled[k] for k in missed if k in profiled}

    page = (tmp_path / "benchmarks.md").read_text()
    assert "## Targets" in page and "Quick run" in page
    assert "## Arena: predicted against measured" in (tmp_path / "quality.md").read_text()
