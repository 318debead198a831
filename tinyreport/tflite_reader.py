"""Read a .tflite file through the official flatbuffer schema into plain dataclasses.

The schema module is the one that ships with `tflite-micro`
(`tflite_micro/tensorflow/lite/micro/python/schema_py_generated.py`). It is loaded by file
path so that reading a model does not start TFLM's Python runtime or TensorFlow.
"""

from __future__ import annotations

import importlib.util
import math
import os
import struct
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType

from tinyreport.errors import ModelFileError

# Element sizes as TFLM's TfLiteTypeSizeOf() gives them (tensorflow/lite/micro/memory_helpers.cc).
_DTYPE_BYTES = {
    "FLOAT32": 4,
    "FLOAT16": 2,
    "BFLOAT16": 2,
    "FLOAT64": 8,
    "INT32": 4,
    "UINT32": 4,
    "INT16": 2,
    "UINT16": 2,
    "INT8": 1,
    "UINT8": 1,
    "INT4": 1,
    "INT64": 8,
    "UINT64": 8,
    "BOOL": 1,
    "COMPLEX64": 8,
    "COMPLEX128": 16,
    "RESOURCE": 4,
}

# BuiltinOperator -> MicroMutableOpResolver method, from TFLM's
# tensorflow/lite/micro/micro_mutable_op_resolver.h. An operator missing here has no TFLM kernel.
RESOLVER_METHODS = {
    "ABS": "AddAbs", "ADD": "AddAdd", "ADD_N": "AddAddN", "ARG_MAX": "AddArgMax",
    "ARG_MIN": "AddArgMin", "ASSIGN_VARIABLE": "AddAssignVariable",
    "AVERAGE_POOL_2D": "AddAveragePool2D", "BATCH_MATMUL": "AddBatchMatMul",
    "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd", "BROADCAST_ARGS": "AddBroadcastArgs",
    "BROADCAST_TO": "AddBroadcastTo", "CALL_ONCE": "AddCallOnce", "CAST": "AddCast",
    "CEIL": "AddCeil", "CONCATENATION": "AddConcatenation", "CONV_2D": "AddConv2D",
    "COS": "AddCos", "CUMSUM": "AddCumSum", "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "DEPTH_TO_SPACE": "AddDepthToSpace", "DEQUANTIZE": "AddDequantize", "DIV": "AddDiv",
    "DYNAMIC_UPDATE_SLICE": "AddDynamicUpdateSlice", "ELU": "AddElu",
    "EMBEDDING_LOOKUP": "AddEmbeddingLookup", "EQUAL": "AddEqual", "EXP": "AddExp",
    "EXPAND_DIMS": "AddExpandDims", "FILL": "AddFill", "FLOOR": "AddFloor",
    "FLOOR_DIV": "AddFloorDiv", "FLOOR_MOD": "AddFloorMod",
    "FULLY_CONNECTED": "AddFullyConnected", "GATHER": "AddGather", "GATHER_ND": "AddGatherNd",
    "GREATER": "AddGreater", "GREATER_EQUAL": "AddGreaterEqual", "HARD_SWISH": "AddHardSwish",
    "IF": "AddIf", "L2_NORMALIZATION": "AddL2Normalization", "L2_POOL_2D": "AddL2Pool2D",
    "LEAKY_RELU": "AddLeakyRelu", "LESS": "AddLess", "LESS_EQUAL": "AddLessEqual",
    "LOG": "AddLog", "LOGICAL_AND": "AddLogicalAnd", "LOGICAL_NOT": "AddLogicalNot",
    "LOGICAL_OR": "AddLogicalOr", "LOGISTIC": "AddLogistic", "LOG_SOFTMAX": "AddLogSoftmax",
    "MAXIMUM": "AddMaximum", "MAX_POOL_2D": "AddMaxPool2D", "MEAN": "AddMean",
    "MINIMUM": "AddMinimum", "MIRROR_PAD": "AddMirrorPad", "MUL": "AddMul", "NEG": "AddNeg",
    "NOT_EQUAL": "AddNotEqual", "PACK": "AddPack", "PAD": "AddPad", "PADV2": "AddPadV2",
    "PRELU": "AddPrelu", "QUANTIZE": "AddQuantize", "READ_VARIABLE": "AddReadVariable",
    "REDUCE_ALL": "AddReduceAll", "REDUCE_MAX": "AddReduceMax", "REDUCE_MIN": "AddReduceMin",
    "RELU": "AddRelu", "RELU6": "AddRelu6", "RESHAPE": "AddReshape",
    "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor", "REVERSE_V2": "AddReverseV2",
    "ROUND": "AddRound", "RSQRT": "AddRsqrt", "SELECT_V2": "AddSelectV2", "SHAPE": "AddShape",
    "SIN": "AddSin", "SLICE": "AddSlice", "SOFTMAX": "AddSoftmax",
    "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd", "SPACE_TO_DEPTH": "AddSpaceToDepth",
    "SPLIT": "AddSplit", "SPLIT_V": "AddSplitV", "SQUEEZE": "AddSqueeze", "SQRT": "AddSqrt",
    "SQUARE": "AddSquare", "SQUARED_DIFFERENCE": "AddSquaredDifference",
    "STRIDED_SLICE": "AddStridedSlice", "SUB": "AddSub", "SUM": "AddSum", "SVDF": "AddSvdf",
    "TANH": "AddTanh", "TRANSPOSE": "AddTranspose", "TRANSPOSE_CONV": "AddTransposeConv",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM", "UNPACK": "AddUnpack",
    "VAR_HANDLE": "AddVarHandle", "WHILE": "AddWhile", "ZEROS_LIKE": "AddZerosLike",
}  # fmt: skip

