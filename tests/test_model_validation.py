"""Models that are valid flatbuffers but inconsistent inside: one clear error, never a traceback.

Small models are built here through the schema's object API (no TensorFlow); the fuzz test
mutates a converted test graph from tests/graphs.py.
"""

from __future__ import annotations

import io
import json
import random

import flatbuffers
import pytest
from graphs import built
from test_analyze_cli import assert_one_clear_error, run

from tinyreport.analysis.analyze import analyze, render
from tinyreport.analysis.arena import ESP32S3, plan_arena
from tinyreport.analysis.tflite_reader import parse_model, schema
from tinyreport.errors import ModelFileError


def build(tensors, operators, inputs, outputs, edit=None) -> bytes:
    """Flatbuffer bytes of a one-subgraph model.

    `tensors`: (shape, dtype, n_scales, data bytes) each; `operators`: (op, inputs, outputs,
    options or None) each; `edit(model_t)` may break the model further before it is packed.
    """
    s = schema()
    model = s.ModelT()
    model.version = 3
    model.buffers = [s.BufferT()]
    model.operatorCodes = []
    graph = s.SubGraphT()
    graph.tensors = []
    for i, (shape, dtype, n_scales, data) in enumerate(tensors):
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = f"t{i}", list(shape), getattr(s.TensorType, dtype), 0
        if n_scales:
            t.quantization = s.QuantizationParametersT()
            t.quantization.scale = [0.5] * n_scales
            t.quantization.zeroPoint = [0] * n_scales
        if data:
            t.buffer = len(model.buffers)
            model.buffers.append(s.BufferT())
            model.buffers[-1].data = [1] * data
        graph.tensors.append(t)
    codes: list[str] = []
    graph.operators = []
    for op, op_inputs, op_outputs, options in operators:
        if op not in codes:
            codes.append(op)
            code = s.OperatorCodeT()
            code.builtinCode = getattr(s.BuiltinOperator, op)
            code.deprecatedBuiltinCode = min(code.builtinCode, 127)
            model.operatorCodes.append(code)
        o = s.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = codes.index(op), list(op_inputs), list(op_outputs)
        if options is not None:
            o.builtinOptionsType = getattr(s.BuiltinOptions, type(options).__name__[:-1])
            o.builtinOptions = options
        graph.operators.append(o)
    graph.inputs, graph.outputs = list(inputs), list(outputs)
    model.subgraphs = [graph]
    if edit is not None:
        edit(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def softmax_model(op_inputs=(0,), graph_inputs=(0,), edit=None) -> bytes:
    """The audit's model: two int8 [1, 10] tensors and one SOFTMAX."""
    tensors = [((1, 10), "INT8", 1, 0), ((1, 10), "INT8", 1, 0)]
    return build(tensors, [("SOFTMAX", op_inputs, (1,), None)], graph_inputs, (1,), edit)


def conv_fc_model(edit=None) -> bytes:
    """CONV_2D (per-channel int8 filter, VALID) then FULLY_CONNECTED with no bias."""
    s = schema()
    conv = s.Conv2DOptionsT()
    conv.padding, conv.strideH, conv.strideW = s.Padding.VALID, 1, 1
    tensors = [
        ((1, 5, 5, 2), "INT8", 1, 0),  # 0 input
        ((3, 3, 3, 2), "INT8", 3, 54),  # 1 conv filter, one scale per output channel
        ((3,), "INT32", 3, 12),  # 2 conv bias
        ((1, 3, 3, 3), "INT8", 1, 0),  # 3 conv output
        ((1, 27), "INT8", 1, 0),  # 4 flattened
        ((4, 27), "INT8", 1, 108),  # 5 fc weights
        ((1, 4), "INT8", 1, 0),  # 6 output
        ((2,), "INT32", 0, 8),  # 7 reshape target
    ]
    operators = [
        ("CONV_2D", (0, 1, 2), (3,), conv),
        ("RESHAPE", (3, 7), (4,), None),
        ("FULLY_CONNECTED", (4, 5, -1), (6,), s.FullyConnectedOptionsT()),
    ]
    return build(tensors, operators, (0,), (6,), edit)


def parse(data: bytes):
    return parse_model(data, "m.tflite")


def test_the_small_models_are_valid(tmp_path):
    """The builders make models the reader and the planner accept; the cases below break them."""
    for data in (softmax_model(), conv_fc_model()):
        path = tmp_path / "ok.tflite"
        path.write_bytes(data)
        doc = analyze(path)
        assert doc["model"]["n_operators"] == len(parse(data).operators)
    fc = parse(conv_fc_model()).operators[2]
    assert fc.inputs == (4, 5, -1) and fc.n_macs == 4 * 27


# --- the audit's two hand-made cases ------------------------------------------------------------


def test_operator_without_inputs():
    with pytest.raises(ModelFileError) as err:
        parse(softmax_model(op_inputs=()))
    assert str(err.value) == (
        "m.tflite is corrupt: operator 0 (SOFTMAX) has no inputs, but needs 1; "
        "convert the model again."
    )


def test_graph_input_that_is_not_a_tensor():
    with pytest.raises(ModelFileError) as err:
        parse(softmax_model(graph_inputs=(7,)))
    assert str(err.value) == (
        "m.tflite is corrupt: graph input 7 is not a tensor (the graph has 2 tensors); "
        "convert the model again."
    )


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"op_inputs": ()}, "operator 0 (SOFTMAX) has no inputs"),
        ({"graph_inputs": (7,)}, "graph input 7 is not a tensor"),
    ],
)
def test_cli_gives_one_line_for_the_hand_made_cases(tmp_path, kwargs, fragment):
    path = tmp_path / "bad.tflite"
    path.write_bytes(softmax_model(**kwargs))
    assert_one_clear_error(run(path), str(path), "is corrupt", fragment)


