"""The record protocol: CRC, formatting, checking, and agreement with its reference page."""

import re
from pathlib import Path

import pytest

from tinyreport.device.serial import protocol
from tinyreport.device.serial.parse import parse_log

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reference" / "protocol.md"
MODEL_ID = "3f1c0a9e5b7d24c86e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"


def test_crc_is_the_standard_crc32():
    assert protocol.crc32("123456789") == 0xCBF43926


def test_format_record_matches_the_documented_layout():
    line = protocol.format_record("warmup", {"seq": 5, "id": MODEL_ID, "n": 5})
    body = f"@TR1 warmup seq=5 id={MODEL_ID} n=5"
    assert line == f"{body} crc={protocol.crc32(body):08x}"
    assert line.endswith("crc=41acab1b")


def test_values_are_encoded_and_decoded():
    line = protocol.format_record(
        "err", {"seq": 1, "stage": "alloc", "msg": "50% of arena = too small é"}
    )
    assert "msg=50%25%20of%20arena%20%3D%20too%20small%20%C3%A9 " in line
    [rec], problems = protocol.find_records(line)
    assert problems == []
    fields = protocol.convert_fields(rec.rtype, rec.fields)
    assert fields == {"seq": 1, "stage": "alloc", "msg": "50% of arena = too small é"}


def test_fields_are_typed():
    line = protocol.format_record("lat", {"seq": 6, "id": MODEL_ID, "i": 8, "us": [2210, 1839]})
    [rec], _ = protocol.find_records(line)
    assert protocol.convert_fields("lat", rec.fields) == {
        "seq": 6,
        "id": MODEL_ID,
        "i": 8,
        "us": [2210, 1839],
    }


@pytest.mark.parametrize(
    ("rtype", "fields", "message"),
    [
        ("warmup", {"seq": 1, "id": MODEL_ID}, "lacks required field 'n'"),
        ("warmup", {"seq": 1, "id": "abc", "n": 5}, "id='abc' is not a valid hex64"),
        (
            "alloc",
            {"seq": 1, "id": MODEL_ID, "status": "ok", "arena_given_bytes": 9},
            "lacks 'arena_used_bytes'",
        ),
        (
            "alloc",
            {"seq": 1, "id": MODEL_ID, "status": "maybe", "arena_given_bytes": 9},
            "status='maybe' is not a valid enum",
        ),
        ("nonsense", {"seq": 1}, "unknown record type 'nonsense'"),
    ],
)
def test_bad_fields_are_refused_with_a_reason(rtype, fields, message):
    [rec], _ = protocol.find_records(protocol.format_record(rtype, fields))
    with pytest.raises(protocol.RecordError, match=re.escape(message)):
        protocol.convert_fields(rec.rtype, rec.fields)


def test_a_flipped_character_is_caught_by_the_crc():
    line = protocol.format_record("warmup", {"seq": 5, "id": MODEL_ID, "n": 5})
    bad = line.replace(" n=5 ", " n=6 ")
    records, problems = protocol.find_records(bad)
    body = bad.rsplit(" crc=", 1)[0]
    assert records == []
    assert problems == [f"CRC mismatch (got {protocol.crc32(body):08x}, line says 41acab1b)"]


def test_a_cut_record_is_rejected():
    line = protocol.format_record("warmup", {"seq": 5, "id": MODEL_ID, "n": 5})
    for cut in (10, len(line) - 12, len(line) - 1):
        records, problems = protocol.find_records(line[:cut])
        assert records == []
        assert len(problems) == 1


def test_a_whole_record_after_a_cut_one_on_the_same_line_is_kept():
    first = protocol.format_record("warmup", {"seq": 5, "id": MODEL_ID, "n": 5})
    second = protocol.format_record("done", {"seq": 6, "n_models": 1, "n_ok": 1})
    records, problems = protocol.find_records("\x1b[0m" + first[:40] + second)
    assert [r.rtype for r in records] == ["done"]
    assert records[0].text == second
    assert len(problems) == 1


def test_reference_page_documents_every_record_type_and_field():
    text = DOC.read_text()
    for spec in protocol.RECORD_TYPES.values():
        section = text.split(f"### `{spec.name}`\n", 1)[1].split("\n#", 1)[0]
        assert spec.doc in section
        for key, field in spec.fields.items():
            kind = field.kind
            if field.choices:
                kind = "enum: " + ", ".join(f"`{c}`" for c in field.choices)
            required = "yes" if field.required else "no"
            row = f"| `{key}` | {kind} | {required} | {field.doc} |"
            assert row in section, row


def test_reference_page_example_session_parses_cleanly():
    text = DOC.read_text()
    example = text.split("## Example session", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    parsed = parse_log(example.encode())
    assert parsed.problems == []
    kinds = [r.kind for r in parsed.records]
    assert kinds[0] == "boot" and kinds[-1] == "done"
    assert len(kinds) == 18
    assert all(r.fields["seq"] == i for i, r in enumerate(parsed.records))
    assert parsed.records[0].fields["sim"] is True  # the example is never a measurement


def _close(got, want, path="run"):
    """Compare JSON-like values, floats to the 2 decimals the page shows."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), path
        for key in want:
            _close(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _close(g, w, f"{path}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, abs=0.006), path
    else:
        assert got == want, path


def test_reference_page_ingested_example_is_what_ingest_returns(tmp_path):
    import json

    from tinyreport.device.serial.ingest import ingest_logs

    text = DOC.read_text()
    example = text.split("## Example session", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    want = json.loads(text.split("## Ingested data", 1)[1].split("```json\n", 1)[1].split("```")[0])
    log = tmp_path / "20261123T150102Z-ttyACM0.log"
    log.write_text(example)
    got = ingest_logs([log], {MODEL_ID: "cnn_int8"})[0]
    assert got["source"]["path"] == str(log)
    got["source"]["path"] = want["source"]["path"]
    _close(got, want)
