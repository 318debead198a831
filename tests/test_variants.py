"""Optimization variants: the converter's other modes, pruning, distillation, and what each
costs the cache of projects that do not ask for them."""

from __future__ import annotations

import pytest
from e2e import make_project, mkdocs_build, results, tinyreport

from tinyreport.config import parse_config
from tinyreport.dataset import resolve_source
from tinyreport.errors import ConfigError
from tinyreport.pipeline.collect import QAT_NOT_BUILT, plan

BASE = {"dataset": {"n_train": 100, "n_test": 100}, "training": {"epochs": 1}}


def _plans(models: dict):
    config = parse_config({**BASE, "models": models})
    return {p.name: p for p in plan(config, resolve_source(config.dataset, config.root))}


def test_optimize_keys_change_the_result_key_not_the_training():
    plain = _plans({"cnn": {"kind": "cnn"}})["cnn"]
    more = _plans({"cnn": {"kind": "cnn", "optimize": ["float16"], "sparsity": 0.7}})["cnn"]
    assert more.train_key == plain.train_key  # the same trained model is reused
    assert more.result_key != plain.result_key


def test_a_student_is_keyed_by_its_teacher():
    a = _plans({"cnn": {"kind": "cnn"}, "s": {"kind": "cnn", "teacher": "cnn"}})
    b = _plans({"cnn": {"kind": "cnn", "dense": 16}, "s": {"kind": "cnn", "teacher": "cnn"}})
    alone = _plans({"cnn": {"kind": "cnn"}, "s": {"kind": "cnn"}})
    assert a["s"].train_key != b["s"].train_key
    assert a["s"].train_key != alone["s"].train_key
    assert a["cnn"].train_key == alone["cnn"].train_key


