"""End to end on a small config: collect, cache, rebuild one model, site build, bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from e2e import (
    SMALL_CONFIG,
    figures,
    make_project,
    mkdocs_build,
    results,
    tflm_total_bytes,
    tinyreport,
)

from tinyreport.results import Results

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("small"), SMALL_CONFIG)
    proc = tinyreport(root, "collect")
    assert proc.returncode == 0, proc.stderr
    assert "rebuilt: mlp, cnn" in proc.stdout
    return root


@pytest.fixture
def own_project(project: Path, tmp_path: Path) -> Path:
    """A copy of the collected project for a test that changes it: no other test sees the
    change, whether the test passes or fails half-way. Cache keys do not depend on the folder,
    so the copy's first collect reuses every artifact."""
    return shutil.copytree(
        project, tmp_path / "project", ignore=lambda d, names: ["site"] if d == str(project) else []
    )


def test_results_file_validates_and_holds_real_values(project):
    data = results(project)
    parsed = Results.from_dict(data)
    assert [m.name for m in parsed.models] == ["mlp", "cnn"]
    mlp, cnn = parsed.models
    assert mlp.params == 109_386
    assert cnn.params == 80 + 1168 + 400 * 32 + 32 + 330
    assert 1_200_000 <= mlp.variants["keras"].size_bytes <= 1_450_000
    assert 100_000 <= mlp.variants["tflite_int8"].size_bytes <= 130_000
    assert 420_000 <= mlp.variants["tflite_float"].size_bytes <= 460_000
    for m in (mlp, cnn):
        assert m.variants["keras"].evaluation.n_samples == 1000
        assert sum(map(sum, m.variants["tflite_int8"].evaluation.confusion)) == 1000
        # One epoch on 3,000 images: well above chance, well below the full run.
        assert 0.5 <= m.variants["keras"].accuracy <= 0.97
        assert m.variants["tflite_float"].accuracy == pytest.approx(
            m.variants["keras"].accuracy, abs=0.005
        )
        assert abs(m.int8_accuracy_delta) <= 2.0
        assert m.agreement_int8_float >= 0.95


def test_int8_model_is_integer_only_with_model_quantization(project):
    for m in results(project)["models"]:
        int8 = m["variants"]["tflite_int8"]
        assert set(int8["tensor_dtypes"]) <= {"int8", "int32"}
        assert int8["input"]["dtype"] == "int8" and int8["output"]["dtype"] == "int8"
        assert int8["input"]["scale"] == pytest.approx(1 / 255, rel=1e-6)
        assert int8["input"]["zero_point"] == -128
        assert m["variants"]["tflite_float"]["input"]["dtype"] == "float32"


def test_host_arena_equals_what_tflite_micro_reports(project):
    for m in results(project)["models"]:
        for kind in ("tflite_float", "tflite_int8"):
            variant = m["variants"][kind]
            arena = variant["arena"]
            assert arena["host_bytes"] == tflm_total_bytes(project / variant["path"])
            assert arena["host_bytes"] == arena["head_bytes"] + arena["tail_bytes"]
            assert arena["provenance"] == "measured-host-tflm"
            # The planner's prediction (no TFLM) equals the measurement to the byte.
            planned = variant["analysis"]["arena"]
            assert (planned["host_bytes"], planned["head_bytes"], planned["tail_bytes"]) == (
                arena["host_bytes"],
                arena["head_bytes"],
                arena["tail_bytes"],
            )
            assert planned["target_bytes"] < planned["host_bytes"]  # 32-bit tail is smaller
            assert variant["analysis"]["model"]["path"] == variant["path"]
    assert str(project) not in (project / "docs" / "data" / "results.json").read_text()


def test_converted_graphs_have_batch_one_and_no_shape_ops(project):
    from tinyreport.analysis.tflite_reader import read_model

    expected = {
        "mlp": ("RESHAPE", "FULLY_CONNECTED", "SOFTMAX"),
        "cnn": ("RESHAPE", "CONV_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"),
    }
    for m in results(project)["models"]:
        for kind in ("tflite_float", "tflite_int8"):
            variant = m["variants"][kind]
            assert variant["input"]["shape"] == [1, 28, 28]
            assert read_model(project / variant["path"]).op_types == expected[m["name"]]


