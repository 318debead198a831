"""collect's outputs: stray logs warned about, every stored path relative to the project."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from e2e import make_project, results, tinyreport

from tinyreport.serial.protocol import format_record

SMALL = """\
[dataset]
n_train = 100
n_test = 100
[training]
epochs = 1
[quantization]
representative_samples = 20
[models.mlp]
kind = "mlp"
hidden = [16]
"""


# --- collect on a small project, collected once (trains a tiny MLP) -----------------------------


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    root = make_project(tmp_path_factory.mktemp("outputs") / "project", SMALL)
    proc = tinyreport(root, "collect", "-q")
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture
def project(collected, tmp_path) -> Path:
    """A copy of the collected project, its artifacts included (so collect is all cached)."""
    root = tmp_path / "project"
    shutil.copytree(collected, root, symlinks=True)
    return root


def published(root: Path) -> dict[str, bytes]:
    """The results file and every page, by path."""
    files = [root / "docs" / "data" / "results.json", *(root / "docs" / "report").rglob("*")]
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files if p.is_file()}


def _corrupt_record() -> bytes:
    line = format_record("boot", {"seq": 0, "run": "abcd1234", "chip": "esp32s3"})
    return line.replace("chip=esp32s3", "chip=esp32s2").encode() + b"\r\n"  # CRC now wrong


@pytest.mark.slow
def test_stray_logs_are_warned_about_and_listed_with_relative_paths(project):
    logs = project / "benchmarks" / "logs"
    logs.mkdir(parents=True)
    (logs / "empty.log").write_bytes(b"")
    (logs / "noise.log").write_bytes(random.Random(5).randbytes(20_000).replace(b"@TR", b"@tr"))
    (logs / "corrupt.log").write_bytes(_corrupt_record() * 3)
    proc = tinyreport(project, "collect", "-q")
    assert proc.returncode == 0, proc.stderr
    warnings = proc.stderr.splitlines()
    assert len(warnings) == 3, proc.stderr
    assert warnings[0].startswith(
        "tinyreport: warning: benchmarks/logs/corrupt.log holds no device record tinyreport can "
        "read (3 problem(s), the first: benchmarks/logs/corrupt.log:1 (byte 0): rejected a "
        "record: CRC mismatch"
    )
    assert warnings[1:] == [
        f"tinyreport: warning: benchmarks/logs/{name}.log holds no device record tinyreport can "
        "read; is it a device log?"
        for name in ("empty", "noise")
    ]
    device_logs = {log["path"]: log for log in results(project)["device_logs"]}
    assert sorted(device_logs) == [
        f"benchmarks/logs/{n}.log" for n in ("corrupt", "empty", "noise")
    ]
    corrupt = device_logs["benchmarks/logs/corrupt.log"]["problems"]
    assert corrupt[0] == "benchmarks/logs/corrupt.log holds no device record tinyreport can read"
    assert [p.split(" (byte")[0] for p in corrupt[1:]] == [
        f"benchmarks/logs/corrupt.log:{i}" for i in (1, 2, 3)
    ]
    assert device_logs["benchmarks/logs/empty.log"]["problems"] == [
        "benchmarks/logs/empty.log holds no device record tinyreport can read; is it a device log?"
    ]
    for path, text in published(project).items():
        assert str(project).encode() not in text, f"{path} names the checkout's location"
