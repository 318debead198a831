"""Benchmark `tinyreport ingest` on a large synthetic log: throughput in MB/s, peak memory.

The log is what the firmware prints, boot after boot: ROM banner, ESP-IDF log lines in colour,
records made with `tinyreport.device.serial.protocol.format_record` (so CRCs are right), and now and
then a burst of line noise. Every boot says `sim=1`: these runs are never measurements.
"""

from __future__ import annotations

import random
from pathlib import Path

from benchmarks.timing import ROOT, run_command, summary, time_call, tinyreport_cmd

ROM = (
    "ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\n"
    "rst:0xc (RTC_SW_CPU_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\nSaved PC:0x420521a6\r\n"
    "SPIWP:0xee\r\nmode:DIO, clock div:1\r\nload:0x3fce2810,len:0x178c\r\nentry 0x403c8914\r\n"
)
MODELS = (
    ("mlp_int8", 118208, [("FULLY_CONNECTED", 3), ("SOFTMAX", 1)]),
    (
        "cnn_int8",
        21600,
        [
            ("CONV_2D", 2),
            ("MAX_POOL_2D", 2),
            ("RESHAPE", 1),
            ("FULLY_CONNECTED", 2),
            ("SOFTMAX", 1),
        ],
    ),
)
N_SAMPLES = 256  # timed invokes per model and boot


def _idf(rng: random.Random, ms: int, text: str) -> str:
    level, colour = rng.choice((("I", "32"), ("I", "32"), ("W", "33")))
    return f"\x1b[0;{colour}m{level} ({ms}) tinyfw: {text}\x1b[0m\r\n"


def session(rng: random.Random, boot: int, model_ids: tuple[str, ...] | None = None) -> str:
    """One boot of the firmware: noise, records for both models, the end record.

    Without `model_ids` each boot's models have ids of their own (no run attaches to a known
    model); with them, every boot runs those models (as a board running one firmware does).
    """
    from tinyreport.device.serial.protocol import format_record

    lines = [ROM, _idf(rng, 27, "ESP-IDF v5.3.1 2nd stage bootloader")]
    seq = 0

    def rec(rtype: str, **fields) -> None:
        nonlocal seq
        lines.append(format_record(rtype, {"seq": seq, **fields}) + "\r\n")
        seq += 1
        if rng.random() < 0.3:
            lines.append(_idf(rng, 1000 + seq * 7, f"step {seq} took {rng.randint(1, 99)} ms"))
        if rng.random() < 0.01:
            lines.append(bytes(rng.randrange(256) for _ in range(24)).decode("latin-1") + "\r\n")

    rec(
        "boot",
        run=f"{boot:08x}",
        chip="esp32s3",
        rev="0.2",
        cores=2,
        cpu_mhz=240,
        flash_bytes=8388608,
        psram_bytes=8388608,
        idf="v5.3.1",
        fw="tinyfw-bench",
        esp_nn=1,
        board="xiao_esp32s3",
        reset="SW",
        n_models=len(MODELS),
        sim=1,
    )
    rec("heap", at="boot", free_internal_bytes=351232, free_psram_bytes=8321024)
    for index, (name, size, ops) in enumerate(MODELS):
        model_id = model_ids[index] if model_ids else f"{boot:056x}{index:08x}"
        base = rng.randint(800, 2000)
        rec("model", id=model_id, name=name, size_bytes=size, arena_given_bytes=65536)
        rec("alloc", id=model_id, status="ok", arena_given_bytes=65536, arena_used_bytes=21452)
        rec(
            "heap",
            id=model_id,
            at="after_alloc",
            free_internal_bytes=285184,
            free_psram_bytes=8321024,
        )
        rec("warmup", id=model_id, n=5)
        for first in range(0, N_SAMPLES, 32):
            rec("lat", id=model_id, i=first, us=[base + rng.randint(-9, 30) for _ in range(32)])
        i = 0
        for op, count in ops:
            for _ in range(count):
                rec("op", id=model_id, i=i, op=op, us=round(rng.uniform(5, 500), 1), n=10)
                i += 1
        rec("vec", id=model_id, n=10, match=10, max_abs_diff=0, tol=0, unit="q", top1=10)
    rec("done", n_models=len(MODELS), n_ok=len(MODELS))
    return "".join(lines)


def write_log(
    path: Path, target_bytes: int, seed: int = 7, model_ids: tuple[str, ...] | None = None
) -> int:
    """Write boots until the log holds `target_bytes`; return its size."""
    rng = random.Random(seed)
    size = 0
    boot = 1
    with path.open("w", encoding="latin-1", newline="") as f:
        while size < target_bytes:
            text = session(rng, boot, model_ids)
            f.write(text)
            size += len(text.encode("latin-1"))
            boot += 1
    return path.stat().st_size


def run(work: Path, quick: bool, log=print) -> dict:
    """Time ingest on the synthetic log, as a command and as a library call."""
    from tinyreport.device.serial.ingest import ingest_reports

    target = (1 if quick else 32) * 1_000_000
    n_runs = 2 if quick else 3
    path = work / "synthetic.log"
    log(f"ingest: writing a {target / 1e6:.0f} MB synthetic log")
    size = write_log(path, target)
    out = work / "ingest.json"
    watches = []
    for _ in range(n_runs):
        with out.open("w") as f:  # what the command prints, kept to weigh it
            watches.append(run_command(tinyreport_cmd("ingest", str(path), "--json"), ROOT, f))
    cli = summary([w.wall_s for w in watches], [w.cpu_s for w in watches])
    peaks = [w.peak_rss_bytes for w in watches if w.peak_rss_bytes is not None]
    cli["peak_rss_bytes"] = max(peaks) if peaks else None
    reports = ingest_reports([path], {})
    call = time_call(lambda: ingest_reports([path], {}), n_runs)
    return {
        "log_bytes": size,
        "n_boots": reports[0].n_boots,
        "n_records": reports[0].n_records,
        "n_runs": sum(len(r.runs) for r in reports),
        "json_bytes": out.stat().st_size,
        "command": {**cli, "mb_per_s": size / 1e6 / cli["median_s"]},
        "library_call": {**call, "mb_per_s": size / 1e6 / call["median_s"]},
        "path": path,
    }
