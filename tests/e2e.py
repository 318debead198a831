"""Helpers for end-to-end tests: a throw-away project with the repository's site sources."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Everything under docs/ but what `tinyreport collect` generates (report/, data/, assets/).
HAND_WRITTEN_DOCS = sorted(
    p.name for p in (ROOT / "docs").iterdir() if p.name not in ("report", "data", "assets")
)

# The smallest useful project: one small MLP, 100 images, one epoch (trains in seconds).
TINY_CONFIG = """\
board = "xiao-esp32s3"
[espdl]
enabled = false   # the ESP-DL variant has tests of its own; these test the cache and firmware
[dataset]
n_train = 100
n_test = 100
[training]
epochs = 1
[models.mlp]
kind = "mlp"
hidden = [16]
"""

SMALL_CONFIG = """\
board = "xiao-esp32s3"
[dataset]
n_train = 3000
n_test = 1000
[training]
epochs = 1
batch_size = 32
seed = 7
[quantization]
representative_samples = 50
[models.mlp]
kind = "mlp"
hidden = [128, 64]
[models.cnn]
kind = "cnn"
filters = [8, 16]
dense = 32
"""


def make_project(root: Path, config: str) -> Path:
    """Copy mkdocs.yml and the hand-written docs into `root`, write the config; return root."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(ROOT / "hooks", root / "hooks", dirs_exist_ok=True)  # mkdocs.yml's hooks
    for rel in HAND_WRITTEN_DOCS:
        src = ROOT / "docs" / rel
        if src.is_dir():
            shutil.copytree(src, root / "docs" / rel, dirs_exist_ok=True)
        elif src.is_file():
            (root / "docs" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, root / "docs" / rel)
    (root / "tinyreport.toml").write_text(config)
    return root


def tinyreport(root: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    """Run the tinyreport CLI in `root`."""
    return subprocess.run(
        [sys.executable, "-m", "tinyreport", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def results(root: Path) -> dict:
    return json.loads((root / "docs" / "data" / "results.json").read_text())


def mkdocs_build(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )


# Runs tflite_micro on its own, capturing C-level fd 2: an independent check of tinyreport.
TFLM_PROBE = """
import os, sys, tempfile
from tflite_micro import runtime
with tempfile.TemporaryFile() as log:
    saved = os.dup(2)
    os.dup2(log.fileno(), 2)
    runtime.Interpreter.from_file(sys.argv[1], arena_size=16 << 20).print_allocations()
    os.dup2(saved, 2)
    log.seek(0)
    print(log.read().decode())
"""


def tflm_total_bytes(path: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-c", TFLM_PROBE, str(path)], capture_output=True, text=True, check=True
    ).stdout
    line = next(x for x in out.splitlines() if "Arena allocation total" in x)
    return int(line.split("total")[1].split()[0])


def figures(r: dict) -> dict:
    """A results file without what names a particular run: the run block, and the cache keys
    of models trained in it (a freshly saved .keras file records its save time, so its sha256,
    the result key derived from it and the artifact paths named after that key differ from run
    to run while every figure is the same)."""
    import re

    def scrub(value):
        if isinstance(value, dict):
            return {
                k: scrub(v)
                for k, v in value.items()
                if k not in ("run", "cache_key")
                and not (k == "sha256" and value.get("kind") == "keras")
            }
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, str):
            return re.sub(r"result-[0-9a-f]{16}", "result-*", value)
        return value

    return scrub(r)
