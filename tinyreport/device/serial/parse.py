"""Turn the bytes of a device log into records, pure: no files, no ports, never raises.

The parser reads our own protocol (``@TR1`` records, see ``protocol.py``) and the formats people
already have: the LAB05 sketch, TFLM's MicroProfiler and RecordingMicroAllocator, the TFLM
benchmark tables, ESP-DL's profile tables, ESP-IDF ``I (ms) tag:`` log lines around any of them,
and free text that states an arena size, a heap figure, an inference or an operator time.
Every record keeps its source (file, byte offset, line, format, confidence). The log is split
into boots where the board reset.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from tinyreport.device.serial import protocol

# Formats a record can come from.
FMT_TINYREPORT = "tinyreport"
FMT_ALLOCATOR = "tflm-recording-allocator"
FMT_TFLM_ERROR = "tflm-allocator-error"
FMT_PROFILER = "tflm-micro-profiler"
FMT_BENCHMARK = "tflm-benchmark"
FMT_LAB05 = "lab05"
FMT_ESPDL = "esp-dl"
FMT_TEXT = "text"

# Confidence levels, most trusted first.
HIGH, MEDIUM, LOW = "high", "medium", "low"
CONFIDENCE_ORDER = (HIGH, MEDIUM, LOW)

# Lines longer than this are cut before matching (a stuck line of garbage must not be slow).
# Records further on in a longer line are still found: text before a marker is ignored.
_MAX_LINE = 4096
# Of a line longer than this, only the first part is looked at (a log of zeros is one line).
MAX_LINE_BYTES = 1 << 20
# Records of one session that may be interleaved with another's in a log (two boards on one
# capture, or a session cut short without a reset banner); more are closed, oldest first.
_MAX_OPEN_SESSIONS = 4
# A session that gets none of this many records in a row has ended (cut short).
_IDLE_RECORDS = 256

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_IDF_PREFIX = re.compile(
    r"^(?P<level>[EWIDV]) \((?P<time>[0-9]+|[0-9]{1,2}:[0-9]{2}:[0-9]{2}\.[0-9]{3})\) "
    r"(?P<tag>\S{1,40}?):(?: |$)"
)
# The boot ROM's first line can land in the middle of a line cut by the reset.
_ROM_START = "ESP-ROM:"
_ROM_RESET = re.compile(r"^rst:0x[0-9a-fA-F]+ ")

# At most 15 digits: a longer run of digits is noise, and must not overflow a float.
_NUM = r"(?<![0-9.])[0-9]{1,15}(?:\.[0-9]{1,9})?(?![0-9])"
_BYTE_UNITS = {
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "kb": 1024,
    "kib": 1024,
    "k": 1024,
    "mb": 1024 * 1024,
    "mib": 1024 * 1024,
}
_TIME_UNITS_US = {
    "us": 1.0,
    "µs": 1.0,
    "μs": 1.0,
    "usec": 1.0,
    "ms": 1000.0,
    "msec": 1000.0,
    "s": 1e6,
    "sec": 1e6,
    "seconds": 1e6,
}
# TFLite builtin operators whose names have no underscore (the others are recognised by it).
_SINGLE_WORD_OPS = frozenset(
    "ADD SUB MUL DIV MEAN PAD RELU RELU6 SOFTMAX RESHAPE QUANTIZE DEQUANTIZE LOGISTIC TANH "
    "CONCATENATION TRANSPOSE SQUEEZE GATHER PACK UNPACK SUM SQRT RSQRT EXP LOG ABS MAXIMUM "
    "MINIMUM HARDSWISH PRELU FILL SHAPE SLICE SPLIT CAST FLOOR CEIL ROUND".split()
)
_BYTES_RE = r"(?P<num>" + _NUM + r")\s*(?P<unit>bytes|byte|KiB|KB|kB|kb|MiB|MB|B|K)\b"
_TIME_RE = r"(?P<num>" + _NUM + r")\s*(?P<unit>µs|μs|usec|us|msec|ms|seconds|sec|s|ticks|cycles)\b"


class Source(NamedTuple):
    """Where a record came from: file, byte offset of its line, 1-based line, format, trust."""

    path: str
    offset: int
    line: int
    fmt: str
    confidence: str


class Record(NamedTuple):
    """One fact read from a log, in the protocol's vocabulary (see ``protocol.RECORD_TYPES``).

    ``kind`` is a protocol record type, or one of the extra kinds old formats need:
    ``alloc_part`` (arena head/tail), ``arena_given`` (configured arena size) and ``model_name``
    (a model named by text, not by id). A big log holds millions of them, so they are tuples.
    """

    kind: str
    fields: dict[str, object]
    source: Source
    boot: int
    text: str  # the text it was read from (the record, or the cleaned line)

    def key(self) -> str:
        """Return a stable text of kind and fields, to spot duplicates."""
        return self.kind + " " + json.dumps(self.fields, sort_keys=True, default=str)


@dataclass(frozen=True)
class Problem:
    """Something in a log that could not be used, with where it is."""

    offset: int
    line: int
    message: str
    boot: int = 0


@dataclass
class Boot:
    """The part of a log between two resets of the board."""

    index: int
    offset: int
    reset: str | None = None  # the ROM's reset line, e.g. "rst:0x1 (POWERON),boot:0x8 (...)"
    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    duplicates: int = 0  # protocol records seen twice (same seq) and dropped

    @property
    def run_id(self) -> str | None:
        """Return the boot record's random run id, if the boot has one."""
        for rec in self.records:
            if rec.kind == "boot" and rec.source.fmt == FMT_TINYREPORT:
                return str(rec.fields.get("run"))
        return None

    def fingerprint(self) -> str:
        """Return a hash of the boot's records, the same for the same session in any file."""
        digest = hashlib.sha256()
        for rec in self.records:
            digest.update(rec.key().encode())
            digest.update(b"\n")
        return digest.hexdigest()


