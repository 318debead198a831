"""The acceptance run: a fresh clone of the repository, its own tinyreport.toml, full MNIST.

The clone is of the committed HEAD (uncommitted edits are not in it): its `collect` reads the
trained models from the committed model store, converts, evaluates and measures them again,
and `firmware` regenerates the firmware sources. Neither may change a tracked file: a machine
that cannot reproduce the committed figures fails here instead of publishing others.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from e2e import ROOT, results

pytestmark = pytest.mark.slow


def _git(cwd, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=300
    ).stdout


def _run(clone, *args: str) -> subprocess.CompletedProcess:
    """The clone's own tinyreport, not this checkout's."""
    return subprocess.run(
        [sys.executable, "-m", "tinyreport", *args],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=3600,
        env={**os.environ, "PYTHONPATH": str(clone)},
    )


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A clone of HEAD after `tinyreport collect` and `tinyreport firmware`."""
    root = tmp_path_factory.mktemp("full") / "clone"
    _git(ROOT, "clone", "--quiet", "--no-local", str(ROOT), str(root))
    _git(root, "checkout", "--quiet", _git(ROOT, "rev-parse", "HEAD").strip())
    proc = _run(root, "collect", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "trained" not in proc.stdout, proc.stdout  # every model came from the store
    proc = _run(root, "firmware")
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture(scope="module")
def project(clone):
    return clone


def test_a_fresh_clone_collect_and_firmware_change_no_tracked_file(clone):
    """`git status` is clean: results, pages, model store and firmware sources reproduced."""
    assert _git(clone, "status", "--porcelain", "--untracked-files=all") == ""


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


def test_committed_results_match_a_fresh_run(clone):
    """docs/data/results.json in the repository is what the clone's collect wrote, figure for
    figure, and the run block still names the run that produced them."""
    import json

    committed = json.loads((ROOT / "docs" / "data" / "results.json").read_text())
    assert results(clone) == committed
    assert set(committed["run"]) >= {"commit", "date", "machine", "versions", "figures"}


def test_committed_firmware_sources_match_a_regeneration(clone):
    """firmware/main/generated/ is what `tinyreport firmware` writes for the default models,
    byte for byte: the embedded .tflite bytes, arena sizes, test vectors and resolvers."""
    committed = ROOT / "firmware" / "main" / "generated"
    fresh_dir = clone / "firmware" / "main" / "generated"
    want = {p.name: p.read_bytes() for p in committed.iterdir()}
    fresh = {p.name: p.read_bytes() for p in fresh_dir.iterdir()}
    assert sorted(fresh) == sorted(want)
    for name in sorted(want):
        assert fresh[name] == want[name], f"{name} differs: run `tinyreport firmware`, commit it"
