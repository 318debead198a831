"""Time commands and functions, take medians, and summarise cProfile output."""

from __future__ import annotations

import os
import pstats
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_STDLIB = re.compile(r"/lib/python3\.\d+/")
# Children import tinyreport from this tree (a snapshot of a commit, say), not from wherever
# the virtual environment's editable install points.
ENV = {
    **os.environ,
    "NO_MKDOCS_2_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}


def summary(runs_s: list[float], cpu_runs_s: list[float] | None = None) -> dict:
    """Return the median and every run, in seconds; with CPU times when given.

    CPU time (user + system of the child processes) barely moves when other processes compete
    for the cores, so it shows the cost when wall time is inflated by a busy machine.
    """
    out = {
        "median_s": statistics.median(runs_s),
        "min_s": min(runs_s),
        "max_s": max(runs_s),
        "runs_s": [round(r, 4) for r in runs_s],
        "n_runs": len(runs_s),
    }
    if cpu_runs_s:
        out["cpu_median_s"] = statistics.median(cpu_runs_s)
    return out


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Stopwatch:
    """Wall time and the CPU time of the child processes that ended meanwhile."""

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), _children_cpu_s()
        return self

    def __exit__(self, *exc) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.cpu_s = _children_cpu_s() - self._cpu


def _peak_rss_bytes(pid: int) -> int | None:
    """Return a running process's peak resident set size so far (Linux), or None."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def run_command(args: list[str], cwd: Path, stdout=subprocess.DEVNULL) -> Stopwatch:
    """Run a command to completion; return its times; raise with its stderr on failure.

    The stopwatch also holds the command's peak memory, `peak_rss_bytes`: the high-water mark
    of its resident set (VmHWM, Linux), read every 10 ms while it runs, so a rise in its last
    10 ms can be missed; None elsewhere. (ru_maxrss of the child would not do: the kernel
    counts in it the size of the process that started it.)
    """
    peak = None
    with tempfile.TemporaryFile("w+") as err, Stopwatch() as watch:
        proc = subprocess.Popen(args, cwd=cwd, env=ENV, stdout=stdout, stderr=err, text=True)
        while proc.poll() is None:
            peak = max(filter(None, [peak, _peak_rss_bytes(proc.pid)]), default=None)
            time.sleep(0.01)
        err.seek(0)
        stderr = err.read()
    watch.peak_rss_bytes = peak
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return watch


def time_command(args: list[str], cwd: Path, repeat: int, stdout=subprocess.DEVNULL) -> dict:
    """Run a command `repeat` times; return the summary of wall and CPU times."""
    watches = [run_command(args, cwd, stdout) for _ in range(repeat)]
    return summary([w.wall_s for w in watches], [w.cpu_s for w in watches])


def time_call(fn: Callable[[], object], repeat: int) -> dict:
    """Call `fn` `repeat` times; return the summary of wall and CPU times."""
    runs, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return summary(runs, cpu)


def tinyreport_cmd(*args: str) -> list[str]:
    """The tinyreport CLI as this Python runs it."""
    return [sys.executable, "-m", "tinyreport", *args]


def _where(filename: str) -> str:
    """Shorten a profiled file name: package-relative, `stdlib/...`, or what cProfile calls it."""
    if filename == "~":
        return "built-in functions (C)"
    if filename.startswith("<frozen importlib"):
        return "import machinery"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1]
    stdlib = _STDLIB.search(filename)
    if stdlib:
        return "stdlib/" + filename[stdlib.end() :]
    try:
        return Path(filename).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return filename


def profile_command(args: list[str], cwd: Path, top: int = 12) -> dict:
    """Run `python -m cProfile` on a module command (args after `-m`); summarise where time went.

    Returns the top functions by own time, the own time grouped by file (as fractions too),
    and the slowest imports from a second run under `-X importtime`.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.prof"
        run_command([sys.executable, "-m", "cProfile", "-o", str(out), "-m", *args], cwd)
        summary = summarise_profile(pstats.Stats(str(out)), top)
    return {**summary, "imports": import_times(args, cwd)}


def import_times(args: list[str], cwd: Path, top: int = 10) -> list[dict]:
    """Run `python -X importtime -m ARGS`; return the slowest top-level imports (cumulative)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", *args],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=600,
    )
    rows = []
    for line in proc.stderr.splitlines():
        # "import time:       self [us] |  cumulative | imported package"
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if m and len(m.group(3)) <= 1:  # one space of indent: imported by no other module
            rows.append({"module": m.group(4), "cumulative_s": int(m.group(2)) / 1e6})
    rows.sort(key=lambda r: -r["cumulative_s"])
    return rows[:top]


def _category(where: str) -> str:
    """Whose code a shortened file name is: tinyreport's, the standard library's, ..."""
    if where.startswith("tinyreport/"):
        return "tinyreport"
    if where.startswith("benchmarks/"):
        return "benchmarks"
    if where.startswith("stdlib/"):
        return "Python standard library"
    if where in ("built-in functions (C)", "import machinery"):
        return where
    return "other packages"


def summarise_profile(stats: pstats.Stats, top: int = 12) -> dict:
    """Top functions by own time and own time per file, from a pstats.Stats."""
    entries = []
    total = 0.0
    by_file: dict[str, float] = {}
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _) in stats.stats.items():
        total += tottime
        where = _where(filename)
        by_file[where] = by_file.get(where, 0.0) + tottime
        entries.append(
            {
                "function": f"{where}:{line}({name})",
                "n_calls": ncalls,
                "own_s": round(tottime, 4),
                "cumulative_s": round(cumtime, 4),
            }
        )
    entries.sort(key=lambda e: -e["own_s"])
    files = sorted(by_file.items(), key=lambda kv: -kv[1])[:top]
    categories: dict[str, float] = {}
    for where, seconds in by_file.items():
        kind = _category(where)
        categories[kind] = categories.get(kind, 0.0) + seconds
    return {
        "total_own_s": round(total, 4),
        "categories": [
            {"category": k, "own_s": round(v, 4), "fraction": round(v / total, 4) if total else 0}
            for k, v in sorted(categories.items(), key=lambda kv: -kv[1])
        ],
        "functions": entries[:top],
        "files": [
            {"file": f, "own_s": round(s, 4), "fraction": round(s / total, 4) if total else 0}
            for f, s in files
        ],
    }