def test_site_builds_strict_with_overview_and_model_cards(project):
    proc = mkdocs_build(project)
    assert proc.returncode == 0, proc.stderr
    site = project / "site"
    overview = (site / "report" / "index.html").read_text()
    assert "Feasibility on the Seeed Studio XIAO ESP32-S3" in overview  # the name, not the id
    assert overview.count('class="tr-chart"') == 2  # sizes, accuracy
    for name in ("mlp", "cnn"):
        card = (site / "report" / "models" / name / "index.html").read_text()
        assert f"Model card: {name}" in card
    assert (site / "assets" / "vendor" / "plotly.min.js").stat().st_size > 1_000_000


WARM = """
import sys
from pathlib import Path
from tinyreport.pipeline.collect import collect
from tinyreport.config import load_config
print(collect(load_config(Path("tinyreport.toml"))))
print("tensorflow imported:", "tensorflow" in sys.modules or "keras" in sys.modules)
"""


def test_second_collect_redoes_nothing_and_skips_tensorflow(project):
    before = {p: p.read_bytes() for p in (project / "docs").rglob("*.md")}
    before_results = (project / "docs" / "data" / "results.json").read_bytes()
    proc = subprocess.run(
        [sys.executable, "-c", WARM], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "rebuilt: nothing (all cached)" in proc.stdout
    assert "pages changed: 0" in proc.stdout
    assert "tensorflow imported: False" in proc.stdout
    assert {p: p.read_bytes() for p in (project / "docs").rglob("*.md")} == before
    assert (project / "docs" / "data" / "results.json").read_bytes() == before_results


def test_changing_one_model_rebuilds_only_that_model(own_project):
    project = own_project
    old = {m["name"]: m for m in results(project)["models"]}
    config = project / "tinyreport.toml"
    original = config.read_text()
    config.write_text(original.replace("dense = 32", "dense = 16"))
    proc = tinyreport(project, "collect")
    assert proc.returncode == 0, proc.stderr
    assert "rebuilt: cnn;" in proc.stdout
    new = {m["name"]: m for m in results(project)["models"]}
    assert new["mlp"] == old["mlp"]
    assert new["cnn"]["params"] == 80 + 1168 + 400 * 16 + 16 + 170
    # Back to the first config: both models come from the cache, the results are as before.
    config.write_text(original)
    proc = tinyreport(project, "collect")
    assert "rebuilt: nothing (all cached)" in proc.stdout
    assert {m["name"]: m for m in results(project)["models"]} == old


def test_unreadable_model_file_is_one_clear_error_and_keeps_results(own_project):
    project = own_project
    data_before = (project / "docs" / "data" / "results.json").read_bytes()
    keras_path = project / results(project)["models"][0]["variants"]["keras"]["path"]
    config = project / "tinyreport.toml"
    keras_path.write_bytes(b"PK\x03\x04 this is not a keras archive")
    config.write_text(
        config.read_text().replace("representative_samples = 50", "representative_samples = 40")
    )
    proc = tinyreport(project, "collect")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("tinyreport: error: cannot read ")
    assert "model.keras" in proc.stderr and "Traceback" not in proc.stderr
    assert (project / "docs" / "data" / "results.json").read_bytes() == data_before


def test_results_are_reproducible_from_scratch(project, tmp_path):
    """Seeded training: a fresh project with the same config gives the same results file."""
    other = make_project(tmp_path / "again", SMALL_CONFIG)
    proc = tinyreport(other, "collect")
    assert proc.returncode == 0, proc.stderr
    # Every figure is the same (what names the run itself aside: see e2e.figures).
    assert figures(results(other)) == figures(results(project))

    def page(root, rel):  # the footer names the day of the run; cards name the cache key
        text = re.sub(r"\b[0-9a-f]{16}\b", "<key>", (root / "docs" / rel).read_text())
        return [line for line in text.splitlines() if not line.startswith("Produced by")]

    for rel in ("report/index.md", "report/models/mlp.md", "report/models/cnn.md"):
        assert page(other, rel) == page(project, rel)


def _session(model_id: str, run: str = "0badc0de") -> str:
    from tinyreport.device.serial.protocol import format_record as rec

    lines = [
        "ESP-ROM:esp32s3-20210327",
        "I (312) cpu_start: Starting scheduler on PRO CPU.",
        rec(
            "boot",
            {
                "seq": 0,
                "run": run,
                "chip": "esp32s3",
                "cores": 2,
                "cpu_mhz": 240,
                "flash_bytes": 8388608,
                "psram_bytes": 8388608,
                "idf": "v5.3.1",
                "fw": "test",
                "esp_nn": 1,
            },
        ),
        rec("model", {"seq": 1, "id": model_id, "name": "mlp_int8", "arena_given_bytes": 16384}),
        rec(
            "alloc",
            {
                "seq": 2,
                "id": model_id,
                "status": "ok",
                "arena_given_bytes": 16384,
                "arena_used_bytes": 5204,
            },
        ),
        rec("lat", {"seq": 3, "id": model_id, "i": 0, "us": [812, 815, 810, 900]}),
        rec("done", {"seq": 4, "n_models": 1}),
    ]
    return "\r\n".join(lines) + "\r\n"


def test_device_log_attaches_to_the_model_it_ran(own_project):
    project = own_project
    mlp = results(project)["models"][0]
    model_id = mlp["variants"]["tflite_int8"]["sha256"]
    logs = project / "benchmarks" / "logs"
    logs.mkdir(parents=True)
    (logs / "board.log").write_text(_session(model_id) + _session("ab" * 32, run="0badc0df"))
    proc = tinyreport(project, "collect")
    assert proc.returncode == 0, proc.stderr
    data = results(project)
    runs = data["models"][0]["device"]
    assert len(runs) == 1
    run = runs[0]
    assert run["variant"] == "tflite_int8"
    assert run["model_name"] == "mlp_int8"
    assert run["provenance"] == "measured-device"
    assert run["arena"]["used_bytes"] == 5204
    assert run["latency"]["n"] == 4 and run["latency"]["median_us"] == 813.5
    assert run["source"]["path"] == "benchmarks/logs/board.log"
    assert data["models"][1]["device"] == []
    (log,) = data["device_logs"]
    assert log["path"] == "benchmarks/logs/board.log"
    assert log["n_runs"] == 2 and log["n_runs_unknown_model"] == 1
    assert log["n_boots"] == 2 and log["problems"] == []
    # Without the log, the device results go again.
    (logs / "board.log").unlink()
    proc = tinyreport(project, "collect")
    assert proc.returncode == 0, proc.stderr
    assert results(project)["device_logs"] == []
    assert [m["device"] for m in results(project)["models"]] == [[], []]


def test_many_device_runs_keep_the_latest_per_variant_and_stay_small(own_project):
    project = own_project
    model_id = results(project)["models"][0]["variants"]["tflite_int8"]["sha256"]
    results_file = project / "docs" / "data" / "results.json"
    before = results_file.stat().st_size
    logs = project / "benchmarks" / "logs"
    logs.mkdir(parents=True)
    sessions = "".join(_session(model_id, run=f"{k:08x}") for k in range(50))
    (logs / "board.log").write_text(sessions)
    proc = tinyreport(project, "collect")
    assert proc.returncode == 0, proc.stderr
    data = results(project)
    runs = data["models"][0]["device"]
    assert [r["source"]["boot"] for r in runs] == list(range(30, 50))  # the latest 20
    assert all("samples_us" not in r and r["latency"]["n"] == 4 for r in runs)
    (log,) = data["device_logs"]
    assert (log["n_boots"], log["n_runs"], log["n_runs_kept"]) == (50, 50, 20)
    overview = (project / "docs" / "report" / "index.md").read_text()
    assert "20 of the 50 runs in these logs" in overview
    one_run = len(json.dumps(runs[-1], indent=2))
    grown = results_file.stat().st_size - before
    # 20 runs, indented deeper than here, and the log entry; 50 runs would be over 50 * one_run.
    assert 20 * one_run < grown < 35 * one_run, (grown, one_run)


def test_damaged_cached_tflite_is_rebuilt_not_reported(own_project):
    project = own_project
    before = results(project)
    int8 = project / before["models"][1]["variants"]["tflite_int8"]["path"]
    int8.write_bytes(int8.read_bytes()[:100])
    proc = tinyreport(project, "collect")
    assert proc.returncode == 0, proc.stderr
    assert "rebuilt: cnn;" in proc.stdout
    assert results(project) == before  # seeded: the rebuilt model is the same model
