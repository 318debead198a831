"""Projects of one's own: `tinyreport init` in an empty folder, a 1-D sensor data set with class
names, a trained .keras, a builder and a pre-converted .tflite, then collect and a strict build;
and the two example projects, end to end."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from e2e import ROOT, figures, mkdocs_build, results, tflm_total_bytes, tinyreport

EXAMPLES = ROOT / "examples"
LABELS = ["idle", "walk", "run"]


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _litert_accuracy(path: Path, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of a .tflite run by LiteRT directly, one sample per invoke."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    correct = 0
    for sample, label in zip(x, y, strict=True):
        value = sample[np.newaxis]
        if inp["dtype"] == np.int8:
            scale, zero = inp["quantization"]
            value = np.clip(np.round(value / scale) + zero, -128, 127).astype(np.int8)
        interpreter.set_tensor(inp["index"], value.astype(inp["dtype"]))
        interpreter.invoke()
        correct += int(np.argmax(interpreter.get_tensor(out["index"])[0]) == label)
    return correct / len(y)


@pytest.mark.slow
def test_init_then_collect_a_sensor_project_with_every_model_source(tmp_path):
    import keras
    import tensorflow as tf

    project = tmp_path / "my-lab"
    project.mkdir()
    init = tinyreport(project, "init", ".")
    assert init.returncode == 0, init.stderr
    # The data: 64 x 3 float windows of three activities, named classes.
    _module(EXAMPLES / "sensor-windows" / "make_data.py").main(project)
    with np.load(project / "data" / "windows.npz") as npz:
        x_train, y_train = npz["x_train"], npz["y_train"]
        x_test, y_test = npz["x_test"], npz["y_test"]
    shutil.copy(EXAMPLES / "sensor-windows" / "sensor_models.py", project / "sensor_models.py")

    # A model trained outside tinyreport, saved as .keras, and its int8 .tflite.
    keras.utils.set_random_seed(3)
    mine = keras.Sequential(
        [
            keras.Input((64, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(12, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    mine.compile("adam", "sparse_categorical_crossentropy")
    mine.fit(x_train, y_train, epochs=2, verbose=0)
    (project / "models").mkdir()
    mine.save(project / "models" / "mine.keras")
    fixed = keras.Sequential([keras.Input((64, 3), batch_size=1), *mine.layers])
    converter = tf.lite.TFLiteConverter.from_keras_model(fixed)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x_train[i : i + 1]] for i in range(100))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    vendor = project / "models" / "vendor_int8.tflite"
    vendor.write_bytes(converter.convert())

    (project / "tinyreport.toml").write_text(
        """\
