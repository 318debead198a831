"""collect's outputs: unwritable paths refused up front, results and pages published together,
stray logs warned about, every stored path relative to the project."""

from __future__ import annotations

import errno
import random
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from e2e import make_project, results, tinyreport

from tinyreport import fsutil
from tinyreport.config import load_config
from tinyreport.device.serial.protocol import format_record
from tinyreport.errors import OutputError
from tinyreport.pipeline import collect as collect_mod

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
HAVE_SYSFS = Path("/sys/kernel").is_dir()  # sysfs refuses new files, even to root


# --- fsutil.publish: a set of files replaced together ----------------------------------------


def _files(root: Path, text: str) -> dict[Path, str]:
    return {root / "a.txt": f"a {text}\n", root / "sub" / "b.txt": f"b {text}\n"}


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*.tmp"))


def test_publish_replaces_changed_files_removes_others_and_reports_them(tmp_path):
    old = _files(tmp_path, "old")
    fsutil.publish(old)
    (tmp_path / "stale.md").write_text("stale\n")
    new = {**_files(tmp_path, "new"), tmp_path / "same.txt": "same\n"}
    (tmp_path / "same.txt").write_text("same\n")
    changed = fsutil.publish(new, [tmp_path / "stale.md"])
    assert changed == [tmp_path / "a.txt", tmp_path / "sub" / "b.txt", tmp_path / "stale.md"]
    assert {p: p.read_text() for p in new} == new
    assert not (tmp_path / "stale.md").exists()
    assert _leftovers(tmp_path) == []


def test_a_file_that_cannot_be_written_changes_nothing(tmp_path):
    fsutil.publish(_files(tmp_path, "old"))
    (tmp_path / "blocker").write_text("a file where a folder should be\n")
    files = {**_files(tmp_path, "new"), tmp_path / "blocker" / "c.txt": "c\n"}
    with pytest.raises(OutputError) as exc:
        fsutil.publish(files, [tmp_path / "a.txt"], name=lambda p: p.relative_to(tmp_path).name)
    assert str(exc.value) == (
        "cannot write c.txt (part of the path is a file, not a folder); nothing was changed"
    )
    assert {p: p.read_text() for p in _files(tmp_path, "old")} == _files(tmp_path, "old")
    assert _leftovers(tmp_path) == []


def test_a_folder_in_the_way_changes_nothing(tmp_path):
    fsutil.publish(_files(tmp_path, "old"))
    (tmp_path / "results.json").mkdir()
    with pytest.raises(OutputError, match=r"results\.json \(it is a folder\); nothing was"):
        fsutil.publish({**_files(tmp_path, "new"), tmp_path / "results.json": "{}\n"})
    assert (tmp_path / "a.txt").read_text() == "a old\n"
    assert _leftovers(tmp_path) == []


def test_ctrl_c_while_staging_changes_nothing(tmp_path, monkeypatch):
    fsutil.publish(_files(tmp_path, "old"))
    real_mkstemp = tempfile.mkstemp

    def interrupted(*args, **kwargs):
        if Path(kwargs["dir"]).name == "sub":
            raise KeyboardInterrupt
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fsutil.publish(_files(tmp_path, "new"))
    assert {p: p.read_text() for p in _files(tmp_path, "old")} == _files(tmp_path, "old")
    assert _leftovers(tmp_path) == []


