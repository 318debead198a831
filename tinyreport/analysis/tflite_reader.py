"""Read a .tflite file through the official flatbuffer schema into plain dataclasses.

The schema module is the one that ships with `tflite-micro`
(`tflite_micro/tensorflow/lite/micro/python/schema_py_generated.py`). It is loaded by file
path so that reading a model does not start TFLM's Python runtime or TensorFlow.
"""

from __future__ import annotations

import importlib.util
import math
import mmap
import os
import struct
import sys
import threading
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
    # The signal library's custom operators (tensorflow/lite/micro/micro_mutable_op_resolver.h
    # registers them by these custom names; the tflite_micro wheel has them all).
    "CUSTOM:SignalDelay": "AddDelay", "CUSTOM:SignalEnergy": "AddEnergy",
    "CUSTOM:SignalFftAutoScale": "AddFftAutoScale", "CUSTOM:SignalFilterBank": "AddFilterBank",
    "CUSTOM:SignalFilterBankLog": "AddFilterBankLog",
    "CUSTOM:SignalFilterBankSquareRoot": "AddFilterBankSquareRoot",
    "CUSTOM:SignalFilterBankSpectralSubtraction": "AddFilterBankSpectralSubtraction",
    "CUSTOM:SignalFramer": "AddFramer", "CUSTOM:SignalIrfft": "AddIrfft",
    "CUSTOM:SignalOverlapAdd": "AddOverlapAdd", "CUSTOM:SignalPCAN": "AddPCAN",
    "CUSTOM:SignalRfft": "AddRfft", "CUSTOM:SignalStacker": "AddStacker",
    "CUSTOM:SignalWindow": "AddWindow",
}  # fmt: skip

_FILE_IDENTIFIER = b"TFL3"

# FLATBUFFERS_MAX_BUFFER_SIZE: a flatbuffer's offsets are signed 32-bit, so no .tflite that TFLM
# can load is larger (bigger models keep their weights outside the flatbuffer, which TFLM cannot
# load either). The same bound holds for one tensor: TFLM's planner sizes buffers with an `int`.
_MAX_BYTES = 2**31 - 1

# Operands that must be present (exist and not be -1, TFLite's mark of an omitted optional
# input): operator -> (inputs, outputs). Every TFLM kernel reads at least one input and writes at
# least one output, but for the variable and control-flow operators in the first line; those in
# the others have more, which tinyreport reads (the MAC count, the planner's scratch and
# per-channel formulas) as TFLM's kernels do.
_DEFAULT_OPERANDS = (1, 1)
_REQUIRED_OPERANDS = {
    "VAR_HANDLE": (0, 1), "ASSIGN_VARIABLE": (2, 0), "CALL_ONCE": (0, 0), "IF": (1, 0),
    "WHILE": (0, 0),
    "CONV_2D": (2, 1), "DEPTHWISE_CONV_2D": (2, 1), "TRANSPOSE_CONV": (3, 1),
    "FULLY_CONNECTED": (2, 1), "ADD": (2, 1), "SUB": (2, 1), "MUL": (2, 1),
    "MEAN": (2, 1), "SUM": (2, 1), "REDUCE_MAX": (2, 1), "REDUCE_MIN": (2, 1),
    "SVDF": (2, 1), "UNIDIRECTIONAL_SEQUENCE_LSTM": (1, 1), "BATCH_MATMUL": (2, 1),
}  # fmt: skip

# Ranks those formulas index, as TFLM's kernels check them:
# operator -> ((operand kind, position, rank), ...).
_CONV_RANKS = (("input", 0, 4), ("input", 1, 4), ("output", 0, 4))
_OPERAND_RANKS = {
    "CONV_2D": _CONV_RANKS,
    "DEPTHWISE_CONV_2D": _CONV_RANKS,
    "FULLY_CONNECTED": (("input", 1, 2),),
    "SVDF": (("input", 0, 2), ("input", 1, 2)),
    "TRANSPOSE_CONV": (("input", 1, 4), ("input", 2, 4)),
}

