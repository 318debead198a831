"""Read an ESP-DL model file (.espdl) without esp-ppq or torch: sizes, operators, parameters.

The format, from esp-dl's own loader (`esp-dl/fbs_loader/espdl.fbs` in espressif/esp-dl and
the writer in esp-ppq): a 16-byte header (`EDL2`, a little-endian uint32 that is 1 when the
payload is AES-encrypted, the uint32 payload length, 4 zero bytes), then a FlatBuffers `Model`.
Only the fields tinyreport reports are read; the slot numbers below are the fields' order in
that schema.
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tinyreport.errors import ModelFileError

MAGIC = b"EDL2"
HEADER_BYTES = 16
MAX_FILE_BYTES = 256 << 20  # larger than any model a microcontroller's flash can hold

# espdl.fbs TensorDataType: element sizes in bytes (0: not a fixed-size number type).
DTYPES = {
    0: ("undefined", 0),
    1: ("float32", 4),
    2: ("uint8", 1),
    3: ("int8", 1),
    4: ("uint16", 2),
    5: ("int16", 2),
    6: ("int32", 4),
    7: ("int64", 8),
    8: ("string", 0),
    9: ("bool", 1),
    10: ("float16", 2),
    11: ("float64", 8),
    12: ("uint32", 4),
    13: ("uint64", 8),
}
# Field slots (0-based order of the fields in espdl.fbs).
MODEL_PRODUCER_NAME, MODEL_PRODUCER_VERSION, MODEL_GRAPH = 2, 3, 7
GRAPH_NODE, GRAPH_NAME, GRAPH_INITIALIZER = 0, 1, 2
NODE_NAME, NODE_OP_TYPE = 2, 3
TENSOR_DIMS, TENSOR_DATA_TYPE, TENSOR_NAME, TENSOR_RAW_DATA, TENSOR_EXPONENTS = 0, 1, 6, 8, 13


@dataclass(frozen=True)
class EspdlParameter:
    """One constant tensor (weights, biases) as the file stores it."""

    name: str
    dtype: str
    dims: tuple[int, ...]
    n_bytes: int  # elements x element size
    stored_bytes: int  # the 16-byte aligned blocks the file holds for it
    exponents: tuple[int, ...]  # power-of-two scales: value = q x 2**exponent


@dataclass(frozen=True)
class EspdlModel:
    """What tinyreport reports about a .espdl file."""

    path: str
    file_bytes: int
    producer: str
    graph_name: str
    op_types: dict[str, int]  # operator type -> count, in first-use order
    parameters: tuple[EspdlParameter, ...] = field(default_factory=tuple)

    @property
    def n_operators(self) -> int:
        return sum(self.op_types.values())

    @property
    def param_bytes_by_dtype(self) -> dict[str, int]:
        """Parameter bytes per element type (elements x size), sorted by dtype name."""
        total: Counter[str] = Counter()
        for p in self.parameters:
            total[p.dtype] += p.n_bytes
        return dict(sorted(total.items()))

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "file_bytes": self.file_bytes,
            "producer": self.producer,
            "graph": self.graph_name,
            "n_operators": self.n_operators,
            "op_types": self.op_types,
            "param_bytes_by_dtype": self.param_bytes_by_dtype,
            "param_bytes": sum(p.n_bytes for p in self.parameters),
            "param_stored_bytes": sum(p.stored_bytes for p in self.parameters),
            "n_parameters": len(self.parameters),
        }


class _Table:
    """A FlatBuffers table: fields by slot, with every offset checked against the buffer."""

    def __init__(self, buf: memoryview, pos: int, where: str):
        self.buf, self.pos, self.where = buf, pos, where
        self._check(pos, 4)
        vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self._check(vtable, 4)
        self.vtable = vtable
        self.vtable_len = struct.unpack_from("<H", buf, vtable)[0]

    def _check(self, pos: int, size: int) -> None:
        if pos < 0 or pos + size > len(self.buf):
            raise ModelFileError(f"{self.where} is damaged: an offset points outside the file")

    def _field(self, slot: int) -> int:
        """The field's absolute position, or 0 when the file leaves it out."""
        entry = 4 + 2 * slot
        if entry + 2 > self.vtable_len:
            return 0
        rel = struct.unpack_from("<H", self.buf, self.vtable + entry)[0]
        return self.pos + rel if rel else 0

    def _deref(self, at: int) -> int:
        self._check(at, 4)
        target = at + struct.unpack_from("<I", self.buf, at)[0]
        self._check(target, 4)
        return target

    def int32(self, slot: int) -> int:
        at = self._field(slot)
        if not at:
            return 0
        self._check(at, 4)
        return struct.unpack_from("<i", self.buf, at)[0]

    def string(self, slot: int) -> str:
        at = self._field(slot)
        if not at:
            return ""
        start = self._deref(at)
        n = struct.unpack_from("<I", self.buf, start)[0]
        self._check(start + 4, n)
        return bytes(self.buf[start + 4 : start + 4 + n]).decode("utf-8", "replace")

    def table(self, slot: int) -> _Table | None:
        at = self._field(slot)
        return _Table(self.buf, self._deref(at), self.where) if at else None

    def vector(self, slot: int, elem: int) -> tuple[int, int]:
        """(position of the first element, length) of a vector field; (0, 0) when absent."""
        at = self._field(slot)
        if not at:
            return 0, 0
        start = self._deref(at)
        n = struct.unpack_from("<I", self.buf, start)[0]
        self._check(start + 4, n * elem)
        return start + 4, n

    def tables(self, slot: int) -> list[_Table]:
        first, n = self.vector(slot, 4)
        return [_Table(self.buf, self._deref(first + 4 * i), self.where) for i in range(n)]

    def int64s(self, slot: int) -> tuple[int, ...]:
        first, n = self.vector(slot, 8)
        return struct.unpack_from(f"<{n}q", self.buf, first) if n else ()


