"""Model sources and data sets: every bad path, builder or mismatch is one sentence and a
non-zero exit, before anything is written; the config accepts the documented keys only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from e2e import results, tinyreport

from tinyreport.config import parse_config
from tinyreport.errors import ConfigError

GOOD_BUILDER = """\
import keras
def build(input_shape, num_classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x))
"""


def _project(tmp_path, models: str, builder: str | None = None):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y, x_test=x[:100], y_test=y[:100])
    if builder is not None:
        (tmp_path / "mybuild.py").write_text(builder)
    (tmp_path / "tinyreport.toml").write_text(
        '[dataset]\nsource = "npz"\npath = "d.npz"\nlabels = ["low", "high"]\n'
        "[training]\nepochs = 1\n" + models
    )
    return tmp_path


CASES = {
    "missing keras file": (
        '[models.m]\nkind = "keras"\npath = "nope.keras"\n',
        None,
        "model m: keras file nope.keras does not exist",
    ),
    "missing tflite file": (
        '[models.m]\nkind = "tflite"\npath = "nope.tflite"\n',
        None,
        "model m: tflite file nope.tflite does not exist",
    ),
    "builder module missing": (
        '[models.m]\nkind = "keras"\nbuilder = "nothere:build"\n',
        None,
        "model m: builder nothere:build cannot be imported from",
    ),
    "builder raises": (
        '[models.m]\nkind = "keras"\nbuilder = "mybuild:build"\n',
        "def build(input_shape, num_classes):\n    raise RuntimeError('no GPU here')\n",
        "model m: builder mybuild:build raised RuntimeError: no GPU here",
    ),
    "builder returns something else": (
        '[models.m]\nkind = "keras"\nbuilder = "mybuild:build"\n',
        "def build(input_shape, num_classes):\n    return 42\n",
        "model m: builder mybuild:build returned int, not a keras.Model",
    ),
    "builder's model does not take the data": (
        '[models.m]\nkind = "keras"\nbuilder = "mybuild:build"\n',
        GOOD_BUILDER.replace("keras.Input(input_shape)", "keras.Input((28, 28))"),
        "model m: builder mybuild:build returned a model for inputs of shape (28, 28), "
        "the data has (16,)",
    ),
    "keras file that is not one": (
        '[models.m]\nkind = "keras"\npath = "bad.keras"\n',
        None,
        "model m: cannot load bad.keras as a Keras model",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_model_sources_are_one_sentence_and_nothing_is_written(tmp_path, case):
    models, builder, message = CASES[case]
    root = _project(tmp_path, models, builder)
    (root / "bad.keras").write_bytes(b"PK\x03\x04 not really a zip")
    proc = tinyreport(root, "collect", "-q")
    # A builder is configuration (exit 2); a model file that is missing or unreadable, 1.
    assert proc.returncode == (2 if "builder" in case else 1), proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (root / "docs" / "data" / "results.json").exists()


def test_config_model_kinds_take_exactly_their_keys():
    ok = parse_config(
        {
            "models": {
                "a": {"kind": "keras", "path": "m.keras"},
                "b": {"kind": "keras", "builder": "pkg.mod:make", "epochs": 3},
                "c": {"kind": "tflite", "path": "m.tflite"},
            }
        }
    )
    assert ok.models["b"].builder == "pkg.mod:make" and ok.epochs_for("b") == 3
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "models": {
                    "a": {"kind": "keras"},
                    "b": {"kind": "keras", "path": "m.keras", "builder": "x:y"},
                    "c": {"kind": "tflite", "path": "m.onnx"},
                    "d": {"kind": "keras", "path": "m.keras", "epochs": 2},
                    "e": {"kind": "keras", "builder": "not a function"},
                }
            }
        )
    lines = str(err.value).splitlines()[1:]
    assert len(lines) == 5
    assert any(
        line.startswith("Config value 'models.a': ") and "exactly one" in line for line in lines
    )
    assert any(
        line.startswith("Config value 'models.b': ") and "exactly one" in line for line in lines
    )
    assert any(line.startswith("Config value 'models.c.path': ") for line in lines)
    assert any(line.startswith("Config value 'models.d': ") and "epochs" in line for line in lines)
    assert any(line.startswith("Config value 'models.e.builder': ") for line in lines)


def test_dataset_labels_must_name_every_label(tmp_path):
    root = _project(tmp_path, '[models.m]\nkind = "mlp"\nhidden = [4]\n')
    text = (root / "tinyreport.toml").read_text().replace('["low", "high"]', '["only"]')
    (root / "tinyreport.toml").write_text(text)
    proc = tinyreport(root, "collect", "-q")
    assert proc.returncode == 2
    assert "Config value 'dataset.labels': List should have at least 2 items" in proc.stderr


@pytest.mark.slow
def test_float_sensor_data_trains_a_builtin_cnn_with_1d_convolutions(tmp_path):
    root = _project(tmp_path, '[models.m]\nkind = "cnn"\nfilters = [4]\ndense = 8\n')
    proc = tinyreport(root, "collect", "-q")
    assert proc.returncode == 0, proc.stderr
    model = results(root)["models"][0]
    assert model["architecture"][0].startswith("Reshape -> 16x1")
    assert model["architecture"][1].startswith("Conv1D -> 14x4")
    assert results(root)["dataset"]["labels"] == ["low", "high"]


@pytest.mark.parametrize(
    ("name", "labels", "y_shape"),
    [
        ("fashion_mnist", ["T-shirt/top", "Trouser", "Pullover"], (30,)),
        ("cifar10", ["airplane", "automobile", "bird"], (30, 1)),  # CIFAR's labels are columns
    ],
)
def test_keras_data_sets_by_name_with_their_class_names(monkeypatch, name, labels, y_shape):
    """`source = "keras"` with a name loads through keras.datasets (stubbed here: no network),
    names the classes as Keras documents them, and hashes the arrays for the cache key."""
    import keras

    from tinyreport.config import DatasetConfig
    from tinyreport.dataset import load_dataset, resolve_source

    rng = np.random.default_rng(1)
    shape = (28, 28) if name == "fashion_mnist" else (32, 32, 3)
    x = rng.integers(0, 256, (30, *shape), dtype=np.uint8)
    y = (np.arange(30) % 10).reshape(y_shape)
    calls = []

    def load_data():
        calls.append(name)
        return (x, y), (x[:20], y[:20])

    monkeypatch.setattr(getattr(keras.datasets, name), "load_data", load_data)
    cfg = DatasetConfig(source="keras", name=name, n_train=25, n_test=20)
    source = resolve_source(cfg, Path("."))
    assert source.keras_name == name and source.path is None
    data = load_dataset(cfg, source)
    assert data.labels[:3] == labels and data.n_classes == 10
    assert data.input_shape == shape and data.y_train.shape == (25,)
    assert len(source.sha256) == 64 and calls == [name, name]
    y_changed = y.copy()
    y_changed.flat[0] = 9
    monkeypatch.setattr(
        getattr(keras.datasets, name), "load_data", lambda: ((x, y_changed), (x[:20], y[:20]))
    )
    assert resolve_source(cfg, Path(".")).sha256 != source.sha256  # another data set, another key