# The filter dimension TFLM's kernels match a per-channel scale count against
# (kConvQuantizedDimension, kDepthwiseConvQuantizedDimension; fully connected as conv).
_CHANNEL_DIMENSION = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}


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
    # OfflineMemoryAllocation metadata: the head offset of each tensor of the main subgraph,
    # -1 for a tensor the greedy planner places (micro_allocation_info.cc).
    offline_offsets: tuple[int, ...] | None = None

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


_SCHEMA_LOCK = threading.Lock()


@cache
def schema() -> ModuleType:
    """Load tflite-micro's generated schema module without importing the tflite_micro package.

    Under a lock, and published in sys.modules only once it is fully executed: a thread that
    got a half-loaded module would see every model as corrupt."""
    name = "tinyreport._tflite_schema"
    with _SCHEMA_LOCK:
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
        module_spec.loader.exec_module(module)
        sys.modules[name] = module
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
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                _check_no_trailing_bytes(mapped, name)  # before reading what may be junk
                data = mapped[:]
    except OSError as exc:
        raise ModelFileError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    return parse_model(data, name)


def parse_model(data: bytes, name: str = "<bytes>") -> Model:
    """Parse .tflite bytes; `name` is used in error messages."""
    _check_identifier(data[:8], name)
    try:
        raw = _read(data, name)
    except ModelFileError:
        raise
    except (IndexError, ValueError, struct.error, TypeError, KeyError, AttributeError):
        raise ModelFileError(
            f"{name} is truncated or corrupt ({len(data)} bytes): its flatbuffer points "
            "outside the file; convert the model again."
        ) from None
    # Outside the try: the flatbuffer has been read, and an error from here on is a bug.
    model = _build(raw, name)
    _check_supported(model, name)
    _check_tflm_kernels(model, name)
    return model


# Bytes a converter may leave after the last object `_referenced_end` walks (vtables, options
# tables, signature defs, metadata names): at most 330 in the 73 models of tests/data and the
# MNIST models collect converts.
_TRAILING_SLACK = 64 << 10


def _referenced_end(data) -> int:
    """Where the model's own bytes end: the furthest end of the tensor data, tensor names,
    shapes and quantization, operator lists, operator codes and description it references."""
    s = schema()
    root = s.Model.GetRootAs(data, 0)
    end = max(8, _vector_end(root, 10))  # description
    for b in range(root.BuffersLength()):
        end = max(end, _vector_end(root.Buffers(b), 4))  # data
    for c in range(root.OperatorCodesLength()):
        end = max(end, _vector_end(root.OperatorCodes(c), 6))  # custom_code
    for g in range(root.SubgraphsLength()):
        graph = root.Subgraphs(g)
        for i in range(graph.TensorsLength()):
            t = graph.Tensors(i)
            end = max(end, _vector_end(t, 4), _vector_end(t, 10))  # shape, name
            q = t.Quantization()
            if q is not None:  # min, max, scale, zero_point
                end = max(end, *(_vector_end(q, field) for field in (4, 6, 8, 10)))
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            end = max(end, _vector_end(op, 6), _vector_end(op, 8), _vector_end(op, 14))
    return end


