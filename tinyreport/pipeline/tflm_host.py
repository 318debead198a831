"""Measure a .tflite model's tensor arena with the real TFLM interpreter on this host.

`tflite_micro` prints its allocation report from C to file descriptor 2, so the interpreter
runs in a child process whose stderr we read; a crash in TFLM cannot take tinyreport down.
"""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tinyreport.errors import ModelFileError

# A multiple of 16: the wheel's default (10 x model size) shifts the tail by a few bytes.
ARENA_SIZE = 16 << 20

_CHILD = """
import sys
from tflite_micro import runtime
runtime.Interpreter.from_file(sys.argv[1], arena_size=int(sys.argv[2])).print_allocations()
"""

# One child process for many models: each model's report is framed by marker lines on fd 2, and
# a model TFLM refuses prints its reason instead of a report.
_BATCH_CHILD = """
import os, sys
from tflite_micro import runtime
for i, path in enumerate(sys.argv[2:]):
    os.write(2, f"\\n@@@ begin {i}\\n".encode())
    try:
        runtime.Interpreter.from_file(path, arena_size=int(sys.argv[1])).print_allocations()
    except Exception as exc:
        os.write(2, f"\\n@@@ refused {i} {type(exc).__name__}: {exc}\\n".encode())
    os.write(2, f"\\n@@@ end {i}\\n".encode())
"""
_FRAME = re.compile(r"^@@@ begin (\d+)$(.*?)^@@@ end \1$", re.M | re.S)

_TOTAL = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
_RECORD = re.compile(
    r"'(?P<name>[^']+)' used (?P<used>\d+) bytes with alignment overhead "
    r"\(requested (?P<requested>\d+) bytes for (?P<count>\d+) "
)


@dataclass(frozen=True)
class HostArena:
    """Arena use reported by TFLM's RecordingMicroAllocator on this host."""

    total_bytes: int
    head_bytes: int
    tail_bytes: int
    records: dict[str, int]  # allocation kind -> bytes used, as TFLM names it
    machine: str  # e.g. "x86_64"
    tflm_version: str


def tflm_version() -> str:
    """Return the installed tflite-micro package version."""
    from importlib.metadata import version

    return version("tflite-micro")


def parse_allocations(text: str) -> tuple[int, int, int, dict[str, int]]:
    """Parse print_allocations() output into (total, head, tail, records)."""
    sizes = {kind: int(n) for kind, n in _TOTAL.findall(text)}
    if set(sizes) != {"total", "head", "tail"}:
        raise ValueError("no RecordingMicroAllocator summary in the output")
    records = {m["name"]: int(m["used"]) for m in _RECORD.finditer(text)}
    return sizes["total"], sizes["head"], sizes["tail"], records


def measure_host_arena(path: Path, arena_size: int = ARENA_SIZE) -> HostArena:
    """Load `path` into tflite_micro's interpreter and return the arena it used."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(arena_size)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        total, head, tail, records = parse_allocations(proc.stderr + proc.stdout)
    except ValueError:
        detail = _last_line(proc.stderr) or f"exit code {proc.returncode}"
        said = _tflm_lines(proc.stderr)
        if said:  # what TFLM printed before the wheel raised: the reason it refused
            detail = f"{'; '.join(said[-2:])} ({detail})"
        raise ModelFileError(f"TFLM could not load {path}: {detail}") from None
    return HostArena(total, head, tail, records, platform.machine(), tflm_version())


def measure_host_arenas(
    paths: list[Path], arena_size: int = ARENA_SIZE
) -> list[HostArena | ModelFileError]:
    """Measure many models in one child process (one import of the wheel); per model, the
    arena or the error TFLM gave. A model that takes the child down is measured on its own."""
    paths = [Path(p) for p in paths]
    proc = subprocess.run(
        [sys.executable, "-c", _BATCH_CHILD, str(arena_size), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    frames = {int(m[1]): m[2] for m in _FRAME.finditer(proc.stderr)}
    results: list[HostArena | ModelFileError] = []
    for i, path in enumerate(paths):
        text = frames.get(i)
        if text is None:  # the child died on this model or before it
            try:
                results.append(measure_host_arena(path, arena_size))
            except ModelFileError as exc:
                results.append(exc)
            continue
        try:
            total, head, tail, records = parse_allocations(text)
        except ValueError:
            refused = [line for line in text.splitlines() if line.startswith("@@@ refused")]
            reasons = [line for line in text.splitlines() if line.strip() and "@@@" not in line]
            detail = "; ".join(reasons[-2:]) or (refused[0] if refused else "no report")
            results.append(ModelFileError(f"TFLM could not load {path}: {detail}"))
            continue
        results.append(HostArena(total, head, tail, records, platform.machine(), tflm_version()))
    return results


def _tflm_lines(text: str) -> list[str]:
    """The lines TFLM's C++ code printed, before any Python traceback."""
    head = text.split("Traceback (most recent call last):")[0]
    return [line.strip() for line in head.splitlines() if line.strip()]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
