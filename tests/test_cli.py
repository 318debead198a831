"""The CLI: bad input gives one clear sentence and a non-zero exit, never a traceback."""

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "tinyreport", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_missing_config(tmp_path):
    proc = run("collect", "--config", str(tmp_path / "nope.toml"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("tinyreport: error: no configuration file at")
    assert "Traceback" not in proc.stderr


def test_invalid_config_values_are_all_listed(tmp_path):
    cfg = tmp_path / "tinyreport.toml"
    cfg.write_text('[training]\nepochs = -1\nbatch = 3\n[models.mlp]\nkind = "mlp"\n')
    proc = run("collect", "--config", str(cfg))
    assert proc.returncode == 2
    assert (
        "Config value 'training.epochs': Input should be greater than or equal to 1" in proc.stderr
    )
    assert "Config value 'training.batch': unknown key" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_wrong_dataset_checksum_leaves_earlier_results_intact(tmp_path):
    import numpy as np

    np.savez(
        tmp_path / "d.npz",
        x_train=np.zeros((200, 28, 28), np.uint8),
        y_train=np.zeros(200),
        x_test=np.zeros((200, 28, 28), np.uint8),
        y_test=np.zeros(200),
    )
    results = tmp_path / "docs" / "data" / "results.json"
    results.parent.mkdir(parents=True)
    results.write_text('{"format": 1, "tinyreport_version": "0.1.0"}\n')
    cfg = tmp_path / "tinyreport.toml"
    cfg.write_text(
        '[dataset]\nsource = "npz"\npath = "d.npz"\nsha256 = "' + "ab" * 32 + '"\n'
        '[models.mlp]\nkind = "mlp"\n'
    )
    proc = run("collect", "--config", str(cfg))
    assert proc.returncode == 1
    assert "tinyreport: error: dataset file" in proc.stderr
    assert "expected abababababab" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert results.read_text() == '{"format": 1, "tinyreport_version": "0.1.0"}\n'


def test_usage_error_and_version():
    proc = run("collect", "--no-such-flag")
    assert proc.returncode == 2
    assert "No such option '--no-such-flag'" in proc.stderr
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout == f"tinyreport, version {version('tinyreport')}\n"
    assert proc.stderr == ""


def test_an_eof_error_inside_a_command_is_not_reported_as_ctrl_c(monkeypatch, capsys):
    """click turns EOFError into Abort ("aborted", exit 130); only a real Ctrl-C may look so."""
    import pytest

    from tinyreport import cli
    from tinyreport.device.serial import ingest

    def fail(*args, **kwargs):
        raise EOFError("a reader ran out of data")

    monkeypatch.setattr(ingest, "ingest_reports", fail)
    monkeypatch.setattr(sys, "argv", ["tinyreport", "ingest", "x.log"])
    with pytest.raises(EOFError, match="ran out of data"):
        cli.main()

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest, "ingest_reports", interrupt)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 130
    assert capsys.readouterr().err.endswith("tinyreport: aborted\n")


# Ctrl-C while the CLI's modules load, and after the command has finished.
_INTERRUPTED_IMPORT = """
import builtins, runpy, sys
real = builtins.__import__
def imports(name, *args, **kwargs):
    if name == "click":
        raise KeyboardInterrupt
    return real(name, *args, **kwargs)
builtins.__import__ = imports
sys.argv = ["tinyreport", "--version"]
runpy.run_module("tinyreport", run_name="__main__")
"""

_INTERRUPTED_EXIT = """
import os, runpy, signal, sys, threading, time
def late():  # a thread that outlives the command, as TensorFlow's can
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.5)
threading.Thread(target=late).start()
sys.argv = ["tinyreport", "--version"]
runpy.run_module("tinyreport", run_name="__main__")
"""


def test_ctrl_c_while_the_cli_loads_is_one_line_and_130():
    proc = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_IMPORT], capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "tinyreport: interrupted\n")


def test_ctrl_c_after_the_command_finished_keeps_its_success():
    proc = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_EXIT], capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == f"tinyreport, version {version('tinyreport')}\n"
