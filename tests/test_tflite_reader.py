"""The model reader: structure, quantization, MACs, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from graphs import built, with_model
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyreport.analysis.tflite_reader import parse_model, read_model
from tinyreport.errors import ModelFileError

# --- bad input, no TensorFlow needed ---------------------------------------------------------


def test_not_a_flatbuffer(tmp_path):
    path = tmp_path / "notes.tflite"
    path.write_text("these are not the weights you are looking for\n" * 4)
    with pytest.raises(ModelFileError, match=r"notes\.tflite is not a TFLite flatbuffer"):
        read_model(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match=r"Cannot read .*absent\.tflite"):
        read_model(tmp_path / "absent.tflite")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.tflite"
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match="not a TFLite flatbuffer"):
        read_model(path)


@pytest.mark.parametrize(
    ("head", "fragment"),
    [
        (b"\0" * 8, "is not a TFLite flatbuffer"),
        (b"\0\0\0\0TFL3", "is 2,147,483,648 bytes, more than a TFLite flatbuffer can hold"),
    ],
)
def test_huge_file_is_refused_without_reading_it(tmp_path, monkeypatch, head, fragment):
    """A 2 GiB sparse file: the header and the size decide; the reader reads 8 bytes, not the
    gigabytes (and the seconds) reading it would take."""
    path = tmp_path / "huge.tflite"
    with path.open("wb") as f:
        f.write(head)
        f.truncate(2**31)

    class Counting:
        """A file that counts the bytes read from it."""

        def __init__(self, file):
            self.file, self.n_read = file, 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def read(self, n=-1):
            data = self.file.read(n)
            self.n_read += len(data)
            return data

        def fileno(self):
            return self.file.fileno()

    opened = []
    real_open = Path.open
    monkeypatch.setattr(
        Path,
        "open",
        lambda p, *a, **k: opened.append(Counting(real_open(p, *a, **k))) or opened[-1],
    )
    with pytest.raises(ModelFileError, match=fragment):
        read_model(path)
    assert [f.n_read for f in opened] == [8]


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=300))
def test_random_bytes_never_escape_as_other_errors(data):
    """Whatever the bytes, the reader returns a model or raises ModelFileError."""
    for blob in (data, data[:4] + b"TFL3" + data[8:]):
        try:
            parse_model(blob, "random.tflite")
        except ModelFileError as exc:
            assert "random.tflite" in str(exc)


# --- real models --------------------------------------------------------------------------------


@pytest.mark.slow
def test_mnist_mlp_int8_structure():
    model = read_model(built()["mnist_mlp_int8"])
    assert [op.op for op in model.operators] == [
        "SHAPE",
        "STRIDED_SLICE",
        "PACK",
        "RESHAPE",
        "FULLY_CONNECTED",
        "FULLY_CONNECTED",
        "FULLY_CONNECTED",
        "SOFTMAX",
    ]
    assert model.resolver_methods == (
        "AddFullyConnected",
        "AddPack",
        "AddReshape",
        "AddShape",
        "AddSoftmax",
        "AddStridedSlice",
    )
    x = model.tensors[model.inputs[0]]
    assert (x.dtype, x.shape, x.n_bytes) == ("INT8", (1, 28, 28), 784)
    assert x.quantization is not None and not x.quantization.per_channel
    # 784*128 + 128*64 + 64*10 multiply-accumulates.
    assert model.n_macs == 109_184
    # int8 weights plus int32 biases plus the three int32 shape constants of Flatten.
    assert model.param_bytes == (784 * 128 + 128 * 64 + 64 * 10) + 4 * (128 + 64 + 10) + 12
    assert model.is_int8


@pytest.mark.slow
def test_mnist_cnn_macs_and_per_channel_weights():
    model = read_model(built()["mnist_cnn_int8"])
    convs = [op for op in model.operators if op.op == "CONV_2D"]
    assert [op.n_macs for op in convs] == [26 * 26 * 8 * 9, 11 * 11 * 16 * 72]
    weights = model.tensors[convs[1].inputs[1]]
    assert weights.quantization.per_channel
    assert weights.quantization.axis == 0
    assert len(weights.quantization.scales) == 16
    assert model.n_macs == 26 * 26 * 8 * 9 + 11 * 11 * 16 * 72 + 400 * 32 + 32 * 10


@pytest.mark.slow
@pytest.mark.parametrize("key", ["branches_float", "residual_int8", "depthwise_int8"])
def test_tensors_agree_with_litert(key):
    """Shapes, dtypes and quantization match an independent reader (LiteRT's interpreter)."""
    from ai_edge_litert.interpreter import Interpreter

    path = built()[key]
    model = read_model(path)
    details = {d["index"]: d for d in Interpreter(model_path=str(path)).get_tensor_details()}
    for t in model.tensors:
        d = details[t.index]
        assert t.shape == tuple(d["shape"])
        assert t.dtype.lower() == np.dtype(d["dtype"]).name
        scales = d["quantization_parameters"]["scales"]
        if t.quantization is None:
            assert len(scales) == 0
        else:
            np.testing.assert_allclose(t.quantization.scales, scales, rtol=1e-6)
            assert t.quantization.axis == d["quantization_parameters"]["quantized_dimension"]


# The MicroMutableOpResolver calls of each test graph, as the reader gives them (sorted). The
# float and full-int8 conversions of a graph use the same operators; float in and out adds
# QUANTIZE and DEQUANTIZE.
_MLP_METHODS = (
    "AddFullyConnected",
    "AddPack",
    "AddReshape",
    "AddShape",
    "AddSoftmax",
    "AddStridedSlice",
)
RESOLVER_METHODS_OF_GRAPH = {
    "mnist_mlp": _MLP_METHODS,
    "mnist_mlp_floatio": tuple(sorted((*_MLP_METHODS, "AddDequantize", "AddQuantize"))),
    "mnist_cnn": tuple(sorted((*_MLP_METHODS, "AddConv2D", "AddMaxPool2D"))),
    "branches": tuple(sorted((*_MLP_METHODS, "AddConcatenation", "AddConv2D", "AddMaxPool2D"))),
    "residual": (
        "AddAdd",
        "AddAveragePool2D",
        "AddConv2D",
        "AddFullyConnected",
        "AddPack",
        "AddReshape",
        "AddShape",
        "AddStridedSlice",
    ),
    "depthwise": ("AddConv2D", "AddDepthwiseConv2D", "AddFullyConnected", "AddMean", "AddSoftmax"),
    "conv1d": (
        "AddConv2D",
        "AddExpandDims",
        "AddFullyConnected",
        "AddMaxPool2D",
        "AddMean",
        "AddReshape",
        "AddSoftmax",
    ),
    "pooling_odd": (
        "AddAveragePool2D",
        "AddConv2D",
        "AddFullyConnected",
        "AddMaxPool2D",
        "AddPack",
        "AddReshape",
        "AddShape",
        "AddStridedSlice",
    ),
    "elementwise": (
        "AddConv2D",
        "AddFullyConnected",
        "AddLogistic",
        "AddMul",
        "AddReduceMax",
        "AddSub",
        "AddTanh",
    ),
}


@pytest.mark.slow
def test_resolver_methods_of_every_test_graph():
    """Each graph's resolver calls are TFLM's names for exactly the operators it uses."""
    got = {key: read_model(path).resolver_methods for key, path in built().items()}
    want = {
        f"{graph}_{kind}": methods
        for graph, methods in RESOLVER_METHODS_OF_GRAPH.items()
        if graph != "mnist_mlp_floatio"
        for kind in ("float", "int8")
    } | {"mnist_mlp_floatio": RESOLVER_METHODS_OF_GRAPH["mnist_mlp_floatio"]}
    assert got == want


@pytest.mark.slow
def test_float_operators_are_those_touching_float_tensors():
    """Shape arithmetic (STRIDED_SLICE, PACK on int32) is not float; QUANTIZE and DEQUANTIZE
    at the edges of an int8 model with float input and output are."""
    model = read_model(built()["mnist_mlp_float"])
    assert not model.is_int8
    assert [op.op for op in model.float_operators] == [
        "SHAPE",
        "RESHAPE",
        "FULLY_CONNECTED",
        "FULLY_CONNECTED",
        "FULLY_CONNECTED",
        "SOFTMAX",
    ]
    floatio = read_model(built()["mnist_mlp_floatio"])
    assert not floatio.is_int8
    assert [op.op for op in floatio.operators] == [
        "QUANTIZE",
        "SHAPE",
        "STRIDED_SLICE",
        "PACK",
        "RESHAPE",
        "FULLY_CONNECTED",
        "FULLY_CONNECTED",
        "FULLY_CONNECTED",
        "SOFTMAX",
        "DEQUANTIZE",
    ]
    assert [(op.index, op.op) for op in floatio.float_operators] == [
        (0, "QUANTIZE"),
        (9, "DEQUANTIZE"),
    ]
    assert read_model(built()["mnist_mlp_int8"]).float_operators == ()


@pytest.mark.slow
@pytest.mark.parametrize("keep", [8, 100, 1000, 5000, -1])
def test_truncated_file(tmp_path, keep):
    data = built()["mnist_cnn_int8"].read_bytes()
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[:keep])
    with pytest.raises(ModelFileError, match=r"cut\.tflite (is truncated or corrupt|is not a)"):
        read_model(path)


