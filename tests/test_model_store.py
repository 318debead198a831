"""The model store: a stored model is used and never retrained; conversion, evaluation and the
host arena give the same bytes and numbers whatever the threads and oneDNN settings."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from e2e import TINY_CONFIG, make_project

from tinyreport.pipeline import determinism

pytestmark = pytest.mark.slow


def _collect(root: Path, *args: str, env: dict | None = None, cpus: set[int] | None = None):
    def pin():  # runs in the child before Python starts: the CPUs TF may size its pools by
        if cpus is not None:
            os.sched_setaffinity(0, cpus)

    return subprocess.run(
        [sys.executable, "-m", "tinyreport", "collect", "-q", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
        preexec_fn=pin,
    )


def _files(root: Path, folder: str) -> dict[str, str]:
    base = root / folder
    return {
        p.relative_to(base).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(base.rglob("*"))
        if p.is_file() and p.suffix in (".keras", ".json", ".tflite")
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny project collected once: its model was trained into the store."""
    root = make_project(tmp_path_factory.mktemp("store"), TINY_CONFIG)
    proc = _collect(root)
    assert proc.returncode == 0, proc.stderr
    assert "trained and stored in models/store: mlp" in proc.stdout
    return root


def _copy_without_cache(src: Path, dst: Path) -> Path:
    """The project as a fresh clone has it: store and results, no artifacts cache."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("artifacts"))
    return dst


SETTINGS = [
    pytest.param({"TF_ENABLE_ONEDNN_OPTS": "1", "TF_NUM_INTRAOP_THREADS": "2"}, None, id="onednn"),
    pytest.param(
        {"TF_ENABLE_ONEDNN_OPTS": "0", "OMP_NUM_THREADS": "1", "TF_NUM_INTEROP_THREADS": "4"},
        {0},
        id="no-onednn-one-cpu",
    ),
]


@pytest.mark.parametrize(("env", "cpus"), SETTINGS)
def test_a_fresh_copy_reproduces_every_byte_under_other_settings(trained, tmp_path, env, cpus):
    """Converted and evaluated again from the stored model, nothing trained: the .tflite files,
    the results file (run block included) and the pages are the same bytes."""
    if cpus is not None and not set(cpus) <= os.sched_getaffinity(0):
        cpus = {min(os.sched_getaffinity(0))}
    root = _copy_without_cache(trained, tmp_path / "copy")
    proc = _collect(root, env=env, cpus=cpus)
    assert proc.returncode == 0, proc.stderr
    assert "trained" not in proc.stdout
    assert "rebuilt: mlp" in proc.stdout  # converted, evaluated, measured again here
    assert _files(root, "artifacts") == _files(trained, "artifacts")
    assert _files(root, "models") == _files(trained, "models")
    assert _files(root, "docs") == _files(trained, "docs")
    results = json.loads((root / "docs" / "data" / "results.json").read_text())
    assert results["run"]["figures"] == {
        "mlp": {"training": "trained", "conversion_evaluation_arena": "computed"}
    }  # the run that produced the figures, not this reproduction


def test_retrain_replaces_the_stored_model_and_names_it(trained, tmp_path):
    root = _copy_without_cache(trained, tmp_path / "copy")
    (entry,) = (root / "models" / "store").iterdir()
    before = (entry / "training.json").read_text()
    proc = _collect(root, "--retrain", "mlp")
    assert proc.returncode == 0, proc.stderr
    assert "trained and stored in models/store: mlp" in proc.stdout
    assert [p.name for p in (root / "models" / "store").iterdir()] == [entry.name]  # same key
    info = json.loads((entry / "training.json").read_text())
    assert info["key"] == entry.name.removeprefix("mlp-")
    assert info["inputs"] == json.loads(before)["inputs"]
    results = json.loads((root / "docs" / "data" / "results.json").read_text())
    keras = results["models"][0]["variants"]["keras"]
    assert keras["sha256"] == hashlib.sha256((entry / "model.keras").read_bytes()).hexdigest()


def test_retrain_of_an_unknown_model_is_one_line(trained, tmp_path):
    root = _copy_without_cache(trained, tmp_path / "copy")
    proc = _collect(root, "--retrain", "nosuch")
    assert (proc.returncode, proc.stderr) == (
        2,
        "tinyreport: error: --retrain names nosuch, which tinyreport.toml does not define "
        "(its models: mlp)\n",
    )


def test_a_new_config_trains_a_new_entry_and_keeps_the_old_one(trained, tmp_path):
    root = _copy_without_cache(trained, tmp_path / "copy")
    (old,) = (root / "models" / "store").iterdir()
    (root / "models" / "store" / "mlp-notmine").mkdir()  # not the store's: never named
    (root / "tinyreport.toml").write_text(TINY_CONFIG.replace("[16]", "[8]"))
    proc = _collect(root)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in (root / "models" / "store").iterdir())
    assert old.name in names and "mlp-notmine" in names and len(names) == 3
    assert "trained and stored in models/store: mlp" in proc.stdout
    assert f"; not used now, kept in the store: models/store/{old.name};" in proc.stdout


def test_determinism_overrides_the_environment(monkeypatch):
    """Before TensorFlow is imported, configure() sets oneDNN off and one thread each."""
    for key in determinism.ENVIRONMENT:
        monkeypatch.setenv(key, "7")
    code = "from tinyreport.pipeline import determinism; determinism.configure(); import os; "
    code += "print([os.environ[k] for k in determinism.ENVIRONMENT])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    ).stdout
    assert out.strip() == str(list(determinism.ENVIRONMENT.values()))
