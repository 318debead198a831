"""The latency model: its coefficients come from the public points, its formula, its output."""

from __future__ import annotations

import json

import pytest
from graphs import built

from benchmarks.latency import fit, page
from tinyreport.analysis.analyze import analyze, latency_text
from tinyreport.analysis.boards import board_ids, load_board
from tinyreport.analysis.latency import (
    OpWork,
    coefficients,
    kind_of,
    predict_works,
    work,
)


@pytest.fixture(scope="module")
def refit():
    return fit.run()


def test_committed_coefficients_are_the_fit_of_the_public_points(refit):
    """Nobody tuned the coefficients by hand: they equal a refit of points.toml."""
    assert coefficients() == json.loads(json.dumps(refit["coefficients"]))


def test_committed_report_and_page_are_current(refit):
    assert json.loads(fit.REPORT.read_text()) == json.loads(json.dumps(refit["report"]))
    assert fit.PAGE.read_text() == page.render(refit["report"], refit["coefficients"])


def test_fit_reproduces_a_two_point_kind_exactly(refit):
    """conv_1x1 on the S3 has two calibration timings and two coefficients: both hit."""
    c = refit["coefficients"]["libraries"]["esp-nn-esp32s3"]["kinds"]["conv_1x1"]
    big = work("CONV_2D", (10, 10, 64), (10, 10, 64), n_macs=409600)
    small = work("CONV_2D", (8, 8, 16), (8, 8, 16), n_macs=16384)
    for w, measured in ((big, 331008), (small, 39022)):
        cycles = c["cycles_per_unit"] * w.n_units + c["cycles_per_output"] * w.n_outputs
        assert cycles == pytest.approx(measured, rel=1e-4)


def test_check_set_is_never_fitted_on(refit):
    """The MLPerf Tiny family timings are checks, and the per-op cost is not fitted on them."""
    roles = {(m["name"], m["chip"], m["measured_ms"]): m["role"] for m in refit["report"]["models"]}
    checks = {k: v for k, v in roles.items() if k[0].startswith("person detection (TFLM")}
    assert set(checks.values()) == {"check"}
    assert sorted(k[2] for k in checks) == [47, 54, 380]
    # The published check errors (signed %), as the page states them.
    errors = sorted(m["pc_error"] for m in refit["report"]["models"] if m["role"] == "check")
    assert errors == [-15.9, -3.4, 16.5]


def test_conv_kind_follows_esp_nn_fast_path():
    assert kind_of("CONV_2D", (1, 1), (1, 1), 16) == "conv_1x1"
    assert kind_of("CONV_2D", (1, 1), (1, 1), 12) == "conv"
    assert kind_of("CONV_2D", (1, 1), (2, 2), 16) == "conv"
    assert kind_of("CONV_2D", (3, 3), (1, 1), 16) == "conv"
    assert kind_of("RESHAPE", (1, 1), (1, 1), 16) is None
    assert work("MAX_POOL_2D", (8, 8, 4), (4, 4, 4), kernel=(2, 2)).n_units == 4 * 4 * 4 * 4


def test_prediction_is_the_sum_of_its_operators():
    library = {
        "kinds": {
            "depthwise": {"cycles_per_unit": 2.0, "cycles_per_output": 10.0, "band": [0.5, 3.0]}
        }
    }
    works = [
        OpWork("DEPTHWISE_CONV_2D", "depthwise", "int8", n_units=1000, n_outputs=100),
        OpWork("RESHAPE", None, "int8", n_units=0, n_outputs=100),
    ]
    doc = predict_works(works, library, per_op=240.0, clock_mhz=240)
    # op 0: (2*1000 + 10*100 + 240) / 240 = 13.5 us; op 1: dispatch only, 1 us
    assert [o["predicted_us"] for o in doc["ops"]] == [13.5, 1.0]
    assert [o["modelled"] for o in doc["ops"]] == [True, False]
    assert doc["predicted_us"] == 14.5
    assert doc["low_us"] == round((1500 + 240 + 240) / 240, 1)  # 8.25 -> 8.2
    assert doc["high_us"] == round((9000 + 240 + 240) / 240, 1)
    assert doc["unmodelled_ops"] == ["RESHAPE"]