@pytest.mark.slow
def test_operator_tflm_lacks(tmp_path):
    def swap_softmax_for_rnn(m):
        for code in m.operatorCodes:
            if code.builtinCode == 25:  # SOFTMAX
                code.builtinCode = code.deprecatedBuiltinCode = 35  # UNIDIRECTIONAL_SEQUENCE_RNN

    path = with_model(built()["mnist_mlp_int8"], tmp_path / "rnn.tflite", swap_softmax_for_rnn)
    with pytest.raises(ModelFileError, match="UNIDIRECTIONAL_SEQUENCE_RNN, which TFLM has no"):
        read_model(path)


@pytest.mark.slow
def test_dynamic_shapes(tmp_path):
    def free_width(m):
        m.subgraphs[0].tensors[m.subgraphs[0].inputs[0]].shapeSignature = np.array(
            [-1, -1, 28], dtype=np.int32
        )

    path = with_model(built()["mnist_mlp_int8"], tmp_path / "dyn.tflite", free_width)
    with pytest.raises(ModelFileError, match=r"dyn\.tflite has dynamic shapes"):
        read_model(path)


@pytest.mark.slow
def test_dynamic_batch_alone_is_accepted():
    """Keras writes batch -1 in every shape signature; TFLM runs batch 1, so that is fine."""
    model = read_model(built()["mnist_mlp_float"])
    assert model.tensors[model.inputs[0]].shape_signature[0] == -1


