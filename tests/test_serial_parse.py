"""The log parser: each format from faithful samples, boots, damage, and properties."""

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tinyreport.device.serial.parse import FMT_TINYREPORT, clean_line, parse_log
from tinyreport.device.serial.protocol import format_record

LOGS = Path(__file__).parent / "data" / "logs"
CNN = "3f1c0a9e5b7d24c86e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"
MLP = "a04cbb18f1e6d29c0b7a35e2c9d8f10e6b3a2f4c5d6e7f8091a2b3c4d5e6f7a8"


def parse(name: str):
    path = LOGS / name
    return parse_log(path.read_bytes(), str(path))


def facts(parsed):
    """Kinds and fields without the source, for comparing with expected values."""
    return [
        (r.kind, {k: v for k, v in r.fields.items() if k not in ("seq", "id")})
        for r in parsed.records
    ]


def test_tinyreport_session_with_colour_and_rom_noise():
    parsed = parse("tinyreport_session.log")
    assert parsed.problems == []
    assert len(parsed.boots) == 1
    boot = parsed.boots[0]
    assert boot.reset == "rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)"
    assert boot.run_id == "5a17c0de"
    recs = parsed.records
    assert [r.kind for r in recs] == [
        "boot",
        "heap",
        "model",
        "alloc",
        "heap",
        "warmup",
        "lat",
        "lat",
        "op",
        "op",
        "op",
        "op",
        "vec",
        "model",
        "alloc",
        "err",
        "heap",
        "done",
    ]
    assert all(r.source.fmt == FMT_TINYREPORT and r.source.confidence == "high" for r in recs)
    board = recs[0].fields
    assert (board["chip"], board["cores"], board["cpu_mhz"]) == ("esp32s3", 2, 240)
    assert (board["flash_bytes"], board["psram_bytes"]) == (8388608, 8388608)
    assert (board["idf"], board["esp_nn"]) == ("v5.3.1", True)
    assert recs[3].fields == {
        "seq": 3,
        "id": CNN,
        "status": "ok",
        "arena_given_bytes": 65536,
        "arena_used_bytes": 21452,
    }
    assert recs[7].fields["us"] == [2210, 1839]
    assert recs[10].fields["op"] == "FULLY_CONNECTED" and recs[10].fields["us"] == 701.3
    assert recs[14].fields["arena_needed_bytes"] == 6208
    assert recs[15].fields["msg"] == "AllocateTensors() failed"


def test_every_record_points_at_its_line_in_the_file():
    path = LOGS / "tinyreport_session.log"
    data = path.read_bytes()
    for rec in parse_log(data, str(path)).records:
        assert rec.source.path == str(path)
        line = data[rec.source.offset :].split(b"\n", 1)[0]
        assert rec.text in clean_line(line)
        assert data[: rec.source.offset].count(b"\n") + 1 == rec.source.line


def test_lab05_sketch():
    parsed = parse("lab05.log")
    assert facts(parsed) == [
        ("alloc", {"status": "ok", "arena_used_bytes": 12 * 1024}),
        ("lat", {"us": [1420.0], "i": None}),
        ("lat", {"us": [1390.0], "i": None}),
        ("lat", {"us": [1410.0], "i": None}),
    ]
    assert {r.source.fmt for r in parsed.records} == {"lab05"}
    assert {r.source.confidence for r in parsed.records} == {"medium"}


def test_micro_profiler_and_recording_allocator():
    parsed = parse("tflm_profiler.log")
    assert facts(parsed) == [
        ("alloc", {"status": "ok", "arena_used_bytes": 21452}),
        ("alloc_part", {"part": "head", "bytes": 12544}),
        ("alloc_part", {"part": "tail", "bytes": 8908}),
        ("op", {"op": "CONV_2D", "ticks": 218834}),
        ("op", {"op": "MAX_POOL_2D", "ticks": 20145}),
        ("op", {"op": "CONV_2D", "ticks": 402211}),
        ("op", {"op": "RESHAPE", "ticks": 310}),
        ("op", {"op": "FULLY_CONNECTED", "ticks": 35122}),
        ("op", {"op": "SOFTMAX", "ticks": 4120}),
    ]
    assert [r.source.fmt for r in parsed.records[:3]] == ["tflm-recording-allocator"] * 3


