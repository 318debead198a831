"""`tinyreport analyze`: the JSON document, the table, and bad input without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from graphs import built, host_truth, with_model

from tinyreport.analysis.analyze import FORMAT_VERSION, analyze
from tinyreport.analysis.boards import all_boards, board_ids, load_board
from tinyreport.analysis.budget import arena_with_margin, verdict
from tinyreport.errors import EXIT_CONFIG, EXIT_DOES_NOT_FIT, EXIT_ERROR, EXIT_OK


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
    assert arena["target"]["label"] == (
        "computed for ESP32-S3, not yet confirmed by a device log; ESP-NN scratch sizes checked "
        "against esp-nn's own ESP32-S3 scratch-size code compiled for the host, not measured on "
        "a device; equal to a 32-bit build of esp-tflite-micro 1.3.8 with esp-nn 1.1.2 on 69 of "
        "the 69 public test models it allocates"
    )
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


# --- the board catalogue --------------------------------------------------------------------------


def test_boards_json_lists_every_board_with_its_sources():
    proc = subprocess.run(
        [sys.executable, "-m", "tinyreport", "boards", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["format"] == 1 and doc["kernel_libraries"] == ["ESP-NN", "CMSIS-NN", "reference"]
    boards = doc["boards"]
    assert doc["n_boards"] == len(boards) == len(board_ids()) >= 31
    assert [b["id"] for b in boards] == [b.id for b in all_boards()]
    for b in boards:
        assert b == load_board(b["id"]).to_dict()
        assert {"sram_bytes", "flash_bytes", "cpu_mhz", "usable_sram_bytes"} <= set(b["sources"])
        assert {"sram_bytes", "flash_bytes", "cpu_mhz"} <= set(b["urls"])
    xiao = next(b for b in boards if b["id"] == "xiao-esp32s3")
    assert (xiao["sram_bytes"], xiao["psram_bytes"], xiao["cpu_mhz"]) == (512 << 10, 8 << 20, 240)
    assert (xiao["family"], xiao["core"], xiao["kernel_library"]) == (
        "Espressif",
        "Xtensa LX7",
        "ESP-NN",
    )
    assert xiao["usable_sram_bytes"] == 361_472 and xiao["kernel_scratch_modelled"]
    uno = next(b for b in boards if b["id"] == "arduino-uno")
    assert (uno["sram_bytes"], uno["tflm_supported"], uno["pointer_bytes"]) == (2048, False, 2)


def test_boards_table():
    proc = subprocess.run(
        [sys.executable, "-m", "tinyreport", "boards"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert f"{len(board_ids())} boards" in proc.stdout
    for board_id in ("xiao-esp32s3", "teensy41", "sparkfun-edge", "stm32h743-nucleo"):
        assert board_id in proc.stdout
    assert "CMSIS-NN (arena ≥)" in proc.stdout and "no TFLM" in proc.stdout


# --- the gate: exit codes -------------------------------------------------------------------------


@pytest.mark.slow
def test_exit_0_when_the_model_fits():
    proc = run(built()["mnist_mlp_int8"], "--json")
    assert proc.returncode == EXIT_OK == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["budget"]["sram"]["verdict"], doc["budget"]["flash"]["verdict"]) == ("OK", "OK")
    proc = run(built()["mnist_mlp_int8"])
    assert proc.returncode == 0
    name = load_board("xiao-esp32s3").name
    assert f"Fits the {name}: SRAM OK, flash OK." in " ".join(proc.stdout.split())


@pytest.mark.slow
def test_exit_3_when_the_model_does_not_fit():
    """The 117 KB MLP file does not fit the Blue Pill's 64 KiB flash; its arena fits the SRAM."""
    path = built()["mnist_mlp_int8"]
    proc = run(path, "--board", "stm32f103-bluepill", "--json")
    assert proc.returncode == EXIT_DOES_NOT_FIT == 3, proc.stderr
    doc = json.loads(proc.stdout)  # the whole document is still printed
    flash, sram = doc["budget"]["flash"], doc["budget"]["sram"]
    assert flash["verdict"] == "EXCEEDED" and flash["demand_bytes"] > 65_536
    assert flash["lines"][0]["bytes"] == path.stat().st_size
    assert sram["verdict"] == "OK"
    proc = run(path, "--board", "stm32f103-bluepill")
    assert proc.returncode == 3 and proc.stderr == ""
    name = load_board("stm32f103-bluepill").name
    assert f"Does not fit the {name}: SRAM OK, flash EXCEEDED." in " ".join(proc.stdout.split())
    # A board TFLM has no port for never fits, whatever its budget says.
    proc = run(path, "--board", "arduino-mega", "--json")
    assert proc.returncode == 3
    assert json.loads(proc.stdout)["board"]["tflm_supported"] is False


