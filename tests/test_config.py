"""The config schema: defaults, every error at once with its key, unknown keys, strict types."""

import subprocess
import sys
from pathlib import Path

import pytest

from tinyreport.config import load_config, parse_config, reference
from tinyreport.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_repository_config_is_valid_and_matches_the_documented_models():
    config = load_config(ROOT / "tinyreport.toml")
    assert config.board == "xiao-esp32s3"
    assert list(config.models) == ["mlp", "cnn"]
    assert config.models["mlp"].hidden == [128, 64]
    assert config.models["cnn"].filters == [8, 16]
    assert config.epochs_for("mlp") == config.training.epochs == 10
    assert config.root == ROOT


def test_every_problem_is_reported_at_once_with_its_key():
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "training": {"epochs": 0, "speed": "fast"},
                "dataset": {"source": "npz"},
                "models": {"mlp": {"kind": "mlp", "hidden": [0]}, "x": {"kind": "rnn"}},
            }
        )
    lines = str(err.value).splitlines()[1:]
    assert "Config value 'training.epochs': Input should be greater than or equal to 1" in lines
    assert "Config value 'training.speed': unknown key" in lines
    assert any(line.startswith("Config value 'dataset': ") and "path" in line for line in lines)
    assert "Config value 'models.mlp.hidden.0': Input should be greater than or equal to 1" in lines
    assert any(line.startswith("Config value 'models.x': ") for line in lines)
    assert len(lines) == 5


def test_unknown_board_is_reported_with_the_known_ones():
    with pytest.raises(ConfigError) as err:
        parse_config({"board": "esp12", "models": {"m": {"kind": "mlp"}}})
    assert "Config value 'board': Value error, unknown board; choose one of: " in str(err.value)
    assert "xiao-esp32s3" in str(err.value)


def test_unknown_top_level_key_and_empty_models():
    with pytest.raises(ConfigError) as err:
        parse_config({"bord": "esp32", "models": {}})
    text = str(err.value)
    assert "Config value 'bord': unknown key" in text
    assert "Config value 'models':" in text


def test_model_epochs_override_training_epochs():
    config = parse_config(
        {
            "training": {"epochs": 3},
            "models": {"a": {"kind": "mlp", "epochs": 7}, "b": {"kind": "cnn"}},
        }
    )
    assert config.epochs_for("a") == 7
    assert config.epochs_for("b") == 3


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="no configuration file at"):
        load_config(tmp_path / "tinyreport.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("board = \n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(bad)


def test_reference_lists_every_key_with_default():
    sections = {s["title"]: s for s in reference()}
    training = {row["key"]: row for row in sections["[training]"]["rows"]}
    assert training["epochs"]["default"] == "10"
    assert "≥ 1" in training["epochs"]["constraints"]
    assert training["seed"]["constraints"] == "≥ 0, ≤ 4294967295"
    dataset = {row["key"]: row for row in sections["[dataset]"]["rows"]}
    assert dataset["path"]["type"] == "str or None"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinyreport", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["collect", "firmware"])
@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ('board = "café"\n'.encode("utf-16"), "is UTF-16 text"),
        ('# cafe\nboard = "café"\n'.encode("latin-1"), "is not UTF-8 (byte 0xe9 on line 2)"),
    ],
    ids=["utf-16", "latin-1"],
)
def test_config_that_is_not_utf8_is_a_config_error(tmp_path, command, raw, why):
    cfg = tmp_path / "u.toml"
    cfg.write_bytes(raw)
    proc = _cli(command, "--config", str(cfg))
    assert proc.returncode == 2
    assert proc.stderr == (
        f"tinyreport: error: {cfg} {why}; a configuration must be UTF-8 TOML, so save it as UTF-8\n"
    )


def test_utf8_byte_order_mark_and_crlf_line_ends_are_accepted(tmp_path):
    cfg = tmp_path / "bom.toml"
    cfg.write_bytes(b'\xef\xbb\xbfboard = "xiao-esp32s3"\r\n[models.m]\r\nkind = "mlp"\r\n')
    assert list(load_config(cfg).models) == ["m"]