def test_micro_profiler_csv():
    assert facts(parse("tflm_profiler_csv.log")) == [
        ("op", {"i": 0, "op": "CONV_2D", "ticks": 218834}),
        ("op", {"i": 1, "op": "MAX_POOL_2D", "ticks": 20145}),
        ("op", {"i": 2, "op": "FULLY_CONNECTED", "ticks": 35122}),
        ("op", {"i": 3, "op": "SOFTMAX", "ticks": 4120}),
    ]


def test_tflm_benchmark_tables():
    got = facts(parse("tflm_benchmark.log"))
    assert got[0] == ("arena_given", {"arena_given_bytes": 65536})
    # TfliteGetModel is an application event, not an operator.
    assert [f["op"] for k, f in got if k == "op" and "per_tag" not in f] == [
        "CONV_2D",
        "MAX_POOL_2D",
        "FULLY_CONNECTED",
        "SOFTMAX",
    ]
    assert ("op", {"op": "MAX_POOL_2D", "ticks": 20145, "per_tag": True}) in got
    assert got[-3:] == [
        ("alloc", {"status": "ok", "arena_used_bytes": 21452}),
        ("alloc_part", {"part": "head", "bytes": 12544}),
        ("alloc_part", {"part": "tail", "bytes": 8908}),
    ]
    # The allocations table's rows are not mistaken for anything.
    assert len(got) == 1 + 4 + 4 + 3


def test_esp_dl_profile_inside_esp_idf_log_lines():
    parsed = parse("espdl_profile.log")
    assert facts(parsed) == [
        ("vec", {"n": 1, "match": 1}),
        ("model_name", {"name": "mnist_cnn"}),
        ("model_name", {"name": "mnist_cnn"}),
        ("op", {"op": "Conv", "name": "/conv1/Conv", "us": 812.0}),
        ("op", {"op": "MaxPool", "name": "/pool/MaxPool", "us": 95.0}),
        ("op", {"op": "Gemm", "name": "/fc/Gemm", "us": 640.0}),
        ("lat", {"us": [1547], "i": 0}),
    ]
    assert {r.source.fmt for r in parsed.records} == {"esp-dl"}


def test_esp_idf_wrapped_lines_keep_their_inner_format():
    parsed = parse("idf_wrapped.log")
    assert facts(parsed) == [
        ("alloc", {"status": "ok", "arena_used_bytes": 21452}),
        ("alloc", {"status": "ok", "arena_used_bytes": 21452}),
        ("lat", {"us": [1843.0], "i": None}),
        ("lat", {"us": [1838.0], "i": None}),
        ("heap", {"free_internal_bytes": 285184}),
    ]
    assert [r.source.fmt for r in parsed.records] == [
        "lab05",
        "tflm-recording-allocator",
        "lab05",
        "lab05",
        "text",
    ]


def test_free_text_is_read_with_low_confidence():
    parsed = parse("freetext.log")
    assert facts(parsed) == [
        ("arena_given", {"arena_given_bytes": 60 * 1024}),
        ("alloc", {"status": "ok", "arena_used_bytes": 24064}),
        ("heap", {"free_internal_bytes": 245 * 1024}),
        ("heap", {"free_psram_bytes": 8123456}),
        ("op", {"op": "CONV_2D", "us": 812.0}),
        ("op", {"op": "FULLY_CONNECTED", "us": 640.0}),
        ("lat", {"us": [1840.0], "i": None}),
    ]
    assert {r.source.confidence for r in parsed.records} == {"low"}


def test_ordinary_boot_output_gives_no_records():
    log = (
        b"I (27) boot: ESP-IDF v5.3.1 2nd stage bootloader\r\n"
        b"I (258) esp_psram: Found 8MB PSRAM device\r\n"
        b"I (290) esp_psram: Adding pool of 8192K of PSRAM memory to heap allocator\r\n"
        b"I (300) heap_init: At 3FC9B4F8 len 0004DB18 (310 KiB): DRAM\r\n"
        b"I (245) cpu_start: cpu freq: 240000000 Hz\r\n"
        b"I (40) boot: SPI Flash Size : 8MB\r\n"
    )
    assert parse_log(log).records == []