def test_models_read_in_threads_on_first_use_are_not_called_corrupt():
    """The schema module is loaded once, under a lock: threads that read models at the same
    time in a fresh process all get the model (a half-loaded module made valid files look
    corrupt)."""
    import subprocess
    import sys

    corpus = Path(__file__).parent / "data" / "corpus"
    code = (
        "import sys\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from tinyreport.analysis.tflite_reader import read_model\n"
        "with ThreadPoolExecutor(8) as ex:\n"
        "    models = list(ex.map(read_model, sys.argv[1:]))\n"
        "print(sum(len(m.operators) for m in models))\n"
    )
    paths = [str(p) for p in sorted(corpus.glob("cfu__hps_model_*.tflite"))] * 3
    proc = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert int(proc.stdout) == 3 * (74 + 74 + 89)


CORPUS = Path(__file__).parent / "data" / "corpus"


def test_junk_after_the_model_is_refused_and_its_size_named(tmp_path):
    model = (CORPUS / "tflm__sub0.tflite").read_bytes()
    padded = tmp_path / "padded.tflite"
    padded.write_bytes(model + b"\0junk" * 200_000)
    with pytest.raises(ModelFileError) as err:
        read_model(padded)
    end = len(model) - 48  # the model's own bytes, without the converter's last 48
    assert str(err.value) == (
        f"{padded} holds {len(model) - end + 1_000_000:,} bytes after its model ({end:,} bytes "
        "of flatbuffer and tensor data), which no converter writes; convert the model again."
    )
    # What converters leave after the objects the check walks passes, as does a little
    # alignment padding.
    aligned = tmp_path / "aligned.tflite"
    aligned.write_bytes(model + b"\0" * 16)
    assert read_model(aligned).file_bytes == len(model) + 16


def test_every_model_of_the_test_data_passes_the_trailing_bytes_check():
    models = sorted(Path(__file__).parent.glob("data/**/*.tflite"))
    assert len(models) >= 70
    for path in models:
        try:
            read_model(path)
        except ModelFileError as exc:
            assert "after its model" not in str(exc), path
