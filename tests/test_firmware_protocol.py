"""The firmware's protocol printer (firmware/main/protocol.cc), built and run on the host.

Its lines must be byte for byte what tinyreport.device.serial.protocol.format_record writes, and
tinyreport's own parser and ingest must read back exactly the values the C++ code was given.
"""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest
from firmware_host.harness import build_protocol_harness, have_gxx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyreport.device.serial import protocol
from tinyreport.device.serial.ingest import ingest_logs
from tinyreport.device.serial.parse import parse_log

assert have_gxx(), "g++ is required to build the firmware's protocol printer on the host"

ID_A = "3f1c0a9e5b7d24c86e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"
ID_B = "a04cbb18f1e6d29c0b7a35e2c9d8f10e6b3a2f4c5d6e7f8091a2b3c4d5e6f7a8"


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    return build_protocol_harness(tmp_path_factory.mktemp("protocol"))


def _run(harness, mode: str, stdin: str = "") -> str:
    proc = subprocess.run(
        [str(harness), mode], input=stdin, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# --- any record: the C++ line equals the Python one, and parses back to the values -------------


def _spec_line(rtype: str, seq: int, fields: list[tuple[str, str, object]]) -> str:
    """One stdin line for `protocol_host spec` (see protocol_host.cc)."""
    parts = [rtype, str(seq)]
    for kind, key, value in fields:
        if kind == "float":
            text = value.hex() if math.isfinite(value) else str(value)  # type: ignore[union-attr]
        elif kind in ("str", "enum"):
            kind, text = "str", str(value).encode().hex()
        elif kind == "bool":
            text = "1" if value else "0"
        elif kind == "ints":
            text = ",".join(str(v) for v in value)  # type: ignore[union-attr]
        else:
            text = str(value)
        parts.append(f"{kind}:{key}:{text}")
    return "\t".join(parts)


def _expected_value(kind: str, value: object) -> object:
    """What the reader must return for `value` printed as `kind`."""
    if kind == "float":
        return float(format(value, ".6g"))
    if kind == "hex8":
        return f"{value:08x}"
    return value


_INT64 = st.integers(-(2**63), 2**63 - 1)
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
)
_VALUES = {
    "int": _INT64,
    "float": st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0.0, -0.0, 912.5, 1 / 3, 1e-5, 123456.5, 1234567.0, 2.5e-300]),
    ),
    "bool": st.booleans(),
    "str": _TEXT,
    "hex8": st.integers(0, 2**32 - 1),
    "hex64": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    "ints": st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=32),
}


@st.composite
def _record(draw, rtype: str):
    spec = protocol.RECORD_TYPES[rtype]
    fields = []
    for key, fspec in spec.fields.items():
        if key == "seq" or (not fspec.required and not draw(st.booleans())):
            continue
        if fspec.kind == "enum":
            value = draw(st.sampled_from(fspec.choices))
        else:
            value = draw(_VALUES[fspec.kind])
        fields.append((fspec.kind, key, value))
    keys = [k for _, k, _ in fields]
    if rtype == "alloc" and ("enum", "status", "ok") in fields and "arena_used_bytes" not in keys:
        fields.append(("int", "arena_used_bytes", draw(_VALUES["int"])))
    return rtype, fields


_RECORDS = st.lists(
    st.sampled_from(sorted(protocol.RECORD_TYPES)).flatmap(_record), min_size=1, max_size=25
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=_RECORDS)
def test_any_record_prints_as_the_protocol_module_writes_it(harness, records):
    stdin = "".join(_spec_line(rtype, seq, f) + "\n" for seq, (rtype, f) in enumerate(records))
    lines = _run(harness, "spec", stdin).splitlines()
    assert len(lines) == len(records)
    printed = []
    for seq, ((rtype, fields), line) in enumerate(zip(records, lines, strict=True)):
        values = {k: f"{v:08x}" if kind == "hex8" else v for kind, k, v in fields}
        want = protocol.format_record(rtype, {"seq": seq, **values})
        if len(want) > protocol.MAX_LINE_CHARS:
            assert line == "NOT PRINTED"  # the printer never emits an over-long line
            continue
        assert line == want
        printed.append((seq, rtype, fields, line))

    parsed = parse_log("".join(line + "\n" for *_, line in printed).encode())
    got = [r for r in parsed.records if r.source.fmt == "tinyreport"]
    assert [(r.kind, r.fields["seq"]) for r in got] == [(t, s) for s, t, _, _ in printed]
    for rec, (_, _, fields, _) in zip(got, printed, strict=True):
        for kind, key, value in fields:
            want = _expected_value(kind, value)
            if isinstance(want, float) and math.isnan(want):
                assert math.isnan(rec.fields[key])
            else:
                assert rec.fields[key] == want and type(rec.fields[key]) is type(want), key