def _session(run: str, first_seq: int = 0) -> list[str]:
    return [
        format_record(
            "boot",
            {
                "seq": first_seq,
                "run": run,
                "chip": "esp32s3",
                "cores": 2,
                "cpu_mhz": 240,
                "flash_bytes": 8388608,
                "psram_bytes": 8388608,
                "idf": "v5.3.1",
                "fw": "fw1",
                "esp_nn": 1,
            },
        ),
        format_record(
            "model",
            {"seq": first_seq + 1, "id": CNN, "name": "cnn_int8", "arena_given_bytes": 65536},
        ),
        format_record("lat", {"seq": first_seq + 2, "id": CNN, "i": 0, "us": [100, 101]}),
    ]


def test_a_reset_splits_the_log_into_boots():
    first = _session("00000001")
    second = _session("00000002")
    log = "\n".join(
        first
        + [first[0][:30]]  # cut by the reset
        + ["ESP-ROM:esp32s3-20210327", "Build:Mar 27 2021", "rst:0xc (RTC_SW_CPU_RST),boot:0x8"]
        + second
    ).encode()
    parsed = parse_log(log)
    assert [b.run_id for b in parsed.boots] == ["00000001", "00000002"]
    assert [len(b.records) for b in parsed.boots] == [3, 3]
    assert parsed.boots[1].reset == "rst:0xc (RTC_SW_CPU_RST),boot:0x8"
    assert [p.message for p in parsed.boots[0].problems] == [
        "rejected a record: incomplete or malformed record (cut line?)"
    ]
    assert parsed.boots[1].offset == log.index(b"ESP-ROM:")


def test_a_boot_record_alone_also_splits():
    log = "\n".join(_session("00000001") + _session("00000002")).encode()
    assert [b.run_id for b in parse_log(log).boots] == ["00000001", "00000002"]


def test_a_boot_record_splits_even_when_its_seq_follows_on():
    """A boot record numbered as if the session went on still starts a new boot."""
    first = _session("00000001")
    log = "\n".join(first + _session("00000002", first_seq=len(first))).encode()
    parsed = parse_log(log)
    assert [b.run_id for b in parsed.boots] == ["00000001", "00000002"]
    assert [len(b.records) for b in parsed.boots] == [3, 3]


def test_repeated_records_are_dropped_and_counted():
    lines = _session("00000001")
    log = "\n".join(lines + [lines[2], lines[2]]).encode()
    parsed = parse_log(log)
    assert len(parsed.records) == 3
    assert parsed.boots[0].duplicates == 2


def test_lost_records_are_reported():
    lines = _session("00000001")
    log = "\n".join([lines[0], lines[2]]).encode()
    parsed = parse_log(log)
    assert [p.message for p in parsed.problems] == [
        "1 record(s) lost before this line (seq 0 -> 2)"
    ]


def test_a_future_protocol_version_is_skipped_with_a_reason():
    from tinyreport.device.serial.protocol import crc32

    body = "@TR2 boot seq=0 anything=1"
    parsed = parse_log(f"{body} crc={crc32(body):08x}\n".encode())
    assert parsed.records == []
    assert parsed.problems[0].message.startswith("record of protocol version 2 skipped")


# --- properties ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_never_raises_and_every_record_comes_from_its_line(data):
    parsed = parse_log(data, "x.log")
    for rec in parsed.records:
        line = data[rec.source.offset :].split(b"\n", 1)[0]
        assert rec.text.strip() in clean_line(line)
    for problem in parsed.problems:
        assert 0 <= problem.offset <= len(data)


_noise_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n@"),
    max_size=80,
).map(lambda s: s.encode("utf-8", "replace"))

_record = st.builds(
    lambda seq, n: format_record("warmup", {"seq": seq, "id": CNN, "n": n}),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_noise_line, _record.map(str.encode)), max_size=30))