_FILE_IDENTIFIER = b"TFL3"

# FLATBUFFERS_MAX_BUFFER_SIZE: a flatbuffer's offsets are signed 32-bit, so no .tflite that TFLM
# can load is larger (bigger models keep their weights outside the flatbuffer, which TFLM cannot
# load either).
_MAX_BYTES = 2**31 - 1


@dataclass(frozen=True)
class Quantization:
    """Affine quantization of one tensor: real = scale * (q - zero_point)."""

    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int  # the quantized dimension; meaningful when per-channel

    @property
    def per_channel(self) -> bool:
        """True when each slice along `axis` has its own scale."""
        return len(self.scales) > 1

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "per_channel": self.per_channel,
            "axis": self.axis,
            "scales": list(self.scales),
            "zero_points": list(self.zero_points),
        }


@dataclass(frozen=True)
class Tensor:
    """One tensor of the model's main subgraph."""

    index: int
    name: str
    dtype: str  # schema TensorType name, e.g. "INT8"
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]
    quantization: Quantization | None
    data_bytes: int  # bytes stored in the flatbuffer (0 for activations)
    is_variable: bool

    @property
    def is_constant(self) -> bool:
        """True for weights and other tensors whose data lives in the model file."""
        return self.data_bytes > 0

    @property
    def n_elements(self) -> int:
        """Element count as TFLM computes it (a scalar has one)."""
        return math.prod(self.shape)

    @property
    def n_bytes(self) -> int:
        """Bytes TFLM needs for the tensor's data (TfLiteEvalTensorByteLength)."""
        return self.n_elements * _DTYPE_BYTES.get(self.dtype, 1)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "index": self.index,
            "name": self.name,
            "dtype": self.dtype.lower(),
            "shape": list(self.shape),
            "bytes": self.n_bytes,
            "constant": self.is_constant,
            "quantization": self.quantization.to_dict() if self.quantization else None,
        }


