"""Declare the tinyreport serial record protocol (version 1): record types, fields and CRC.

One record is one line of printable ASCII::

    @TR1 <type> seq=<n> <key>=<value> ... crc=<8 lowercase hex digits>

The CRC is the standard CRC-32 (IEEE 802.3, the one in zlib and `esp_rom_crc32_le(0, ...)`)
of every byte from the ``@`` up to, but not including, the space before ``crc=``. The
authoritative description, with an example session, is ``docs/reference/protocol.md``; this
module is its executable form, used by the parser, the tests and the fake board.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

#: Every record starts with this marker followed by the protocol version.
MARKER = "@TR"
#: The protocol version this module writes and reads. Bump it only for incompatible changes;
#: new record types and new optional fields keep the version (readers ignore what they do not
#: know).
PROTOCOL_VERSION = 1

#: Longest record line the firmware may print (without the newline).
MAX_LINE_CHARS = 480

# Characters a value may hold as they are; anything else is written as %XX (UTF-8 bytes).
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.,:/+\-]*")
_KEY = re.compile(r"[a-z][a-z0-9_]*")
_TYPE = re.compile(r"[a-z][a-z0-9_]*")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX8 = re.compile(r"[0-9a-f]{8}")
_INT = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|-inf")
_INT_LIST = re.compile(r"-?[0-9]+(?:,-?[0-9]+)*")


@dataclass(frozen=True)
class FieldSpec:
    """One ``key=value`` field: its kind, whether it is required, and what it means."""

    kind: str  # int | float | str | bool | hex64 | hex8 | ints | enum
    required: bool
    doc: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordSpec:
    """One record type: its fields in the order the firmware prints them."""

    name: str
    doc: str
    fields: dict[str, FieldSpec] = field(default_factory=dict)


def _req(kind: str, doc: str, choices: tuple[str, ...] = ()) -> FieldSpec:
    return FieldSpec(kind, True, doc, choices)


def _opt(kind: str, doc: str, choices: tuple[str, ...] = ()) -> FieldSpec:
    return FieldSpec(kind, False, doc, choices)


_SEQ = _req("int", "Record number in this boot: 0 for the boot record, then +1 per record.")
_ID = _req("hex64", "Model id: sha256 of the .tflite file, 64 lowercase hex digits.")

#: Every record type of protocol version 1, in the order a session prints them.
RECORD_TYPES: dict[str, RecordSpec] = {
    spec.name: spec
    for spec in (
        RecordSpec(
            "boot",
            "Board and firmware, printed once right after the firmware starts.",
            {
                "seq": _SEQ,
                "run": _req("hex8", "Random id of this boot (esp_random()), to spot duplicates."),
                "chip": _req("str", "Chip model, e.g. esp32s3."),
                "rev": _opt("str", "Chip revision, e.g. 0.2."),
                "cores": _req("int", "Number of CPU cores."),
                "cpu_mhz": _req("int", "CPU clock in MHz."),
                "flash_bytes": _req("int", "Flash size in bytes."),
                "psram_bytes": _req("int", "PSRAM size in bytes (0 when none)."),
                "idf": _req("str", "ESP-IDF version string, e.g. v5.3.1."),
                "fw": _req("str", "Firmware build id (git describe or a build hash)."),
                "esp_nn": _req("bool", "1 when the ESP-NN optimised kernels are compiled in."),
                "board": _opt("str", "Board name, e.g. xiao_esp32s3."),
                "reset": _opt("str", "Reset reason, e.g. POWERON, SW, PANIC."),
                "n_models": _opt("int", "Number of models this firmware will run."),
                "sim": _opt(
                    "bool",
                    "1 when the session was made by a simulator, never by real firmware; "
                    "such runs are never shown as measurements.",
                ),
            },
        ),
        RecordSpec(
            "model",
            "A model is about to be loaded; the records that follow name it by id.",
            {
                "seq": _SEQ,
                "id": _ID,
                "name": _req("str", "Model name, e.g. mlp_int8."),
                "size_bytes": _opt("int", "Size of the .tflite flatbuffer in bytes."),
                "arena_given_bytes": _req("int", "Tensor arena size handed to the interpreter."),
                "arena_caps": _opt(
                    "enum", "Memory the arena lives in.", ("internal", "psram", "other")
                ),
            },
        ),
        RecordSpec(
            "alloc",
            "Result of AllocateTensors().",
            {
                "seq": _SEQ,
                "id": _ID,
                "status": _req("enum", "ok or fail.", ("ok", "fail")),
                "arena_given_bytes": _req("int", "Tensor arena size handed to the interpreter."),
                "arena_used_bytes": _opt(
                    "int", "interpreter.arena_used_bytes() after success (required when ok)."
                ),
                "arena_needed_bytes": _opt(
                    "int", "Bytes the allocator asked for when it failed, if known."
                ),
            },
        ),
        RecordSpec(
            "heap",
            "Free memory at a point of the run (heap_caps_get_free_size).",
            {
                "seq": _SEQ,
                "id": _opt("hex64", "Model id, when the figure belongs to a model's run."),
                "at": _req(
                    "enum",
                    "When it was measured.",
                    ("boot", "before_alloc", "after_alloc", "after_invoke", "end"),
                ),
                "free_internal_bytes": _req("int", "Free internal (8-bit capable) RAM."),
                "free_psram_bytes": _req("int", "Free PSRAM (0 when none)."),
                "min_free_internal_bytes": _opt("int", "Low-water mark of free internal RAM."),
                "largest_internal_block_bytes": _opt("int", "Largest free internal block."),
            },
        ),
        RecordSpec(
            "warmup",
            "Invokes run and discarded before timing.",
            {"seq": _SEQ, "id": _ID, "n": _req("int", "Number of warm-up invokes.")},
        ),
        RecordSpec(
            "lat",
            "Per-invoke latency samples in microseconds (esp_timer_get_time around Invoke()).",
            {
                "seq": _SEQ,
                "id": _ID,
                "i": _req("int", "Index of the first sample in this record (0-based)."),
                "us": _req("ints", "Comma-separated samples, at most 32 per record."),
            },
        ),
        RecordSpec(
            "latsum",
            "Latency summary computed on the device, when samples are not printed.",
            {
                "seq": _SEQ,
                "id": _ID,
                "n": _req("int", "Number of timed invokes."),
                "mean_us": _req("float", "Mean latency."),
                "min_us": _req("int", "Fastest invoke."),
                "max_us": _req("int", "Slowest invoke."),
                "median_us": _opt("float", "Median latency."),
                "std_us": _opt("float", "Sample standard deviation."),
            },
        ),
        RecordSpec(
            "op",
            "Time spent in one operator (MicroProfiler), averaged over profiled invokes.",
            {
                "seq": _SEQ,
                "id": _ID,
                "i": _req("int", "Operator index in the execution plan."),
                "op": _req("str", "Operator name, e.g. CONV_2D."),
                "us": _req("float", "Mean time per invoke in microseconds."),
                "n": _req("int", "Number of profiled invokes."),
            },
        ),
        RecordSpec(
            "vec",
            "Embedded test vectors run on the device and compared with the host's outputs.",
            {
                "seq": _SEQ,
                "id": _ID,
                "n": _req("int", "Number of test vectors run."),
                "match": _req("int", "Vectors whose every output is within tol of the host's."),
                "max_abs_diff": _req(
                    "float", "Largest |device - host| output difference, in output units."
                ),
                "tol": _opt("float", "Tolerance used for match (0 = exact)."),
                "unit": _opt("enum", "Output units: q (int8 steps) or f (float).", ("q", "f")),
                "top1": _opt("int", "Vectors whose device argmax equals the expected label."),
            },
        ),
        RecordSpec(
            "err",
            "Something failed; the run of this model stops.",
            {
                "seq": _SEQ,
                "id": _opt("hex64", "Model id, when the error belongs to a model."),
                "stage": _req(
                    "enum", "Where it failed.", ("load", "alloc", "invoke", "vec", "other")
                ),
                "msg": _req("str", "What happened, percent-encoded."),
            },
        ),
        RecordSpec(
            "done",
            "End of the session; nothing follows until the next boot.",
            {
                "seq": _SEQ,
                "n_models": _req("int", "Models attempted."),
                "n_ok": _opt("int", "Models that ran to the end without an err record."),
            },
        ),
    )
}


class RecordError(ValueError):
    """A text is not a valid record (the message says why)."""


def crc32(text: str) -> int:
    """Return the CRC-32 (IEEE, as zlib) of a record's ASCII text."""
    return zlib.crc32(text.encode("ascii", "replace")) & 0xFFFFFFFF


