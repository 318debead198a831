"""parse_log() takes plain record lines in bulk; it must read every log as line by line does."""

from hypothesis import given, settings
from hypothesis import strategies as st

from tinyreport.device.serial import parse as parse_module
from tinyreport.device.serial.parse import parse_log, parse_log_by_line
from tinyreport.device.serial.protocol import RECORD_TYPES, crc32, encode_value

HEX64 = "3f1c0a9e5b7d24c86e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"


def dump(parsed):
    """Everything a parse gives, as plain values (records, problems, boots)."""
    return [
        (
            boot.index,
            boot.offset,
            boot.reset,
            boot.duplicates,
            # repr: a nan field equals itself
            [(r.kind, repr(r.fields), tuple(r.source), r.boot, r.text) for r in boot.records],
            [(p.offset, p.line, p.message, p.boot) for p in boot.problems],
        )
        for boot in parsed.boots
    ]


def reference(data: bytes, path: str = "<bytes>"):
    """Line by line, every line read in full (no skipping of lines that cannot matter)."""
    notable = parse_module._notable
    parse_module._notable = lambda text: True
    try:
        return parse_log_by_line(data, path)
    finally:
        parse_module._notable = notable


def record_line(rtype: str, pairs: list[tuple[str, str]], version: int = 1) -> str:
    """A record line with values as given (not encoded) and a correct CRC."""
    body = " ".join([f"@TR{version}", rtype, *(f"{k}={v}" for k, v in pairs)])
    return f"{body} crc={crc32(body):08x}"


# Values of each kind: valid ones as the firmware prints them, and (ODD) texts that are valid in
# an unusual spelling (leading zeros, nan, exponent) or not valid at all.
VALID = {
    "int": st.integers(-(10**12), 10**12).map(str),
    "float": st.floats(allow_nan=True).map(encode_value),
    "bool": st.sampled_from(["0", "1"]),
    "hex64": st.just(HEX64),
    "hex8": st.just("00c0ffee"),
    "ints": st.lists(st.integers(-(10**6), 10**12), min_size=1, max_size=40).map(encode_value),
    "str": st.text(max_size=12).map(encode_value) | st.just("ESP-ROM:esp32s3"),
}
ODD = {
    "int": ["007", "-0", "1.5", "x", ""],
    "float": ["1e5", ".5", "nan", "-inf", "1.", "e", "0x1"],
    "bool": ["2", "", "true"],
    "hex64": [HEX64.upper(), HEX64[:63], "esp"],
    "hex8": ["00C0FFEE", "123", "deadbeef0"],
    "ints": ["01,2", "1,,2", "-", "1,-0,003"],
    "str": ["%zz", "%41b", "a%20b", "%"],
}


def _value(rtype: str, key: str):
    fspec = RECORD_TYPES[rtype].fields[key]
    if fspec.kind == "enum":
        valid = st.sampled_from(fspec.choices)
        odd = ["other", fspec.choices[0].upper()]
    else:
        valid, odd = VALID[fspec.kind], ODD[fspec.kind]
    return st.one_of(*[valid] * 9, st.sampled_from(odd))  # mostly valid


@st.composite
def records(draw) -> str:
    """A record line: usually as the spec says, sometimes bent in one of many ways."""
    rtype = draw(st.sampled_from([*RECORD_TYPES, "unknown"]))
    keys = list(RECORD_TYPES[rtype].fields) if rtype in RECORD_TYPES else ["seq", "x"]
    pairs = []
    for key in keys:
        spec = RECORD_TYPES[rtype].fields.get(key) if rtype in RECORD_TYPES else None
        if spec is not None and not spec.required and draw(st.booleans()):
            continue  # an optional field left out
        if key == "seq":
            value = draw(st.integers(0, 4).map(str) | st.sampled_from(["1234567890", "-1", "01"]))
        elif spec is None:
            value = draw(st.text("abc", max_size=3))
        else:
            value = draw(_value(rtype, key))
        pairs.append((key, value))
    bend = draw(st.sampled_from(["none"] * 6 + ["drop", "extra", "swap", "repeat", "version"]))
    if bend == "drop" and len(pairs) > 1:
        del pairs[draw(st.integers(1, len(pairs) - 1))]
    elif bend == "extra":
        pairs.insert(draw(st.integers(1, len(pairs))), ("extra", "1"))
    elif bend == "swap" and len(pairs) > 2:
        pairs[1], pairs[2] = pairs[2], pairs[1]
    elif bend == "repeat":
        pairs.append(pairs[-1])
    line = record_line(rtype, pairs, version=2 if bend == "version" else 1)
    damage = draw(st.sampled_from(["none"] * 8 + ["cr", "colour", "flip", "cut", "twice", "long"]))
    if damage == "cr":
        line += "\r"
    elif damage == "colour":
        line = "\x1b[0;32m" + line + "\x1b[0m"
    elif damage == "flip":
        pos = draw(st.integers(0, len(line) - 1))
        line = line[:pos] + ("x" if line[pos] != "x" else "y") + line[pos + 1 :]
    elif damage == "cut":
        line = line[: draw(st.integers(0, len(line) - 1))]
    elif damage == "twice":
        line = line[:20] + line
    elif damage == "long":  # a valid record longer than a line may be
        line = record_line(
            "lat", [("seq", "1"), ("id", HEX64), ("i", "0"), ("us", "1," * 2100 + "1")]
        )
    return line