def test_line_length_limit_is_exact(harness):
    """A record of exactly 480 characters is printed; one of 481 is not."""
    base = protocol.format_record("err", {"seq": 0, "stage": "other", "msg": ""})
    room = protocol.MAX_LINE_CHARS - len(base)
    lines = []
    for n in (room, room + 1):
        fields = [("enum", "stage", "other"), ("str", "msg", "x" * n)]
        lines.append(_spec_line("err", 0, fields))
    out = _run(harness, "spec", "\n".join(lines) + "\n").splitlines()
    assert len(out[0]) == protocol.MAX_LINE_CHARS
    assert out[0] == protocol.format_record("err", {"seq": 0, "stage": "other", "msg": "x" * room})
    assert out[1] == "NOT PRINTED"


# --- a whole session through the firmware's Print* functions, read back by ingest -------------


def test_session_round_trips_through_ingest(harness, tmp_path):
    log = tmp_path / "session.log"
    log.write_text(_run(harness, "session"))
    runs = ingest_logs([log], {ID_A: "cnn_int8", ID_B: "mlp_float"})
    assert [(r["model_id"], r["status"]) for r in runs] == [(ID_A, "ok"), (ID_B, "alloc_failed")]
    a, b = runs
    samples = [float(1800 + (i * 37) % 101) for i in range(70)]

    board = {
        "run": "5a17c0de", "chip": "esp32s3", "rev": "0.2", "cores": 2, "cpu_mhz": 240,
        "flash_bytes": 8388608, "psram_bytes": 8388608, "idf": "v5.3.1",
        "fw": "tinyfw-v0.1.0-3-gabc1234+m40dbb0c6", "esp_nn": True, "board": "xiao_esp32s3",
        "reset": "POWERON", "n_models": 2, "sim": True,
    }  # fmt: skip
    assert a["board"] == board == b["board"]
    assert a["provenance"] == "simulated"  # the harness says sim=1: never a measurement
    assert a["problems"] == [] and b["problems"] == []
    assert a["source"]["confidence"] == "high" and a["source"]["formats"] == ["tinyreport"]
    assert a["arena"] == {"status": "ok", "given_bytes": 11008, "used_bytes": 9904,
                          "needed_bytes": None}  # fmt: skip
    assert a["n_warmup"] == 5
    lat_records = [
        r for r in parse_log(log.read_bytes()).records if r.kind == "lat" and r.fields["id"] == ID_A
    ]
    assert [float(v) for r in lat_records for v in r.fields["us"]] == samples  # 32 + 32 + 6
    lat = a["latency"]
    assert lat["histogram"]["counts"] == np.histogram(samples, bins=20)[0].tolist()
    assert lat["std_us"] == pytest.approx(np.std(samples, ddof=1))
    assert (lat["from"], lat["n"], lat["min_us"], lat["max_us"]) == ("samples", 70, 1800, 1900)
    assert lat["mean_us"] == pytest.approx(np.mean(samples))
    assert a["ops"] == [
        {"index": 0, "op": "CONV_2D", "us": 912.5, "n": 10},
        {"index": 1, "op": "MAX_POOL_2D", "us": 88.2, "n": 10},
        {"index": 2, "op": "FULLY_CONNECTED", "us": 0.333333, "n": 10},
    ]
    assert a["vectors"] == {"n": 10, "n_match": 9, "all_match": False, "max_abs_diff": 1.0,
                            "tol": 0.0, "unit": "q", "n_top1": 8}  # fmt: skip
    heap_a = [(h["at"], h["free_internal_bytes"]) for h in a["heap"]]
    assert heap_a == [("boot", 351232), ("before_alloc", 351000), ("after_alloc", 340000),
                      ("after_invoke", 340000), ("end", 351232)]  # fmt: skip
    assert a["heap"][2] == {"at": "after_alloc", "free_internal_bytes": 340000,
                            "free_psram_bytes": 8321024, "min_free_internal_bytes": 339000,
                            "largest_internal_block_bytes": 290000}  # fmt: skip

    assert b["arena"] == {"status": "fail", "given_bytes": 4096, "used_bytes": None,
                          "needed_bytes": 8464}  # fmt: skip
    assert [(e["stage"], e["msg"]) for e in b["errors"]] == [("alloc", "AllocateTensors() failed")]
    assert b["latency"] is None and b["vectors"] is None


def test_a_record_too_long_is_replaced_by_an_err_with_its_seq(harness):
    out = _run(harness, "overflow")
    parsed = parse_log(out.encode())
    recs = parsed.records
    assert [(r.kind, r.fields["seq"]) for r in recs] == [("err", 0), ("done", 1)]
    assert recs[0].fields["msg"] == "record too long or invalid; not printed"
    assert parsed.problems == []  # no record looks lost


# --- the vector check -------------------------------------------------------------------------


def test_vector_tallies(harness):
    """Exact int8, int8 within one step, float within 1e-5 (see protocol_host.cc)."""
    lines = _run(harness, "vectors").splitlines()
    assert lines == [
        "n=3 match=1 top1=1 max_abs_diff=2",
        "n=3 match=2 top1=1 max_abs_diff=2",
        f"n=2 match=1 top1=1 max_abs_diff={float(np.float32(0.75) - np.float32(0.7)):.9g}",
    ]