[dataset]
source = "npz"
path = "data/windows.npz"
labels = ["idle", "walk", "run"]
[training]
epochs = 2
[quantization]
representative_samples = 100
[espdl]
enabled = false   # the ESP-DL variant has tests of its own (tests/test_espdl.py)
[models.built]
kind = "keras"
builder = "sensor_models:build"
[models.mine]
kind = "keras"
path = "models/mine.keras"
[models.vendor]
kind = "tflite"
path = "models/vendor_int8.tflite"
"""
    )
    collect = tinyreport(project, "collect", "-q")
    assert collect.returncode == 0, collect.stderr
    build = mkdocs_build(project)
    assert build.returncode == 0, build.stderr

    r = results(project)
    assert r["dataset"]["labels"] == LABELS and r["dataset"]["input_shape"] == [64, 3]
    models = {m["name"]: m for m in r["models"]}
    assert list(models["built"]["variants"]) == ["keras", "tflite_float", "tflite_int8"]
    assert models["built"]["training"]["epochs"] == 2
    assert models["mine"]["training"] is None  # used as is, not retrained
    assert list(models["vendor"]["variants"]) == ["tflite_int8"]

    # Accuracies equal an independent evaluation: Keras for the .keras file, LiteRT for TFLite.
    keras_acc = float(
        (
            np.argmax(
                keras.models.load_model(project / "models/mine.keras").predict(x_test, verbose=0), 1
            )
            == y_test
        ).mean()  # noqa: E501
    )
    assert models["mine"]["variants"]["keras"]["accuracy"] == round(keras_acc, 6)
    for name, kind in (
        ("vendor", "tflite_int8"),
        ("built", "tflite_int8"),
        ("mine", "tflite_float"),
    ):
        variant = models[name]["variants"][kind]
        expected = _litert_accuracy(project / variant["path"], x_test, y_test)
        assert variant["accuracy"] == round(expected, 6), (name, kind)
    # The vendor file is reported as it is: its own bytes, and TFLM's own arena for it.
    vendor_variant = models["vendor"]["variants"]["tflite_int8"]
    assert vendor_variant["size_bytes"] == vendor.stat().st_size
    assert vendor_variant["arena"]["host_bytes"] == tflm_total_bytes(vendor)

    # Class names reach the pages, the built ones included.
    card = (project / "site" / "report" / "models" / "vendor" / "index.html").read_text()
    assert "classification into 3 classes (idle, walk, run)" in card
    built = (project / "site" / "report" / "models" / "built" / "index.html").read_text()
    assert "&quot;idle&quot;,&quot;walk&quot;,&quot;run&quot;" in built  # confusion axes


@pytest.mark.slow
@pytest.mark.parametrize(
    ("example", "prepare", "models"),
    [
        ("sensor-windows", "make_data.py", {"activity_cnn", "mlp", "conv1d"}),
        ("digits-own-models", "make_models.py", {"separable", "notebook", "notebook_vendor"}),
    ],
)
def test_examples_build_end_to_end(tmp_path, example, prepare, models):
    project = tmp_path / example
    shutil.copytree(EXAMPLES / example, project, ignore=shutil.ignore_patterns("data", "models"))
    import subprocess

    made = subprocess.run(
        [sys.executable, prepare], cwd=project, capture_output=True, text=True, timeout=900
    )
    assert made.returncode == 0, made.stderr
    collect = tinyreport(project, "collect", "-q")
    assert collect.returncode == 0, collect.stderr
    build = mkdocs_build(project)
    assert build.returncode == 0, build.stderr
    r = json.loads((project / "docs" / "data" / "results.json").read_text())
    assert {m["name"] for m in r["models"]} == models
    for m in r["models"]:
        for kind, variant in m["variants"].items():
            assert variant["evaluation"] is not None, (m["name"], kind)
            assert variant["accuracy"] > 1.5 / len(r["dataset"]["labels"]), (m["name"], kind)
    for name in models:
        assert (project / "site" / "report" / "models" / name / "index.html").is_file()


TWO_MODELS = """\
[dataset]
n_train = 300
n_test = 200
[training]
epochs = 1
seed = 5
[quantization]
representative_samples = 20
[models.small]
kind = "mlp"
hidden = [8]
[models.wide]
kind = "mlp"
hidden = [24]
"""


@pytest.mark.slow
def test_jobs_only_and_merge_give_the_results_of_one_plain_collect(tmp_path):
    """Two models: a plain collect, a `--jobs 2` collect, and two `--only` parts merged all
    give the same results file (training, conversion and evaluation are seeded)."""
    runs = {}
    for name in ("plain", "jobs", "parts"):
        root = tmp_path / name
        root.mkdir()
        (root / "tinyreport.toml").write_text(TWO_MODELS)
        runs[name] = root
    assert tinyreport(runs["plain"], "collect", "-q").returncode == 0
    jobs = tinyreport(runs["jobs"], "collect", "-q", "--jobs", "2")
    assert jobs.returncode == 0, jobs.stderr
    assert "rebuilt: small, wide;" in jobs.stdout
    for model in ("small", "wide"):
        part = tinyreport(
            runs["parts"], "collect", "-q", "--only", model, "--results", f"parts/{model}.json",
            "--no-pages",
        )  # fmt: skip
        assert part.returncode == 0, part.stderr
        assert [
            m["name"]
            for m in json.loads((runs["parts"] / f"parts/{model}.json").read_text())["models"]
        ] == [model]  # noqa: E501
    assert not (runs["parts"] / "docs" / "report").exists()
    merged = tinyreport(runs["parts"], "merge", "parts/wide.json", "parts/small.json")
    assert merged.returncode == 0, merged.stderr
    assert "merged 2 files, 2 models" in merged.stdout
    plain = results(runs["plain"])
    assert [m["name"] for m in plain["models"]] == ["small", "wide"]
    assert figures(results(runs["jobs"])) == figures(plain)
    assert figures(results(runs["parts"])) == figures(plain)
    assert (runs["parts"] / "docs" / "report" / "models" / "wide.md").is_file()

    other = json.loads((runs["parts"] / "parts/small.json").read_text())
    other["dataset"]["sha256"] = "0" * 64
    (runs["parts"] / "parts/other.json").write_text(json.dumps(other))
    refused = tinyreport(runs["parts"], "merge", "parts/wide.json", "parts/other.json")
    assert refused.returncode == 2
    assert "parts/other.json was collected with another data set than parts/wide.json" in (
        refused.stderr
    )
    unknown = tinyreport(runs["parts"], "collect", "--only", "tall")
    assert unknown.returncode == 2
    assert "--only names tall, which tinyreport.toml does not define" in unknown.stderr
