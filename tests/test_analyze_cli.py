"""`tinyreport analyze`: the JSON document, the table, and bad input without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from graphs import built, host_truth, with_model

from tinyreport.analysis.analyze import FORMAT_VERSION, analyze
from tinyreport.analysis.budget import arena_with_margin, verdict


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "tinyreport", "analyze", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_clear_error(proc, *fragments):
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("tinyreport: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in proc.stderr


# --- bad input ----------------------------------------------------------------------------------


def test_not_a_flatbuffer(tmp_path):
    path = tmp_path / "weights.tflite"
    path.write_bytes(b"\x00\x01 definitely not a model " * 20)
    assert_one_clear_error(run(path), str(path), "not a TFLite flatbuffer")


def test_missing_file(tmp_path):
    assert_one_clear_error(run(tmp_path / "gone.tflite"), "gone.tflite", "Cannot read")


@pytest.mark.slow
def test_truncated_file(tmp_path):
    path = tmp_path / "half.tflite"
    data = built()["mnist_mlp_int8"].read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert_one_clear_error(run(path), str(path), "truncated or corrupt")


@pytest.mark.slow
def test_operator_tflm_lacks(tmp_path):
    def to_rnn(m):
        for code in m.operatorCodes:
            if code.builtinCode == 25:  # SOFTMAX -> UNIDIRECTIONAL_SEQUENCE_RNN
                code.builtinCode = code.deprecatedBuiltinCode = 35

    path = with_model(built()["mnist_mlp_int8"], tmp_path / "rnn.tflite", to_rnn)
    assert_one_clear_error(run(path), str(path), "UNIDIRECTIONAL_SEQUENCE_RNN")


@pytest.mark.slow
def test_dynamic_shapes(tmp_path):
    def free_height(m):
        m.subgraphs[0].tensors[0].shapeSignature = np.array([-1, -1, 28], dtype=np.int32)

    path = with_model(built()["mnist_mlp_float"], tmp_path / "dyn.tflite", free_height)
    assert_one_clear_error(run(path), str(path), "dynamic shapes")


@pytest.mark.slow
def test_float_model_on_int8_only_kernels():
    path = built()["mnist_cnn_float"]
    assert_one_clear_error(run(path, "--int8-only"), str(path), "float model", "full-int8")


@pytest.mark.slow
def test_int8_model_passes_int8_only():
    """--int8-only lets an int8 model through and changes nothing in its document."""
    path = built()["mnist_cnn_int8"]
    proc = run(path, "--int8-only", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["arena"]["host_bytes"] == host_truth("mnist_cnn_int8").total_bytes
    assert doc == json.loads(run(path, "--json").stdout)


@pytest.mark.slow
def test_unknown_board():
    proc = run(built()["mnist_mlp_int8"], "--board", "uno")
    assert_one_clear_error(proc, "Unknown board 'uno'", "xiao-esp32s3")


# --- the document -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "key", ["mnist_mlp_float", "mnist_mlp_int8", "mnist_cnn_float", "mnist_cnn_int8"]
)
def test_json_document_on_the_mnist_models(key):
    proc = run(built()[key], "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["format"] == FORMAT_VERSION
    arena = doc["arena"]
    truth = host_truth(key)
    assert (arena["host_bytes"], arena["head_bytes"], arena["tail_bytes"]) == (
        truth.total_bytes,
        truth.head_bytes,
        truth.tail_bytes,
    )
    assert arena["host"]["provenance"] == "computed"
    assert arena["target"]["label"] == "computed for ESP32-S3, not yet confirmed by a device log"
    assert arena["target_bytes"] == arena["target"]["total_bytes"]
    assert arena["target"]["head_bytes"] + arena["target"]["tail_bytes"] == arena["target_bytes"]
    assert arena["reserve_bytes"] == arena_with_margin(arena["target_bytes"])
    assert doc["peak_op"]["live_bytes"] == max(m["live_bytes"] for m in doc["timeline"])
    assert len(doc["ops"]) == doc["model"]["n_operators"]
    # The verdict follows from the numbers the document shows.
    for memory in ("sram", "flash"):
        b = doc["budget"][memory]
        assert b["demand_bytes"] == sum(line["bytes"] for line in b["lines"])
        assert b["headroom_bytes"] == b["capacity_bytes"] - b["demand_bytes"]
        assert b["verdict"] == verdict(b["demand_bytes"], b["capacity_bytes"])
    sram = doc["budget"]["sram"]
    assert sram["lines"][0]["bytes"] == arena["reserve_bytes"]
    assert sram["verdict"] == "OK"  # a few KiB of arena on a 280 KiB heap
    assert doc["budget"]["flash"]["lines"][0]["bytes"] == doc["model"]["file_bytes"]
    # The per-board section agrees with the main one for the chosen board.
    xiao = doc["boards"]["xiao-esp32s3"]
    assert (xiao["arena_bytes"], xiao["budget"]) == (arena["target_bytes"], doc["budget"])
    assert doc["boards"]["stm32f4"]["profile"] == "ref32"


@pytest.mark.slow
def test_document_is_deterministic_and_json_ready():
    path = built()["residual_int8"]
    first = analyze(path)
    assert json.loads(json.dumps(first)) == first
    assert analyze(path) == first


@pytest.mark.slow
def test_table_output():
    proc = run(built()["mnist_cnn_int8"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    truth = host_truth("mnist_cnn_int8")
    assert "Tensor arena" in out
    assert f"{truth.total_bytes:,}" in out
    assert "not yet confirmed by a device log" in out
    assert "SRAM budget: OK" in out
    assert "CONV_2D" in out


@pytest.mark.slow
def test_analyze_does_not_import_tensorflow_or_tflm():
    code = (
        "import sys\n"
        "from tinyreport.cli import main\n"
        f"sys.argv = ['tinyreport', 'analyze', {str(built()['mnist_cnn_int8'])!r}, '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('TF' if 'tensorflow' in sys.modules else 'noTF',"
        " 'TFLM' if 'tflite_micro' in sys.modules else 'noTFLM', file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stderr.strip() == "noTF noTFLM"


def test_latency_line_of_a_model_with_no_work():
    """A model whose operators do no work is predicted 0 µs: no rate, no crash."""
    from tinyreport.analysis.analyze import latency_text

    latency = {
        "predicted_us": 0.0,
        "low_us": 0.0,
        "high_us": 0.0,
        "inferences_per_second": None,
        "label": "predicted (ESP-NN, model v1)",
    }
    assert (
        latency_text(latency)
        == "0.00 ms per inference (range 0.00–0.00 ms), predicted (ESP-NN, model v1)"
    )
