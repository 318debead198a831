"""Which run produced the figures: commit, date, machine, versions, what was reused.

The block goes into the results file as `run`. It describes the run that *produced* the
figures: a later run that computes the very same figures (a reproduction on another machine, or
a second collect) keeps the recorded block, so reproducing the committed results leaves the
results file and every page byte for byte as they were. The block changes only with a figure.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from tinyreport import __version__

PACKAGES = ("tensorflow", "keras", "ai-edge-litert", "tflite-micro", "numpy")

# Per model and figure family, where the figures came from in the run that produced them.
STORE = "store"  # the trained model was read from the committed model store
TRAINED = "trained"  # the model was trained in that run
USER_FILE = "file"  # the user's own .keras or .tflite file, named in the configuration
CACHE = "cache"  # converted, evaluated and measured by an earlier run on that machine
COMPUTED = "computed"  # converted, evaluated and measured in that run


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def cpu_model() -> str:
    """The CPU's model name as the OS reports it, or the architecture when it does not."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def describe(root: Path, figures: dict[str, dict[str, str]]) -> dict:
    """The run block for a collect in `root` whose figures came from `figures`."""
    commit = _git(root, "rev-parse", "HEAD")
    dirty = None
    if commit is not None:
        dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
    return {
        "commit": commit,
        "commit_dirty": dirty,
        "date": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "os": platform.platform(),
            "arch": platform.machine(),
        },
        "versions": {
            "tinyreport": __version__,
            "python": platform.python_version(),
            **{name: _version(name) for name in PACKAGES},
        },
        "figures": figures,
    }


def same_figures(old: dict, new: dict) -> bool:
    """Whether two results documents state the same figures (everything but `run`)."""
    return {k: v for k, v in old.items() if k != "run"} == {
        k: v for k, v in new.items() if k != "run"
    }
