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
    sizes = {kind: v["size_bytes"] for kind, v in mlp["variants"].items()}
    assert sizes == {"keras": 1_340_493, "tflite_float": 439_760, "tflite_int8": 117_392}
    assert [mlp["variants"][kind]["accuracy"] for kind in sizes] == [0.847, 0.847, 0.847]
    arena = mlp["variants"]["tflite_int8"]["arena"]
    assert (arena["host_bytes"], arena["head_bytes"], arena["tail_bytes"]) == (5008, 1568, 3440)
    # Derived values of the fixture's numbers: 439,760 / 117,392 and 1,340,493 / 117,392.
    model = fixture_results.model("mlp")
    assert model.float_over_int8 == pytest.approx(3.74608, abs=1e-5)
    assert model.keras_over_int8 == pytest.approx(11.41895, abs=1e-5)


def test_other_format_is_refused(fixture_results):
    data = fixture_results.to_dict() | {"format": FORMAT_VERSION + 1}
    with pytest.raises(ValueError, match="run `tinyreport collect` again"):
        Results.from_dict(data)