def test_analyze_predicts_for_boards_with_a_latency_model_only():
    doc = analyze(built()["mnist_cnn_int8"], "xiao-esp32s3")
    lat = doc["latency"]
    assert lat["provenance"] == "predicted"
    assert lat["model_version"] == coefficients()["version"]
    assert lat["low_us"] <= lat["predicted_us"] <= lat["high_us"]
    assert lat["predicted_us"] == pytest.approx(sum(o["predicted_us"] for o in doc["ops"]), abs=1)
    assert [o["predicted_us"] for o in doc["ops"]] == [o["predicted_us"] for o in lat["ops"]]
    assert lat["inferences_per_second"] == round(1e6 / lat["predicted_us"], 1)
    with_model = {b for b, v in doc["boards"].items() if v["latency"] is not None}
    assert with_model == {b for b in board_ids() if load_board(b).latency_library}
    # The boards with an ESP32 or an ESP32-S3 chip (the two calibrated libraries).
    assert with_model == {
        "esp32", "esp32-cam", "m5stack-core2",
        "xiao-esp32s3", "esp32-s3-devkitc", "arduino-nano-esp32",
    }  # fmt: skip
    # The ESP32's scalar kernels are slower than the S3's SIMD ones on the same model.
    assert doc["boards"]["esp32"]["latency"]["predicted_us"] > lat["predicted_us"]
    none = analyze(built()["mnist_cnn_int8"], "stm32f4")
    assert none["latency"] is None
    assert all(o["predicted_us"] is None for o in none["ops"])
    assert latency_text(None).startswith("no latency model")


def test_float_model_gets_no_number():
    lat = analyze(built()["mnist_cnn_float"], "xiao-esp32s3")["latency"]
    assert lat["predicted_us"] is None and lat["low_us"] is None and lat["high_us"] is None
    assert "float" in lat["label"] and "CONV_2D" in lat["unmodelled_ops"]


def test_page_shows_the_prediction_error_against_a_device_median():
    from tinyreport.site.render import fmt_predicted, fmt_prediction_error, predicted_latency

    lat = {
        "predicted_us": 1200.0,
        "low_us": 1000.0,
        "high_us": 1500.0,
        "inferences_per_second": 833.3,
        "model_version": 1,
        "label": "predicted",
    }
    p = predicted_latency(lat, measured_us=1000.0)
    assert p["pc_error"] == pytest.approx(20.0)
    assert fmt_prediction_error(p) == "+20.0 % vs measured 1.00 ms"
    assert fmt_predicted(p) == "1.20 ms (1.00–1.50), 833/s"
    assert fmt_prediction_error(predicted_latency(lat)) == "—"
    assert fmt_predicted(None) == "no latency model"
    assert predicted_latency(None) is None


def test_recommendation_takes_the_faster_of_two_equally_accurate_models(fixture_results):
    from dataclasses import replace

    from tinyreport.site.render import SAME_ACCURACY_POINTS, recommendation

    models = fixture_results.models
    best = max(models, key=lambda m: m.variants["tflite_int8"].accuracy)
    other = next(m for m in models if m is not best)
    assert recommendation(fixture_results)["model"] == best.name  # 6 points apart: accuracy wins
    # Make the other model as accurate as the best minus less than the tie margin.
    v = other.variants["tflite_int8"]
    close = best.variants["tflite_int8"].accuracy - SAME_ACCURACY_POINTS / 200
    tied = replace(v, evaluation=replace(v.evaluation, accuracy=close))
    faster = min(
        models, key=lambda m: m.variants["tflite_int8"].analysis["latency"]["predicted_us"]
    )
    results = replace(
        fixture_results,
        models=[
            replace(m, variants={**m.variants, "tflite_int8": tied}) if m is other else m
            for m in models
        ],
    )
    rec = recommendation(results)
    assert rec["model"] == faster.name
    assert rec["by_speed"] == (faster is other)


def test_model_card_shows_the_error_against_a_measured_device_median(fixture_results):
    """With a device log's latency for the int8 variant, the card puts the error beside it."""
    from dataclasses import replace

    from tinyreport.site.render import render

    mlp = fixture_results.model("mlp")
    predicted = mlp.variants["tflite_int8"].analysis["latency"]["predicted_us"]
    run = {
        "variant": "tflite_int8",
        "provenance": "measured-device",
        "latency": {"n": 50, "median_us": 800.0, "mean_us": 801.0, "p90_us": 820.0},
        "source": {"path": "benchmarks/logs/run.log"},
    }
    results = replace(
        fixture_results,
        models=[replace(m, device=[run]) if m is mlp else m for m in fixture_results.models],
    )
    card = render(results)["models/mlp.md"]
    error = 100.0 * (predicted - 800.0) / 800.0
    assert f"{error:+.1f} % vs measured 0.80 ms" in card
