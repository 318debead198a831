"""merge reads results files from elsewhere (a CI matrix's parts): what is not one, or names a
model no configuration could, is one sentence and writes nothing; analyze --board all carries
each board's predicted latency."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from e2e import tinyreport

FIXTURE = Path(__file__).parent / "data" / "results_fixture.json"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("<svg onload=alert(7)>/x", "names a model '<svg onload=alert(7)>/x', which is not"),
        ("../../../../escape/PWNED", "names a model '../../../../escape/PWNED', which is not"),
    ],
)
def test_merge_refuses_model_names_no_config_allows(tmp_path, name, message):
    project = tmp_path / "p"
    project.mkdir()
    (project / "tinyreport.toml").write_text('[models.mlp]\nkind = "mlp"\n')
    part = json.loads(FIXTURE.read_text())
    part["models"][0]["name"] = name
    (project / "part.json").write_text(json.dumps(part))
    proc = tinyreport(project, "merge", "part.json")
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in project.iterdir()) == ["part.json", "tinyreport.toml"]
    assert not (tmp_path / "escape").exists()


def test_merge_of_a_json_list_is_one_sentence(tmp_path):
    (tmp_path / "tinyreport.toml").write_text('[models.mlp]\nkind = "mlp"\n')
    (tmp_path / "part.json").write_text("[]")
    proc = tinyreport(tmp_path, "merge", "part.json")
    assert proc.returncode == 2
    assert proc.stderr == (
        "tinyreport: error: part.json is not a tinyreport results file "
        "(it holds a JSON list, not an object)\n"
    )


def test_analyze_all_boards_gives_each_boards_predicted_latency():
    model = sorted((Path(__file__).parent / "data" / "corpus").glob("*.tflite"))[0]
    proc = subprocess.run(
        [sys.executable, "-m", "tinyreport", "analyze", str(model), "--board", "all", "--json"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode in (0, 3), proc.stderr
    rows = {r["id"]: r for r in json.loads(proc.stdout)["boards"]}
    for board in ("esp32", "xiao-esp32s3"):
        single = subprocess.run(
            [sys.executable, "-m", "tinyreport", "analyze", str(model), "--board", board, "--json"],
            capture_output=True,
            text=True,
        )
        latency = json.loads(single.stdout)["latency"]
        assert rows[board]["latency"]["predicted_us"] == latency["predicted_us"]
        assert "ops" not in rows[board]["latency"]
    assert rows["raspberry-pi-pico"]["latency"] is None  # no latency model: no number
