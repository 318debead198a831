"""Turn the bytes of a device log into records, pure: no files, no ports, never raises.

The parser reads our own protocol (``@TR1`` records, see ``protocol.py``) and the formats people
already have: the LAB05 sketch, TFLM's MicroProfiler and RecordingMicroAllocator, the TFLM
benchmark tables, ESP-DL's profile tables, ESP-IDF ``I (ms) tag:`` log lines around any of them,
and free text that states an arena size, a heap figure, an inference or an operator time.
Every record keeps its source (file, byte offset, line, format, confidence). The log is split
into boots where the board reset.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tinyreport.serial import protocol

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
_MAX_LINE = 4096

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


@dataclass(frozen=True)
class Source:
    """Where a record came from: file, byte offset of its line, 1-based line, format, trust."""

    path: str
    offset: int
    line: int
    fmt: str
    confidence: str


@dataclass(frozen=True)
class Record:
    """One fact read from a log, in the protocol's vocabulary (see ``protocol.RECORD_TYPES``).

    ``kind`` is a protocol record type, or one of the extra kinds old formats need:
    ``alloc_part`` (arena head/tail), ``arena_given`` (configured arena size) and ``model_name``
    (a model named by text, not by id).
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
    """Decode one line, drop colour codes and carriage returns, keep everything else."""
    text = raw[:_MAX_LINE].decode("utf-8", "replace")
    text = _ANSI.sub("", text)
    return text.replace("\r", "").replace("\x00", "")


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


