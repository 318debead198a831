"""The whole firmware program (firmware/main/main.cc) built on the host against real TFLM.

Needs a TFLM source tree with a built `gen/<target>/lib/libtensorflow-microlite.a`, named by
the environment variable TINYREPORT_TFLM_DIR; skipped without it (CI has no TFLM source tree:
the project commits neither TFLM's code nor a script that builds it). Build one yourself, e.g. a
tflite-micro checkout with `make -f tensorflow/lite/micro/tools/make/Makefile microlite` and
`CXX_TOOL='g++ -m32' CC_TOOL='gcc -m32'` for the 32-bit layout of the ESP32-S3.

ESP-IDF is replaced by tests/firmware_host/idf_shim (fixed board facts, sim=1), so this checks
the program's logic and its use of the TFLM API, not the ESP32-S3: the kernels are TFLM's
reference kernels on this machine, not ESP-NN, and no time printed here is a device time.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from firmware_host.harness import FIRMWARE_MAIN, GENERATED, HERE, have_gxx, run_models_harness

from tinyreport.analysis.arena import REFERENCE_32, plan_arena
from tinyreport.analysis.tflite_reader import parse_model
from tinyreport.device.serial.ingest import ingest_logs

TFLM_DIR = os.environ.get("TINYREPORT_TFLM_DIR", "")
pytestmark = pytest.mark.skipif(
    not TFLM_DIR or not have_gxx(), reason="set TINYREPORT_TFLM_DIR to a built tflite-micro tree"
)
SHIM = HERE / "idf_shim"


def _archive_facts(lib: Path) -> tuple[bool, bool]:
    """(32-bit objects?, MicroPrintf defined?) from the archive's symbol table and first object."""
    data = lib.read_bytes()
    size = int(data[8 + 48 : 8 + 58].decode().strip())
    armap = data[8 + 60 : 8 + 60 + size]
    elf = data.find(b"\x7fELF")
    return data[elf + 4] == 1, b"_Z11MicroPrintfPKcz" in armap


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    root = Path(TFLM_DIR)
    libs = sorted(root.glob("gen/*/lib/libtensorflow-microlite.a"))
    if not libs:
        pytest.skip(f"no gen/*/lib/libtensorflow-microlite.a under {root}")
    lib = libs[0]
    is32, has_printf = _archive_facts(lib)
    downloads = root / "tensorflow" / "lite" / "micro" / "tools" / "make" / "downloads"
    third_party = root / "third_party"  # esp-tflite-micro's layout
    includes = [root] + [
        p
        for p in (
            downloads / "gemmlowp",
            downloads / "flatbuffers" / "include",
            downloads / "ruy",
            third_party / "gemmlowp",
            third_party / "flatbuffers" / "include",
            third_party / "ruy",
        )
        if p.is_dir()
    ]
    # ESP-IDF compiles C++ without exceptions and RTTI by default.
    flags = [
        "g++", *(["-m32"] if is32 else []), "-std=c++17", "-O1", "-fno-exceptions", "-fno-rtti",
        "-Wall", "-Wextra", "-Werror", "-Wshadow", "-DTF_LITE_STATIC_MEMORY",
        "-DTINYFW_SIMULATED=1", '-DTINYFW_BOARD="host"',
        *([] if has_printf else ["-DTF_LITE_STRIP_ERROR_STRINGS"]),
        f"-I{SHIM}", f"-I{FIRMWARE_MAIN}", f"-I{GENERATED}",
        *(f"-isystem{p}" for p in includes),
    ]  # fmt: skip
    work = tmp_path_factory.mktemp("tflm")
    objects = []
    for src in [
        FIRMWARE_MAIN / "protocol.cc",
        FIRMWARE_MAIN / "vectors.cc",
        SHIM / "esp_shim.cc",
        *sorted(GENERATED.glob("*.cc")),
    ]:
        obj = work / (src.stem + ".o")
        subprocess.run([*flags, "-c", str(src), "-o", str(obj)], check=True, timeout=600)
        objects.append(obj)

    def program(arena_percent: int) -> str:
        exe = work / f"tinyfw_{arena_percent}"
        proc = subprocess.run(
            [*flags, f"-DCONFIG_TINYFW_ARENA_PERCENT={arena_percent}",
             str(FIRMWARE_MAIN / "main.cc"), *map(str, objects), str(lib), "-lm", "-o", str(exe)],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        log = work / f"run_{arena_percent}.log"
        with log.open("wb") as f:
            subprocess.run([str(exe)], stdout=f, check=True, timeout=600)
        return str(log)

    _, models = run_models_harness(GENERATED, work / "harness")
    return {"program": program, "models": models, "is32": is32, "profiled": has_printf}


def test_every_model_runs_and_matches_the_host_vectors(build):
    models = build["models"]
    known = {m.id: m.name for m in models}
    runs = ingest_logs([Path(build["program"](100))], known)
    assert [r["model_name"] for r in runs] == [m.name for m in models]
    for run, m in zip(runs, models, strict=True):
        assert run["status"] == "ok" and run["problems"] == []
        assert run["provenance"] == "simulated"  # sim=1: never shown as a measurement
        assert run["board"]["board"] == "host" and run["board"]["esp_nn"] is False
        assert run["board"]["reset"] == "UNKNOWN"  # the stand-in's esp_reset_reason()
        assert run["vectors"]["n"] == m.n_vectors == 10
        assert run["vectors"]["all_match"], run["vectors"]
        assert run["vectors"]["n_top1"] == int((m.outputs.argmax(axis=1) == m.labels).sum())
        assert run["arena"]["given_bytes"] == m.arena
        if build["is32"]:
            # A 32-bit TFLM with reference kernels uses what the planner's ref32 profile says.
            plan = plan_arena(parse_model(m.data, m.name), REFERENCE_32)
            assert run["arena"]["used_bytes"] == plan.total_bytes
        lat = run["latency"]
        assert run["n_warmup"] == 2 and lat["n"] == sum(lat["histogram"]["counts"]) == 40
        ops = [o["op"] for o in run["ops"]]
        if build["profiled"]:
            ops_in_model = [op.op for op in parse_model(m.data, m.name).operators]
            assert ops == ops_in_model and {o["n"] for o in run["ops"]} == {3}
        else:
            assert ops == []  # TF_LITE_STRIP_ERROR_STRINGS builds call no profiler
        assert [h["at"] for h in run["heap"]] == [
            "boot", "before_alloc", "after_alloc", "after_invoke", "end",
        ]  # fmt: skip
        # The boot figure comes before the 1 MiB PSRAM probe buffer (the stand-in starts with
        # 7 MiB free); every later figure is after it.
        psram = [h["free_psram_bytes"] for h in run["heap"]]
        assert psram == [7 << 20] + [(7 << 20) - (1 << 20)] * 4


def test_allocation_failure_reports_given_and_needed_and_moves_on(build):
    models = build["models"]
    known = {m.id: m.name for m in models}
    full = {r["model_id"]: r for r in ingest_logs([Path(build["program"](100))], known)}
    log = build["program"](50)
    runs = ingest_logs([Path(log)], known)
    assert len(runs) == len(models)  # every model was attempted
    for run, m in zip(runs, models, strict=True):
        assert run["status"] == "alloc_failed"
        assert run["arena"]["given_bytes"] == (m.arena * 50 // 100 + 15) // 16 * 16
        assert run["arena"]["needed_bytes"] == full[m.id]["arena"]["used_bytes"]
        assert [(e["stage"], e["msg"]) for e in run["errors"]] == [
            ("alloc", "AllocateTensors() failed")
        ]
    text = Path(log).read_text()
    assert f"@TR1 done seq={text.count('@TR1 ') - 1} n_models={len(models)} n_ok=0 " in text
