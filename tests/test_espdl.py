"""ESP-DL int8: the .espdl reader on files built here, ESP-PPQ's quantization on the host
(deterministic bytes, accuracy beside TFLM int8, error analysis), and collect without the
extra (one sentence, a strict build)."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from e2e import make_project, mkdocs_build, results, tinyreport

from tinyreport.analysis.espdl_reader import parse_espdl, read_espdl
from tinyreport.dataset import BUNDLED_MNIST
from tinyreport.errors import ModelFileError


def _espdl_bytes(ops: list[str], params: list[tuple[str, int, list[int], bytes]]) -> bytes:
    """A minimal .espdl written with the FlatBuffers builder, following espdl.fbs field order
    (Model.graph is field 7; Graph.node 0, name 1, initializer 2; Node.op_type 3; Tensor.dims 0,
    data_type 1, name 6, raw_data 8 as 16-byte structs)."""
    b = flatbuffers.Builder(1024)
    nodes = []
    for op in ops:
        name = b.CreateString(op)
        b.StartObject(7)
        b.PrependUOffsetTRelativeSlot(3, name, 0)
        nodes.append(b.EndObject())
    tensors = []
    for pname, dtype, dims, raw in params:
        name = b.CreateString(pname)
        b.StartVector(8, len(dims), 8)
        for d in reversed(dims):
            b.PrependInt64(d)
        dims_vec = b.EndVector()
        padded = raw + bytes(-len(raw) % 16)
        b.StartVector(16, len(padded) // 16, 16)
        for i in reversed(range(0, len(padded), 16)):
            for byte in reversed(padded[i : i + 16]):
                b.PrependUint8(byte)
        raw_vec = b.EndVector()
        b.StartObject(14)
        b.PrependUOffsetTRelativeSlot(0, dims_vec, 0)
        b.PrependInt32Slot(1, dtype, 0)
        b.PrependUOffsetTRelativeSlot(6, name, 0)
        b.PrependUOffsetTRelativeSlot(8, raw_vec, 0)
        tensors.append(b.EndObject())

    def vector(items):
        b.StartVector(4, len(items), 4)
        for item in reversed(items):
            b.PrependUOffsetTRelative(item)
        return b.EndVector()

    node_vec, init_vec = vector(nodes), vector(tensors)
    graph_name = b.CreateString("test graph")
    b.StartObject(10)
    b.PrependUOffsetTRelativeSlot(0, node_vec, 0)
    b.PrependUOffsetTRelativeSlot(1, graph_name, 0)
    b.PrependUOffsetTRelativeSlot(2, init_vec, 0)
    graph = b.EndObject()
    b.StartObject(10)
    b.PrependUOffsetTRelativeSlot(7, graph, 0)
    b.Finish(b.EndObject())
    data = bytes(b.Output())
    return b"EDL2" + struct.pack("<II", 0, len(data)) + bytes(4) + data


def test_reader_reports_operators_and_parameter_bytes_by_dtype():
    data = _espdl_bytes(
        ["Conv", "Relu", "Conv", "Gemm"],
        [
            ("w1", 3, [8, 1, 3, 3], bytes(72)),
            ("b1", 6, [8], bytes(32)),
            ("w2", 5, [10, 4], bytes(80)),
        ],
    )
    model = parse_espdl(data, "t.espdl")
    assert model.op_types == {"Conv": 2, "Relu": 1, "Gemm": 1}
    assert model.graph_name == "test graph"
    assert [(p.name, p.dtype, p.dims, p.n_bytes) for p in model.parameters] == [
        ("w1", "int8", (8, 1, 3, 3), 72),
        ("b1", "int32", (8,), 32),
        ("w2", "int16", (10, 4), 80),
    ]
    assert model.param_bytes_by_dtype == {"int16": 80, "int32": 32, "int8": 72}
    assert [p.stored_bytes for p in model.parameters] == [80, 32, 80]  # 16-byte blocks
    assert model.to_dict()["file_bytes"] == len(data)


def test_reader_refuses_what_is_not_a_plain_espdl_file(tmp_path):
    good = _espdl_bytes(["Gemm"], [("w", 3, [4], bytes(4))])
    with pytest.raises(ModelFileError, match="does not start with the EDL2 header"):
        parse_espdl(b"TFL3" + good[4:], "x.espdl")
    encrypted = good[:4] + struct.pack("<I", 1) + good[8:]
    with pytest.raises(ModelFileError, match=r"is encrypted \(ESP-DL's AES option\)"):
        parse_espdl(encrypted, "x.espdl")
    with pytest.raises(ModelFileError, match="header announces"):
        parse_espdl(good[:-8], "x.espdl")
    bent = bytearray(good)
    struct.pack_into("<I", bent, 16, len(good) * 4)  # the root offset points past the end
    with pytest.raises(ModelFileError, match="points outside the file"):
        parse_espdl(bytes(bent), "x.espdl")
    with pytest.raises(ModelFileError, match="is a folder"):
        read_espdl(tmp_path)


@pytest.fixture(scope="module")
def mnist_float_tflite(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray]:
    """A small float TFLite MNIST model (batch 1), calibration and 500 test images."""
    import keras

    from tinyreport.pipeline import convert

    keras.utils.set_random_seed(0)
    with np.load(BUNDLED_MNIST) as d:
        x = d["x_train"][:3000].astype(np.float32) / 255
        y = d["y_train"][:3000]
        x_test = d["x_test"][:500].astype(np.float32) / 255
        y_test = d["y_test"][:500]
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path_factory.mktemp("espdl") / "float.tflite"
    path.write_bytes(convert.to_float(model))
    int8 = path.with_name("int8.tflite")
    int8.write_bytes(convert.to_int8(model, x[:100]))
    return path, x[:100], x_test, y_test


@pytest.mark.slow
def test_espdl_build_is_deterministic_and_close_to_tflm_int8(mnist_float_tflite):
    from tinyreport.pipeline import espdl, evaluate

    path, calibration, x_test, y_test = mnist_float_tflite
    first = espdl.build("mnist", path, calibration, x_test, "esp32s3", 16, 1)
    second = espdl.build("mnist", path, calibration, x_test, "esp32s3", 16, 1)
    assert hashlib.sha256(first.espdl).hexdigest() == hashlib.sha256(second.espdl).hexdigest()
    assert first.mixed["espdl"] == second.mixed["espdl"]
    tflm = evaluate.tflite_predict(path.with_name("int8.tflite").read_bytes(), x_test)
    espdl_acc = float((first.predictions == y_test).mean())
    tflm_acc = float((tflm == y_test).mean())
    assert abs(espdl_acc - tflm_acc) <= 0.01, (espdl_acc, tflm_acc)
    assert (first.predictions == tflm).mean() >= 0.97
    # ESP-PPQ's error analysis, as data: one figure per quantized layer, small for this model.
    # one figure per layer with weights: the convolution and the dense layer
    assert set(first.graphwise) == set(first.layerwise) and len(first.graphwise) == 2
    assert [("conv" in k, "dense" in k) for k in first.graphwise] == [(True, False), (False, True)]
    assert all(0 <= v < 0.05 for v in first.graphwise.values())
    assert len(first.mixed["layers"]) == 1
    assert max(first.layerwise, key=first.layerwise.get) == first.mixed["layers"][0]
    assert len(first.mixed["espdl"]) > len(first.espdl)  # 16-bit weights cost bytes


@pytest.mark.slow
def test_reader_agrees_with_esp_ppqs_own_schema_code(mnist_float_tflite, tmp_path):
    """The reader's operators and parameters equal what ESP-PPQ's generated FlatBuffers code
    reads from the same file (used here only, as an independent check)."""
    from esp_ppq.parser.espdl.FlatBuffers.Dl.Model import Model

    from tinyreport.pipeline import espdl

    path, calibration, x_test, _ = mnist_float_tflite
    data = espdl.build("mnist", path, calibration, x_test[:20], "esp32s3", 4, 0).espdl
    ours = parse_espdl(data)
    assert ours.graph_name == "mnist"  # the model's name, which ESP-DL prints on the board
    theirs = Model.GetRootAs(data[16:], 0).Graph()
    ops = [theirs.Node(i).OpType().decode() for i in range(theirs.NodeLength())]
    assert sum(ours.op_types.values()) == len(ops)
    assert ours.op_types == {op: ops.count(op) for op in dict.fromkeys(ops)}
    inits = [theirs.Initializer(i) for i in range(theirs.InitializerLength())]
    assert [(p.name, p.dims) for p in ours.parameters] == [
        (t.Name().decode(), tuple(t.DimsAsNumpy().tolist())) for t in inits
    ]
    assert [p.stored_bytes for p in ours.parameters] == [16 * t.RawDataLength() for t in inits]


BLOCK_ESPDL = """\
import sys
class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("esp_ppq", "torch", "tf2onnx"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None
sys.meta_path.insert(0, _Blocked())
"""


@pytest.mark.slow
def test_without_the_extra_collect_says_so_and_the_site_builds(tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK_ESPDL)
    monkeypatch.setenv("PYTHONPATH", f"{blocker}:{Path(__file__).parents[1]}")
    root = make_project(
        tmp_path / "p",
        "[dataset]\nn_train = 200\nn_test = 100\n[training]\nepochs = 1\n"
        '[models.mlp]\nkind = "mlp"\nhidden = [8]\n',
    )
    proc = tinyreport(root, "collect", "-q")
    assert proc.returncode == 0, proc.stderr
    model = results(root)["models"][0]
    assert "espdl_int8" not in model["variants"]
    assert model["skipped"]["espdl_int8"].startswith(
        "espdl_int8 was not built: ESP-DL's quantizer is not installed; install it with"
    )
    build = mkdocs_build(root)
    assert build.returncode == 0, build.stderr
    page = (root / "site" / "report" / "compare" / "tflm-vs-espdl" / "index.html").read_text()
    assert (
        "ESP-DL&rsquo;s quantizer is not installed" in page
        or "ESP-DL's quantizer is not installed" in page
    )


def test_espdl_profiler_tables_are_read_from_a_log():
    """Both of ESP-DL's profiler tables, from a log written in their print format (synthetic:
    no board has produced it), with ESP-IDF prefixes, blank lines and other chatter around."""
    from tinyreport.device.serial.espdl_log import espdl_device_figures, parse_espdl_profiles

    log = Path(__file__).parent / "data" / "logs" / "espdl-profile-synthetic.log"
    with log.open() as lines:
        profiles = parse_espdl_profiles(lines)
    assert [(p["model"], p["table"], p["line"]) for p in profiles] == [
        ("mlp", "memory", 5),
        ("mlp", "module", 20),
    ]
    assert profiles[0]["rows"]["total"] == {
        "internal_bytes": round(4.31 * 1024),
        "psram_bytes": 0,
        "flash_bytes": round(110.52 * 1024),
    }
    assert [(m["type"], m["latency"]) for m in profiles[1]["modules"]] == [
        ("Gemm", 402),
        ("Gemm", 51),
        ("Softmax", 9),
    ]
    figures = espdl_device_figures(profiles, "logs/x.log")["mlp"]
    assert figures["latency"] == 462 and figures["latency_unit"] == "us"
    assert figures["memory"]["tensors"]["internal_bytes"] == 1280
    assert figures["provenance"] == "measured-device"
