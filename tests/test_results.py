"""The results file: round trip, derived values, format check."""

import json

import pytest

from tinyreport.results import FORMAT_VERSION, Results, dumps


def test_round_trip_is_exact(fixture_results):
    data = fixture_results.to_dict()
    again = Results.from_dict(json.loads(dumps(data)))
    assert again == fixture_results
    assert dumps(again.to_dict()) == dumps(data)


def test_required_keys_and_derived_values(fixture_results):
    data = fixture_results.to_dict()
    assert data["format"] == FORMAT_VERSION
    mlp = next(m for m in data["models"] if m["name"] == "mlp")
    assert mlp["params"] == 109386
    assert mlp["weights_bytes"] == 109386 * 4
    for kind in ("keras", "tflite_float", "tflite_int8"):
        variant = mlp["variants"][kind]
        assert variant["size_bytes"] > 0
        assert 0.0 <= variant["accuracy"] <= 1.0
    arena = mlp["variants"]["tflite_int8"]["arena"]
    assert arena["host_bytes"] == arena["head_bytes"] + arena["tail_bytes"]
    model = fixture_results.model("mlp")
    assert model.float_over_int8 == pytest.approx(
        model.variants["tflite_float"].size_bytes / model.variants["tflite_int8"].size_bytes
    )


def test_other_format_is_refused(fixture_results):
    data = fixture_results.to_dict() | {"format": FORMAT_VERSION + 1}
    with pytest.raises(ValueError, match="run `tinyreport collect` again"):
        Results.from_dict(data)