# --- every other inconsistency the planner or the analysis would trip over ---------------------


def _set(path: str, value):
    """An edit that sets one attribute of the object model, e.g. 'subgraphs.0.outputs'."""

    def edit(model):
        *parents, last = path.split(".")
        obj = model
        for part in parents:
            obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
        if last.isdigit():
            obj[int(last)] = value
        else:
            setattr(obj, last, value)

    return edit


def _t(i: int) -> str:
    return f"subgraphs.0.tensors.{i}"


def _op(i: int) -> str:
    return f"subgraphs.0.operators.{i}"


def _as_depthwise_with_input_shape(shape):
    """Turn the CONV_2D into a DEPTHWISE_CONV_2D (same option fields) and reshape its input."""

    def edit(model):
        s = schema()
        code = model.operatorCodes[0]
        code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.DEPTHWISE_CONV_2D
        model.subgraphs[0].operators[0].builtinOptionsType = s.BuiltinOptions.DepthwiseConv2DOptions
        model.subgraphs[0].tensors[0].shape = shape

    return edit


CASES = {
    "op input out of range": (
        _set(f"{_op(2)}.inputs", [4, 99, -1]),
        "operator 2 (FULLY_CONNECTED) has input 99, which is not a tensor (the graph has 8 "
        "tensors)",
    ),
    "op input below -1": (
        _set(f"{_op(1)}.inputs", [3, -2]),
        "operator 1 (RESHAPE) has input -2, which is not a tensor",
    ),
    "op output -1": (
        _set(f"{_op(1)}.outputs", [-1]),
        "operator 1 (RESHAPE) has output -1, which is not a tensor",
    ),
    "op without outputs": (
        _set(f"{_op(1)}.outputs", []),
        "operator 1 (RESHAPE) has no outputs, but needs 1",
    ),
    "fc weights omitted": (
        _set(f"{_op(2)}.inputs", [4, -1, -1]),
        "operator 2 (FULLY_CONNECTED) has inputs [4, -1, -1], but needs the first 2 present",
    ),
    "conv with one input": (
        _set(f"{_op(0)}.inputs", [0]),
        "operator 0 (CONV_2D) has inputs [0], but needs the first 2 present",
    ),
    "graph output out of range": (
        _set("subgraphs.0.outputs", [8]),
        "graph output 8 is not a tensor (the graph has 8 tensors)",
    ),
    "negative graph output": (_set("subgraphs.0.outputs", [-1]), "graph output -1 is not"),
    "opcode index out of range": (
        _set(f"{_op(1)}.opcodeIndex", 3),
        "operator 1 uses operator code 3, but the file lists 3 operator codes",
    ),
    "buffer index out of range": (
        _set(f"{_t(5)}.buffer", 40),
        "tensor 5 't5' refers to buffer 40, but the file has 5 buffers",
    ),
    "negative dimension": (
        _set(f"{_t(4)}.shape", [1, -27]),
        "tensor 4 't4' has a negative dimension in its shape [1, -27]",
    ),
    "absurd shape": (
        _set(f"{_t(4)}.shape", [65536, 65536]),
        "tensor 4 't4' of shape [65536, 65536] would take 4,294,967,296 bytes, more than TFLM "
        "can allocate (2 GiB)",
    ),
    "conv input of rank 3": (
        _set(f"{_t(0)}.shape", [5, 5, 2]),
        "operator 0 (CONV_2D) needs a rank-4 input 0, but tensor 0 't0' has shape [5, 5, 2]",
    ),
    "fc weights of rank 1": (
        _set(f"{_t(5)}.shape", [108]),
        "operator 2 (FULLY_CONNECTED) needs a rank-2 input 1, but tensor 5 't5' has shape [108]",
    ),
    "filter scales for the wrong channel count": (
        _set(f"{_t(1)}.quantization.scale", [0.5, 0.5]),
        "operator 0 (CONV_2D) has filter tensor 1 't1' of shape [3, 3, 3, 2] with 2 "
        "quantization scales; TFLM needs 1 or one per channel (3)",
    ),
    "depthwise input without channels": (
        _as_depthwise_with_input_shape([1, 5, 5, 0]),
        "operator 0 (DEPTHWISE_CONV_2D) has input tensor 0 't0' of shape [1, 5, 5, 0], which has "
        "no channels",
    ),
    "scale that is not a number": (
        _set(f"{_t(6)}.quantization.scale", [float("nan")]),
        "tensor 6 't6' has a quantization scale that is not a finite number",
    ),
    "options of another operator": (
        _set(f"{_op(0)}.builtinOptionsType", 8),  # FullyConnectedOptions
        "operator 0 (CONV_2D) carries FullyConnectedOptions, not Conv2DOptions",
    ),
    "stride 0": (
        _set(f"{_op(0)}.builtinOptions.strideW", 0),
        "operator 0 (CONV_2D) has stride (1, 0); each must be at least 1",
    ),
    "unknown padding": (
        _set(f"{_op(0)}.builtinOptions.padding", 5),
        "operator 0 (CONV_2D) has padding 5, not SAME or VALID",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_inconsistent_model_is_refused_with_the_reason(case):
    edit, reason = CASES[case]
    with pytest.raises(ModelFileError) as err:
        parse(conv_fc_model(edit))
    message = str(err.value)
    assert message.startswith("m.tflite is corrupt: ")
    assert message.endswith("; convert the model again.")
    assert reason in message


def test_operators_that_have_no_inputs_in_tflm_are_accepted():
    """VAR_HANDLE has no inputs and ASSIGN_VARIABLE no outputs; the planner copes with both."""
    tensors = [((), "RESOURCE", 0, 0), ((1, 10), "INT8", 1, 0), ((1, 10), "INT8", 1, 0)]
    operators = [
        ("VAR_HANDLE", (), (0,), None),
        ("ASSIGN_VARIABLE", (0, 1), (), None),
        ("SOFTMAX", (1,), (2,), None),
    ]
    model = parse(build(tensors, operators, (1,), (2,)))
    assert [op.op for op in model.operators] == ["VAR_HANDLE", "ASSIGN_VARIABLE", "SOFTMAX"]
    plan = plan_arena(model, ESP32S3)
    assert len(plan.timeline) == 3


def test_dynamic_dimension_in_the_shape_itself():
    with pytest.raises(ModelFileError, match=r"m\.tflite has dynamic shapes \(tensor 0 't0'"):
        parse(conv_fc_model(_set(f"{_t(0)}.shape", [-1, 5, 5, 2])))


# --- fuzz: mutated real models ------------------------------------------------------------------


def _structure_positions(data: bytes) -> list[int]:
    """Byte positions outside tensor data: where a mutation changes the model's structure."""
    s = schema()
    root = s.Model.GetRootAs(data, 0)
    weights = bytearray(len(data))
    for b in range(root.BuffersLength()):
        table = root.Buffers(b)._tab
        o = table.Offset(4)
        if o:
            start = table.Vector(o)
            weights[start : start + table.VectorLen(o)] = b"\1" * table.VectorLen(o)
    return [i for i in range(8, len(data)) if not weights[i]]


@pytest.mark.slow
@pytest.mark.parametrize(("key", "n_mutants"), [("depthwise_int8", 450), ("mnist_mlp_int8", 150)])
def test_mutated_model_gives_a_document_or_one_model_file_error(tmp_path, key, n_mutants):
    """Bytes of the flatbuffer's structure set to boundary and random values: analyze() returns a
    document (JSON-ready, renderable) or raises ModelFileError, whatever the bytes."""
    data = built()[key].read_bytes()
    positions = _structure_positions(data)
    rng = random.Random(20261123)
    path = tmp_path / "mutant.tflite"
    outcomes = {"document": 0, "refused": 0}
    for i in range(n_mutants):
        mutant = bytearray(data)
        edits = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            pos = rng.choice(positions)
            mutant[pos] = rng.choice((0, 0xFF, 0x7F, 0x80, mutant[pos] ^ 1, rng.randrange(256)))
            edits.append((pos, mutant[pos]))
        path.write_bytes(mutant)
        try:
            doc = analyze(path)
        except ModelFileError:
            outcomes["refused"] += 1
            continue
        except Exception as exc:  # name the mutant that crashed
            pytest.fail(f"mutant {i} of {key}, edits (position, byte) {edits}: {exc!r}")
        json.dumps(doc, allow_nan=False)
        render(doc, _null_console())
        outcomes["document"] += 1
    # Both outcomes occur, so the mutations reach the checks and do not all break the file.
    assert outcomes["document"] > 0 and outcomes["refused"] > 0, outcomes


def _null_console():
    from rich.console import Console

    return Console(file=io.StringIO(), width=110)