def _check_no_trailing_bytes(data, name: str) -> None:
    """Refuse a file that goes on long after its model: junk appended to a .tflite (a padded
    file would otherwise be read whole, and count as flash the model does not need)."""
    try:
        end = _referenced_end(data)
    except (IndexError, ValueError, struct.error, TypeError, KeyError, AttributeError):
        return  # a damaged flatbuffer: parse_model says so
    trailing = len(data) - end
    if trailing > max(_TRAILING_SLACK, end // 8):
        raise ModelFileError(
            f"{name} holds {trailing:,} bytes after its model ({end:,} bytes of flatbuffer and "
            "tensor data), which no converter writes; convert the model again."
        )


def _check_identifier(head: bytes, name: str) -> None:
    if len(head) < 8 or head[4:8] != _FILE_IDENTIFIER:
        raise ModelFileError(
            f"{name} is not a TFLite flatbuffer (no 'TFL3' identifier); "
            "pass the .tflite file the converter wrote."
        )


def _corrupt(name: str, problem: str) -> ModelFileError:
    """The error for a file whose flatbuffer reads but whose contents do not fit together."""
    return ModelFileError(f"{name} is corrupt: {problem}; convert the model again.")


# --- reading: the flatbuffer into plain values, nothing checked but the flatbuffer itself -------


@dataclass(frozen=True)
class _RawTensor:
    """A tensor as the file has it; `buffer` is not yet known to exist."""

    name: str
    type: int
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int
    buffer: int
    is_variable: bool


@dataclass(frozen=True)
class _RawOperator:
    """An operator as the file has it; its opcode and tensor indices are not yet checked."""

    opcode: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    intermediates: tuple[int, ...]
    options_type: int
    options: dict  # the fields of the options table tinyreport reads, when it is that table


@dataclass(frozen=True)
class _RawModel:
    """What `_read` takes from the flatbuffer, for `_build` to check."""

    n_bytes: int
    buffer_bytes: tuple[int, ...]
    op_codes: tuple[str, ...]  # operator names by opcode index
    tensors: tuple[_RawTensor, ...]
    operators: tuple[_RawOperator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    n_subgraphs: int
    metadata: frozenset[str]
    offline_plan: tuple[int, ...] | None  # the OfflineMemoryAllocation buffer as int32 words
    n_all_tensors: int  # tensors of every subgraph


# BuiltinOptions table of the operators whose options tinyreport reads.
_OPTIONS_TABLE = {
    "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions",
    "L2_POOL_2D": "Pool2DOptions",
    "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions",
    "SVDF": "SVDFOptions",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions",
    "BATCH_MATMUL": "BatchMatMulOptions",
}


def _vector_end(table, field_offset: int) -> int:
    """End position of a vector field of a flatbuffer table (0 when absent)."""
    o = table._tab.Offset(field_offset)
    if o == 0:
        return 0
    start = table._tab.Vector(o)
    return start + table._tab.VectorLen(o)


def _ints(table, method: str) -> tuple[int, ...]:
    """An int vector field of a flatbuffer table as a tuple (empty when absent)."""
    if not getattr(table, f"{method}Length")():
        return ()
    return tuple(int(x) for x in getattr(table, f"{method}AsNumpy")())


def _read(data: bytes, name: str) -> _RawModel:
    """Read the main subgraph; flatbuffer offsets outside `data` raise IndexError & co."""
    s = schema()
    op_names = _enum_names("BuiltinOperator")
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

    op_codes = []
    for c in range(root.OperatorCodesLength()):
        code = root.OperatorCodes(c)
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        op_name = op_names.get(builtin, f"BUILTIN_{builtin}")
        if op_name == "CUSTOM":
            op_name = f"CUSTOM:{(code.CustomCode() or b'?').decode('utf-8', 'replace')}"
        op_codes.append(op_name)

    tensors = []
    for i in range(graph.TensorsLength()):
        t = graph.Tensors(i)
        q = t.Quantization()
        quantized = q is not None and q.ScaleLength() > 0 and q.ZeroPointLength() > 0
        tensors.append(
            _RawTensor(
                name=(t.Name() or b"").decode("utf-8", "replace"),
                type=t.Type(),
                shape=_ints(t, "Shape"),
                shape_signature=_ints(t, "ShapeSignature"),
                scales=tuple(float(x) for x in q.ScaleAsNumpy()) if quantized else (),
                zero_points=_ints(q, "ZeroPoint") if quantized else (),
                axis=int(q.QuantizedDimension()) if quantized else 0,
                buffer=t.Buffer(),
                is_variable=bool(t.IsVariable()),
            )
        )

    operators = []
    for i in range(graph.OperatorsLength()):
        o = graph.Operators(i)
        opcode = o.OpcodeIndex()
        op_name = op_codes[opcode] if opcode < len(op_codes) else ""
        operators.append(
            _RawOperator(
                opcode=opcode,
                inputs=_ints(o, "Inputs"),
                outputs=_ints(o, "Outputs"),
                intermediates=_ints(o, "Intermediates"),
                options_type=o.BuiltinOptionsType(),
                options=_read_options(s, o, op_name),
            )
        )

    return _RawModel(
        n_bytes=n,
        buffer_bytes=tuple(buffer_bytes),
        op_codes=tuple(op_codes),
        tensors=tuple(tensors),
        operators=tuple(operators),
        inputs=_ints(graph, "Inputs"),
        outputs=_ints(graph, "Outputs"),
        n_subgraphs=root.SubgraphsLength(),
        metadata=frozenset(
            (root.Metadata(m).Name() or b"").decode("utf-8", "replace")
            for m in range(root.MetadataLength())
        ),
        offline_plan=_offline_plan(root),
        n_all_tensors=sum(root.Subgraphs(g).TensorsLength() for g in range(root.SubgraphsLength())),
    )


def _offline_plan(root) -> tuple[int, ...] | None:
    """The int32 words of the first metadata named exactly OfflineMemoryAllocation, as
    AllocationInfoBuilder::GetOfflinePlannedOffsets finds it."""
    for m in range(root.MetadataLength()):
        entry = root.Metadata(m)
        if entry.Name() == b"OfflineMemoryAllocation":
            buf = root.Buffers(entry.Buffer())
            data = buf.DataAsNumpy() if buf.DataLength() else b""
            words = bytes(data)
            return struct.unpack(f"<{len(words) // 4}i", words[: len(words) // 4 * 4])
    return None


def _read_options(s: ModuleType, o, op_name: str) -> dict:
    """The fields of an operator's options that the MAC count and the tail model use."""
    kind = _OPTIONS_TABLE.get(op_name)
    table = o.BuiltinOptions()
    if kind is None or table is None or o.BuiltinOptionsType() != getattr(s.BuiltinOptions, kind):
        return {}
    opt = getattr(s, kind)()
    opt.Init(table.Bytes, table.Pos)
    if kind == "Pool2DOptions":
        return {"filter": (opt.FilterHeight(), opt.FilterWidth())}
    if kind == "FullyConnectedOptions":
        return {"keep_num_dims": bool(opt.KeepNumDims())}
    if kind == "SVDFOptions":
        return {"rank": opt.Rank()}
    if kind == "UnidirectionalSequenceLSTMOptions":
        return {"time_major": bool(opt.TimeMajor())}
    if kind == "BatchMatMulOptions":
        return {"adj_x": bool(opt.AdjX()), "adj_y": bool(opt.AdjY())}
    return {
        "padding": opt.Padding(),
        "stride": (opt.StrideH(), opt.StrideW()),
        "dilation": (opt.DilationHFactor(), opt.DilationWFactor()),
    }


# --- checking: everything the planner and the analysis index must hold -------------------------


def _build(raw: _RawModel, name: str) -> Model:
    """Check that the parts of `raw` fit together and make the Model; raise ModelFileError."""
    type_names = _enum_names("TensorType")
    tensors = []
    for i, t in enumerate(raw.tensors):
        if t.buffer >= len(raw.buffer_bytes):
            raise _corrupt(
                name,
                f"tensor {i} '{t.name}' refers to buffer {t.buffer}, but the file has "
                f"{len(raw.buffer_bytes)} buffers",
            )
        tensor = Tensor(
            index=i,
            name=t.name,
            dtype=type_names.get(t.type, f"TYPE_{t.type}"),
            shape=t.shape,
            shape_signature=t.shape_signature,
            quantization=Quantization(t.scales, t.zero_points, t.axis) if t.scales else None,
            data_bytes=raw.buffer_bytes[t.buffer],
            is_variable=t.is_variable,
        )
        _check_tensor(tensor, name)
        tensors.append(tensor)

    operators = []
    for i, o in enumerate(raw.operators):
        if o.opcode >= len(raw.op_codes):
            raise _corrupt(
                name,
                f"operator {i} uses operator code {o.opcode}, but the file lists "
                f"{len(raw.op_codes)} operator codes",
            )
        op_name = raw.op_codes[o.opcode]
        what = f"operator {i} ({op_name})"
        _check_operands(what, op_name, o, len(tensors), name)
        _check_operand_shapes(what, op_name, o, tensors, name)
        options = _check_options(what, op_name, o, name)
        operators.append(
            Operator(
                index=i,
                op=op_name,
                inputs=o.inputs,
                outputs=o.outputs,
                intermediates=o.intermediates,
                options=options,
                n_macs=_macs(op_name, o.inputs, o.outputs, tensors, options),
                param_bytes=sum(tensors[t].data_bytes for t in o.inputs if t >= 0),
            )
        )

    for kind, indices in (("input", raw.inputs), ("output", raw.outputs)):
        for index in indices:
            if not 0 <= index < len(tensors):
                raise _corrupt(
                    name,
                    f"graph {kind} {index} is not a tensor (the graph has {len(tensors)} tensors)",
                )

    return Model(
        path=name,
        file_bytes=raw.n_bytes,
        tensors=tuple(tensors),
        operators=tuple(operators),
        inputs=raw.inputs,
        outputs=raw.outputs,
        n_subgraphs=raw.n_subgraphs,
        has_offline_plan="OfflineMemoryAllocation" in raw.metadata,
        has_compression_metadata="COMPRESSION_METADATA" in raw.metadata,
        offline_offsets=_check_offline_plan(raw, len(tensors), name),
    )


def _check_offline_plan(raw: _RawModel, n_tensors: int, name: str) -> tuple[int, ...] | None:
    """The main subgraph's offline offsets; refuse a plan TFLM refuses."""
    if raw.offline_plan is None:
        return None
    words = raw.offline_plan
    if len(words) < 3 or words[2] != raw.n_all_tensors or len(words) < 3 + words[2]:
        count = words[2] if len(words) >= 3 else "no"
        raise ModelFileError(
            f"{name} has an offline memory plan with {count} tensor offsets for "
            f"{raw.n_all_tensors} tensors; TFLM refuses it (the number of offline buffer "
            "offsets must equal the number of tensors)."
        )
    return tuple(words[3 : 3 + n_tensors])


def _check_tensor(t: Tensor, name: str) -> None:
    """Refuse a tensor whose shape or quantization cannot be right."""
    what = f"tensor {t.index} '{t.name}'"
    if -1 in t.shape:
        raise ModelFileError(
            f"{name} has dynamic shapes ({what} has shape {list(t.shape)}); TFLM needs fixed "
            "shapes: give every input dimension but the batch a size."
        )
    if any(d < 0 for d in t.shape):
        raise _corrupt(name, f"{what} has a negative dimension in its shape {list(t.shape)}")
    if t.n_bytes > _MAX_BYTES:
        raise _corrupt(
            name,
            f"{what} of shape {list(t.shape)} would take {t.n_bytes:,} bytes, more than TFLM "
            "can allocate (2 GiB)",
        )
    if t.quantization is not None and not all(map(math.isfinite, t.quantization.scales)):
        raise _corrupt(name, f"{what} has a quantization scale that is not a finite number")


def _check_operands(what: str, op_name: str, o: _RawOperator, n: int, name: str) -> None:
    """Refuse tensor indices that do not exist, and missing operands tinyreport reads."""
    for kind, indices, lowest in (
        ("input", o.inputs, -1),  # -1: an omitted optional input
        ("output", o.outputs, 0),
        ("intermediate", o.intermediates, 0),
    ):
        for index in indices:
            if not lowest <= index < n:
                raise _corrupt(
                    name,
                    f"{what} has {kind} {index}, which is not a tensor (the graph has {n} tensors)",
                )
    if op_name not in RESOLVER_METHODS:
        return  # no TFLM kernel: refused by _check_supported, with its name
    n_inputs, n_outputs = _REQUIRED_OPERANDS.get(op_name, _DEFAULT_OPERANDS)
    for kind, indices, needed in (
        ("inputs", o.inputs, n_inputs),
        ("outputs", o.outputs, n_outputs),
    ):
        present = next((k for k, index in enumerate(indices) if index < 0), len(indices))
        if present >= needed:
            continue
        if not indices:
            raise _corrupt(name, f"{what} has no {kind}, but needs {needed}")
        raise _corrupt(
            name,
            f"{what} has {kind} {list(indices)}, but needs the first {needed} present "
            "(-1 marks an omitted one)",
        )


def _check_operand_shapes(
    what: str, op_name: str, o: _RawOperator, tensors: list[Tensor], name: str
) -> None:
    """Refuse operand shapes the MAC count and the planner's formulas cannot use."""
    operands = {"input": o.inputs, "output": o.outputs}
    for kind, position, rank in _OPERAND_RANKS.get(op_name, ()):
        t = tensors[operands[kind][position]]
        if len(t.shape) != rank:
            raise _corrupt(
                name,
                f"{what} needs a rank-{rank} {kind} {position}, but tensor {t.index} "
                f"'{t.name}' has shape {list(t.shape)}",
            )
    if op_name == "UNIDIRECTIONAL_SEQUENCE_LSTM":
        # lstm_shared.h: 24 inputs; the planner reads the input and the two state tensors.
        if len(o.inputs) != 24 or min(o.inputs[i] for i in (0, 18, 19)) < 0:
            raise _corrupt(name, f"{what} needs 24 inputs with input, output state and cell state")
        for i in (0, 18):
            t = tensors[o.inputs[i]]
            if len(t.shape) < 2:
                raise _corrupt(name, f"{what} needs a rank-2 or more tensor {t.index} '{t.name}'")
    if op_name == "DEPTHWISE_CONV_2D" and tensors[o.inputs[0]].shape[3] == 0:
        t = tensors[o.inputs[0]]
        raise _corrupt(
            name,
            f"{what} has input tensor {t.index} '{t.name}' of shape {list(t.shape)}, which has "
            "no channels",
        )
    if op_name in _CHANNEL_DIMENSION:
        w = tensors[o.inputs[1]]
        n_scales = len(w.quantization.scales) if w.quantization else 1
        channels = w.shape[_CHANNEL_DIMENSION[op_name]]
        if n_scales not in (1, channels):
            raise _corrupt(
                name,
                f"{what} has filter tensor {w.index} '{w.name}' of shape {list(w.shape)} with "
                f"{n_scales} quantization scales; TFLM needs 1 or one per channel ({channels})",
            )


def _check_options(what: str, op_name: str, o: _RawOperator, name: str) -> dict:
    """Refuse options of the wrong table or with impossible values; name the padding."""
    s = schema()
    kind = _OPTIONS_TABLE.get(op_name)
    if kind is None or o.options_type == s.BuiltinOptions.NONE:
        return {}
    if o.options_type != getattr(s.BuiltinOptions, kind):
        kinds = {v: k for k, v in vars(s.BuiltinOptions).items() if not k.startswith("_")}
        found = kinds.get(o.options_type, f"type {o.options_type}")
        raise _corrupt(name, f"{what} carries {found}, not {kind}")
    options = dict(o.options)
    if "padding" in options:
        paddings = {v: k for k, v in vars(s.Padding).items() if not k.startswith("_")}
        if options["padding"] not in paddings:
            raise _corrupt(name, f"{what} has padding {options['padding']}, not SAME or VALID")
        options["padding"] = paddings[options["padding"]]
    if options.get("rank", 1) < 1:
        raise _corrupt(name, f"{what} has rank {options['rank']}; it must be at least 1")
    for key in ("filter", "stride", "dilation"):
        if key in options and min(options[key]) < 1:
            raise _corrupt(name, f"{what} has {key} {options[key]}; each must be at least 1")
    return options


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


# Input and filter types TFLM's weight-bearing kernels accept (conv_common.cc,
# depthwise_conv_common.cc, transpose_conv.cc, fully_connected.cc): operator -> (input position,
# filter position). Anything else is a hybrid (dynamic-range) or otherwise mixed model.
_WEIGHTED = {
    "CONV_2D": (0, 1), "DEPTHWISE_CONV_2D": (0, 1), "TRANSPOSE_CONV": (2, 1),
    "FULLY_CONNECTED": (0, 1), "SVDF": (0, 1), "UNIDIRECTIONAL_SEQUENCE_LSTM": (0, 2),
}  # fmt: skip
_FILTER_TYPES = {"FLOAT32": {"FLOAT32"}, "INT8": {"INT8", "INT4"}, "INT16": {"INT8"}}

# Input types the reference kernels accept where TFLite also has uint8 or float16 kernels
# (softmax_common.cc, conv, pooling, add/mul, fully connected, dequantize_common.cc).
_INPUT_TYPES = {
    "SOFTMAX": {"FLOAT32", "INT8", "INT16"},
    "DEQUANTIZE": {"INT8", "INT16", "UINT8"},
    "AVERAGE_POOL_2D": {"FLOAT32", "INT8", "INT16"},
    "MAX_POOL_2D": {"FLOAT32", "INT8", "INT16"},
}


def _check_tflm_kernels(model: Model, name: str) -> None:
    """Refuse operand types TFLM's kernels reject in Prepare, with TFLM's reason."""
    for t in model.tensors:
        if t.dtype in ("FLOAT16", "BFLOAT16"):
            raise ModelFileError(
                f"{name} has {t.dtype.lower()} tensor {t.index} '{t.name}'; TFLM has no "
                f"{t.dtype.lower()} kernels and refuses the model: convert without float16 "
                "quantization (float32 or int8)."
            )
    for op in model.operators:
        what = f"operator {op.index} ({op.op})"
        if op.op in _WEIGHTED:
            i, w = _WEIGHTED[op.op]
            x = model.tensors[op.inputs[i]] if i < len(op.inputs) and op.inputs[i] >= 0 else None
            f = model.tensors[op.inputs[w]] if w < len(op.inputs) and op.inputs[w] >= 0 else None
            if x is not None and f is not None and f.dtype not in _FILTER_TYPES.get(x.dtype, ()):
                raise ModelFileError(
                    f"{name}: {what} has {x.dtype.lower()} input and {f.dtype.lower()} weights, "
                    'a hybrid (dynamic-range quantized) operator; TFLM refuses it ("Hybrid '
                    'models are not supported on TFLite Micro"): convert with full integer '
                    "quantization or keep float weights."
                )
        if op.op in _INPUT_TYPES and op.inputs and op.inputs[0] >= 0:
            x = model.tensors[op.inputs[0]]
            if x.dtype not in _INPUT_TYPES[op.op]:
                raise ModelFileError(
                    f"{name}: {what} reads a {x.dtype.lower()} tensor; TFLM's kernel accepts "
                    f"only {', '.join(sorted(t.lower() for t in _INPUT_TYPES[op.op]))}, so "
                    "TFLM refuses the model: convert it with int8 or float32 tensors."
                )


def _check_supported(model: Model, name: str) -> None:
    """Refuse what TFLM cannot run, with a sentence naming the problem."""
    missing = sorted({op.op for op in model.operators if op.op not in RESOLVER_METHODS})
    if missing:
        raise ModelFileError(
            f"{name} uses operator {', '.join(missing)}, which TFLM has no kernel for; "
            "rebuild the model with TFLite builtin operators TFLM supports."
        )
    for t in model.tensors:
        # Negative dimensions in the shape itself were refused by _check_tensor.
        if any(d < 0 for d in t.shape_signature[1:]):
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