def parse_espdl(data: bytes, name: str = "model.espdl") -> EspdlModel:
    """Read the bytes of a .espdl file; raise ModelFileError with the reason if it is not one."""
    if len(data) < HEADER_BYTES or data[:4] != MAGIC:
        raise ModelFileError(
            f"{name} is not an ESP-DL model: it does not start with the EDL2 header"
        )
    encrypted, length = struct.unpack_from("<II", data, 4)
    if encrypted:
        raise ModelFileError(
            f"{name} is encrypted (ESP-DL's AES option); tinyreport reads only plain .espdl "
            "files: export it without encryption to report on it"
        )
    if HEADER_BYTES + length != len(data):
        raise ModelFileError(
            f"{name} is damaged: its header announces {length:,} bytes of model, the file holds "
            f"{len(data) - HEADER_BYTES:,}"
        )
    buf = memoryview(data)[HEADER_BYTES:]
    try:
        root = _Table(buf, struct.unpack_from("<I", buf, 0)[0], name)
        graph = root.table(MODEL_GRAPH)
        if graph is None:
            raise ModelFileError(f"{name} holds no graph")
        ops: Counter[str] = Counter()
        for node in graph.tables(GRAPH_NODE):
            ops[node.string(NODE_OP_TYPE)] += 1
        params = []
        for t in graph.tables(GRAPH_INITIALIZER):
            code = t.int32(TENSOR_DATA_TYPE)
            dtype, size = DTYPES.get(code, (f"type {code}", 0))
            dims = t.int64s(TENSOR_DIMS)
            _, n_blocks = t.vector(TENSOR_RAW_DATA, 16)
            params.append(
                EspdlParameter(
                    name=t.string(TENSOR_NAME),
                    dtype=dtype,
                    dims=tuple(dims),
                    n_bytes=math.prod(dims) * size,
                    stored_bytes=16 * n_blocks,
                    exponents=t.int64s(TENSOR_EXPONENTS),
                )
            )
        producer = " ".join(
            filter(None, (root.string(MODEL_PRODUCER_NAME), root.string(MODEL_PRODUCER_VERSION)))
        )
        return EspdlModel(
            path=name,
            file_bytes=len(data),
            producer=producer,
            graph_name=graph.string(GRAPH_NAME),
            op_types=dict(ops),
            parameters=tuple(params),
        )
    except struct.error:
        raise ModelFileError(f"{name} is damaged: it ends inside a table") from None


def read_espdl(path: Path) -> EspdlModel:
    """Read a .espdl file from disk (refusing, by its size, a file no board could hold)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ModelFileError(
                f"{path} is {size:,} bytes, larger than any ESP-DL model a board's flash holds"
            )
        return parse_espdl(path.read_bytes(), str(path))
    except FileNotFoundError:
        raise ModelFileError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path} is a folder, not a .espdl file") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror}") from None
