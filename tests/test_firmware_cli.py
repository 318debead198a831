"""`tinyreport firmware` on bad input: a results file of the wrong shape, one collected with
another configuration, an output folder that cannot be written. One sentence, no traceback,
refused before the long work (host TFLM, test vectors)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from e2e import TINY_CONFIG

from tinyreport.config import load_config
from tinyreport.dataset import MNIST_SHA256
from tinyreport.device import firmware

HAVE_SYSFS = Path("/sys/kernel").is_dir()  # sysfs refuses new files, even to root

CONFIG = TINY_CONFIG


def _variant(name: str) -> dict:
    return {"path": f"artifacts/mlp/{name}.tflite", "sha256": "0" * 64, "size_bytes": 1}


def _results(config_text: str = CONFIG, tmp: Path | None = None, **changes) -> dict:
    """A results file as collect writes it for `config_text` (the parts firmware reads)."""
    entry = {
        "name": "mlp",
        "kind": "mlp",
        "training": {
            "epochs": 1,
            "batch_size": 32,
            "seed": 42,
            "learning_rate": 0.001,
            "n_train": 100,
            "representative_samples": 100,
        },
        "variants": {"tflite_int8": _variant("int8"), "tflite_float": _variant("float")},
    }
    if tmp is not None:  # record the model's config section as collect does
        (tmp / "keyed.toml").write_text(config_text)
        config = load_config(tmp / "keyed.toml")
        entry["config"] = config.models["mlp"].model_dump()
    data = {
        "format": 2,
        "board": "xiao-esp32s3",
        "dataset": {"sha256": MNIST_SHA256, "n_train": 100, "n_test": 100},
        "models": [entry],
    }
    data.update(changes)
    return data


def _project(tmp_path: Path, results: object, config: str = CONFIG) -> Path:
    (tmp_path / "tinyreport.toml").write_text(config)
    path = tmp_path / "docs" / "data" / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results))
    return tmp_path


def _generate(root: Path, out: Path | None = None) -> str:
    with pytest.raises(firmware.FirmwareError) as exc:
        firmware.generate(load_config(root / "tinyreport.toml"), n_vectors=2, out=out)
    return str(exc.value)


def _without(data: dict, *keys) -> dict:
    """`data` with the key at the end of the path `keys` removed."""
    data = json.loads(json.dumps(data))
    inner = data
    for key in keys[:-1]:
        inner = inner[key]
    del inner[keys[-1]]
    return data


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinyreport", "firmware", *args],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
    )


# --- the shape of the results file ------------------------------------------------------------


@pytest.mark.parametrize(
    ("results", "problem"),
    [
        ([], "it holds a list, not an object"),
        ({"format": 1}, "format 1, not 2"),
        (_without(_results(), "dataset"), "no 'dataset'"),
        (_without(_results(), "dataset", "sha256"), "no 'dataset.sha256'"),
        (_results(models=[]), "no models"),
        (_results(models={"mlp": {}}), "'models' is an object"),
        (_results(models=["mlp"]), "'models[0]' is a string"),
        (_without(_results(), "models", 0, "name"), "no 'models[0].name'"),
        (_without(_results(), "models", 0, "variants"), "no 'models[0].variants'"),
        (
            _without(_results(), "models", 0, "variants", "tflite_int8", "path"),
            "no 'models[0].variants.tflite_int8.path'",
        ),
        (
            _results(models=[{"name": "mlp", "variants": {"keras": {}}}]),
            "'models[0].variants' has neither tflite_int8 nor tflite_float",
        ),
        (
            _results(models=[{"name": "mlp", "variants": {"tflite_int8": {"path": 3}}}]),
            "'models[0].variants.tflite_int8.path' is a number",
        ),
        (_results(board=["esp32"]), "'board' is a list"),
    ],
)
def test_a_results_file_of_the_wrong_shape_says_so(tmp_path, results, problem):
    root = _project(tmp_path, results)
    assert _generate(root) == (
        f"docs/data/results.json is not a tinyreport results file ({problem}); "
        "run `tinyreport collect`."
    )


def test_cli_wrong_shape_is_one_line_without_traceback(tmp_path):
    root = _project(tmp_path, _without(_results(), "dataset"))
    proc = cli(root)
    assert proc.returncode == 1
    assert proc.stderr == (
        "tinyreport: error: docs/data/results.json is not a tinyreport results file "
        "(no 'dataset'); run `tinyreport collect`.\n"
    )


# --- results collected with another configuration ---------------------------------------------


@pytest.mark.parametrize(
    ("config", "difference"),
    [
        (CONFIG.replace("xiao-esp32s3", "esp32"), "board xiao-esp32s3, not esp32"),
        (CONFIG + '[models.cnn]\nkind = "cnn"\n', "models mlp, not cnn, mlp"),
        (CONFIG.replace("models.mlp", "models.small"), "models mlp, not small"),
        (CONFIG.replace("epochs = 1", "epochs = 3"), "model mlp: epochs 1, not 3"),
        (CONFIG.replace("n_test = 100", "n_test = 200"), "model mlp: n_test 100, not 200"),
        (CONFIG.replace("[16]", "[32]"), "model mlp: hidden [16], not [32]"),
        (
            CONFIG.replace("xiao-esp32s3", "esp32").replace("[16]", "[32]"),
            "board xiao-esp32s3, not esp32; model mlp: hidden [16], not [32]",
        ),
    ],
)
def test_results_of_another_configuration_are_refused(tmp_path, config, difference):
    root = _project(tmp_path, _results(tmp=tmp_path), config)
    assert _generate(root) == (
        f"docs/data/results.json was collected with a different configuration ({difference}); "
        "run `tinyreport collect` first."
    )


def test_results_of_this_configuration_pass_the_check(tmp_path):
    """The same configuration gets past the comparison (to the missing artifacts here)."""
    root = _project(tmp_path, _results(tmp=tmp_path))
    assert _generate(root) == (
        "artifacts/mlp/int8.tflite (listed in results.json) does not exist; "
        "run `tinyreport collect` first."
    )


def test_results_without_board_or_model_config_are_compared_on_what_they_record(tmp_path):
    """A hand-made file: no board (the default one) and no model config sections."""
    results = _without(_results(), "board")
    root = _project(tmp_path, results, CONFIG.replace("[16]", "[32]"))
    assert "does not exist; run `tinyreport collect` first." in _generate(root)
    root = _project(tmp_path, results, CONFIG.replace("epochs = 1", "epochs = 5"))
    assert "(model mlp: epochs 1, not 5)" in _generate(root)
    root = _project(tmp_path, results, CONFIG.replace("xiao-esp32s3", "esp32"))
    assert "(board xiao-esp32s3, not esp32)" in _generate(root)


def test_cli_stale_config_is_one_line_without_traceback(tmp_path):
    root = _project(tmp_path, _results(tmp=tmp_path))
    stale = CONFIG.replace("xiao-esp32s3", "esp32").replace("[16]", "[32]")
    (root / "stale.toml").write_text(stale)
    proc = cli(root, "--config", "stale.toml")
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        "tinyreport: error: docs/data/results.json was collected with a different "
        "configuration (board xiao-esp32s3, not esp32; model mlp: "
    )
    assert proc.stderr.endswith("; run `tinyreport collect` first.\n")
    assert proc.stderr.count("\n") == 1


# --- an output folder that cannot be written --------------------------------------------------


def test_an_out_under_a_file_is_refused_first(tmp_path):
    root = _project(tmp_path, _results(tmp=tmp_path))
    (root / "blocker").write_text("a file\n")
    out = root / "blocker" / "generated"
    assert _generate(root, out) == (
        f"Cannot write the sources to {out}: {root / 'blocker'} is a file, not a folder; "
        "pick another --out."
    )


@pytest.mark.skipif(not HAVE_SYSFS, reason="needs Linux sysfs")
def test_cli_out_in_an_unwritable_folder_is_one_line(tmp_path):
    root = _project(tmp_path, _results(tmp=tmp_path))
    proc = cli(root, "--out", "/sys/tinyreport-generated")
    assert proc.returncode == 1
    assert proc.stderr == (
        "tinyreport: error: Cannot write the sources to /sys/tinyreport-generated: /sys is not "
        "writable (permission denied); pick another --out.\n"
    )


def test_a_write_that_fails_late_is_one_clear_error(tmp_path, monkeypatch):
    """Past the checks (the folder became unwritable meanwhile): still one sentence."""
    root = _project(tmp_path, _results(tmp=tmp_path))
    monkeypatch.setattr(firmware, "first_test_images", lambda config, n: (None, None, MNIST_SHA256))
    monkeypatch.setattr(firmware, "gather", lambda *args: [])
    monkeypatch.setattr(firmware, "render", lambda models: {"sources.cmake": "x\n"})

    def denied(files, out, also=None):
        raise PermissionError(13, "Permission denied", str(out / "sources.cmake"))

    monkeypatch.setattr(firmware, "write", denied)
    out = root / "gen"
    assert _generate(root, out) == (
        f"Cannot write {out / 'sources.cmake'} (permission denied); pick another --out."
    )


# --- files tinyreport did not write; a write that fails half-way --------------------------------


def test_an_out_holding_a_hand_written_file_is_refused_before_the_long_work(tmp_path, monkeypatch):
    root = _project(tmp_path, _results(tmp=tmp_path))
    out = root / "src"
    out.mkdir()
    (out / "models.h").write_text("// my own models.h\n")

    def long_work(*args):
        raise AssertionError("the test images were loaded before the check")

    monkeypatch.setattr(firmware, "first_test_images", long_work)
    assert _generate(root, out) == (
        f"{out / 'models.h'} was not written by `tinyreport firmware` (its first line is not the "
        "generated mark); move it, or pick another --out."
    )
    assert (out / "models.h").read_text() == "// my own models.h\n"
    assert sorted(p.name for p in out.iterdir()) == ["models.h"]


def _generated(text: str) -> dict[str, str]:
    names = ["models.h", "models.cc", "resolvers.h", "model_a_int8.cc"]
    return {name: f"{firmware.MARKER}\n// {name} {text}\n" for name in names}


def test_the_files_are_written_as_a_set_a_full_disk_changes_nothing(tmp_path, monkeypatch):
    from tinyreport import fsutil
    from tinyreport.errors import OutputError

    out = tmp_path / "generated"
    firmware.write(_generated("old"), out)
    before = {p.name: p.read_text() for p in out.iterdir()}
    stage, calls = fsutil._stage, []

    def disk_full(path, raw):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(path))
        return stage(path, raw)

    monkeypatch.setattr(fsutil, "_stage", disk_full)
    with pytest.raises(OutputError) as err:
        firmware.write(_generated("new"), out)
    assert str(err.value) == (
        f"cannot write {calls[2]} (no space left on the device); nothing was changed"
    )
    assert {p.name: p.read_text() for p in out.iterdir()} == before  # no mix, no temporary file


def test_write_replaces_only_its_own_files(tmp_path):
    out = tmp_path / "generated"
    firmware.write(_generated("old"), out)
    (out / "resolvers.h").write_text("// mine now\n")
    (out / "notes.txt").write_text("mine\n")
    with pytest.raises(firmware.FirmwareError, match="resolvers.h was not written by"):
        firmware.write(_generated("new"), out)
    assert (out / "models.h").read_text().endswith("old\n")
    (out / "resolvers.h").unlink()
    changed = firmware.write({"models.h": _generated("new")["models.h"]}, out)
    assert changed == ["models.h", "model_a_int8.cc", "models.cc"]  # stale generated ones go
    assert sorted(p.name for p in out.iterdir()) == ["models.h", "notes.txt"]