def test_ctrl_c_during_the_final_step_waits_for_its_end(tmp_path, monkeypatch):
    fsutil.publish(_files(tmp_path, "old"))
    real_replace = fsutil.os.replace
    calls = []

    def replace_then_ctrl_c(src, dst):
        calls.append(dst)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)  # as if the user pressed Ctrl-C right now
        return real_replace(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", replace_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        fsutil.publish(_files(tmp_path, "new"))
    assert len(calls) == 2
    assert {p: p.read_text() for p in _files(tmp_path, "new")} == _files(tmp_path, "new")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_output_problem_says_what_is_in_the_way(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    assert fsutil.output_problem(tmp_path / "new" / "deeper" / "x.json") is None
    assert fsutil.output_problem(tmp_path / "new", folder=True) is None
    assert fsutil.output_problem(tmp_path / "file") is None
    assert fsutil.output_problem(tmp_path / "dir") == f"{tmp_path / 'dir'} is a folder, not a file"
    assert fsutil.output_problem(tmp_path / "file", folder=True) == (
        f"{tmp_path / 'file'} is a file, not a folder"
    )
    assert fsutil.output_problem(tmp_path / "file" / "a" / "x.json") == (
        f"{tmp_path / 'file'} is a file, not a folder"
    )
    if HAVE_SYSFS:
        assert fsutil.output_problem(Path("/sys/x/y.json")) == (
            "/sys is not writable (permission denied)"
        )
    assert sorted(tmp_path.iterdir()) == [tmp_path / "dir", tmp_path / "file"]  # no probe left


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


@pytest.mark.slow
@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ('results = "docs/report"', "'output.results': docs/report is a folder, not a file"),
        ('pages_dir = "mkdocs.yml"', "'output.pages_dir': mkdocs.yml is a file, not a folder"),
        (
            'artifacts_dir = "mkdocs.yml/artifacts"',
            "'output.artifacts_dir': mkdocs.yml is a file, not a folder",
        ),
        pytest.param(
            'results = "/sys/tinyreport-results.json"',
            "'output.results': /sys is not writable (permission denied)",
            marks=pytest.mark.skipif(not HAVE_SYSFS, reason="needs Linux sysfs"),
        ),
    ],
)
def test_unwritable_outputs_are_refused_before_any_work(project, output, problem):
    before = published(project)
    (project / "tinyreport.toml").write_text(f"{SMALL}[output]\n{output}\n")
    proc = tinyreport(project, "collect", "-q")
    assert proc.returncode == 2
    assert proc.stderr == (
        "tinyreport: error: outputs that cannot be written; change [output] or the files in "
        f"the way:\nConfig value {problem}\n"
    )
    assert published(project) == before


@pytest.mark.slow
def test_every_unwritable_output_is_listed_at_once(project):
    (project / "tinyreport.toml").write_text(
        f'{SMALL}[output]\nresults = "docs/report"\npages_dir = "mkdocs.yml"\n'
        'docs_dir = "mkdocs.yml"\n'
    )
    proc = tinyreport(project, "collect", "-q")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[1:] == [
        "Config value 'output.docs_dir': mkdocs.yml is a file, not a folder",
        "Config value 'output.results': docs/report is a folder, not a file",
        "Config value 'output.pages_dir': mkdocs.yml is a file, not a folder",
    ]


@pytest.mark.slow
def test_ctrl_c_before_the_end_leaves_the_old_results_and_pages(project, monkeypatch):
    before = published(project)
    (project / "tinyreport.toml").write_text(f'board = "esp32"\n{SMALL}')
    config = load_config(project / "tinyreport.toml")
    real_mkstemp = tempfile.mkstemp
    pages_dir = project / "docs" / "report"

    def ctrl_c_at_the_pages(*args, **kwargs):
        if Path(kwargs["dir"]).is_relative_to(pages_dir):
            raise KeyboardInterrupt
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", ctrl_c_at_the_pages)
    with pytest.raises(KeyboardInterrupt):
        collect_mod.collect(config)
    assert published(project) == before
    assert _leftovers(project / "docs") == []

    monkeypatch.setattr(tempfile, "mkstemp", real_mkstemp)
    collect_mod.collect(config)
    after = published(project)
    assert b'"board": "esp32"' in after["docs/data/results.json"]
    assert after["docs/report/index.md"] != before["docs/report/index.md"]


@pytest.mark.slow
def test_a_failing_artifact_write_is_one_clear_error(project, monkeypatch):
    before = published(project)
    (project / "tinyreport.toml").write_text(SMALL.replace("[16]", "[17]"))  # not cached
    config = load_config(project / "tinyreport.toml")

    def disk_full(config, p, data, progress):
        raise OSError(errno.ENOSPC, "No space left on device", str(p.result_path))

    monkeypatch.setattr(collect_mod, "build_model", disk_full)
    with pytest.raises(OutputError) as exc:
        collect_mod.collect(config)
    assert str(exc.value).startswith("cannot write the artifacts of model mlp: artifacts/mlp/")
    assert str(exc.value).endswith("/model.json (no space left on the device)")
    assert published(project) == before


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