@pytest.mark.slow
def _dense_model(path, n_bytes: int) -> int:
    """Write a float TFLite model of about `n_bytes`: one Dense layer whose float32 weights
    fill the file (the reader refuses padding after a model, so the bytes must be the model's
    own). Return the file's size."""
    import keras
    import tensorflow as tf

    units = max(1, (n_bytes - 4096) // (4 * 784))
    model = keras.Sequential([keras.Input((784,), batch_size=1), keras.layers.Dense(units)])
    data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    path.write_bytes(data)
    return len(data)


def test_fail_on_tight(tmp_path):
    """--fail-on tight turns a TIGHT verdict into exit 3; by default TIGHT passes."""
    small = tmp_path / "small.tflite"
    small_bytes = _dense_model(small, 8192)
    flash = analyze(small)["budget"]["flash"]
    # A model whose file brings the flash demand to 95 % of the app partition, inside the
    # TIGHT band; the other flash lines do not depend on the model's size.
    path = tmp_path / "big.tflite"
    target = int(0.95 * flash["capacity_bytes"]) - (flash["demand_bytes"] - small_bytes)
    size = _dense_model(path, target)
    doc = json.loads(run(path, "--json").stdout)
    assert doc["budget"]["flash"]["verdict"] == "TIGHT"
    assert doc["budget"]["flash"]["demand_bytes"] == flash["demand_bytes"] - small_bytes + size
    assert run(path).returncode == 0
    assert run(path, "--fail-on", "tight").returncode == 3
    assert run(built()["mnist_mlp_int8"], "--fail-on", "tight").returncode == 0  # OK passes


@pytest.mark.slow
def test_exit_1_and_2_for_errors(tmp_path):
    path = tmp_path / "weights.tflite"
    path.write_bytes(b"\x00\x01 definitely not a model " * 20)
    assert run(path).returncode == EXIT_ERROR == 1
    assert run(built()["mnist_mlp_int8"], "--board", "uno").returncode == EXIT_CONFIG == 2
    assert run(built()["mnist_mlp_int8"], "--fail-on", "never").returncode == 2  # usage


@pytest.mark.slow
def test_every_board_at_once_names_the_smallest_that_fits():
    path = built()["mnist_cnn_int8"]
    proc = run(path, "--board", "all", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc == json.loads(run(path, "--all-boards", "--json").stdout)
    rows = doc["boards"]
    assert len(rows) == len(board_ids())
    assert [r["usable_sram_bytes"] for r in rows] == sorted(r["usable_sram_bytes"] for r in rows)
    single = analyze(path, "xiao-esp32s3")
    for r in rows:  # each row is what analyze gives for that board alone
        assert r["budget"] == single["boards"][r["id"]]["budget"]
        assert r["fits"] == (
            r["tflm_supported"]
            and "EXCEEDED" not in (r["budget"]["sram"]["verdict"], r["budget"]["flash"]["verdict"])
        )
    fitting = [r["id"] for r in rows if r["fits"]]
    assert doc["n_fit"] == len(fitting) and doc["smallest_fit"] == fitting[0]
    assert "arduino-uno" not in fitting and "arduino-mega" not in fitting
    computed = [r["id"] for r in rows if r["fits"] and r["provenance"] == "computed"]
    assert doc["smallest_computed_fit"] == computed[0]
    xiao = next(r for r in rows if r["id"] == "xiao-esp32s3")
    assert xiao["arena_bytes"] == single["arena"]["target_bytes"] and not xiao["lower_bound"]
    text = run(path, "--board", "all").stdout
    first = next(r for r in rows if r["id"] == doc["smallest_fit"])
    assert f"Smallest board that fits: {first['name']} ({first['id']})" in text


@pytest.mark.slow
def test_every_board_at_once_exits_3_when_none_fits(tmp_path):
    """A model whose file is larger than every board's app partition fits no board."""
    biggest = max(b.app_partition_bytes for b in all_boards())
    path = tmp_path / "huge.tflite"
    assert _dense_model(path, biggest + 65536) > biggest  # the model's own weights
    proc = run(path, "--board", "all", "--json")
    assert proc.returncode == 3, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["smallest_fit"] is None and doc["n_fit"] == 0
    assert all(r["budget"]["flash"]["verdict"] == "EXCEEDED" for r in doc["boards"])
    assert "No board fits." in run(path, "--board", "all").stdout
