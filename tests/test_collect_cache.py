"""Collect's model store: a damaged stored file is named, and nothing collected is lost."""

import errno
import subprocess
import sys
from pathlib import Path

import pytest
from e2e import TINY_CONFIG

from tinyreport.config import load_config
from tinyreport.dataset import resolve_source
from tinyreport.errors import ModelFileError
from tinyreport.pipeline.collect import _load_trained, plan

CONFIG = TINY_CONFIG


def _cached_training(tmp_path, training_json: bytes, keras_file: bytes = b"not a model"):
    """Write a project whose MLP has a stored (fake) trained model; return its config, plan."""
    cfg = tmp_path / "tinyreport.toml"
    cfg.write_text(CONFIG)
    config = load_config(cfg)
    (p,) = plan(config, resolve_source(config.dataset, config.root))
    p.train_dir.mkdir(parents=True)
    p.keras_path.write_bytes(keras_file)
    (p.train_dir / "training.json").write_bytes(training_json)
    return cfg, p


@pytest.mark.parametrize(
    "training_json",
    [b"{}", b"[]", b"", b"not json", b'{"final_loss": "0.1"}', b'{"final_loss": true}', b"\xff"],
)
def test_damaged_training_json_is_named(tmp_path, training_json):
    _, p = _cached_training(tmp_path, training_json)
    with pytest.raises(ModelFileError) as err:
        _load_trained(p)
    assert str(err.value) == (
        f"{p.train_dir / 'training.json'} is damaged: it should hold "
        '{"final_loss": <number>, ...}; run `tinyreport collect --retrain mlp` to train the '
        "model again"
    )


def test_damaged_model_file_is_named(tmp_path):
    _, p = _cached_training(tmp_path, b'{"final_loss": 0.25}')
    with pytest.raises(ModelFileError) as err:
        _load_trained(p)
    assert str(err.value).startswith(f"cannot read {p.keras_path} (")
    assert str(err.value).endswith(
        "); run `tinyreport collect --retrain mlp` to train the model again"
    )


def test_damaged_training_json_through_the_cli_leaves_the_results_alone(tmp_path):
    cfg, p = _cached_training(tmp_path, b"{}\n")
    results = tmp_path / "docs" / "data" / "results.json"
    results.parent.mkdir(parents=True)
    results.write_text('{"format": 1, "tinyreport_version": "0.1.0"}\n')
    proc = subprocess.run(
        [sys.executable, "-m", "tinyreport", "collect", "--config", str(cfg), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    training_json = p.train_dir / "training.json"
    assert (proc.returncode, proc.stderr) == (
        1,
        f"tinyreport: error: {training_json} is damaged: "
        'it should hold {"final_loss": <number>, ...}; run `tinyreport collect --retrain mlp` '
        "to train the model again\n",
    )
    assert results.read_text() == '{"format": 1, "tinyreport_version": "0.1.0"}\n'
    assert training_json.read_bytes() == b"{}\n"


class _FillsTheDisk:
    """A model whose save runs out of space half-way: the failing write names no file."""

    def save(self, path):
        Path(path).write_bytes(b"PK\x03\x04 half a .keras file")
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_saving_the_model_names_it_and_leaves_nothing(tmp_path, monkeypatch):
    from tinyreport.errors import OutputError
    from tinyreport.pipeline import collect as collect_mod
    from tinyreport.pipeline import train

    cfg = tmp_path / "tinyreport.toml"
    cfg.write_text(CONFIG)
    config = load_config(cfg)
    (p,) = plan(config, resolve_source(config.dataset, config.root))
    monkeypatch.setattr(train, "seed_everything", lambda seed: None)
    monkeypatch.setattr(train, "build_model", lambda *args: _FillsTheDisk())
    monkeypatch.setattr(train, "train", lambda model, *args, **kwargs: (model, 0.5))
    with pytest.raises(OutputError) as err:
        collect_mod.collect(config)
    keras_file = p.keras_path.relative_to(tmp_path).as_posix()
    assert str(err.value) == (
        f"cannot write the artifacts of model mlp: {keras_file} (no space left on the device)"
    )
    assert sorted(x.name for x in p.train_dir.iterdir()) == []  # no .model.tmp.keras
    assert not (tmp_path / "docs").exists()


def test_artifacts_behind_a_symlink_are_named_relative_to_the_project(tmp_path):
    """A project whose artifacts folder links elsewhere still writes project-relative paths:
    the results file never names the machine's folders."""
    from tinyreport.pipeline.collect import _rel

    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "mlp").mkdir(parents=True)
    root = tmp_path / "project"
    root.mkdir()
    (root / "artifacts").symlink_to(elsewhere)
    resolved = (root / "artifacts" / "mlp" / "int8.tflite").resolve()
    assert resolved.is_relative_to(elsewhere)
    assert _rel(resolved, root.resolve()) == "artifacts/mlp/int8.tflite"
    assert _rel(tmp_path / "other" / "x", root.resolve()) == (tmp_path / "other" / "x").as_posix()