def encode_value(value: object) -> str:
    """Render a field value: ints as decimals, floats as %.6g, bools as 0/1, text escaped."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, list | tuple):
        return ",".join(encode_value(v) for v in value)
    text = str(value)
    if _PLAIN_VALUE.fullmatch(text):
        return text
    return "".join(
        ch if _PLAIN_VALUE.fullmatch(ch) else "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
        for ch in text
    )


def decode_text(value: str) -> str:
    """Undo the %XX escaping of a text value; a malformed escape raises RecordError."""
    if "%" not in value:
        return value
    out = bytearray()
    i = 0
    while i < len(value):
        if value[i] == "%":
            pair = value[i + 1 : i + 3]
            if len(pair) != 2 or not re.fullmatch(r"[0-9A-Fa-f]{2}", pair):
                raise RecordError(f"bad %-escape in {value!r}")
            out.append(int(pair, 16))
            i += 3
        else:
            out += value[i].encode("utf-8")
            i += 1
    return out.decode("utf-8", "replace")


def format_record(rtype: str, fields: Mapping[str, object]) -> str:
    """Return one record line (no newline) with its CRC, exactly as the firmware prints it."""
    if not _TYPE.fullmatch(rtype):
        raise RecordError(f"bad record type {rtype!r}")
    parts = [f"{MARKER}{PROTOCOL_VERSION}", rtype]
    for key, value in fields.items():
        if not _KEY.fullmatch(key) or key == "crc":
            raise RecordError(f"bad field name {key!r}")
        parts.append(f"{key}={encode_value(value)}")
    body = " ".join(parts)
    return f"{body} crc={crc32(body):08x}"


# A record inside a line: marker, version, type, fields, crc. Fields are single-space separated
# and the crc must be followed by the end of the line or by a character that cannot continue it.
_RECORD = re.compile(
    r"@TR(?P<version>[0-9]{1,3}) (?P<type>[a-z][a-z0-9_]*)"
    r"(?P<fields>(?: [a-z][a-z0-9_]*=[^ \t=]*)*) crc=(?P<crc>[0-9a-f]{8})(?![0-9A-Za-z])"
)


@dataclass(frozen=True)
class RawRecord:
    """A record whose CRC checked: type, version and fields still as text."""

    version: int
    rtype: str
    fields: dict[str, str]
    text: str  # from the marker to the last crc digit
    start: int  # index of the marker in the line it was found in


def find_records(line: str) -> tuple[list[RawRecord], list[str]]:
    """Find the records in one line; return them and a reason for each rejected candidate.

    A line normally holds one record, but a cut line may be followed by a whole one, so every
    marker is tried. A candidate is rejected when its CRC is wrong or its layout is broken.
    """
    found: list[RawRecord] = []
    problems: list[str] = []
    pos = line.find(MARKER)
    while pos >= 0:
        match = _RECORD.match(line, pos)
        if match is None:
            problems.append("incomplete or malformed record (cut line?)")
        else:
            body = line[pos : match.start("crc") - len(" crc=")]
            fields = check_record(crc32(body), match["crc"], match["fields"])
            if isinstance(fields, str):
                problems.append(fields)
            else:
                found.append(
                    RawRecord(int(match["version"]), match["type"], fields, match.group(0), pos)
                )
                pos = line.find(MARKER, match.end())
                continue
        pos = line.find(MARKER, pos + 1)
    return found, problems


def check_record(crc: int, crc_text: str, fields_text: str) -> dict[str, str] | str:
    """Return a matched record's fields as text, or why it is rejected.

    ``crc`` is the CRC-32 of the record's body, ``crc_text`` the one the line says and
    ``fields_text`` the `` key=value`` pairs as matched (values hold neither spaces nor ``=``).
    """
    want = int(crc_text, 16)
    if crc != want:
        return f"CRC mismatch (got {crc:08x}, line says {want:08x})"
    parts = fields_text.replace("=", " ").split(" ")  # "", key, value, key, value, ...
    fields = dict(zip(parts[1::2], parts[2::2], strict=True))
    if 2 * len(fields) != len(parts) - 1:
        return "record repeats a field name"
    return fields


def convert_fields(rtype: str, raw: Mapping[str, str]) -> dict[str, object]:
    """Check a version-1 record's fields against its spec and return them typed.

    Unknown fields are kept as text (forward compatibility); a missing required field or a
    value of the wrong kind raises RecordError.
    """
    spec = RECORD_TYPES.get(rtype)
    if spec is None:
        raise RecordError(f"unknown record type {rtype!r} (from a newer firmware?)")
    required, converters = _CONVERTERS[rtype]
    for key in required:
        if key not in raw:
            raise RecordError(f"{rtype} record lacks required field {key!r}")
    out: dict[str, object] = {}
    for key, value in raw.items():
        convert = converters.get(key)
        if convert is None:
            out[key] = decode_text(value)
            continue
        typed = convert(value)
        if typed is _BAD:
            _convert(rtype, key, spec.fields[key], value)  # raises, with the reason
        out[key] = typed
    if rtype == "alloc" and out.get("status") == "ok" and "arena_used_bytes" not in out:
        raise RecordError("alloc record with status=ok lacks 'arena_used_bytes'")
    return out


# convert_fields() runs for every record of a log, so each kind has a converter that returns
# _BAD instead of raising; _convert() below is the reference, and words the error.
_BAD = object()
_scan_json = json.JSONDecoder().scan_once


def _to_int(value: str) -> object:
    if (value.isdigit() and value.isascii()) or _INT.fullmatch(value):
        return int(value)
    return _BAD


def _to_float(value: str) -> object:
    return float(value) if _FLOAT.fullmatch(value) else _BAD


def _to_bool(value: str) -> object:
    return value == "1" if value in ("0", "1") else _BAD


def _to_hex64(value: str) -> object:
    return value if _HEX64.fullmatch(value) else _BAD


def _to_hex8(value: str) -> object:
    return value if _HEX8.fullmatch(value) else _BAD


def _to_ints(value: str) -> object:
    return _parse_ints(value) if _INT_LIST.fullmatch(value) else _BAD


def _parse_ints(value: str) -> list[int]:
    """Read a valid ``ints`` value (it matches _INT_LIST)."""
    # As a JSON array it is read by json's C scanner, faster than int() item by item; only
    # leading zeros, which JSON refuses, take the slow way.
    try:
        return _scan_json(f"[{value}]", 0)[0]
    except (ValueError, StopIteration):
        return [int(v) for v in value.split(",")]


def _to_enum(choices: tuple[str, ...]) -> Callable[[str], object]:
    return lambda value: value if value in choices else _BAD


def _converter(fspec: FieldSpec) -> Callable[[str], object]:
    simple = {
        "int": _to_int,
        "float": _to_float,
        "bool": _to_bool,
        "hex64": _to_hex64,
        "hex8": _to_hex8,
        "ints": _to_ints,
    }
    if fspec.kind == "enum":
        return _to_enum(fspec.choices)
    return simple.get(fspec.kind, decode_text)


_CONVERTERS: dict[str, tuple[tuple[str, ...], dict[str, Callable[[str], object]]]] = {
    name: (
        tuple(key for key, fspec in spec.fields.items() if fspec.required),
        {key: _converter(fspec) for key, fspec in spec.fields.items()},
    )
    for name, spec in RECORD_TYPES.items()
}


# Records as the firmware prints them: the spec's fields in the spec's order, no others, each
# value valid for its kind and without %-escapes. One regular expression per type checks all
# of a record's fields after ``seq`` at once; typed_records() then converts a whole column of
# values per call. Anything else goes through convert_fields(), which words the errors.
_VALUE_PATTERNS = {
    "int": _INT.pattern,
    "float": _FLOAT.pattern,
    "bool": "[01]",
    "hex64": _HEX64.pattern,
    "hex8": _HEX8.pattern,
    "ints": _INT_LIST.pattern,
    "str": "[^ \t\n=%]*",
}
_TYPERS: dict[str, Callable[[str], object] | None] = {  # None: the text is the value
    "int": int,
    "float": float,
    "bool": "1".__eq__,
    "hex64": None,
    "hex8": None,
    "ints": _parse_ints,
    "enum": None,
    "str": None,
}


@dataclass(frozen=True)
class _Plain:
    """How to read the fields after ``seq`` of one record type printed as the spec says."""

    pattern: re.Pattern[str]
    keys: tuple[str, ...]  # "seq" first, then the spec's other fields
    typers: tuple[Callable[[str], object] | None, ...]  # per field after seq
    optional: tuple[bool, ...]  # per field after seq
    alloc_rule: bool  # status=ok needs arena_used_bytes


def _plain(spec: RecordSpec) -> _Plain:
    parts = []
    items = [(key, fspec) for key, fspec in spec.fields.items() if key != "seq"]
    for key, fspec in items:
        if fspec.kind == "enum":
            value = "|".join(re.escape(choice) for choice in fspec.choices)
        else:
            value = _VALUE_PATTERNS[fspec.kind]
        part = f" {key}=({value})"
        parts.append(part if fspec.required else f"(?:{part})?")
    return _Plain(
        pattern=re.compile("".join(parts)),
        keys=("seq", *(key for key, _ in items)),
        typers=tuple(_TYPERS[fspec.kind] for _, fspec in items),
        optional=tuple(not fspec.required for _, fspec in items),
        alloc_rule=spec.name == "alloc",
    )


_PLAIN = {name: _plain(spec) for name, spec in RECORD_TYPES.items()}


def _int_lists(values: list[str]) -> list[list[int]]:
    """Read many valid ``ints`` values at once (one pass of json's C scanner)."""
    try:
        return json.loads("[[" + "],[".join(values) + "]]")
    except ValueError:  # a leading zero somewhere, which JSON refuses
        return [_parse_ints(value) for value in values]


def typed_records(rtype: str, seqs: list[int], rests: list[str]) -> list[dict[str, object] | None]:
    """Return the typed fields of many records of one type, or None for each that is not plain.

    ``rests`` are the `` key=value`` pairs after ``seq=`` of records whose CRC checked, and
    ``seqs`` their seq numbers. A record is plain when it is printed just as the spec says;
    None means "not the plain case", never "invalid": convert_fields() decides and says why.
    """
    plain = _PLAIN.get(rtype)
    if plain is None:
        return [None] * len(rests)
    matches = list(map(plain.pattern.fullmatch, rests))
    rows = [m.groups() for m in matches if m is not None]
    if not rows:
        return [None] * len(rests)
    columns: list[list[object]] = [[s for s, m in zip(seqs, matches, strict=True) if m]]
    fields = zip(*rows, strict=True)  # one column per field after seq
    for column, typer, optional in zip(fields, plain.typers, plain.optional, strict=True):
        if typer is None:
            columns.append(list(column))
        elif typer is _parse_ints:
            columns.append(_int_lists(column))  # type: ignore[arg-type]
        elif optional:
            columns.append([None if v is None else typer(v) for v in column])
        else:
            columns.append(list(map(typer, column)))
    keys = plain.keys
    if any(plain.optional):
        typed = [
            {key: value for key, value in zip(keys, row, strict=True) if value is not None}
            for row in zip(*columns, strict=True)
        ]
    else:
        typed = [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]
    it = iter(typed)
    out: list[dict[str, object] | None] = [next(it) if m else None for m in matches]
    if plain.alloc_rule:
        out = [
            None if f is not None and f["status"] == "ok" and "arena_used_bytes" not in f else f
            for f in out
        ]
    return out


def _convert(rtype: str, key: str, fspec: FieldSpec, value: str) -> object:
    def bad() -> RecordError:
        return RecordError(f"{rtype} field {key}={value!r} is not a valid {fspec.kind}")

    kind = fspec.kind
    if kind == "int":
        if not _INT.fullmatch(value):
            raise bad()
        return int(value)
    if kind == "float":
        if not _FLOAT.fullmatch(value):
            raise bad()
        return float(value)
    if kind == "bool":
        if value not in ("0", "1"):
            raise bad()
        return value == "1"
    if kind == "hex64":
        if not _HEX64.fullmatch(value):
            raise bad()
        return value
    if kind == "hex8":
        if not _HEX8.fullmatch(value):
            raise bad()
        return value
    if kind == "ints":
        if not _INT_LIST.fullmatch(value):
            raise bad()
        return [int(v) for v in value.split(",")]
    if kind == "enum":
        if value not in fspec.choices:
            raise bad()
        return value
    return decode_text(value)