class _LineParser:
    """The formats other than ours; some tables need a little state from line to line."""

    def __init__(self) -> None:
        self.table: str | None = None  # which table's rows we are in
        self.table_index = 0

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
        if re.fullmatch(r"\[\[ (Table|CSV) \]\]: Arena", body):
            self.table = "tflm-arena"
        elif body.startswith('"Unique Tag","Total ticks across all events'):
            self.table = "tflm-tag"
        elif body == '"Event","Tag","Ticks","ms"':
            self.table = "tflm-csv"
            self.table_index = 0
        elif re.fullmatch(r"\|\s*name\s*\|\s*type\s*\|\s*latency\s*\|", body):
            self.table = "espdl-module"
        elif re.fullmatch(r"\|\s*\|\s*internal RAM\s*\|\s*PSRAM\s*\|\s*FLASH\s*\|", body):
            self.table = "espdl-memory"
        else:
            return None
        return []

    def _table_row(self, body: str) -> list[Finding] | None:
        """Return findings for a row of the current table, [] for a filler, None at its end."""
        table = self.table
        if table == "tflm-arena":
            if re.fullmatch(r'"?Arena"?\s*(,|\s)\s*"?Bytes"?.*', body):
                return []
            m = re.fullmatch(
                r'"?\s*(?P<name>Total|NonPersistent|Persistent|Head|Tail)"?\s*[|,]\s*'
                r"(?P<bytes>[0-9]+)\s*[|,]\s*" + _NUM,
                body,
            )
            if m is None:
                return None
            n = int(m["bytes"])
            name = m["name"]
            if name == "Total":
                return [("alloc", {"status": "ok", "arena_used_bytes": n}, FMT_BENCHMARK, MEDIUM)]
            part = "head" if name in ("NonPersistent", "Head") else "tail"
            return [("alloc_part", {"part": part, "bytes": n}, FMT_BENCHMARK, MEDIUM)]
        if table == "tflm-tag":
            m = re.fullmatch(r"(?P<tag>[A-Za-z_][A-Za-z0-9_]*), (?P<ticks>[0-9]+)", body)
            if m is not None:
                fields = {"op": m["tag"], "ticks": int(m["ticks"]), "per_tag": True}
                return [("op", fields, FMT_BENCHMARK, MEDIUM)]
            if re.fullmatch(r'"total number of ticks", [0-9]+', body):
                return []
            return None
        if table == "tflm-csv":
            m = re.fullmatch(
                r"(?P<i>[0-9]+),(?P<tag>[^,]+),(?P<ticks>-?[0-9]+),(?P<ms>-?[0-9]+)", body
            )
            if m is None:
                return None
            fields = {"i": int(m["i"]), "op": m["tag"], "ticks": int(m["ticks"])}
            return [("op", fields, FMT_PROFILER, MEDIUM)]
        if table == "espdl-module":
            if re.fullmatch(r"\+[-+]+\+", body):
                return []
            m = re.fullmatch(
                r"\|\s*(?P<name>\S+)\s*\|\s*(?P<type>\S*)\s*\|\s*(?P<lat>[0-9]+)"
                r"(?P<unit>us|cycle)\s*\|",
                body,
            )
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
            if re.fullmatch(r"\+[-+]+\+", body) or body.startswith("|"):
                return []
            return None
        return None

    # --- single lines -------------------------------------------------------------------------

    def _allocator(self, body: str) -> list[Finding] | None:
        m = re.fullmatch(
            r"Failed to (?:resize buffer|allocate (?:tail|temp) memory)\. Requested: "
            r"(?P<req>[0-9]+), available (?P<avail>[0-9]+), missing: (?P<missing>[0-9]+)",
            body,
        )
        if m is not None:
            fields = {"status": "fail", "arena_missing_bytes": int(m["missing"])}
            return [("alloc", fields, FMT_TFLM_ERROR, MEDIUM)]
        if re.fullmatch(r"(?:ERROR: )?AllocateTensors\(\) failed\.?", body):
            return [("alloc", {"status": "fail"}, FMT_TFLM_ERROR, MEDIUM)]
        m = re.fullmatch(
            r"\[RecordingMicroAllocator\] Arena allocation (?P<part>total|head|tail) "
            r"(?P<n>[0-9]+) bytes",
            body,
        )
        if m is None:
            if body.startswith("[RecordingMicroAllocator] '"):
                return []  # per-type detail: known, not needed
            return None
        n = int(m["n"])
        if m["part"] == "total":
            return [("alloc", {"status": "ok", "arena_used_bytes": n}, FMT_ALLOCATOR, MEDIUM)]
        return [("alloc_part", {"part": m["part"], "bytes": n}, FMT_ALLOCATOR, MEDIUM)]

    def _profiler(self, body: str) -> list[Finding] | None:
        m = re.fullmatch(
            r"(?P<tag>[A-Za-z_][A-Za-z0-9_()]*) took (?P<ticks>-?[0-9]+) "
            r"(?P<unit>ticks|cycles) \((?P<ms>-?[0-9]+) ms\)\.?",
            body,
        )
        if m is None:
            return None
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", m["tag"]):
            return []  # an event of the application (e.g. TfliteGetModel), not an operator
        fields: dict[str, object] = {"op": m["tag"], "ticks": int(m["ticks"])}
        return [("op", fields, FMT_PROFILER, MEDIUM)]

    def _benchmark(self, body: str) -> list[Finding] | None:
        m = re.fullmatch(r"Configured arena size = (?P<n>[0-9]+)", body)
        if m is not None:
            return [("arena_given", {"arena_given_bytes": int(m["n"])}, FMT_BENCHMARK, MEDIUM)]
        return None

    def _lab05(self, body: str) -> list[Finding] | None:
        m = re.fullmatch(r"Inference time:\s*" + _TIME_RE + r"\.?", body)
        if m is not None:
            timing = _time_fields(m["num"], m["unit"])
            if "us" in timing:
                us = timing["us"]
                return [("lat", {"us": [us], "i": None}, FMT_LAB05, MEDIUM)]
            return [("lat", {"ticks": [timing["ticks"]], "i": None}, FMT_LAB05, MEDIUM)]
        m = re.fullmatch(r"Arena used:\s*" + _BYTES_RE + r"\.?", body)
        if m is not None:
            n = _bytes(m["num"], m["unit"])
            return [("alloc", {"status": "ok", "arena_used_bytes": n}, FMT_LAB05, MEDIUM)]
        return None

    def _espdl(self, body: str) -> list[Finding] | None:
        m = re.fullmatch(r"model:(?P<name>[^,\s]+), version:-?[0-9]+(, description:.*)?", body)
        if m is not None:
            return [("model_name", {"name": m["name"]}, FMT_ESPDL, MEDIUM)]
        if body == "Test Pass!":
            return [("vec", {"n": 1, "match": 1}, FMT_ESPDL, MEDIUM)]
        if re.fullmatch(r"Test output \S+ does not match", body):
            return [("vec", {"n": 1, "match": 0}, FMT_ESPDL, MEDIUM)]
        if re.fullmatch(r"\|\s*(module|memory) summary\s*\|", body) or re.fullmatch(
            r"\+[-+]+\+", body
        ):
            return []
        return None

    def _text(self, body: str) -> list[Finding] | None:
        """Free text stating a figure with its unit: the least trusted reading."""
        lower = body.lower()
        if "arena" in lower:
            m = re.search(_BYTES_RE, body)
            if m is not None:
                n = _bytes(m["num"], m["unit"])
                if re.search(r"\bused\b|\busage\b|\bneeded\b|\brequired\b", lower):
                    fields: dict[str, object] = {"status": "ok", "arena_used_bytes": n}
                    return [("alloc", fields, FMT_TEXT, LOW)]
                return [("arena_given", {"arena_given_bytes": n}, FMT_TEXT, LOW)]
        if "free" in lower:
            m = re.search(_BYTES_RE, body)
            if m is not None:
                n = _bytes(m["num"], m["unit"])
                key = (
                    "free_psram_bytes"
                    if re.search(r"psram|spiram", lower)
                    else ("free_internal_bytes")
                )
                if re.search(r"\bmin|\blowest|\blow.water", lower):
                    key = "min_" + key
                return [("heap", {key: n}, FMT_TEXT, LOW)]
        m = re.search(
            r"\b(?P<op>[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{3,})\b\s*[:=]?\s*" + _TIME_RE, body
        )
        if m is not None and ("_" in m["op"] or m["op"] in _SINGLE_WORD_OPS):
            fields = {"op": m["op"], **_time_fields(m["num"], m["unit"])}
            return [("op", fields, FMT_TEXT, LOW)]
        if re.search(r"\binferenc|\binvoke|\blatency|\binference", lower):
            m = re.search(_TIME_RE, body)
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
        _text,
    )