def test_seed_is_bounded_by_what_numpy_accepts():
    models = {"m": {"kind": "mlp"}}
    assert parse_config({"training": {"seed": 2**32 - 1}, "models": models}).training.seed
    with pytest.raises(ConfigError) as err:
        parse_config({"training": {"seed": 2**32}, "models": models})
    assert str(err.value).splitlines()[1:] == [
        "Config value 'training.seed': Input should be less than or equal to 4294967295"
    ]


def test_seed_out_of_range_through_the_cli(tmp_path):
    cfg = tmp_path / "tinyreport.toml"
    cfg.write_text('[training]\nseed = 4294967296\n[models.mlp]\nkind = "mlp"\n')
    proc = _cli("collect", "--config", str(cfg))
    assert proc.returncode == 2
    assert proc.stderr == (
        "tinyreport: error: invalid configuration:\n"
        "Config value 'training.seed': Input should be less than or equal to 4294967295\n"
    )


def test_wrong_types_are_not_coerced():
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "dataset": {"n_test": "100", "n_train": 200.0},
                "training": {"epochs": True, "learning_rate": "0.1", "batch_size": 1.5},
                "quantization": {"representative_samples": False},
                "output": {"docs_dir": 5},
                "models": {
                    "a": {"kind": "mlp", "hidden": [True, 2], "epochs": "3"},
                    "b": {"kind": "cnn", "filters": "8", "dense": [32]},
                },
            }
        )
    assert str(err.value).splitlines()[1:] == [
        "Config value 'dataset.n_train': Input should be a valid integer, got 200.0",
        "Config value 'dataset.n_test': Input should be a valid integer, got \"100\"",
        "Config value 'training.epochs': Input should be a valid integer, got true",
        "Config value 'training.batch_size': Input should be a valid integer, got 1.5",
        "Config value 'training.learning_rate': Input should be a valid number, got \"0.1\"",
        "Config value 'quantization.representative_samples': Input should be a valid integer, "
        "got false",
        "Config value 'output.docs_dir': Input should be a valid string, got 5",
        "Config value 'models.a.hidden.0': Input should be a valid integer, got true",
        "Config value 'models.a.epochs': Input should be a valid integer, got \"3\"",
        "Config value 'models.b.filters': Input should be a valid list, got \"8\"",
        "Config value 'models.b.dense': Input should be a valid integer, got an array",
    ]


def test_float_keys_take_integers_but_not_booleans_or_nan():
    models = {"m": {"kind": "mlp"}}
    config = parse_config({"training": {"learning_rate": 1}, "models": models})
    assert config.training.learning_rate == 1.0
    assert isinstance(config.training.learning_rate, float)
    for value, msg in [
        (True, "Input should be a valid number, got true"),
        (float("nan"), "Input should be a finite number"),
        (float("inf"), "Input should be a finite number"),
    ]:
        with pytest.raises(ConfigError) as err:
            parse_config({"training": {"learning_rate": value}, "models": models})
        assert str(err.value).splitlines()[1:] == [f"Config value 'training.learning_rate': {msg}"]


def test_boolean_epochs_through_the_cli_is_a_config_error(tmp_path):
    cfg = tmp_path / "tinyreport.toml"
    cfg.write_text(
        '[dataset]\nn_test = "100"\n[training]\nepochs = true\n'
        '[models.mlp]\nkind = "mlp"\nhidden = [true]\n'
    )
    proc = _cli("collect", "--config", str(cfg))
    assert proc.returncode == 2
    assert proc.stderr == (
        "tinyreport: error: invalid configuration:\n"
        "Config value 'dataset.n_test': Input should be a valid integer, got \"100\"\n"
        "Config value 'training.epochs': Input should be a valid integer, got true\n"
        "Config value 'models.mlp.hidden.0': Input should be a valid integer, got true\n"
    )