@dataclass(frozen=True)
class Operator:
    """One operator of the main subgraph, in execution order."""

    index: int
    op: str  # BuiltinOperator name, e.g. "CONV_2D"
    inputs: tuple[int, ...]  # tensor indices; -1 marks an omitted optional input
    outputs: tuple[int, ...]
    intermediates: tuple[int, ...]
    options: dict = field(default_factory=dict, compare=False)  # the few options we use
    n_macs: int = 0
    param_bytes: int = 0  # bytes of constant inputs (weights, biases, shape constants)


@dataclass(frozen=True)
class Model:
    """What the arena planner and the budget need to know about a .tflite file."""

    path: str
    file_bytes: int
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    n_subgraphs: int
    has_offline_plan: bool
    has_compression_metadata: bool

    @property
    def op_types(self) -> tuple[str, ...]:
        """Distinct operator names in first-use order."""
        return tuple(dict.fromkeys(op.op for op in self.operators))

    @property
    def resolver_methods(self) -> tuple[str, ...]:
        """The `MicroMutableOpResolver` calls the firmware needs, sorted."""
        return tuple(sorted(RESOLVER_METHODS[name] for name in self.op_types))

    @property
    def param_bytes(self) -> int:
        """Bytes of all constant tensor data in the file."""
        return sum(t.data_bytes for t in self.tensors)

    @property
    def n_macs(self) -> int:
        """Multiply-accumulates of one inference."""
        return sum(op.n_macs for op in self.operators)

    @property
    def is_int8(self) -> bool:
        """True when no operator reads or writes a float tensor."""
        return not self.float_operators

    @property
    def float_operators(self) -> tuple[Operator, ...]:
        """Operators with a float input or output (they need float kernels)."""
        floats = {"FLOAT32", "FLOAT16", "FLOAT64", "BFLOAT16"}
        return tuple(
            op
            for op in self.operators
            if any(self.tensors[i].dtype in floats for i in (*op.inputs, *op.outputs) if i >= 0)
        )


