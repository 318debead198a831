"""Describe the machine a benchmark ran on: CPU, cores, memory, load, Python, packages."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from benchmarks.timing import ROOT

PACKAGES = (
    "tinyreport",
    "tensorflow",
    "keras",
    "ai-edge-litert",
    "tflite-micro",
    "numpy",
    "mkdocs",
    "mkdocs-material",
    "plotly",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _pkg(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    # A snapshot made with `git archive` has no .git; benchmarks/snapshot names its commit.
    if os.environ.get("TINYREPORT_BENCH_COMMIT"):
        return os.environ["TINYREPORT_BENCH_COMMIT"]
    proc = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return proc.stdout.strip() or "unknown"


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other processes on a shared machine show here)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def describe() -> dict:
    """Return the machine and software description stored with every benchmark run."""
    return {
        "cpu_model": _cpu_model(),
        "n_cpus": os.cpu_count(),
        "n_cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_bytes": _memory_bytes(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "python": platform.python_version(),
        "packages": {name: _pkg(name) for name in PACKAGES},
        "commit": _commit(),
    }
