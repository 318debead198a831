"""Ingest: device runs with statistics, attached to models by id, and the `ingest` command."""

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyreport.cli import main
from tinyreport.device.serial.ingest import ingest_logs, latency_stats, percentile
from tinyreport.device.serial.protocol import format_record
from tinyreport.errors import LogFormatError

LOGS = Path(__file__).parent / "data" / "logs"
SESSION = LOGS / "tinyreport_session.log"
CNN = "3f1c0a9e5b7d24c86e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"
MLP = "a04cbb18f1e6d29c0b7a35e2c9d8f10e6b3a2f4c5d6e7f8091a2b3c4d5e6f7a8"
KNOWN = {CNN: "cnn_int8", MLP: "mlp_float"}
SAMPLES = [1843, 1838, 1840, 1851, 1839, 1842, 1840, 1838, 2210, 1839]


def run_cli(*args, capsys, monkeypatch):
    """Run `tinyreport ARGS` in-process; return (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["tinyreport", *map(str, args)])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_statistics_agree_with_numpy():
    stats = latency_stats(SAMPLES)
    arr = np.array(SAMPLES, dtype=float)
    assert stats["n"] == 10
    assert stats["mean_us"] == pytest.approx(arr.mean())
    assert stats["median_us"] == pytest.approx(np.median(arr))
    assert stats["p90_us"] == pytest.approx(np.percentile(arr, 90))
    assert stats["p99_us"] == pytest.approx(np.percentile(arr, 99))
    assert stats["std_us"] == pytest.approx(arr.std(ddof=1))
    assert (stats["min_us"], stats["max_us"]) == (1838.0, 2210.0)
    assert latency_stats([5])["std_us"] == 0.0
    assert percentile([1.0, 2.0], 50) == 1.5


@pytest.mark.parametrize(
    "samples",
    [SAMPLES, list(range(1000)), [7.0] * 3 + [9.0], [1.5, 2.5], list(np.linspace(0, 1, 21))],
)
def test_the_histogram_is_numpys(samples):
    counts, edges = np.histogram(np.array(samples, dtype=float), bins=20)
    hist = latency_stats(samples)["histogram"]
    assert hist["counts"] == counts.tolist()
    assert hist["edges_us"] == pytest.approx(edges.tolist(), rel=1e-12)
    assert sum(hist["counts"]) == len(samples)


def test_equal_samples_make_one_bin():
    assert latency_stats([5, 5, 5])["histogram"] == {"edges_us": [5.0, 5.0], "counts": [3]}


def test_session_gives_one_run_per_model():
    runs = ingest_logs([SESSION], KNOWN)
    assert [(r["model_name"], r["status"]) for r in runs] == [
        ("cnn_int8", "ok"),
        ("mlp_float", "alloc_failed"),
    ]
    cnn, mlp = runs
    assert cnn["model_id"] == CNN and cnn["model_known"] and cnn["attribution"] == "id"
    assert cnn["provenance"] == "simulated"  # the sample says sim=1
    assert cnn["arena"] == {
        "status": "ok",
        "given_bytes": 65536,
        "used_bytes": 21452,
        "needed_bytes": None,
    }
    assert "samples_us" not in cnn  # the samples stay in the log; the summary is kept
    assert cnn["latency"]["histogram"]["counts"] == [9] + [0] * 18 + [1]
    assert cnn["latency"]["histogram"]["edges_us"][::20] == [1838.0, 2210.0]
    assert cnn["latency"]["n"] == 10 and cnn["latency"]["mean_us"] == 1878.0
    assert cnn["latency"]["median_us"] == 1840.0
    assert cnn["n_warmup"] == 5
    assert cnn["vectors"]["n_match"] == 10 and cnn["vectors"]["all_match"] is True
    assert [o["op"] for o in cnn["ops"]] == ["CONV_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"]
    assert [h["at"] for h in cnn["heap"]] == ["boot", "after_alloc", "end"]
    assert cnn["board"]["cpu_mhz"] == 240 and cnn["board"]["run"] == "5a17c0de"
    assert cnn["source"]["path"] == str(SESSION)
    assert cnn["source"]["confidence"] == "high"
    data = SESSION.read_bytes()
    for offset in (cnn["source"]["first_offset"], cnn["source"]["last_offset"]):
        assert data[offset : offset + 4] == b"@TR1"
    assert cnn["source"]["n_lines"] == 14  # boot, heap, model, alloc, ..., heap at the end
    assert mlp["arena"]["needed_bytes"] == 6208
    assert mlp["errors"] == [
        {"stage": "alloc", "msg": "AllocateTensors() failed", "offset": data.index(b"@TR1 err")}
    ]
    json.dumps(runs)  # JSON-ready


def test_unknown_model_is_returned_but_flagged():
    runs = ingest_logs([SESSION], {CNN: "cnn_int8"})
    mlp = runs[1]
    assert mlp["model_known"] is False
    assert mlp["model_name"] == "mlp_float"  # the name the log printed
    assert mlp["problems"] == [
        f"model {MLP[:12]}… (mlp_float) is not one of the 1 known models; "
        "its run is not attached to any model"
    ]


def test_the_same_run_in_two_files_is_counted_once(tmp_path):
    copy = tmp_path / "copy.log"
    shutil.copy(SESSION, copy)
    runs = ingest_logs([SESSION, copy], KNOWN)
    assert len(runs) == 2
    assert runs[0]["also_in"] == [{"path": str(copy), "boot": 0}]


def test_legacy_log_attaches_by_name_when_unambiguous(tmp_path):
    runs = ingest_logs([LOGS / "espdl_profile.log"], {CNN: "mnist_cnn"})
    [run] = runs
    assert run["model_id"] == CNN and run["attribution"] == "name"
    assert run["vectors"]["n_match"] == 1  # "Test Pass!" came before the model was named
    assert run["latency"]["mean_us"] == 1547.0
    assert run["status"] == "unknown" and run["source"]["confidence"] == "medium"


def test_legacy_log_without_a_name_has_no_model():
    [run] = ingest_logs([LOGS / "lab05.log"], KNOWN)
    assert run["model_id"] is None and run["model_known"] is False
    assert run["arena"]["used_bytes"] == 12288
    assert run["latency"]["n"] == 3
    assert run["latency"]["mean_us"] == pytest.approx((1420 + 1390 + 1410) / 3)


def test_tflm_benchmark_arena_parts_and_ops():
    [run] = ingest_logs([LOGS / "tflm_benchmark.log"], {})
    assert run["arena"] == {
        "status": "ok",
        "given_bytes": 65536,
        "used_bytes": 21452,
        "needed_bytes": None,
        "head_bytes": 12544,
        "tail_bytes": 8908,
    }
    assert [(o["op"], o["ticks"]) for o in run["ops"]] == [
        ("CONV_2D", 218834),
        ("MAX_POOL_2D", 20145),
        ("FULLY_CONNECTED", 35122),
        ("SOFTMAX", 4120),
    ]


def test_cut_session_is_incomplete_and_lost_samples_are_reported(tmp_path):
    lines = [
        format_record(
            "boot",
            {
                "seq": 0,
                "run": "0000abcd",
                "chip": "esp32s3",
                "cores": 2,
                "cpu_mhz": 240,
                "flash_bytes": 1,
                "psram_bytes": 0,
                "idf": "v5.3.1",
                "fw": "fw",
                "esp_nn": 1,
            },
        ),
        format_record("model", {"seq": 1, "id": CNN, "name": "cnn_int8", "arena_given_bytes": 100}),
        format_record("lat", {"seq": 2, "id": CNN, "i": 0, "us": [10, 11]}),
        format_record("lat", {"seq": 4, "id": CNN, "i": 4, "us": [12]}),
    ]
    log = tmp_path / "cut.log"
    log.write_text("\n".join(lines) + "\n" + lines[2][:25])
    [run] = ingest_logs([log], KNOWN)
    assert run["status"] == "incomplete"
    lat = run["latency"]
    assert (lat["n"], lat["min_us"], lat["median_us"], lat["max_us"]) == (3, 10.0, 11.0, 12.0)
    assert any("1 record(s) lost" in p for p in run["problems"])
    assert "latency samples 2..3 are missing (a lat record was lost)" in run["problems"]
    assert any("cut line" in p for p in run["problems"])


def test_unreadable_log_raises():
    with pytest.raises(LogFormatError, match="does not exist"):
        ingest_logs([Path("/nonexistent/x.log")], {})


# --- the command ----------------------------------------------------------------------------


def test_cli_prints_runs(capsys, monkeypatch):
    code, out, err = run_cli("ingest", SESSION, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0
    assert "cnn_int8 [3f1c0a9e5b7d…] ok, simulated, high confidence" in out
    assert "latency (10 invokes, samples): mean 1.878 ms, median 1.840 ms" in out
    assert "arena: used 21,452 B of 65,536 B" in out
    assert err == ""


def test_cli_json(capsys, monkeypatch):
    code, out, err = run_cli("ingest", SESSION, "--json", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0
    runs = json.loads(out)
    assert [r["model_name"] for r in runs] == ["cnn_int8", "mlp_float"]


def test_cli_json_is_standard_json_even_for_nan_and_huge_numbers(capsys, monkeypatch, tmp_path):
    log = tmp_path / "odd.log"
    for flash in (2**70, 8388608):  # beyond 64 bits, then within
        boot = {
            "seq": 0,
            "run": "00000001",
            "chip": "esp32s3",
            "cores": 2,
            "cpu_mhz": 240,
            "flash_bytes": flash,
            "psram_bytes": 0,
            "idf": "v5.3.1",
            "fw": "fw",
            "esp_nn": 1,
        }
        model = {"seq": 1, "id": CNN, "name": "cnn", "arena_given_bytes": 9}
        vec = {"seq": 2, "id": CNN, "n": 4, "match": 4, "max_abs_diff": float("nan")}
        log.write_text("\n".join([format_record("boot", boot), format_record("model", model),
                                  format_record("vec", vec)]))  # fmt: skip
        code, out, _ = run_cli("ingest", log, "--json", capsys=capsys, monkeypatch=monkeypatch)
        assert code == 0
        [run] = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
        assert run["vectors"]["max_abs_diff"] is None
        assert run["board"]["flash_bytes"] == flash


def test_cli_fails_when_no_run_is_of_a_known_model(capsys, monkeypatch, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "other.tflite").write_bytes(b"a different model")
    code, out, err = run_cli(
        "ingest", SESSION, "--models", models, capsys=capsys, monkeypatch=monkeypatch
    )
    assert code == 1
    assert "not a known model" in out
    assert err.splitlines()[-1] == (
        f"tinyreport: error: {SESSION} only holds runs of models that are not in --models "
        f"({CNN[:12]}, {MLP[:12]}); give the .tflite files it was made from."
    )
    assert "tinyreport: warning: model 3f1c0a9e5b7d… (cnn_int8) is not one of" in err


def test_cli_fails_on_a_log_with_only_corrupt_records(capsys, monkeypatch, tmp_path):
    line = format_record("done", {"seq": 0, "n_models": 0, "n_ok": 0}).replace("n_ok=0", "n_ok=1")
    log = tmp_path / "corrupt.log"
    log.write_text(line + "\n")
    code, out, err = run_cli("ingest", log, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 1
    assert "tinyreport: error: " + str(log) + " holds no usable record: " in err
    assert "CRC mismatch" in err
    assert log.read_text() == line + "\n"  # the raw data is never touched


def test_cli_strict_turns_problems_into_an_error(capsys, monkeypatch, tmp_path):
    log = tmp_path / "dirty.log"
    log.write_bytes(SESSION.read_bytes() + b"@TR1 lat seq=99 id=")
    code, _, err = run_cli("ingest", log, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and "tinyreport: warning:" in err
    code, _, err = run_cli("ingest", log, "--strict", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 1
    assert "problem(s) in the logs and --strict is on" in err


def test_cli_missing_log(capsys, monkeypatch):
    code, _, err = run_cli("ingest", "nope.log", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 1
    assert err == "tinyreport: error: Log file nope.log does not exist.\n"


def test_tflm_allocation_failure_messages():
    [run] = ingest_logs([LOGS / "tflm_alloc_fail.log"], {})
    assert run["status"] == "alloc_failed"
    assert run["arena"] == {
        "status": "fail",
        "given_bytes": 8192,
        "used_bytes": None,
        "needed_bytes": None,
        "missing_bytes": 9472,
    }
    assert run["source"]["formats"] == ["text", "tflm-allocator-error"]
    assert run["source"]["confidence"] == "low"


def test_known_models_are_named_by_their_path_below_the_folder(tmp_path):
    from tinyreport.device.serial.ingest import known_models_from

    (tmp_path / "mlp").mkdir()
    (tmp_path / "mlp" / "int8.tflite").write_bytes(b"mlp int8")
    (tmp_path / "cnn.tflite").write_bytes(b"cnn")

    def sha(b):
        return hashlib.sha256(b).hexdigest()

    assert known_models_from([tmp_path]) == {sha(b"mlp int8"): "mlp_int8", sha(b"cnn"): "cnn"}
    assert known_models_from([tmp_path / "mlp" / "int8.tflite"]) == {sha(b"mlp int8"): "int8"}
    (tmp_path / "empty").mkdir()
    with pytest.raises(LogFormatError, match="No .tflite files in"):
        known_models_from([tmp_path / "empty"])


def test_a_folder_named_like_a_model_is_searched_not_read(tmp_path, monkeypatch, capsys):
    from tinyreport.device.serial.ingest import known_models_from

    (tmp_path / "old.tflite").mkdir()  # e.g. an unpacked archive
    (tmp_path / "old.tflite" / "int8.tflite").write_bytes(b"inner")
    (tmp_path / "cnn.tflite").write_bytes(b"cnn")
    inner, cnn = hashlib.sha256(b"inner").hexdigest(), hashlib.sha256(b"cnn").hexdigest()
    assert known_models_from([tmp_path]) == {inner: "old.tflite_int8", cnn: "cnn"}
    log = tmp_path / "s.log"
    model = {"seq": 0, "id": cnn, "name": "cnn", "arena_given_bytes": 100}
    log.write_text(format_record("model", model) + "\n")
    monkeypatch.setattr(sys, "argv", ["tinyreport", "ingest", str(log), "--models", str(tmp_path)])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 0, capsys.readouterr().err


def test_a_model_file_too_big_for_a_flatbuffer_is_refused_by_its_size(tmp_path, monkeypatch):
    from tinyreport.device.serial.ingest import known_models_from

    huge = tmp_path / "huge.tflite"
    with huge.open("wb") as f:
        f.truncate(2**31)  # sparse: takes no disk space
    (tmp_path / "small.tflite").write_bytes(b"small")

    def no_whole_reads(self):
        raise AssertionError(f"{self} read whole")

    monkeypatch.setattr(Path, "read_bytes", no_whole_reads)
    with pytest.raises(LogFormatError) as exc:
        known_models_from([tmp_path])
    assert str(exc.value) == (
        f"{huge} is 2,147,483,648 bytes, more than a TFLite model can be (2 GiB); it is not a "
        "model, so --models cannot take it."
    )
    small = tmp_path / "small.tflite"
    assert known_models_from([small]) == {hashlib.sha256(b"small").hexdigest(): "small"}


def test_log_paths_lists_logs_in_name_order(tmp_path):
    from tinyreport.device.serial.ingest import log_paths

    (tmp_path / "b").mkdir()
    for name in ("20261123T150102Z-ttyACM0.log", "b/20261122T090000Z-COM5.log", "notes.txt"):
        (tmp_path / name).write_text("x")
    assert log_paths(tmp_path) == [
        tmp_path / "20261123T150102Z-ttyACM0.log",
        tmp_path / "b" / "20261122T090000Z-COM5.log",
    ]
    assert log_paths(tmp_path / "missing") == []


def test_a_firmware_error_outside_any_model_is_a_problem_of_the_boots_runs(tmp_path):
    log = tmp_path / "e.log"
    lines = SESSION.read_text().splitlines()
    err = format_record("err", {"seq": 18, "stage": "other", "msg": "watchdog fed late"})
    log.write_text("\n".join([*lines, err]) + "\n")
    runs = ingest_logs([log], KNOWN)
    assert (
        f"{log}:30: the firmware reported an error (other): watchdog fed late"
        in (runs[0]["problems"])
    )


def test_old_format_lines_inside_a_protocol_run_join_it_without_overriding(tmp_path):
    lines = SESSION.read_text().splitlines()
    at_ops = next(i for i, line in enumerate(lines) if line.startswith("@TR1 op "))
    extra = [
        "[RecordingMicroAllocator] Arena allocation total 99999 bytes",
        "[RecordingMicroAllocator] Arena allocation head 12544 bytes",
        "CONV_2D took 218834 ticks (0 ms).",
    ]
    log = tmp_path / "mixed.log"
    log.write_text("\n".join(lines[:at_ops] + extra + lines[at_ops:]) + "\n")
    runs = ingest_logs([log], KNOWN)
    assert len(runs) == 2  # no extra anonymous run
    cnn = runs[0]
    assert cnn["arena"]["used_bytes"] == 21452  # the firmware's record, not the old line
    assert cnn["arena"]["head_bytes"] == 12544  # what only the old format says is kept
    assert [o["op"] for o in cnn["ops"]] == ["CONV_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"]
    assert cnn["source"]["formats"] == ["tflm-recording-allocator", "tinyreport"]
    assert cnn["source"]["confidence"] == "medium"


# --- properties ---------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tinyreport.device.serial.ingest import runs_from_log  # noqa: E402
from tinyreport.device.serial.parse import parse_log  # noqa: E402
from tinyreport.device.serial.protocol import RECORD_TYPES  # noqa: E402

_VALUES = {
    "int": st.integers(-5, 10**7),
    "float": st.floats(-1e6, 1e6, allow_nan=False),
    "bool": st.booleans(),
    "hex64": st.sampled_from([CNN, MLP]),
    "hex8": st.sampled_from(["00000001", "deadbeef"]),
    "ints": st.lists(st.integers(0, 10**6), min_size=1, max_size=5),
    "str": st.text(max_size=12),
}


@st.composite
def _any_record(draw):
    spec = draw(st.sampled_from(list(RECORD_TYPES.values())))
    fields = {}
    for key, fspec in spec.fields.items():
        if fspec.required or draw(st.booleans()):
            strategy = (
                st.sampled_from(fspec.choices) if fspec.kind == "enum" else _VALUES[fspec.kind]
            )
            fields[key] = draw(strategy)
    return spec.name, fields


@settings(max_examples=200, deadline=None)
@given(st.lists(_any_record() | st.sampled_from(["ESP-ROM:esp32s3-20210327", "junk"]), max_size=25))
def test_ingest_never_raises_on_any_sequence_of_valid_records(items):
    lines = []
    for seq, item in enumerate(items):  # in order, so that few records are dropped as repeats
        if isinstance(item, str):
            lines.append(item)
        else:
            lines.append(format_record(item[0], {**item[1], "seq": seq}))
    report = runs_from_log(parse_log("\n".join(lines).encode(), "p.log"), KNOWN)
    json.dumps(list(report.runs))
    for run in report.runs:
        assert run["status"] in ("ok", "alloc_failed", "error", "incomplete", "unknown")
        if run["latency"] and run["latency"]["from"] == "samples":
            assert (
                run["latency"]["min_us"] <= run["latency"]["median_us"] <= run["latency"]["max_us"]
            )


def test_device_summary_when_no_samples_are_printed(tmp_path):
    lines = [
        format_record(
            "model", {"seq": 0, "id": CNN, "name": "cnn_int8", "arena_given_bytes": 65536}
        ),
        format_record(
            "latsum",
            {
                "seq": 1,
                "id": CNN,
                "n": 100,
                "mean_us": 1841.5,
                "min_us": 1830,
                "max_us": 1990,
                "median_us": 1840,
            },
        ),
        format_record("done", {"seq": 2, "n_models": 1, "n_ok": 1}),
    ]
    log = tmp_path / "s.log"
    log.write_text("\n".join(lines) + "\n")
    [run] = ingest_logs([log], KNOWN)
    assert run["latency"] == {
        "from": "device-summary",
        "n": 100,
        "mean_us": 1841.5,
        "median_us": 1840.0,
        "p90_us": None,
        "p99_us": None,
        "min_us": 1830.0,
        "max_us": 1990.0,
        "std_us": None,
    }
    assert "samples_us" not in run
    assert run["status"] == "ok"
    assert run["problems"] == []


def test_ticks_are_kept_as_ticks(tmp_path):
    log = tmp_path / "t.log"
    log.write_text("Inference time: 5120 ticks\nInference time: 5090 ticks\n")
    [run] = ingest_logs([log], {})
    assert run["latency"] == {
        "from": "ticks",
        "n": 2,
        "median_ticks": 5105.0,
        "min_ticks": 5090,
        "max_ticks": 5120,
    }


# --- hostile and huge inputs --------------------------------------------------------------


def _boot(run: str) -> dict:
    return {"seq": 0, "run": run, "chip": "esp32s3", "cores": 2, "cpu_mhz": 240, "flash_bytes": 1,
            "psram_bytes": 0, "idf": "v5.3.1", "fw": "fw", "esp_nn": 1}  # fmt: skip


def _session_lines(run: str, model: str, base: int, n_lat: int = 4) -> list[str]:
    """A whole session: boot, model, n_lat lat records of 2 samples from `base` on, done."""
    recs = [("boot", _boot(run)), ("model", {"id": model, "name": "m", "arena_given_bytes": 9})]
    for k in range(n_lat):
        recs.append(("lat", {"id": model, "i": 2 * k, "us": [base + 2 * k, base + 2 * k + 1]}))
    recs.append(("done", {"n_models": 1, "n_ok": 1}))
    return [
        format_record(rtype, {**fields, "seq": seq}) for seq, (rtype, fields) in enumerate(recs)
    ]


def test_two_interleaved_sessions_are_read_apart(tmp_path):
    a = _session_lines("0000000a", CNN, 1000)
    b = _session_lines("0000000b", CNN, 2000)
    lines = a[:3]  # b starts while a is under way, then their lines alternate
    for x, y in zip(a[3:], b[:-3], strict=True):
        lines += [x, y]
    lines += b[-3:]
    log = tmp_path / "two.log"
    log.write_text("\n".join(lines) + "\n")
    runs = ingest_logs([log], KNOWN)
    assert [(r["board"]["run"], r["status"]) for r in runs] == [
        ("0000000a", "ok"),
        ("0000000b", "ok"),
    ]
    for run, base in zip(runs, (1000, 2000), strict=True):
        lat = run["latency"]
        assert (lat["n"], lat["min_us"], lat["max_us"]) == (8, base, base + 7)
        assert run["problems"] == []  # no "repeated record(s)", no lost ones


def test_sessions_interleaved_line_by_line_say_they_may_be_mixed(tmp_path):
    a = _session_lines("0000000a", CNN, 1000)
    b = _session_lines("0000000b", CNN, 2000)
    log = tmp_path / "lockstep.log"
    log.write_text("\n".join(line for pair in zip(a, b, strict=True) for line in pair) + "\n")
    runs = ingest_logs([log], KNOWN)
    assert [r["board"]["run"] for r in runs] == ["0000000a", "0000000b"]
    assert [r["latency"]["n"] for r in runs] == [8, 8]  # nothing dropped as a repeat
    for run in runs:
        assert not any("repeated record" in p for p in run["problems"])
        assert any(
            "the interleaved sessions 0000000a and 0000000b both have a record" in p
            and "may be counted in the wrong session" in p
            for p in run["problems"]
        )


def test_a_record_after_4000_bytes_of_text_on_its_line_is_read(tmp_path):
    lines = _session_lines("0000000c", CNN, 1000)
    junk = "x" * 3950 + " " + "noise " * 10
    lines[2] = junk + lines[2]  # text before the marker is ignored, however long
    lines[4] = "\x1b[0;32m" + "y" * 9000 + "\x1b[0m" + lines[4]
    log = tmp_path / "long.log"
    log.write_text("\n".join(lines) + "\n")
    [run] = ingest_logs([log], KNOWN)
    assert run["latency"]["n"] == 8 and run["status"] == "ok"
    assert run["problems"] == []


def test_reading_dev_zero_stops_with_a_sentence(monkeypatch):
    from tinyreport.device.serial import ingest as ingest_mod

    monkeypatch.setattr(ingest_mod, "MAX_LOG_BYTES", 8 << 20)
    with pytest.raises(LogFormatError) as exc:
        ingest_mod.ingest_reports([Path("/dev/zero")], {})
    assert str(exc.value) == (
        "Stopped reading /dev/zero after 8 MiB, the most tinyreport reads from one log; save the "
        "log to a file first (tinyreport capture does)."
    )