@cache
def schema() -> ModuleType:
    """Load tflite-micro's generated schema module without importing the tflite_micro package."""
    name = "tinyreport._tflite_schema"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec("tflite_micro")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            "The tflite-micro package is not installed; run `pip install tflite-micro`."
        )
    base = Path(next(iter(spec.submodule_search_locations)))
    module_path = base / "tensorflow" / "lite" / "micro" / "python" / "schema_py_generated.py"
    module_spec = importlib.util.spec_from_file_location(name, module_path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


@cache
def _enum_names(enum_name: str) -> dict[int, str]:
    enum = getattr(schema(), enum_name)
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


def read_model(path: Path) -> Model:
    """Read and check a .tflite file; raise ModelFileError naming the file and the problem."""
    path = Path(path)
    name = str(path)
    try:
        with path.open("rb") as f:
            # The identifier and the size first, so that a huge file that is no model is turned
            # down without reading it.
            head = f.read(8)
            _check_identifier(head, name)
            size = os.fstat(f.fileno()).st_size
            if size > _MAX_BYTES:
                raise ModelFileError(
                    f"{name} is {size:,} bytes, more than a TFLite flatbuffer can hold (2 GiB); "
                    "TFLM cannot load a model this large."
                )
            data = head + f.read()
    except OSError as exc:
        raise ModelFileError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    return parse_model(data, name)


def parse_model(data: bytes, name: str = "<bytes>") -> Model:
    """Parse .tflite bytes; `name` is used in error messages."""
    _check_identifier(data[:8], name)
    try:
        model = _parse(data, name)
    except ModelFileError:
        raise
    except (IndexError, ValueError, struct.error, TypeError, KeyError, AttributeError):
        raise ModelFileError(
            f"{name} is truncated or corrupt ({len(data)} bytes): its flatbuffer points "
            "outside the file; convert the model again."
        ) from None
    _check_supported(model, name)
    return model


def _check_identifier(head: bytes, name: str) -> None:
    if len(head) < 8 or head[4:8] != _FILE_IDENTIFIER:
        raise ModelFileError(
            f"{name} is not a TFLite flatbuffer (no 'TFL3' identifier); "
            "pass the .tflite file the converter wrote."
        )


def _vector_end(table, field_offset: int) -> int:
    """End position of a vector field of a flatbuffer table (0 when absent)."""
    o = table._tab.Offset(field_offset)
    if o == 0:
        return 0
    start = table._tab.Vector(o)
    return start + table._tab.VectorLen(o)


def _parse(data: bytes, name: str) -> Model:
    s = schema()
    op_names = _enum_names("BuiltinOperator")
    type_names = _enum_names("TensorType")
    n = len(data)
    root = s.Model.GetRootAs(data, 0)
    if root.SubgraphsLength() < 1:
        raise ModelFileError(f"{name} has no subgraph; it holds no model to run.")
    graph = root.Subgraphs(0)

    buffer_bytes = []
    for b in range(root.BuffersLength()):
        buf = root.Buffers(b)
        if buf.Offset() > 1:
            raise ModelFileError(
                f"{name} stores tensor data outside the flatbuffer (buffer offsets, used for "
                "models over 2 GB); TFLM cannot load it."
            )
        if _vector_end(buf, 4) > n:
            raise IndexError("buffer data beyond end of file")
        buffer_bytes.append(buf.DataLength())

    tensors = []
    for i in range(graph.TensorsLength()):
        t = graph.Tensors(i)
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        signature = (
            tuple(int(d) for d in t.ShapeSignatureAsNumpy()) if t.ShapeSignatureLength() else ()
        )
        q = t.Quantization()
        quant = None
        if q is not None and q.ScaleLength() > 0 and q.ZeroPointLength() > 0:
            quant = Quantization(
                scales=tuple(float(x) for x in q.ScaleAsNumpy()),
                zero_points=tuple(int(x) for x in q.ZeroPointAsNumpy()),
                axis=int(q.QuantizedDimension()),
            )
        tensors.append(
            Tensor(
                index=i,
                name=(t.Name() or b"").decode("utf-8", "replace"),
                dtype=type_names.get(t.Type(), f"TYPE_{t.Type()}"),
                shape=shape,
                shape_signature=signature,
                quantization=quant,
                data_bytes=buffer_bytes[t.Buffer()] if t.Buffer() < len(buffer_bytes) else 0,
                is_variable=bool(t.IsVariable()),
            )
        )

    operators = []
    for i in range(graph.OperatorsLength()):
        o = graph.Operators(i)
        code = root.OperatorCodes(o.OpcodeIndex())
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        op_name = op_names.get(builtin, f"BUILTIN_{builtin}")
        if op_name == "CUSTOM":
            custom = (code.CustomCode() or b"?").decode("utf-8", "replace")
            op_name = f"CUSTOM:{custom}"
        inputs = tuple(int(x) for x in o.InputsAsNumpy()) if o.InputsLength() else ()
        outputs = tuple(int(x) for x in o.OutputsAsNumpy()) if o.OutputsLength() else ()
        inter = tuple(int(x) for x in o.IntermediatesAsNumpy()) if o.IntermediatesLength() else ()
        for t_index in (*inputs, *outputs, *inter):
            if t_index >= len(tensors):
                raise IndexError("tensor index out of range")
        options = _options(s, o, op_name)
        operators.append(
            Operator(
                index=i,
                op=op_name,
                inputs=inputs,
                outputs=outputs,
                intermediates=inter,
                options=options,
                n_macs=_macs(op_name, inputs, outputs, tensors, options),
                param_bytes=sum(tensors[t].data_bytes for t in inputs if t >= 0),
            )
        )

    metadata = {
        (root.Metadata(m).Name() or b"").decode("utf-8", "replace")
        for m in range(root.MetadataLength())
    }
    return Model(
        path=name,
        file_bytes=n,
        tensors=tuple(tensors),
        operators=tuple(operators),
        inputs=tuple(int(x) for x in graph.InputsAsNumpy()) if graph.InputsLength() else (),
        outputs=tuple(int(x) for x in graph.OutputsAsNumpy()) if graph.OutputsLength() else (),
        n_subgraphs=root.SubgraphsLength(),
        has_offline_plan="OfflineMemoryAllocation" in metadata,
        has_compression_metadata="COMPRESSION_METADATA" in metadata,
    )


def _options(s: ModuleType, o, op_name: str) -> dict:
    """Pull the few builtin options the MAC count and the tail model need."""
    table = o.BuiltinOptions()
    if table is None:
        return {}
    if op_name in ("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"):
        opt = s.Pool2DOptions()
        opt.Init(table.Bytes, table.Pos)
        return {"filter": (opt.FilterHeight(), opt.FilterWidth())}
    if op_name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        opt = s.Conv2DOptions() if op_name == "CONV_2D" else s.DepthwiseConv2DOptions()
        opt.Init(table.Bytes, table.Pos)
        padding = {v: k for k, v in vars(s.Padding).items() if not k.startswith("_")}
        return {
            "padding": padding.get(opt.Padding(), "SAME"),
            "stride": (opt.StrideH(), opt.StrideW()),
            "dilation": (opt.DilationHFactor(), opt.DilationWFactor()),
        }
    if op_name == "FULLY_CONNECTED":
        opt = s.FullyConnectedOptions()
        opt.Init(table.Bytes, table.Pos)
        return {"keep_num_dims": bool(opt.KeepNumDims())}
    return {}


def _macs(op: str, inputs, outputs, tensors, options: dict) -> int:
    """Multiply-accumulates of one operator (0 for operators that do no multiplications)."""
    if not outputs or not inputs:
        return 0
    out = tensors[outputs[0]]
    if op in ("CONV_2D", "TRANSPOSE_CONV") and len(inputs) > 1:
        w = tensors[inputs[1]].shape  # [out_c, kh, kw, in_c]
        if op == "TRANSPOSE_CONV":
            return math.prod(tensors[inputs[2]].shape) * math.prod(w[:3]) if len(w) == 4 else 0
        return out.n_elements * math.prod(w[1:]) if len(w) == 4 else 0
    if op == "DEPTHWISE_CONV_2D" and len(inputs) > 1:
        w = tensors[inputs[1]].shape  # [1, kh, kw, out_c]
        return out.n_elements * w[1] * w[2] if len(w) == 4 else 0
    if op == "FULLY_CONNECTED" and len(inputs) > 1:
        w = tensors[inputs[1]].shape  # [units, in_features]
        return out.n_elements * w[-1] if w else 0
    if op in ("ADD", "SUB", "MUL"):
        return out.n_elements
    if op == "AVERAGE_POOL_2D":
        h, w = options.get("filter", (1, 1))
        return out.n_elements * h * w
    return 0


def _check_supported(model: Model, name: str) -> None:
    """Refuse what TFLM cannot run, with a sentence naming the problem."""
    missing = sorted({op.op for op in model.operators if op.op not in RESOLVER_METHODS})
    if missing:
        raise ModelFileError(
            f"{name} uses operator {', '.join(missing)}, which TFLM has no kernel for; "
            "rebuild the model with TFLite builtin operators TFLM supports."
        )
    for t in model.tensors:
        dims = t.shape_signature[1:] if t.shape_signature else ()
        if any(d < 0 for d in dims) or any(d < 0 for d in t.shape):
            raise ModelFileError(
                f"{name} has dynamic shapes (tensor {t.index} '{t.name}' has shape signature "
                f"{list(t.shape_signature)}); TFLM needs fixed shapes: give every input "
                "dimension but the batch a size."
            )
        if t.dtype not in _DTYPE_BYTES:
            raise ModelFileError(
                f"{name} has tensor {t.index} '{t.name}' of type {t.dtype}, which TFLM "
                "does not support."
            )
