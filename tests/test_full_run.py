"""The acceptance run: the repository's own tinyreport.toml, full MNIST, default settings."""

from __future__ import annotations

import pytest
from e2e import ROOT, make_project, results, tinyreport

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("full"), (ROOT / "tinyreport.toml").read_text())
    proc = tinyreport(root, "collect")
    assert proc.returncode == 0, proc.stderr
    return {m["name"]: m for m in results(root)["models"]}


def test_mlp_sizes_at_default_settings(full):
    v = full["mlp"]["variants"]
    assert full["mlp"]["params"] == 109_386
    assert 1_200_000 <= v["keras"]["size_bytes"] <= 1_450_000
    assert 100_000 <= v["tflite_int8"]["size_bytes"] <= 130_000


def test_accuracy_targets_on_the_full_test_set(full):
    assert full["mlp"]["variants"]["keras"]["evaluation"]["n_samples"] == 10_000
    assert full["mlp"]["variants"]["keras"]["accuracy"] >= 0.975
    assert full["cnn"]["variants"]["keras"]["accuracy"] >= 0.985
    for m in full.values():
        float_acc = m["variants"]["tflite_float"]["accuracy"]
        assert abs(m["variants"]["tflite_int8"]["accuracy"] - float_acc) <= 0.01


def test_committed_results_match_a_fresh_run(full):
    """docs/data/results.json in the repository is what the defaults produce here."""
    import json

    committed = json.loads((ROOT / "docs" / "data" / "results.json").read_text())
    for m in committed["models"]:
        for kind in ("tflite_float", "tflite_int8"):
            mine, fresh = m["variants"][kind], full[m["name"]]["variants"][kind]
            assert mine["size_bytes"] == fresh["size_bytes"]
            assert mine["arena"]["host_bytes"] == fresh["arena"]["host_bytes"]
        assert m["variants"]["keras"]["accuracy"] == pytest.approx(
            full[m["name"]]["variants"]["keras"]["accuracy"], abs=0.003
        )
