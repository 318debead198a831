"""The acceptance run: the repository's own tinyreport.toml, full MNIST, default settings."""

from __future__ import annotations

import pytest
from e2e import ROOT, make_project, results, tinyreport

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A fresh project collected with the repository's tinyreport.toml."""
    root = make_project(tmp_path_factory.mktemp("full"), (ROOT / "tinyreport.toml").read_text())
    proc = tinyreport(root, "collect")
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture(scope="module")
def full(project):
    return {m["name"]: m for m in results(project)["models"]}


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


def test_committed_firmware_sources_match_a_regeneration(project, tmp_path):
    """firmware/main/generated/ is what `tinyreport firmware` writes for the default models,
    byte for byte: the embedded .tflite bytes, arena sizes, test vectors and resolvers."""
    from tinyreport.config import load_config
    from tinyreport.device import firmware

    out = tmp_path / "generated"
    firmware.generate(load_config(project / "tinyreport.toml"), out=out)
    committed = ROOT / "firmware" / "main" / "generated"
    want = {p.name: p.read_bytes() for p in committed.iterdir()}
    fresh = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(fresh) == sorted(want)
    for name in sorted(want):
        assert fresh[name] == want[name], f"{name} differs: run `tinyreport firmware`, commit it"