def test_protocol_records_among_noise_are_found_exactly(lines):
    data = b"\n".join(lines)
    parsed = parse_log(data)
    got = [r.text for r in parsed.records if r.source.fmt == FMT_TINYREPORT]
    sent = [line.decode() for line in lines if line.startswith(b"@TR1 ")]
    # Repeated seq numbers are dropped as duplicates, so compare the set of unique ones.
    assert set(got) <= set(sent)
    seqs_sent = {}
    for text in sent:
        seqs_sent.setdefault(int(text.split("seq=")[1].split()[0]), text)
    assert sorted(got) == sorted(seqs_sent.values())


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_record_is_never_accepted_as_a_different_one(data):
    line = format_record("lat", {"seq": 3, "id": MLP, "i": 0, "us": [1843, 1838, 1840]})
    raw = bytearray(line.encode())
    pos = data.draw(st.integers(0, len(raw) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[pos]))
    raw[pos] = new
    parsed = parse_log(bytes(raw))
    for rec in parsed.records:
        if rec.source.fmt == FMT_TINYREPORT:
            assert rec.text == line  # only possible if the damage was outside the record


_WORDS = [
    "arena",
    "Arena used:",
    "free",
    "heap",
    "PSRAM",
    "Inference time:",
    "inference",
    "took",
    "ticks",
    "(3 ms).",
    "ms",
    "us",
    "µs",
    "KB",
    "bytes",
    "MB",
    "CONV_2D",
    "SOFTMAX",
    "|",
    "+--",
    "I (12) tag:",
    "[RecordingMicroAllocator] Arena allocation total",
    "model:x, version:1",
    "Test Pass!",
    "[[ Table ]]: Arena",
    "Total |",
    '"Unique Tag","Total ticks across all events"',
    '"Event","Tag","Ticks","ms"',
    "| name | type | latency |",
    "Failed to resize buffer.",
    "Requested: 5, available 3, missing: 2",
    "ESP-ROM:x",
    "rst:0x1 ",
    "@TR1",
    "crc=",
    "=",
    ",",
    "\x1b[0;32m",
    "\r",
    "\n",
    " ",
    "0",
    "7",
    "12.5",
    "99999999999999999999999999",
    "-3",
    "1e9",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_WORDS) | st.integers(0, 10**30).map(str), max_size=40))
def test_keyword_soup_never_raises_and_numbers_come_from_the_text(words):
    data = " ".join(words).encode()
    parsed = parse_log(data)
    for rec in parsed.records:
        line = data[rec.source.offset :].split(b"\n", 1)[0]
        assert rec.text.strip() in clean_line(line)


def test_unknown_record_type_is_skipped_but_its_seq_counts():
    lines = _session("00000001")
    from tinyreport.device.serial.protocol import format_record as fmt

    future = fmt("thermal", {"seq": 3, "celsius": 41})
    after = fmt("warmup", {"seq": 4, "id": CNN, "n": 2})
    parsed = parse_log("\n".join([*lines, future, after]).encode())
    assert [r.kind for r in parsed.records] == ["boot", "model", "lat", "warmup"]
    assert [p.message for p in parsed.problems] == [
        "thermal record skipped: unknown record type 'thermal' (from a newer firmware?)"
    ]


def test_digit_runs_too_long_to_be_figures_are_ignored():
    assert parse_log(b"arena used: 123456789012345678901234567890 KB\n").records == []


def test_time_units_are_converted_to_microseconds():
    log = b"inference took 2 seconds\ninvoke: 1500 us\nlatency 3.5ms\nInference time: 7 ticks\n"
    assert [r.fields for r in parse_log(log).records] == [
        {"us": [2e6], "i": None},
        {"us": [1500.0], "i": None},
        {"us": [3500.0], "i": None},
        {"ticks": [7], "i": None},
    ]


def test_a_log_line_from_another_task_inside_a_record_rejects_it():
    lines = _session("00000001")
    extra = format_record("warmup", {"seq": 3, "id": CNN, "n": 2})
    after = format_record("warmup", {"seq": 4, "id": CNN, "n": 2})
    torn = extra[:70] + "\x1b[0;33mW (1532) wifi: beacon timeout\x1b[0m\n" + extra[70:]
    parsed = parse_log("\n".join([*lines, torn, after]).encode())
    assert [r.fields["seq"] for r in parsed.records] == [0, 1, 2, 4]
    assert [p.message for p in parsed.problems] == [
        "rejected a record: incomplete or malformed record (cut line?)",
        "1 record(s) lost before this line (seq 2 -> 4)",
    ]