@pytest.mark.parametrize(
    ("models", "message"),
    [
        (
            {"s": {"kind": "cnn", "teacher": "cnn"}, "cnn": {"kind": "cnn"}},
            "models.s.teacher: 'cnn' must name a model defined above s",
        ),
        (
            {"t": {"kind": "tflite", "path": "m.tflite"}, "s": {"kind": "cnn", "teacher": "t"}},
            "models.s.teacher: 't' is a .tflite model; a teacher needs a Keras model",
        ),
    ],
)
def test_a_teacher_must_be_a_keras_model_defined_above(models, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({**BASE, "models": models})


def test_optimize_takes_only_known_modes():
    with pytest.raises(ConfigError) as err:
        parse_config({**BASE, "models": {"cnn": {"kind": "cnn", "optimize": ["fp16"]}}})
    assert "Config value 'models.cnn.optimize.0': Input should be 'qat', 'prune'" in str(err.value)


CONVERTER_MODES = """\
[espdl]
enabled = false
[dataset]
n_train = 400
n_test = 200
[training]
epochs = 2
[models.cnn]
kind = "cnn"
optimize = ["float16", "dynamic", "int16x8", "prune", "qat"]
sparsity = 0.6
"""


@pytest.mark.slow
def test_the_converter_modes_are_measured_or_refused_with_tflm_reason(tmp_path):
    root = make_project(tmp_path / "p", CONVERTER_MODES)
    run = tinyreport(root, "collect")
    assert run.returncode == 0, run.stderr
    model = results(root)["models"][0]
    v = model["variants"]
    # QAT is not built, and the results say why (no Keras 3 path to an int8 TFLite model).
    assert model["skipped"] == {"tflite_qat_int8": QAT_NOT_BUILT}
    assert set(v) == {
        "keras",
        "tflite_float",
        "tflite_int8",
        "tflite_float16",
        "tflite_dynamic_int8",
        "tflite_int16x8",
        "tflite_pruned_int8",
    }
    # float16 halves the weights: the file is about half the float one (flatbuffer overhead).
    assert 0.45 < v["tflite_float16"]["size_bytes"] / v["tflite_float"]["size_bytes"] < 0.6
    # Dynamic-range int8 weights: about the int8 file's size.
    assert 0.9 < v["tflite_dynamic_int8"]["size_bytes"] / v["tflite_int8"]["size_bytes"] < 1.1
    # Every variant is evaluated on the same 200 test images.
    assert {x["evaluation"]["n_samples"] for x in v.values()} == {200}
    # float16 weights lose nothing at this accuracy; dynamic-range within a point of float.
    assert abs(v["tflite_float16"]["accuracy"] - v["tflite_float"]["accuracy"]) <= 0.01
    assert abs(v["tflite_dynamic_int8"]["accuracy"] - v["tflite_float"]["accuracy"]) <= 0.02
    # Each variant's predictions against float TFLite's, on the same images.
    for kind in ("tflite_float16", "tflite_dynamic_int8", "tflite_int16x8"):
        assert 0.95 <= v[kind]["details"]["agreement_float"] <= 1.0
    assert v["tflite_float16"]["details"]["agreement_float"] >= 0.99
    assert 0.5 <= v["tflite_pruned_int8"]["details"]["agreement_float"] < 1.0  # fine-tuned
    # int16 activations: twice the int8 activation bytes, so a larger arena, measured by TFLM.
    assert v["tflite_int16x8"]["arena"]["host_bytes"] > v["tflite_int8"]["arena"]["host_bytes"]
    assert v["tflite_int16x8"]["no_arena"] is None
    assert v["tflite_int16x8"]["analysis"]["arena"]["host_bytes"] > 0
    # TFLM refuses float16 and hybrid models: no arena, no analysis, TFLM's own words.
    for kind, said in (
        ("tflite_float16", "Node DEQUANTIZE (number 0) failed to prepare"),
        ("tflite_dynamic_int8", "Hybrid models are not supported on TFLite Micro"),
    ):
        assert v[kind]["arena"] is None and v[kind]["analysis"] is None
        assert v[kind]["no_arena"].startswith("TFLM refuses it: ")
        assert said in v[kind]["no_arena"]
        assert "/" + root.name not in v[kind]["no_arena"]  # no absolute path in the results
    page = (root / "docs" / "report" / "models" / "cnn.md").read_text()
    assert "float16 TFLite has no arena, budget or latency: TFLM refuses it" in page
    assert "QAT int8 TFLite: not built: quantization-aware training in TensorFlow" in page
    # The comparison page has every variant, and the site builds strict with it.
    compare = (root / "docs" / "report" / "compare" / "optimizations.md").read_text()
    assert compare.count("| cnn | ") == 6  # float, float16, dynamic, int8, pruned, int16x8
    assert "| cnn | pruned int8 TFLite |" in compare
    # The latency model is fitted on int8 kernels: no figure for int16 activations.
    (row,) = [line for line in compare.splitlines() if line.startswith("| cnn | int16x8")]
    assert "no prediction (int16 kernels: the model is fitted on int8 ones)" in row
    build = mkdocs_build(root)
    assert build.returncode == 0, build.stderr
    assert (root / "site" / "report" / "compare" / "optimizations" / "index.html").is_file()
    # Pruning: 60 % of the kernels are zero, measured; the raw file is as large as int8, but
    # gzip, which sees the zeros, shrinks it more than the unpruned int8 file.
    pruned, int8 = v["tflite_pruned_int8"], v["tflite_int8"]
    assert pruned["details"]["sparsity"] == pytest.approx(0.6, abs=0.001)
    assert pruned["details"]["target_sparsity"] == 0.6
    assert pruned["size_bytes"] == int8["size_bytes"]
    assert pruned["details"]["gzip_bytes"] < 0.85 * int8["details"]["gzip_bytes"]
    assert int8["details"]["gzip_bytes"] < int8["size_bytes"]
    assert abs(pruned["accuracy"] - int8["accuracy"]) <= 0.05
    assert pruned["arena"]["host_bytes"] == int8["arena"]["host_bytes"]
    assert "of the\npruned layers' kernel weights are zero" in page
    # The zeros survive conversion: int8 weights of zero (symmetric, zero point 0).
    assert _zero_share(root / pruned["path"]) > 0.55 > _zero_share(root / int8["path"])


def _zero_share(path) -> float:
    """Share of zeros among the weights (int8 constant tensors of rank 2 and more) of a file."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    from tinyreport.analysis.tflite_reader import read_model

    constants = [
        i
        for i, t in enumerate(read_model(path).tensors)
        if t.is_constant and t.dtype == "INT8" and len(t.shape) >= 2
    ]
    interpreter = Interpreter(model_path=str(path))
    weights = np.concatenate([interpreter.get_tensor(i).ravel() for i in constants])
    return float((weights == 0).mean())


DISTILLATION = """\
[espdl]
enabled = false
[dataset]
n_train = 1000
n_test = 200
[training]
epochs = 5
[models.teacher]
kind = "mlp"
hidden = [64]
[models.student]
kind = "mlp"
hidden = [16]
teacher = "teacher"
alpha = 0.2
temperature = 4.0
[models.alone]
kind = "mlp"
hidden = [16]
"""


@pytest.mark.slow
def test_a_student_is_trained_from_its_teacher_and_compared_with_itself_alone(tmp_path):
    root = make_project(tmp_path / "p", DISTILLATION)
    # Two at a time: the student waits for its teacher, the others do not.
    run = tinyreport(root, "collect", "--jobs", "2")
    assert run.returncode == 0, run.stderr
    models = {m["name"]: m for m in results(root)["models"]}
    record = models["student"]["distillation"]
    alone = models["alone"]["variants"]["keras"]["accuracy"]
    # "alone" is the student's section without a teacher: same seed and epochs, so the student
    # trained alone is exactly that model, and its accuracy is the record's.
    assert record == {
        "teacher": "teacher",
        "alpha": 0.2,
        "temperature": 4.0,
        "alone_accuracy": alone,
        "provenance": "measured-host",
    }
    assert models["teacher"]["distillation"] is None and models["alone"]["distillation"] is None
    distilled = models["student"]["variants"]["keras"]["accuracy"]
    assert distilled != alone  # trained differently
    assert distilled > 0.5 and alone > 0.5
    assert models["student"]["params"] == models["alone"]["params"]
    page = (root / "docs" / "report" / "models" / "student.md").read_text()
    assert "Trained from the teacher **teacher** by knowledge distillation" in page
    compare = (root / "docs" / "report" / "compare" / "optimizations.md").read_text()
    assert "| student | teacher (alpha 0.2, T 4.0) |" in compare
    # A student collected without its teacher's trained model: one sentence, nothing built.
    other = make_project(tmp_path / "q", DISTILLATION)
    run = tinyreport(other, "collect", "--only", "student")
    assert run.returncode != 0
    assert "model student: its teacher teacher has no trained model yet" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_optimization_page_computes_the_front_and_the_advice(fixture_results):
    from dataclasses import replace

    from tinyreport.site.render import optimization_advice, optimization_rows, render

    cnn = fixture_results.model("cnn")
    # A variant TFLM refuses: smaller and more accurate than all, yet never on the front.
    refused = replace(
        cnn.variants["tflite_int8"],
        kind="tflite_float16",
        size_bytes=1000,
        arena=None,
        analysis=None,
        no_arena="TFLM refuses it: no float16 kernels",
        evaluation=replace(cnn.variants["tflite_int8"].evaluation, accuracy=0.99),
    )
    cnn = replace(cnn, variants={**cnn.variants, "tflite_float16": refused})
    results = replace(fixture_results, models=[fixture_results.model("mlp"), cnn])
    rows = {(r["model"], r["kind"]): r for r in optimization_rows(results)}
    assert {k for k, r in rows.items() if r["pareto"]} == {
        ("mlp", "tflite_int8"),  # 117,392 B, 84.7 %
        ("cnn", "tflite_float"),  # 61,096 B, 79.1 %
        ("cnn", "tflite_int8"),  # 20,184 B, 78.7 %
    }
    assert rows[("cnn", "tflite_float16")]["arena_bytes"] is None
    assert rows[("cnn", "tflite_int8")]["arena_bytes"] == 9356
    assert rows[("cnn", "tflite_int8")]["predicted_us"] == 5249.6
    advice = optimization_advice(list(rows.values()))
    # Within a point of the best (mlp 84.7 %): mlp's float and int8; int8 is the smaller.
    assert (advice["row"]["model"], advice["row"]["kind"]) == ("mlp", "tflite_int8")
    page = render(results)["compare/optimizations.md"]
    assert "**mlp as int8 TFLite** is the smallest" in page
    assert "| cnn | float16 TFLite | 99.00 % | 1,000 B | — | none: TFLM refuses it" in page


def test_the_jax_backend_is_refused_with_its_reason(tmp_path, monkeypatch):
    import importlib.util

    from tinyreport.pipeline.collect import check_backend

    config = parse_config(
        {**BASE, "training": {"backend": "jax"}, "models": {"m": {"kind": "mlp"}}}
    )
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a)
    )
    with pytest.raises(ConfigError) as err:
        check_backend(config)
    assert str(err.value) == (
        "Config value 'training.backend': \"jax\" needs the jax package, which is not installed; "
        'install it (pip install jax) or use backend = "tensorflow"'
    )
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    with pytest.raises(ConfigError, match='training under "jax" is not supported yet'):
        check_backend(config)
    check_backend(parse_config({**BASE, "models": {"m": {"kind": "mlp"}}}))  # the default passes


def test_the_default_backend_keeps_the_training_key():
    plain = _plans({"m": {"kind": "mlp"}})["m"]
    config = parse_config(
        {
            **BASE,
            "training": {"epochs": 1, "backend": "tensorflow"},
            "models": {"m": {"kind": "mlp"}},
        }
    )
    (same,) = plan(config, resolve_source(config.dataset, config.root))
    assert same.train_key == plain.train_key