OTHER_LINES = [
    "ESP-ROM:esp32s3-20210327",
    "rst:0xc (RTC_SW_CPU_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)",
    "SPIWP:0xee",
    "Build:Mar 27 2021",
    "\x1b[0;32mI (27) tinyfw: step 5 took 42 ms\x1b[0m\r",
    "I (31) tinyfw: CONV_2D: 12.5 ms",
    "I (32) tinyfw: MUL = 3 µs",
    "ADD 4μs",
    "I (33) tinyfw: Inference time: 1843 us",
    "Arena used: 21452 bytes",
    "Free heap: 285 KB",
    "FULLY_CONNECTED took 1234 ticks (1 ms).",
    "[[ Table ]]: Arena",
    '"Arena","Bytes","%% Arena"',
    '"Total","21452","100.00"',
    "",
    "junk ar\x1b[0mena 12 bytes",
    "CONV_2D\x00: 3 ms",
    "invo\u212ae took 5 ms",
    "@TR1 lat seq=3",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(records() | st.sampled_from(OTHER_LINES), max_size=40), st.booleans())
def test_the_bulk_reading_equals_reading_line_by_line(lines, final_newline):
    data = "\n".join(lines).encode("utf-8") + (b"\n" if final_newline else b"")
    assert dump(parse_log(data, "x.log")) == dump(reference(data, "x.log"))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_read_in_bulk_equal_line_by_line(data):
    assert dump(parse_log(data)) == dump(reference(data))


def test_a_plain_session_is_read_in_bulk():
    """The bulk reading takes these lines itself: the same records, values typed."""
    lines = [
        record_line("boot", [("seq", "0"), ("run", "00c0ffee"), ("chip", "esp32s3"),
                             ("cores", "2"), ("cpu_mhz", "240"), ("flash_bytes", "8388608"),
                             ("psram_bytes", "0"), ("idf", "v5.3.1"), ("fw", "t"),
                             ("esp_nn", "1")]),
        record_line("lat", [("seq", "1"), ("id", HEX64), ("i", "0"), ("us", "1843,1838,007")]),
        record_line("alloc", [("seq", "2"), ("id", HEX64), ("status", "ok"),
                              ("arena_given_bytes", "65536")]),
    ]  # fmt: skip
    parsed = parse_log("\n".join(lines).encode())
    assert [r.kind for r in parsed.records] == ["boot", "lat"]
    assert parsed.records[0].fields["esp_nn"] is True
    assert parsed.records[1].fields == {"seq": 1, "id": HEX64, "i": 0, "us": [1843, 1838, 7]}
    assert parsed.problems[0].message == (
        "alloc record skipped: alloc record with status=ok lacks 'arena_used_bytes'"
    )


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    """Cut data at the given offsets (any order, repeats allowed): the pieces, in order."""
    points = sorted({min(max(c, 0), len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(records() | st.sampled_from(OTHER_LINES), max_size=40),
    st.booleans(),
    st.lists(st.integers(0, 4000), max_size=8),
)
def test_reading_in_pieces_equals_reading_whole(lines, final_newline, cuts):
    """The streaming reader, cut anywhere (mid-line, mid-record, mid-UTF-8), reads the same."""
    data = "\n".join(lines).encode("utf-8") + (b"\n" if final_newline else b"")
    streamed = parse_module.ParsedLog("x.log", len(data), [])
    streamed.boots = list(parse_module.parse_stream(pieces(data, cuts), "x.log"))
    assert dump(streamed) == dump(parse_log(data, "x.log"))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=6))
def test_any_bytes_read_in_pieces_equal_whole(data, cuts):
    streamed = parse_module.ParsedLog("<bytes>", len(data), [])
    streamed.boots = list(parse_module.parse_stream(pieces(data, cuts)))
    assert dump(streamed) == dump(parse_log(data))


def test_an_over_long_line_is_read_in_part_the_same_whole_or_in_pieces(monkeypatch):
    """Of a line longer than MAX_LINE_BYTES only the start is read, and a problem says so."""
    monkeypatch.setattr(parse_module, "MAX_LINE_BYTES", 10_000)
    rec = [record_line("heap", [("seq", str(i)), ("at", "boot"), ("free_internal_bytes", "1"),
                                ("free_psram_bytes", "0")]) for i in range(4)]  # fmt: skip
    lines = [rec[0], "x" * 5_000 + rec[1], "y" * 30_000 + rec[2], "ESP-ROM:esp32s3", rec[3]]
    data = "\n".join(lines).encode()
    whole = parse_log(data, "x.log")
    streamed = parse_module.ParsedLog("x.log", len(data), [])
    cuts = [7, 3000, 12_000, 20_000, 40_000]
    streamed.boots = list(parse_module.parse_stream(pieces(data, cuts), "x.log"))
    assert dump(streamed) == dump(whole)
    assert [p.message for p in whole.boots[0].problems] == [
        f"line of {30_000 + len(rec[2]):,} bytes: only its first 10,000 bytes were read"
    ]
    # The record after 5,000 bytes of text is read; the one after 30,000 is past what is read.
    assert [[r.fields["seq"] for r in b.records] for b in whole.boots] == [[0, 1], [3]]