def parse_log(data: bytes, path: str = "<bytes>") -> ParsedLog:
    """Parse a whole log; return its boots with their records and problems."""
    boots = [Boot(index=0, offset=0)]
    legacy = _LineParser()
    last_seq: int | None = None
    seen_seq: set[int] = set()

    def current() -> Boot:
        return boots[-1]

    def new_boot(offset: int) -> None:
        nonlocal last_seq, seen_seq, legacy
        boots.append(Boot(index=len(boots), offset=offset))
        last_seq = None
        seen_seq = set()
        legacy = _LineParser()

    def handle(text: str, offset: int, number: int) -> None:
        """Read one line (or the part of one before a ROM banner)."""
        nonlocal last_seq

        def problem(message: str) -> None:
            current().problems.append(Problem(offset, number, message, current().index))

        stripped = text.strip()
        if protocol.MARKER in text:
            raws, rejected = protocol.find_records(text)
            for reason in rejected:
                problem(f"rejected a record: {reason}")
            for rr in raws:
                if rr.version != protocol.PROTOCOL_VERSION:
                    problem(
                        f"record of protocol version {rr.version} skipped; this tinyreport "
                        f"reads version {protocol.PROTOCOL_VERSION}"
                    )
                    continue
                try:
                    fields = protocol.convert_fields(rr.rtype, rr.fields)
                except protocol.RecordError as exc:
                    problem(f"{rr.rtype} record skipped: {exc}")
                    raw_seq = rr.fields.get("seq", "")
                    if raw_seq.isdigit() and len(raw_seq) < 10:  # still counts for lost records
                        seen_seq.add(int(raw_seq))
                        last_seq = max(last_seq or 0, int(raw_seq))
                    continue
                seq = fields["seq"]
                assert isinstance(seq, int)
                if rr.rtype == "boot" and any(
                    r.source.fmt == FMT_TINYREPORT for r in current().records
                ):
                    new_boot(offset)
                if seq in seen_seq:
                    current().duplicates += 1
                    continue
                if last_seq is not None and seq > last_seq + 1:
                    lost = seq - last_seq - 1
                    problem(f"{lost} record(s) lost before this line (seq {last_seq} -> {seq})")
                elif last_seq is None and seq > 0 and rr.rtype != "boot":
                    problem(f"log starts at record {seq}: the boot's first records are missing")
                seen_seq.add(seq)
                last_seq = seq if last_seq is None else max(last_seq, seq)
                source = Source(path, offset, number, FMT_TINYREPORT, HIGH)
                current().records.append(Record(rr.rtype, fields, source, current().index, rr.text))
            if raws or rejected:
                return

        body = text
        wrapped = _IDF_PREFIX.match(stripped)
        if wrapped is not None:
            body = stripped[wrapped.end() :]
        for kind, fields, fmt, confidence in legacy.parse(body):
            source = Source(path, offset, number, fmt, confidence)
            current().records.append(Record(kind, fields, source, current().index, body.strip()))

    for offset, number, raw in _lines(data):
        text = clean_line(raw)
        banner = text.find(_ROM_START)
        if banner < 0 and not _ROM_RESET.match(text.strip()):
            handle(text, offset, number)
            continue
        if banner > 0:
            handle(text[:banner], offset, number)  # what the reset cut short
        if current().records or current().problems:
            start = raw.find(_ROM_START.encode())
            new_boot(offset + max(start, 0))
        if banner < 0:
            current().reset = text.strip()

    return ParsedLog(path=path, n_bytes=len(data), boots=boots)
