"""Big logs: ingest reads them as a stream, and keeps summaries, not samples.

Memory is measured in a child process (its own peak RSS), on a log big enough that reading it
whole shows: the whole-file reading this replaced peaked at 204 MiB on the 16 MB log below, the
streaming reader at 43 MiB (most of it Python and the imports; 45 MiB on a 32 MB log).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.bench_ingest import write_log
from tinyreport.device.serial.ingest import ingest_logs
from tinyreport.device.serial.protocol import format_record

ROOT = Path(__file__).resolve().parent.parent
CNN = "3f1c0a9e5b7d24c86e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"

# Peak RSS of `tinyreport ingest LOG --json` on the 16 MB log, in MiB.
MAX_RSS_MIB = 64

CHILD = """
import contextlib, sys
from tinyreport.cli import main
log, out_path = sys.argv[1:3]
sys.argv = ["tinyreport", "ingest", log, "--json"]
try:
    with open(out_path, "w") as out, contextlib.redirect_stdout(out):
        main()
except SystemExit as exc:
    assert not exc.code, exc.code
# The high-water mark of this program's own memory (ru_maxrss would count the size of the
# process that started it: the kernel keeps it across exec).
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


@pytest.fixture(scope="module")
def big_log(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "synthetic.log"
    write_log(path, 16_000_000)
    return path


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status (Linux)")
def test_ingest_of_a_16_mb_log_stays_in_bounded_memory(big_log, tmp_path):
    out = tmp_path / "runs.json"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(big_log), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    peak_mib = int(child.stdout.split()[-1]) / 1024
    assert peak_mib < MAX_RSS_MIB, f"peak RSS {peak_mib:.0f} MiB"
    runs = json.loads(out.read_text())
    assert len(runs) == 2 * 1905  # two models per boot, every boot read
    assert all("samples_us" not in run and run["latency"]["n"] == 256 for run in runs)


def test_a_run_of_a_million_samples_is_a_summary_of_fixed_size(tmp_path):
    """The run keeps count, quantiles and a 20-bin histogram: its size does not grow."""

    def log_with(n_samples: int) -> Path:
        lines = [
            format_record("model", {"seq": 0, "id": CNN, "name": "cnn", "arena_given_bytes": 9})
        ]
        for k in range(n_samples // 32):
            us = [1000 + (k * 32 + j) % 997 for j in range(32)]
            lines.append(format_record("lat", {"seq": k + 1, "id": CNN, "i": 32 * k, "us": us}))
        path = tmp_path / f"{n_samples}.log"
        path.write_text("\n".join(lines) + "\n")
        return path

    small, big = log_with(320), log_with(32 * 31_250)  # 1,000,000 samples, 5.7 MB of log
    [run_small] = ingest_logs([small], {CNN: "cnn"})
    [run_big] = ingest_logs([big], {CNN: "cnn"})
    assert run_big["latency"]["n"] == 1_000_000
    assert sum(run_big["latency"]["histogram"]["counts"]) == 1_000_000
    assert (run_big["latency"]["min_us"], run_big["latency"]["max_us"]) == (1000, 1996)
    size_small, size_big = len(json.dumps(run_small)), len(json.dumps(run_big))
    assert size_big < size_small + 100, (size_small, size_big)  # a few more digits at most
