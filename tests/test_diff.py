"""`tinyreport diff`: every figure that changed and nothing else; thresholds as a gate."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from conftest import DATA

from tinyreport import diff


@pytest.fixture
def base() -> dict:
    return json.loads((DATA / "results_fixture.json").read_text())


def _two_changes(base: dict) -> dict:
    new = copy.deepcopy(base)
    cnn = next(m for m in new["models"] if m["name"] == "cnn")
    cnn["variants"]["tflite_int8"]["arena"]["host_bytes"] += 256
    for holder in (cnn["variants"]["tflite_int8"], cnn["variants"]["tflite_int8"]["evaluation"]):
        holder["accuracy"] = round(holder["accuracy"] - 0.007, 6)
    # Not figures: where the run happened, the paths and the cache keys.
    new["run"] = {"commit": "f" * 40, "date": "2030-01-01T00:00:00+00:00"}
    cnn["cache_key"] = "0" * 16
    cnn["variants"]["tflite_int8"]["path"] = "elsewhere/int8.tflite"
    return new


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinyreport", "diff", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_two_changed_figures_are_reported_and_nothing_else(base):
    new = _two_changes(base)
    old_int8 = next(m for m in base["models"] if m["name"] == "cnn")["variants"]["tflite_int8"]
    changes = [c.to_dict() for c in diff.compare(base, new)]
    acc_old = old_int8["accuracy"]
    assert changes == [
        {
            "model": "cnn",
            "variant": "tflite_int8",
            "field": "accuracy",
            "old": acc_old,
            "new": round(acc_old - 0.007, 6),
            "delta": round(acc_old - 0.007, 6) - acc_old,
            "relative_delta": (round(acc_old - 0.007, 6) - acc_old) / acc_old,
        },
        {
            "model": "cnn",
            "variant": "tflite_int8",
            "field": "arena.host_bytes",
            "old": old_int8["arena"]["host_bytes"],
            "new": old_int8["arena"]["host_bytes"] + 256,
            "delta": 256,
            "relative_delta": 256 / old_int8["arena"]["host_bytes"],
        },
    ]


def test_the_same_figures_give_no_change(base):
    assert diff.compare(base, copy.deepcopy(base)) == []


def test_every_numeric_figure_is_seen(base):
    """Each number of a model entry (but the derived copies) is a figure the diff compares."""
    found = diff.figures(base)
    assert ("cnn", "tflite_int8", "arena.host_bytes") in found
    assert ("cnn", "tflite_int8", "evaluation.per_class_accuracy[3]") in found
    assert ("cnn", "tflite_int8", "evaluation.confusion[3][5]") not in found
    assert ("cnn", "tflite_int8", "analysis.ops[1].inputs[1].quantization.scales[0]") not in found
    assert ("cnn", "", "training.final_loss") in found
    assert ("cnn", "tflite_int8", "sha256") in found
    assert ("cnn", "tflite_int8", "analysis.arena.target_bytes") in found
    assert ("cnn", "tflite_int8", "evaluation.accuracy") not in found  # = accuracy
    assert ("cnn", "", "weights_bytes") not in found  # = params x 4
    assert not any(field.startswith("run") for _, _, field in found)


def test_a_model_that_appears_lists_its_figures_as_new(base):
    new = copy.deepcopy(base)
    new["models"] = [m for m in new["models"] if m["name"] != "cnn"]
    changes = diff.compare(new, base)
    assert changes and {c.model for c in changes} == {"cnn"}
    assert all(c.old is None and c.delta is None for c in changes)


@pytest.mark.parametrize(
    ("threshold", "crossed"),
    [
        ("arena=+5%", False),  # +256 B on the CNN's int8 arena is under 5 %
        ("arena=+1%", True),
        ("arena=+255", True),
        ("arena=+256", False),
        ("accuracy=-0.5pt", True),  # -0.7 points
        ("accuracy=-0.8pt", False),
        ("accuracy=+0.1pt", False),  # it fell: a rise threshold is not crossed
        ("size=+0", False),
    ],
)
def test_thresholds(base, threshold, crossed):
    new = _two_changes(base)
    arena = next(m for m in base["models"] if m["name"] == "cnn")["variants"]["tflite_int8"]
    assert 256 / arena["arena"]["host_bytes"] < 0.05  # the cases above assume so
    hits = diff.crossed(diff.compare(base, new), [diff.parse_threshold(threshold)])
    assert bool(hits) is crossed


def test_cli_exit_status_is_the_gate(base, tmp_path):
    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "new.json").write_text(json.dumps(_two_changes(base)))
    ok = _run(str(tmp_path / "base.json"), str(tmp_path / "new.json"), "--json")
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert [c["field"] for c in report["changes"]] == ["accuracy", "arena.host_bytes"]
    assert report["thresholds_crossed"] == []
    gate = _run(
        str(tmp_path / "base.json"), str(tmp_path / "new.json"), "--fail-on", "accuracy=-0.5pt"
    )
    assert gate.returncode == 1
    assert gate.stdout.endswith(
        "2 figure(s) changed\nthreshold accuracy=-0.5pt crossed: cnn tflite_int8 accuracy\n"
    )
    bad = _run(str(tmp_path / "base.json"), str(tmp_path / "new.json"), "--fail-on", "arena=5")
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr.startswith("tinyreport: error: --fail-on 'arena=5' is not NAME=+N%")
    missing = _run(str(tmp_path / "nope.json"), str(tmp_path / "new.json"))
    assert (missing.returncode, missing.stderr) == (
        2,
        f"tinyreport: error: {tmp_path / 'nope.json'} does not exist\n",
    )


def test_markdown_escapes_what_the_files_say(base):
    new = copy.deepcopy(base)
    new["models"][0]["name"] = "<script>x</script>|"
    text = diff.to_markdown(diff.compare(base, new), [])
    assert "<script>" not in text and "&lt;script>x&lt;/script>\\|" in text
