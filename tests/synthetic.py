"""Small .tflite files written with the flatbuffer schema (no TensorFlow): one operator,
tensors of the types and shapes a test needs."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import flatbuffers

from tinyreport.analysis.tflite_reader import schema


@dataclass(frozen=True)
class T:
    """A tensor of the model: its type name, shape, constant bytes (None: an activation)
    and per-tensor quantization (scale, zero point) if any."""

    dtype: str
    shape: tuple[int, ...]
    data: bytes | None = None
    quant: tuple[float, int] | None = None


def one_op_model(path: Path, op: str, inputs: list[T], outputs: list[T]) -> Path:
    """Write a model running `op` once on `inputs`; activations are the graph's inputs."""
    s = schema()
    m = s.ModelT()
    m.version = 3
    code = s.OperatorCodeT()
    code.builtinCode = getattr(s.BuiltinOperator, op)
    code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    m.operatorCodes = [code]
    m.buffers = [s.BufferT()]
    tensors = []
    for i, t in enumerate([*inputs, *outputs]):
        tensor = s.TensorT()
        tensor.name = f"t{i}"
        tensor.type = getattr(s.TensorType, t.dtype)
        tensor.shape = list(t.shape)
        tensor.buffer = 0
        if t.data is not None:
            buffer = s.BufferT()
            buffer.data = list(t.data)
            m.buffers.append(buffer)
            tensor.buffer = len(m.buffers) - 1
        if t.quant is not None:
            q = s.QuantizationParametersT()
            q.scale, q.zeroPoint = [t.quant[0]], [t.quant[1]]
            tensor.quantization = q
        tensors.append(tensor)
    graph = s.SubGraphT()
    graph.tensors = tensors
    n_in = len(inputs)
    graph.inputs = [i for i, t in enumerate(inputs) if t.data is None]
    graph.outputs = list(range(n_in, n_in + len(outputs)))
    operator = s.OperatorT()
    operator.opcodeIndex = 0
    operator.inputs = list(range(n_in))
    operator.outputs = graph.outputs
    graph.operators = [operator]
    m.subgraphs = [graph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(builder.Output())
    return path


def kernel_cases() -> dict[str, tuple[str, list[T], list[T]]]:
    """One-operator models, by "OPERATOR type": every kind of reference kernel allocation
    (Init op data, Prepare buffers, scratch) on shapes TFLM accepts."""
    specs: dict[str, tuple[str, list[T], list[T]]] = {}

    def F(*shape):  # noqa: N802 (reads like a type)
        return T("FLOAT32", shape)

    def I8(*shape, q=(0.05, 0)):  # noqa: N802
        return T("INT8", shape, quant=q)

    def I16(*shape, q=(0.001, 0)):  # noqa: N802
        return T("INT16", shape, quant=q)

    def i32c(*values):
        return T("INT32", (len(values),), data=struct.pack(f"<{len(values)}i", *values))

    unary_f = [
        "ABS",
        "CEIL",
        "COS",
        "EXP",
        "FLOOR",
        "LOG",
        "NEG",
        "ROUND",
        "RSQRT",
        "SIN",
        "SQRT",
        "SQUARE",
        "RELU",
        "RELU6",
        "ELU",
        "HARD_SWISH",
        "LOGISTIC",
        "TANH",
        "LEAKY_RELU",
        "ZEROS_LIKE",
        "L2_NORMALIZATION",
        "LOG_SOFTMAX",
        "SOFTMAX",
    ]
    for op in unary_f:
        specs[f"{op} float32"] = (op, [F(1, 4, 4, 8)], [F(1, 4, 4, 8)])
    for op in [
        "ABS",
        "RSQRT",
        "RELU",
        "RELU6",
        "HARD_SWISH",
        "LEAKY_RELU",
        "ELU",
        "TANH",
        "LOGISTIC",
        "LOG_SOFTMAX",
        "L2_NORMALIZATION",
    ]:
        outq = {
            "LOGISTIC": (1 / 256, -128),
            "TANH": (1 / 128, 0),
            "LOG_SOFTMAX": (16 / 256, 127),
            "L2_NORMALIZATION": (1 / 128, 0),
        }.get(op, (0.05, 0))
        specs[f"{op} int8"] = (op, [I8(1, 4, 4, 8)], [I8(1, 4, 4, 8, q=outq)])
    for op in ["SOFTMAX", "TANH", "LOGISTIC", "ABS", "RELU"]:
        outq = {"SOFTMAX": (1 / 32768, 0), "TANH": (1 / 32768, 0), "LOGISTIC": (1 / 32768, 0)}.get(
            op, (0.001, 0)
        )
        specs[f"{op} int16"] = (op, [I16(1, 4, 4, 8)], [I16(1, 4, 4, 8, q=outq)])
    binary = [
        "ADD",
        "SUB",
        "MUL",
        "DIV",
        "MAXIMUM",
        "MINIMUM",
        "SQUARED_DIFFERENCE",
        "FLOOR_DIV",
        "FLOOR_MOD",
        "PRELU",
    ]
    for op in binary:
        specs[f"{op} float32"] = (op, [F(1, 4, 4, 8), F(1, 4, 4, 8)], [F(1, 4, 4, 8)])
    for op in ["ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "PRELU", "DIV"]:
        specs[f"{op} int8"] = (op, [I8(1, 4, 4, 8), I8(1, 4, 4, 8)], [I8(1, 4, 4, 8)])
    for op in ["EQUAL", "NOT_EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL"]:
        specs[f"{op} float32"] = (op, [F(1, 8), F(1, 8)], [T("BOOL", (1, 8))])
        specs[f"{op} int8"] = (op, [I8(1, 8), I8(1, 8)], [T("BOOL", (1, 8))])
    for op in ["LOGICAL_AND", "LOGICAL_OR"]:
        specs[f"{op} bool"] = (op, [T("BOOL", (1, 8)), T("BOOL", (1, 8))], [T("BOOL", (1, 8))])
    specs["LOGICAL_NOT bool"] = ("LOGICAL_NOT", [T("BOOL", (1, 8))], [T("BOOL", (1, 8))])
    specs["BATCH_MATMUL float32"] = ("BATCH_MATMUL", [F(1, 2, 3), F(1, 3, 4)], [F(1, 2, 4)])
    specs["ADD_N float32"] = ("ADD_N", [F(1, 8), F(1, 8), F(1, 8)], [F(1, 8)])
    specs["CAST float32"] = ("CAST", [F(1, 8)], [T("INT32", (1, 8))])
    specs["CAST int8"] = ("CAST", [I8(1, 8)], [T("FLOAT32", (1, 8))])
    specs["DEQUANTIZE int16"] = ("DEQUANTIZE", [I16(1, 8)], [F(1, 8)])
    specs["QUANTIZE float32"] = ("QUANTIZE", [F(1, 8)], [I8(1, 8)])
    specs["TRANSPOSE float32"] = ("TRANSPOSE", [F(2, 3, 4), i32c(2, 0, 1)], [F(4, 2, 3)])
    specs["REVERSE_V2 float32"] = ("REVERSE_V2", [F(2, 3, 4), i32c(1)], [F(2, 3, 4)])
    specs["GATHER float32"] = ("GATHER", [F(5, 4), i32c(0, 2, 4)], [F(3, 4)])
    specs["GATHER int8"] = ("GATHER", [I8(5, 4), i32c(0, 2, 4)], [I8(3, 4)])
    specs["SLICE float32"] = ("SLICE", [F(4, 6), i32c(1, 2), i32c(2, 3)], [F(2, 3)])
    specs["EXPAND_DIMS float32"] = ("EXPAND_DIMS", [F(4, 6), i32c(0)], [F(1, 4, 6)])
    specs["SQUEEZE float32"] = ("SQUEEZE", [F(1, 4, 6)], [F(4, 6)])
    specs["ARG_MAX float32"] = ("ARG_MAX", [F(1, 10), i32c(1)], [T("INT32", (1,))])
    specs["ARG_MIN int8"] = ("ARG_MIN", [I8(1, 10), i32c(1)], [T("INT32", (1,))])
    specs["SUM float32"] = ("SUM", [F(1, 4, 4, 8), i32c(1, 2)], [F(1, 8)])
    specs["REDUCE_MIN int8"] = ("REDUCE_MIN", [I8(1, 4, 4, 8), i32c(1, 2)], [I8(1, 8)])
    specs["MIRROR_PAD float32"] = (
        "MIRROR_PAD",
        [F(1, 4, 4, 2), T("INT32", (4, 2), data=struct.pack("<8i", 0, 0, 1, 1, 1, 1, 0, 0))],
        [F(1, 6, 6, 2)],
    )
    specs["PAD float32"] = (
        "PAD",
        [F(1, 4, 4, 2), T("INT32", (4, 2), data=struct.pack("<8i", 0, 0, 1, 1, 1, 1, 0, 0))],
        [F(1, 6, 6, 2)],
    )
    specs["RESIZE_BILINEAR float32"] = (
        "RESIZE_BILINEAR",
        [F(1, 4, 4, 2), i32c(8, 8)],
        [F(1, 8, 8, 2)],
    )
    specs["RESIZE_NEAREST_NEIGHBOR float32"] = (
        "RESIZE_NEAREST_NEIGHBOR",
        [F(1, 4, 4, 2), i32c(8, 8)],
        [F(1, 8, 8, 2)],
    )
    specs["BROADCAST_TO float32"] = ("BROADCAST_TO", [F(1, 4), i32c(3, 4)], [F(3, 4)])
    specs["FILL float32"] = (
        "FILL",
        [i32c(3, 4), T("FLOAT32", (), data=struct.pack("<f", 1.0))],
        [F(3, 4)],
    )
    specs["CUMSUM float32"] = (
        "CUMSUM",
        [F(2, 8), T("INT32", (), data=struct.pack("<i", 1))],
        [F(2, 8)],
    )
    specs["SELECT_V2 float32"] = ("SELECT_V2", [T("BOOL", (1, 8)), F(1, 8), F(1, 8)], [F(1, 8)])
    specs["BATCH_TO_SPACE_ND float32"] = (
        "BATCH_TO_SPACE_ND",
        [F(4, 2, 2, 1), i32c(2, 2), T("INT32", (2, 2), data=bytes(16))],
        [F(1, 4, 4, 1)],
    )
    specs["SPACE_TO_BATCH_ND float32"] = (
        "SPACE_TO_BATCH_ND",
        [F(1, 4, 4, 1), i32c(2, 2), T("INT32", (2, 2), data=bytes(16))],
        [F(4, 2, 2, 1)],
    )
    specs["EMBEDDING_LOOKUP float32"] = (
        "EMBEDDING_LOOKUP",
        [T("INT32", (3,)), T("FLOAT32", (5, 4), data=bytes(80))],
        [F(3, 4)],
    )
    specs["SPLIT float32"] = (
        "SPLIT",
        [T("INT32", (), data=struct.pack("<i", 1)), F(1, 8)],
        [F(1, 8)],
    )
    specs["UNPACK float32"] = ("UNPACK", [F(2, 4)], [F(4), F(4)])
    specs["GATHER_ND float32"] = (
        "GATHER_ND",
        [F(3, 4), T("INT32", (2, 1), data=struct.pack("<2i", 0, 2))],
        [F(2, 4)],
    )
    return specs