@dataclass
class ParsedLog:
    """A whole log: its boots, in order."""

    path: str
    n_bytes: int
    boots: list[Boot]

    @property
    def records(self) -> list[Record]:
        return [rec for boot in self.boots for rec in boot.records]

    @property
    def problems(self) -> list[Problem]:
        return [p for boot in self.boots for p in boot.problems]


# One finding of a line parser: kind, fields, format, confidence.
Finding = tuple[str, dict[str, object], str, str]


def clean_line(raw: bytes) -> str:
    """Decode one line, drop colour codes and carriage returns, keep everything else.

    A line longer than 4096 bytes is cut there, but a record marker further on starts a new
    piece of up to 4096 bytes (the protocol ignores text before a marker, however long).
    """
    if len(raw) > _MAX_LINE:
        raw = b"".join(_long_line_pieces(raw))
    text = raw.decode("utf-8", "replace")
    text = _ANSI.sub("", text)
    return text.replace("\r", "").replace("\x00", "")


_MARKER_BYTES = protocol.MARKER.encode()
# Room left for a record at the end of a piece: a record that starts later starts a new one.
_RECORD_ROOM = protocol.MAX_LINE_CHARS + 64


def _long_line_pieces(raw: bytes) -> list[bytes]:
    """Return the parts of a long line worth reading: its start, and each record's stretch."""
    raw = raw[:MAX_LINE_BYTES]
    pieces = []
    start = 0
    while True:
        end = start + _MAX_LINE
        marker = raw.find(_MARKER_BYTES, end - _RECORD_ROOM)
        if marker < 0:
            pieces.append(raw[start:end])
            return pieces
        pieces.append(raw[start : min(end, marker)])
        start = marker


def _lines(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Yield (byte offset, 1-based line number, raw line without newline)."""
    offset = 0
    number = 0
    for raw in data.split(b"\n"):
        number += 1
        yield offset, number, raw
        offset += len(raw) + 1


def _bytes(num: str, unit: str) -> int:
    return int(round(float(num) * _BYTE_UNITS[unit.lower()]))


def _time_fields(num: str, unit: str) -> dict[str, object]:
    unit_l = unit.lower()
    if unit_l in ("ticks", "cycles"):
        return {"ticks": int(float(num))}
    return {"us": float(num) * _TIME_UNITS_US[unit_l]}


# The old formats' patterns, compiled once: the parser runs on every line that may matter.
_TABLE_ARENA = re.compile(r"\[\[ (Table|CSV) \]\]: Arena")
_TABLE_ESPDL_MODULE = re.compile(r"\|\s*name\s*\|\s*type\s*\|\s*latency\s*\|")
_TABLE_ESPDL_MEMORY = re.compile(r"\|\s*\|\s*internal RAM\s*\|\s*PSRAM\s*\|\s*FLASH\s*\|")
_ARENA_HEADER = re.compile(r'"?Arena"?\s*(,|\s)\s*"?Bytes"?.*')
_ARENA_ROW = re.compile(
    r'"?\s*(?P<name>Total|NonPersistent|Persistent|Head|Tail)"?\s*[|,]\s*'
    r"(?P<bytes>[0-9]+)\s*[|,]\s*" + _NUM
)
_TAG_ROW = re.compile(r"(?P<tag>[A-Za-z_][A-Za-z0-9_]*), (?P<ticks>[0-9]+)")
_TAG_TOTAL = re.compile(r'"total number of ticks", [0-9]+')
_CSV_ROW = re.compile(r"(?P<i>[0-9]+),(?P<tag>[^,]+),(?P<ticks>-?[0-9]+),(?P<ms>-?[0-9]+)")
_BORDER = re.compile(r"\+[-+]+\+")
_ESPDL_MODULE_ROW = re.compile(
    r"\|\s*(?P<name>\S+)\s*\|\s*(?P<type>\S*)\s*\|\s*(?P<lat>[0-9]+)(?P<unit>us|cycle)\s*\|"
)
_ALLOC_FAILED = re.compile(
    r"Failed to (?:resize buffer|allocate (?:tail|temp) memory)\. Requested: "
    r"(?P<req>[0-9]+), available (?P<avail>[0-9]+), missing: (?P<missing>[0-9]+)"
)
_ALLOCATE_TENSORS_FAILED = re.compile(r"(?:ERROR: )?AllocateTensors\(\) failed\.?")
_RECORDING_ALLOCATOR = re.compile(
    r"\[RecordingMicroAllocator\] Arena allocation (?P<part>total|head|tail) (?P<n>[0-9]+) bytes"
)
_PROFILER = re.compile(
    r"(?P<tag>[A-Za-z_][A-Za-z0-9_()]*) took (?P<ticks>-?[0-9]+) "
    r"(?P<unit>ticks|cycles) \((?P<ms>-?[0-9]+) ms\)\.?"
)
_OPERATOR_TAG = re.compile(r"[A-Z][A-Z0-9_]*")
_ARENA_SIZE = re.compile(r"Configured arena size = (?P<n>[0-9]+)")
_RUNNER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:Iterations|Ierations|Invokes?)\((?P<n>[0-9]+)\)")
_OP_EXECUTED = re.compile(
    r"Operation (?P<op>[A-Z][A-Z0-9_]*) \(number (?P<i>[0-9]+)\) executed in "
    + r"(?P<num>[0-9]+(?:\.[0-9]+)?) ?(?P<unit>microseconds|milliseconds|us|ms|µs)\.?"
)
_LAB05_TIME = re.compile(r"Inference time:\s*" + _TIME_RE + r"\.?")
_LAB05_ARENA = re.compile(r"Arena used:\s*" + _BYTES_RE + r"\.?")
_ESPDL_MODEL = re.compile(r"model:(?P<name>[^,\s]+), version:-?[0-9]+(, description:.*)?")
_ESPDL_MISMATCH = re.compile(r"Test output \S+ does not match")
_ESPDL_SUMMARY = re.compile(r"\|\s*(module|memory) summary\s*\|")
_TEXT_BYTES = re.compile(_BYTES_RE)
_TEXT_TIME = re.compile(_TIME_RE)
_TEXT_USED = re.compile(r"\bused\b|\busage\b|\bneeded\b|\brequired\b")
_TEXT_PSRAM = re.compile(r"psram|spiram")
_TEXT_MIN = re.compile(r"\bmin|\blowest|\blow.water")
_TEXT_OP = re.compile(r"\b(?P<op>[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{3,})\b\s*[:=]?\s*" + _TIME_RE)
_TEXT_LATENCY = re.compile(r"\binferenc|\binvoke|\blatency|\binference")


class UserPattern:
    """One of the project's own line formats: a regular expression whose named groups say what
    a line holds (`op`, `index`, `us`, `ms`, `ticks`, `arena_bytes`, `free_bytes`, `model`)."""

    GROUPS = ("op", "index", "us", "ms", "ticks", "arena_bytes", "free_bytes", "model")

    def __init__(self, name: str, regex: str) -> None:
        self.name = name
        self.regex = re.compile(regex)
        self.fmt = f"pattern:{name}"

    def findings(self, m: re.Match) -> list[Finding]:
        g = {k: v for k, v in m.groupdict().items() if v is not None}
        out: list[Finding] = []
        if "model" in g:
            out.append(("model_name", {"name": g["model"]}, self.fmt, MEDIUM))
        timing: dict[str, object] = {}
        if "us" in g:
            timing = {"us": float(g["us"])}
        elif "ms" in g:
            timing = {"us": 1000.0 * float(g["ms"])}
        elif "ticks" in g:
            timing = {"ticks": int(g["ticks"])}
        if "op" in g and timing:
            fields: dict[str, object] = {"op": g["op"], **timing}
            if "index" in g:
                fields["i"] = int(g["index"])
            out.append(("op", fields, self.fmt, MEDIUM))
        elif timing:
            key = "us" if "us" in timing else "ticks"
            out.append(("lat", {key: [timing[key]], "i": None}, self.fmt, MEDIUM))
        if "arena_bytes" in g:
            fields = {"status": "ok", "arena_used_bytes": int(g["arena_bytes"])}
            out.append(("alloc", fields, self.fmt, MEDIUM))
        if "free_bytes" in g:
            out.append(("heap", {"free_internal_bytes": int(g["free_bytes"])}, self.fmt, MEDIUM))
        return out


class _LineParser:
    """The formats other than ours; some tables need a little state from line to line.

    Each single-line parser first looks at what its lines must start with or hold, so a line
    of another format costs a character test, not a regular expression.
    """

    def __init__(self, patterns: tuple[UserPattern, ...] = ()) -> None:
        self.table: str | None = None  # which table's rows we are in
        self.table_index = 0
        self.patterns = patterns  # the project's own line formats ([[ingest.patterns]])

    def parse(self, text: str) -> list[Finding]:
        body = text.strip()
        if not body:
            if self.table in ("tflm-arena", "tflm-tag", "tflm-csv"):
                self.table = None
            return []
        if self.table is not None:
            found = self._table_row(body)
            if found is not None:
                return found
            self.table = None
        for parse in self._parsers:
            found = parse(self, body)
            if found is not None:
                return found
        return []

    # --- tables -------------------------------------------------------------------------------

    def _table_start(self, body: str) -> list[Finding] | None:
        if body[0] not in '["|':
            return None
        if _TABLE_ARENA.fullmatch(body):
            self.table = "tflm-arena"
        elif body.startswith('"Unique Tag","Total ticks across all events'):
            self.table = "tflm-tag"
        elif body == '"Event","Tag","Ticks","ms"':
            self.table = "tflm-csv"
            self.table_index = 0
        elif _TABLE_ESPDL_MODULE.fullmatch(body):
            self.table = "espdl-module"
        elif _TABLE_ESPDL_MEMORY.fullmatch(body):
            self.table = "espdl-memory"
        else:
            return None
        return []

    def _table_row(self, body: str) -> list[Finding] | None:
        """Return findings for a row of the current table, [] for a filler, None at its end."""
        table = self.table
        if table == "tflm-arena":
            if _ARENA_HEADER.fullmatch(body):
                return []
            m = _ARENA_ROW.fullmatch(body)
            if m is None:
                return None
            n = int(m["bytes"])
            name = m["name"]
            if name == "Total":
                return [("alloc", {"status": "ok", "arena_used_bytes": n}, FMT_BENCHMARK, MEDIUM)]
            part = "head" if name in ("NonPersistent", "Head") else "tail"
            return [("alloc_part", {"part": part, "bytes": n}, FMT_BENCHMARK, MEDIUM)]
        if table == "tflm-tag":
            m = _TAG_ROW.fullmatch(body)
            if m is not None:
                fields = {"op": m["tag"], "ticks": int(m["ticks"]), "per_tag": True}
                return [("op", fields, FMT_BENCHMARK, MEDIUM)]
            if _TAG_TOTAL.fullmatch(body):
                return []
            return None
        if table == "tflm-csv":
            m = _CSV_ROW.fullmatch(body)
            if m is None:
                return None
            fields = {"i": int(m["i"]), "op": m["tag"], "ticks": int(m["ticks"])}
            return [("op", fields, FMT_PROFILER, MEDIUM)]
        if table == "espdl-module":
            if _BORDER.fullmatch(body):
                return []
            m = _ESPDL_MODULE_ROW.fullmatch(body)
            if m is None:
                return None
            timing = {"us": float(m["lat"])} if m["unit"] == "us" else {"ticks": int(m["lat"])}
            if m["name"] == "total" and not m["type"]:
                if "us" in timing:
                    fields = {"us": [int(m["lat"])], "i": 0}
                    return [("lat", fields, FMT_ESPDL, MEDIUM)]
                return []
            self.table_index += 1
            fields = {"op": m["type"] or m["name"], "name": m["name"], **timing}
            return [("op", fields, FMT_ESPDL, MEDIUM)]
        if table == "espdl-memory":
            if _BORDER.fullmatch(body) or body.startswith("|"):
                return []
            return None
        return None

    # --- single lines -------------------------------------------------------------------------

    def _allocator(self, body: str) -> list[Finding] | None:
        if body[0] not in "FEA[":
            return None
        m = _ALLOC_FAILED.fullmatch(body)
        if m is not None:
            fields = {"status": "fail", "arena_missing_bytes": int(m["missing"])}
            return [("alloc", fields, FMT_TFLM_ERROR, MEDIUM)]
        if _ALLOCATE_TENSORS_FAILED.fullmatch(body):
            return [("alloc", {"status": "fail"}, FMT_TFLM_ERROR, MEDIUM)]
        m = _RECORDING_ALLOCATOR.fullmatch(body)
        if m is None:
            if body.startswith("[RecordingMicroAllocator] '"):
                return []  # per-type detail: known, not needed
            return None
        n = int(m["n"])
        if m["part"] == "total":
            return [("alloc", {"status": "ok", "arena_used_bytes": n}, FMT_ALLOCATOR, MEDIUM)]
        return [("alloc_part", {"part": m["part"], "bytes": n}, FMT_ALLOCATOR, MEDIUM)]

    def _profiler(self, body: str) -> list[Finding] | None:
        if " took " not in body:
            return None
        m = _PROFILER.fullmatch(body)
        if m is None:
            return None
        if not _OPERATOR_TAG.fullmatch(m["tag"]):
            # TFLM's benchmark runners: `KeywordRunNIerations(10) took 340 ticks (340 ms)` is
            # ten invokes; the figure kept is the mean of one, to the millisecond printed.
            runner = _RUNNER.fullmatch(m["tag"])
            if runner is not None and int(runner["n"]) > 0:
                us = 1000.0 * int(m["ms"]) / int(runner["n"])
                return [("lat", {"us": [us], "i": None}, FMT_BENCHMARK, MEDIUM)]
            return []  # an event of the application (e.g. TfliteGetModel), not an operator
        fields: dict[str, object] = {"op": m["tag"], "ticks": int(m["ticks"])}
        return [("op", fields, FMT_PROFILER, MEDIUM)]

    def _benchmark(self, body: str) -> list[Finding] | None:
        if not body.startswith("Configured arena size = "):
            return None
        m = _ARENA_SIZE.fullmatch(body)
        if m is not None:
            return [("arena_given", {"arena_given_bytes": int(m["n"])}, FMT_BENCHMARK, MEDIUM)]
        return None

    def _lab05(self, body: str) -> list[Finding] | None:
        if body[0] not in "IA":
            return None
        m = _LAB05_TIME.fullmatch(body)
        if m is not None:
            timing = _time_fields(m["num"], m["unit"])
            if "us" in timing:
                us = timing["us"]
                return [("lat", {"us": [us], "i": None}, FMT_LAB05, MEDIUM)]
            return [("lat", {"ticks": [timing["ticks"]], "i": None}, FMT_LAB05, MEDIUM)]
        m = _LAB05_ARENA.fullmatch(body)
        if m is not None:
            n = _bytes(m["num"], m["unit"])
            return [("alloc", {"status": "ok", "arena_used_bytes": n}, FMT_LAB05, MEDIUM)]
        return None

    def _espdl(self, body: str) -> list[Finding] | None:
        if body[0] not in "mT|+":
            return None
        m = _ESPDL_MODEL.fullmatch(body)
        if m is not None:
            return [("model_name", {"name": m["name"]}, FMT_ESPDL, MEDIUM)]
        if body == "Test Pass!":
            return [("vec", {"n": 1, "match": 1}, FMT_ESPDL, MEDIUM)]
        if _ESPDL_MISMATCH.fullmatch(body):
            return [("vec", {"n": 1, "match": 0}, FMT_ESPDL, MEDIUM)]
        if _ESPDL_SUMMARY.fullmatch(body) or _BORDER.fullmatch(body):
            return []
        return None

    def _executed(self, body: str) -> list[Finding] | None:
        """`Operation FULLY_CONNECTED (number 0) executed in 33 microseconds.`"""
        if " executed in " not in body:
            return None
        m = _OP_EXECUTED.fullmatch(body)
        if m is None:
            return None
        unit = {"microseconds": "us", "milliseconds": "ms"}.get(m["unit"], m["unit"])
        fields = {"op": m["op"], "i": int(m["i"]), **_time_fields(m["num"], unit)}
        return [("op", fields, FMT_TEXT, MEDIUM)]

    def _user(self, body: str) -> list[Finding] | None:
        """The project's own line formats, tried before the free-text reading."""
        for pattern in self.patterns:
            m = pattern.regex.search(body)
            if m is not None:
                return pattern.findings(m)
        return None

    def _text(self, body: str) -> list[Finding] | None:
        """Free text stating a figure with its unit: the least trusted reading."""
        lower = body.lower()
        if "arena" in lower:
            m = _TEXT_BYTES.search(body)
            if m is not None:
                n = _bytes(m["num"], m["unit"])
                if _TEXT_USED.search(lower):
                    fields: dict[str, object] = {"status": "ok", "arena_used_bytes": n}
                    return [("alloc", fields, FMT_TEXT, LOW)]
                return [("arena_given", {"arena_given_bytes": n}, FMT_TEXT, LOW)]
        if "free" in lower:
            m = _TEXT_BYTES.search(body)
            if m is not None:
                n = _bytes(m["num"], m["unit"])
                key = "free_psram_bytes" if _TEXT_PSRAM.search(lower) else "free_internal_bytes"
                if _TEXT_MIN.search(lower):
                    key = "min_" + key
                return [("heap", {key: n}, FMT_TEXT, LOW)]
        m = _TEXT_OP.search(body)
        if m is not None and ("_" in m["op"] or m["op"] in _SINGLE_WORD_OPS):
            fields = {"op": m["op"], **_time_fields(m["num"], m["unit"])}
            return [("op", fields, FMT_TEXT, LOW)]
        if _TEXT_LATENCY.search(lower):
            m = _TEXT_TIME.search(body)
            if m is not None:
                timing = _time_fields(m["num"], m["unit"])
                if "us" in timing:
                    return [("lat", {"us": [timing["us"]], "i": None}, FMT_TEXT, LOW)]
                return [("lat", {"ticks": [timing["ticks"]], "i": None}, FMT_TEXT, LOW)]
        return None

    _parsers: tuple[Callable[[_LineParser, str], list[Finding] | None], ...] = (
        _table_start,
        _allocator,
        _profiler,
        _benchmark,
        _lab05,
        _espdl,
        _executed,
        _user,
        _text,
    )


# A whole line that looks like one record of this version in printable ASCII, as the firmware
# prints it: the common case, found in the whole log at once (decoded as Latin-1, so string
# indexes are byte offsets). When its CRC and fields check (protocol.typed_records), it is taken
# as is; every other line (colour codes, a cut or damaged record, two on a line, another
# version, noise) is read line by line, which reads a plain record line the same way.
_PLAIN_RECORD = re.compile(
    r"^@TR" + str(protocol.PROTOCOL_VERSION) + r" ([a-z][a-z0-9_]*) seq=([0-9]{1,9})"
    r"( [ -~]*)? crc=([0-9a-f]{8})\r?$",
    re.MULTILINE,
)
# A line can only matter if it holds one of these: a record marker, the boot ROM's lines, or
# what some old format needs (each parser of _LineParser needs at least one of them: a time
# after an upper-case name for a free-text operator time, a latency word for a free-text
# latency). Lines without any are skipped unread, unless a table is open (any line may end it).
# The words are looked for in the lower-cased line, as the free-text parser does.
_NOTABLE_WORD = re.compile(
    r"@tr|esp-rom:|rst:0x|arena|free|inferenc|invoke|latency|unique tag|\"event\"|internal ram"
    r"|failed|allocatetensors|model:|test |summary|\+[-+]| executed in "
)
_NOTABLE_SHAPE = re.compile(
    r"took -?[0-9]+ (?:ticks|cycles)|[A-Z0-9][\s:=]+[0-9][0-9.]*\s*(?:[µμums]|ticks|cycles)"
)


def _notable(text: str) -> bool:
    return _NOTABLE_WORD.search(text.lower()) is not None or _NOTABLE_SHAPE.search(text) is not None


class _Session:
    """What one firmware session (a boot's protocol records) has seen so far."""

    __slots__ = ("boot", "last_seq", "seen_seq", "model", "fed", "opened", "has_protocol")

    def __init__(self, boot: Boot, opened: int = 0) -> None:
        self.boot = boot
        self.opened = opened  # the reader's record count when it began
        self.last_seq: int | None = None
        self.seen_seq: set[int] = set()
        self.model: object = None  # id of the model whose run is under way
        self.fed = 0  # when it last got a record (the reader's record count)
        self.has_protocol = False  # the boot holds a record of ours

    def expects(self, seq: int) -> bool:
        return self.last_seq is not None and seq == self.last_seq + 1


class _Reader:
    """The state of one parse: the boots not handed out yet, and the sessions still open.

    Records go to the session whose next record number they carry: two sessions whose lines
    are interleaved in one log (a session cut short without a reset banner, two boards on one
    capture) are told apart that way, and by model id. A reset banner ends them all.
    """

    def __init__(self, path: str, patterns: tuple[UserPattern, ...] = ()) -> None:
        self.path = path
        self.patterns = patterns
        self.base = 0  # offset in the log of the data being read (its byte 0)
        self.n_boots = 1
        first = Boot(index=0, offset=0)
        self.boots = [first]  # not handed out yet, in order
        self.legacy = _LineParser(self.patterns)
        self.current = _Session(first)  # the session that got the last record
        self.open = [self.current]  # sessions that may get more records
        self.count = 0  # protocol records read
        self.ambiguous: set[int] = set()  # boots already told that records could be either's

    def notable(self, text: str) -> bool:
        """Whether a line (or a stretch of lines) can matter: see _notable; a project's own
        formats make their lines matter too."""
        return _notable(text) or any(p.regex.search(text) for p in self.patterns)

    def new_boot(self, offset: int, keep_open: bool = False) -> None:
        """Start a boot at ``offset`` (of the data being read); a reset closes every session."""
        boot = Boot(index=self.n_boots, offset=self.base + offset)
        self.n_boots += 1
        self.boots.append(boot)
        session = _Session(boot, self.count)
        session.fed = self.count
        if keep_open:
            self.open = [s for s in self.open if self.count - s.fed < _IDLE_RECORDS]
            if len(self.open) >= _MAX_OPEN_SESSIONS:
                self.open.remove(min(self.open, key=lambda s: s.fed))
            self.open.append(session)
        else:
            self.open = [session]
        self.current = session
        self.legacy = _LineParser(self.patterns)

    def finished(self) -> list[Boot]:
        """Hand out the boots that nothing more can be added to, in order (not the last one)."""
        still = {id(s.boot) for s in self.open}
        n = 0
        while n < len(self.boots) - 1 and id(self.boots[n]) not in still:
            n += 1
        done, self.boots = self.boots[:n], self.boots[n:]
        return done

    def problem(self, offset: int, number: int, message: str, boot: Boot | None = None) -> None:
        boot = self.boots[-1] if boot is None else boot
        boot.problems.append(Problem(self.base + offset, number, message, boot.index))

    def lines(self, data: bytes, start: int, end: int, number: int) -> int:
        """Read the lines of data[start:end] (no newline at its end); return the next number."""
        if self.legacy.table is None and end - start <= _MAX_LINE:
            # Cleaning the lines together reads each as alone (colour codes and UTF-8 never
            # span a newline, and nothing is cut): when none of it is notable, none is read.
            if not self.notable(clean_line(data[start:end])):
                return number + data.count(b"\n", start, end) + 1
        offset = start
        for raw in data[start:end].split(b"\n"):
            self.line(raw, offset, number)
            offset += len(raw) + 1
            number += 1
        return number

    def line(self, raw: bytes, offset: int, number: int, length: int | None = None) -> None:
        """Read one line of the log: a boot ROM banner, records, or an old format's line.

        ``length`` is the line's length when ``raw`` is only its start (an over-long line).
        """
        text = clean_line(raw)
        length = len(raw) if length is None else length
        if length > MAX_LINE_BYTES:
            self.problem(
                offset,
                number,
                f"line of {length:,} bytes: only its first {MAX_LINE_BYTES:,} bytes were read",
            )
        if self.legacy.table is None and not self.notable(text):
            return
        banner = text.find(_ROM_START)
        if banner < 0 and not _ROM_RESET.match(text.strip()):
            self.handle(text, offset, number)
            return
        if banner > 0:
            self.handle(text[:banner], offset, number)  # what the reset cut short
        current = self.boots[-1]
        if current.records or current.problems:
            start = raw.find(_ROM_START.encode(), 0, MAX_LINE_BYTES)
            self.new_boot(offset + max(start, 0))
        if banner < 0:
            self.boots[-1].reset = text.strip()

    def handle(self, text: str, offset: int, number: int) -> None:
        """Read one line (or the part of one before a ROM banner)."""
        if protocol.MARKER in text:
            raws, rejected = protocol.find_records(text)
            for reason in rejected:
                self.problem(offset, number, f"rejected a record: {reason}")
            for rr in raws:
                self.record(rr.version, rr.rtype, rr.fields, rr.text, offset, number)
            if raws or rejected:
                return
        body = text
        stripped = text.strip()
        wrapped = _IDF_PREFIX.match(stripped)
        if wrapped is not None:
            body = stripped[wrapped.end() :]
        findings = self.legacy.parse(body)
        if findings:
            boot = self.boots[-1]
            text = body.strip()
            for kind, fields, fmt, confidence in findings:
                source = Source(self.path, self.base + offset, number, fmt, confidence)
                boot.records.append(Record(kind, fields, source, boot.index, text))

    def record(
        self, version: int, rtype: str, raw: dict[str, str], text: str, offset: int, number: int
    ) -> None:
        """Take one record whose CRC checked: convert it, count it, or say why not."""
        if version != protocol.PROTOCOL_VERSION:
            self.problem(
                offset,
                number,
                f"record of protocol version {version} skipped; this tinyreport "
                f"reads version {protocol.PROTOCOL_VERSION}",
            )
            return
        try:
            fields = protocol.convert_fields(rtype, raw)
        except protocol.RecordError as exc:
            self.problem(offset, number, f"{rtype} record skipped: {exc}")
            raw_seq = raw.get("seq", "")
            if raw_seq.isdigit() and len(raw_seq) < 10:  # still counts for lost records
                session = self.current
                session.seen_seq.add(int(raw_seq))
                session.last_seq = max(session.last_seq or 0, int(raw_seq))
            return
        self.accept(rtype, fields, text, offset, number)

    def session_for(self, seq: int, model_id: object, offset: int, number: int) -> _Session:
        """Return the open session a record with this number (and model id) belongs to."""
        current = self.current
        fits = [s for s in self.open if s.expects(seq)]
        if model_id is not None and len(fits) > 1:
            fits = [s for s in fits if s.model in (None, model_id)] or fits
        if len(fits) == 1:
            return fits[0]
        if fits:
            chosen = current if current in fits else max(fits, key=lambda s: s.fed)
            # A session cut short is not interleaved with the next: only when each has had a
            # record since the newest began can a record be either's.
            newest = max(s.opened for s in fits)
            if all(s.fed > newest or s.opened == newest for s in fits):
                runs = " and ".join(str(s.boot.run_id) for s in fits)
                for s in fits:
                    if s.boot.index not in self.ambiguous:
                        self.ambiguous.add(s.boot.index)
                        self.problem(
                            offset,
                            number,
                            f"the interleaved sessions {runs} both have a record {seq} here; "
                            f"records numbered alike may be counted in the wrong session",
                            s.boot,
                        )
            return chosen
        if seq in current.seen_seq:  # a repeat, unless another session has not had it yet
            others = [s for s in self.open if s is not current and seq not in s.seen_seq]
            others = [s for s in others if s.last_seq is not None and seq > s.last_seq]
            if others:
                return max(others, key=lambda s: s.fed)
        return current

    def accept(
        self, rtype: str, fields: dict[str, object], text: str, offset: int, number: int
    ) -> None:
        """Keep a valid record of this version, unless it repeats one; note lost records."""
        seq = fields["seq"]
        assert isinstance(seq, int)
        self.count += 1
        session = self.current
        last_seq = session.last_seq
        if (  # the usual case
            last_seq is not None
            and seq == last_seq + 1
            and rtype != "boot"
            and len(self.open) == 1
            and self.open[0] is session
        ):
            session.seen_seq.add(seq)
            session.last_seq = seq
            session.has_protocol = True
            session.fed = self.count
            if rtype == "model":
                session.model = fields["id"]
            elif rtype == "done":
                self.open = []
            boot = session.boot
            source = Source(self.path, self.base + offset, number, FMT_TINYREPORT, HIGH)
            boot.records.append(Record(rtype, fields, source, boot.index, text))
            return
        if rtype == "boot":
            if session.has_protocol:
                # Another session starts; the others stay open, for their records may follow.
                self.new_boot(offset, keep_open=True)
                session = self.current
        else:
            model_id = fields.get("id") if rtype != "model" else None
            session = self.session_for(seq, model_id, offset, number)
            self.current = session
        boot = session.boot
        session.fed = self.count
        if seq in session.seen_seq:
            boot.duplicates += 1
            return
        last_seq = session.last_seq
        if last_seq is not None and seq > last_seq + 1:
            lost = seq - last_seq - 1
            self.problem(
                offset,
                number,
                f"{lost} record(s) lost before this line (seq {last_seq} -> {seq})",
                boot,
            )
        elif last_seq is None and seq > 0 and rtype != "boot":
            self.problem(
                offset,
                number,
                f"log starts at record {seq}: the boot's first records are missing",
                boot,
            )
        session.seen_seq.add(seq)
        session.last_seq = seq if last_seq is None else max(last_seq, seq)
        if rtype == "model":
            session.model = fields["id"]
        elif rtype == "done" and session in self.open:
            self.open.remove(session)
        source = Source(self.path, self.base + offset, number, FMT_TINYREPORT, HIGH)
        boot.records.append(Record(rtype, fields, source, boot.index, text))
        session.has_protocol = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block, then restore it as it was.

    A big log makes millions of small objects and no reference cycles; each collection would
    walk all of them again, which costs a quarter of the time of an ingest.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_log(
    data: bytes, path: str = "<bytes>", patterns: tuple[UserPattern, ...] = ()
) -> ParsedLog:
    """Parse a whole log; return its boots with their records and problems."""
    with gc_paused():
        reader = _Reader(path, patterns)
        _read(reader, data, 1)
        return ParsedLog(path=path, n_bytes=len(data), boots=reader.boots)


def parse_log_by_line(
    data: bytes, path: str = "<bytes>", patterns: tuple[UserPattern, ...] = ()
) -> ParsedLog:
    """Parse a log one line at a time: the reference that parse_log() must equal, slower."""
    with gc_paused():
        reader = _Reader(path, patterns)
        offset = 0
        for number, raw in enumerate(data.split(b"\n"), start=1):
            reader.line(raw, offset, number)
            offset += len(raw) + 1
        return ParsedLog(path=path, n_bytes=len(data), boots=reader.boots)


def parse_stream(
    chunks: Iterable[bytes], path: str = "<bytes>", patterns: tuple[UserPattern, ...] = ()
) -> Iterator[Boot]:
    """Parse a log given as successive pieces; yield its boots, in order, as each is complete.

    The boots are those parse_log() gives for the pieces joined. What is held at a time is
    one piece, the boots still open (a few: see _Reader), and the line being read; of a line
    longer than MAX_LINE_BYTES only that much is kept.
    """
    reader = _Reader(path, patterns)
    pending = bytearray()  # the start of a line whose end has not come yet
    skipping = 0  # bytes of an over-long line dropped so far (its end not come yet)
    base = 0  # offset of pending[0] in the log
    number = 1  # line number of pending's line
    for chunk in chunks:
        if skipping:
            cut = chunk.find(b"\n")
            if cut < 0:
                skipping += len(chunk)
                continue
            skipping += cut
            chunk = chunk[cut:]  # from the newline: the line ends at once
        cut = chunk.rfind(b"\n")
        if cut < 0:
            pending += chunk
            if len(pending) > MAX_LINE_BYTES:
                skipping = len(pending)
                del pending[MAX_LINE_BYTES + 1 :]
            continue
        if skipping:  # an over-long line ends: read its start, as if it were all there
            with gc_paused():
                reader.base = base
                reader.line(bytes(pending), 0, number, skipping)
            base += skipping + 1
            number += 1
            pending.clear()
            skipping = 0
            chunk = chunk[1:]
            cut -= 1
            if cut < 0:
                pending += chunk
                continue
        pending += chunk[:cut]
        with gc_paused():
            reader.base = base
            number = _read(reader, bytes(pending), number) + 1
        base += len(pending) + 1
        pending = bytearray(chunk[cut + 1 :])
        yield from reader.finished()
    with gc_paused():
        reader.base = base
        if skipping:
            reader.line(bytes(pending), 0, number, skipping)
        else:
            _read(reader, bytes(pending), number)
    yield from reader.boots


def _read(reader: _Reader, data: bytes, first_line: int) -> int:
    """Read data (whole lines, the last without its newline) from line first_line on.

    Return the number of its last line. Offsets are data's plus reader.base.
    """
    text = data.decode("latin-1")
    view = memoryview(data)
    crc32 = zlib.crc32
    # 1. Find the plain record lines whose CRC checks, in order. A ROM banner's line is read
    # line by line, so a banner inside a record line is seen.
    found: list[tuple[int, int, int, int, str]] = []  # start, text end, line end, number, type
    seqs: dict[str, list[int]] = defaultdict(list)
    rests: dict[str, list[str]] = defaultdict(list)
    rom = text.find(_ROM_START)
    pos = 0  # offset of the first line not found yet
    number = first_line  # its line number
    for match in _PLAIN_RECORD.finditer(text):
        start, end = match.span()
        if start > pos:
            number += text.count("\n", pos, start)
        while 0 <= rom < start:
            rom = text.find(_ROM_START, rom + 1)
        rtype, seq, rest, crc_text = match.groups()
        crc_start = match.start(4)
        if (
            end - start <= _MAX_LINE
            and not 0 <= rom < end
            and crc32(view[start : crc_start - 5]) == int(crc_text, 16)
        ):
            found.append((start, crc_start + 8, end, number, rtype))
            seqs[rtype].append(int(seq))
            rests[rtype].append(rest or "")
        else:
            found.append((start, end, end, number, ""))  # read line by line
        number += 1
        pos = end + 1
    # 2. Type the fields of each record type in one go.
    typed = {
        rtype: iter(protocol.typed_records(rtype, seqs[rtype], rests[rtype])) for rtype in seqs
    }
    # 3. Read everything in order: the lines between records, and the records.
    pos = 0
    for start, text_end, end, number, rtype in found:
        if start > pos:
            gap_lines = text.count("\n", pos, start)
            reader.lines(data, pos, start - 1, number - gap_lines)
        pos = end + 1
        fields = next(typed[rtype]) if rtype else None
        if fields is None:
            reader.line(data[start:end], start, number)
        else:
            reader.accept(rtype, fields, text[start:text_end], start, number)
    if pos <= len(data):
        reader.lines(data, pos, len(data), found[-1][3] + 1 if found else first_line)
    return first_line + data.count(b"\n")
