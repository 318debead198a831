"""Run tinyreport's benchmarks; write benchmarks.json and the site pages built from it.

    .venv/bin/python -m benchmarks.run            # full: ~15 min on two cores
    .venv/bin/python -m benchmarks.run --quick    # tiny inputs, one run each: a check, not data

A full run writes benchmarks/results/benchmarks.json, docs/benchmarks.md and docs/quality.md.
A quick run writes the same three files into benchmarks/results/quick/ (not committed), or
into --out. Targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import (
    bench_analyze,
    bench_collect,
    bench_ingest,
    bench_site,
    machine,
    quality,
    render,
)
from benchmarks.timing import ROOT, profile_command

# Version of benchmarks.json. 1: first format.
FORMAT_VERSION = 1
SECTIONS = ("collect", "analyze", "ingest", "site", "quality")


def _target(key, name, unit, limit, at_least, measured, basis, cpu=None) -> dict:
    """One target: met or missed on the median wall time, and on CPU time where known."""

    def meets(x: float) -> bool:
        return x >= limit if at_least else x <= limit

    return {
        "key": key,
        "target": name,
        "unit": unit,
        "limit": limit,
        "measured": measured,
        "passed": meets(measured),
        "measured_cpu": cpu,
        "passed_cpu": None if cpu is None else meets(cpu),
        "basis": basis,
    }


def targets(data: dict) -> list[dict]:
    """The issue's targets, each with the measured value and whether it was met."""
    out = []
    if "collect" in data:
        warm, cold = data["collect"]["warm"], data["collect"]["cold"]
        out.append(
            _target("warm_collect_s", "warm `collect` ≤ 2 s", "s", 2.0, False, warm["median_s"],
                    "median wall time of `tinyreport collect -q`, nothing changed",
                    warm["cpu_median_s"])
        )  # fmt: skip
        out.append(
            _target("warm_collect_pc_of_cold", "warm `collect` ≤ 3 % of cold", "%", 3.0, False,
                    warm["pc_of_cold"], "median warm / median cold wall time",
                    100 * warm["cpu_median_s"] / cold["cpu_median_s"])
        )  # fmt: skip
    if "analyze" in data:
        ref = next(
            m for m in data["analyze"]["models"] if m["name"] == data["analyze"]["reference_model"]
        )
        out.append(
            _target("analyze_1mb_s", "`analyze` of a 1 MB model ≤ 0.5 s", "s", 0.5, False,
                    ref["command"]["median_s"],
                    f"median wall time of `tinyreport analyze --json` on {ref['name']} "
                    f"({ref['file_bytes']:,} bytes)", ref["command"]["cpu_median_s"])
        )  # fmt: skip
    if "ingest" in data:
        ingest = data["ingest"]
        out.append(
            _target("ingest_mb_per_s", "`ingest` ≥ 10 MB/s (pure Python, streaming)", "MB/s",
                    10.0, True,
                    ingest["command"]["mb_per_s"],
                    "log bytes / median wall time of `tinyreport ingest --json` on a "
                    f"{ingest['log_bytes'] / 1e6:.0f} MB log",
                    ingest["log_bytes"] / 1e6 / ingest["command"]["cpu_median_s"])
        )  # fmt: skip
    if "site" in data:
        build = data["site"]["build"]
        out.append(
            _target("mkdocs_build_s", "`mkdocs build` ≤ 10 s", "s", 10.0, False, build["median_s"],
                    "median wall time of `mkdocs build --strict` of the collected project",
                    build["cpu_median_s"])
        )  # fmt: skip
        heaviest = data["site"]["site"]["heaviest_generated"]
        out.append(
            _target("largest_page_bytes", "no generated page over 1 MB but plotly.js", "bytes",
                    bench_site.PAGE_LIMIT_BYTES, False, heaviest["bytes"],
                    f"largest HTML or JSON file of the built site: {heaviest['path']}")
        )  # fmt: skip
    return out


def profiles(data: dict, project: Path, work: Path, analyze_path: Path | None, log) -> dict:
    """cProfile every command whose target was missed: where its time goes."""
    missed = {t["key"] for t in data["targets"] if not t["passed"]}
    out = {}
    if missed & {"warm_collect_s", "warm_collect_pc_of_cold"}:
        log("profile: warm collect")
        out["warm_collect"] = profile_command(["tinyreport", "collect", "-q"], project)
    if "analyze_1mb_s" in missed:
        log("profile: analyze")
        out["analyze"] = profile_command(
            ["tinyreport", "analyze", str(analyze_path), "--json"], ROOT
        )
    if "ingest_mb_per_s" in missed:
        log("profile: ingest")
        out["ingest"] = profile_command(
            ["tinyreport", "ingest", str(work / "synthetic.log"), "--json"], ROOT
        )
    if "mkdocs_build_s" in missed:
        log("profile: mkdocs build")
        out["mkdocs_build"] = profile_command(
            ["mkdocs", "build", "-q", "-d", str(work / "site-profile")], project
        )
    return out


def _round(x):
    """Round floats to 4 significant digits so the JSON diff shows what matters."""
    if isinstance(x, float):
        return float(f"{x:.4g}")
    if isinstance(x, dict):
        return {k: _round(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_round(v) for v in x]
    return x


def write_pages(data: dict, pages_dir: Path) -> list[Path]:
    """Render both pages from the benchmark data into `pages_dir`; return their paths."""
    pages_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render.render(data).items():
        (pages_dir / name).write_text(text)
        written.append(pages_dir / name)
    return written


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the sections, write the JSON and the pages."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one run each")
    parser.add_argument("--out", type=Path, help="folder for the JSON and both pages")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only these sections (repeatable)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite the pages from the existing JSON"
    )
    args = parser.parse_args(argv)
    sections = args.only or list(SECTIONS)
    if args.out:
        json_path, pages_dir = args.out / "benchmarks.json", args.out
    elif args.quick:
        json_path = ROOT / "benchmarks" / "results" / "quick" / "benchmarks.json"
        pages_dir = json_path.parent
    else:
        json_path, pages_dir = ROOT / "benchmarks" / "results" / "benchmarks.json", ROOT / "docs"

    if args.render:  # the JSON stays as measured; only the pages are written again
        write_pages(json.loads(json_path.read_text()), pages_dir)
        return 0

    started = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported here

    load_samples: list[float] = []

    def log(text: str) -> None:
        load_samples.extend(machine.load_average()[:1])
        print(f"[{time.perf_counter() - started:7.1f} s] {text}", file=sys.stderr, flush=True)

    work = Path(tempfile.mkdtemp(prefix="tinyreport-bench-"))
    data: dict = {
        "format": FORMAT_VERSION,
        "mode": "quick" if args.quick else "full",
        "sections": sections,
        "machine": machine.describe(),
        "load_average_before": machine.load_average(),
    }
    try:
        project = analyze_path = None
        if {"collect", "site", "quality"} & set(sections):
            data["collect"], project = bench_collect.run(work, args.quick, log)
        if "analyze" in sections:
            data["analyze"], analyze_path = bench_analyze.run(args.quick, log)
        if "ingest" in sections:
            ingest = bench_ingest.run(work, args.quick, log)
            ingest.pop("path")
            data["ingest"] = ingest
        if "site" in sections:
            data["site"] = bench_site.run(project, args.quick, log)
        if "quality" in sections:
            data["quality"] = quality.run(project, work, args.quick, log)
        data["targets"] = targets(data)
        data["profiles"] = profiles(data, project, work, analyze_path, log)
        data["load_average_after"] = machine.load_average()
        data["load_average_during"] = {"min": min(load_samples), "max": max(load_samples)}
        data["duration_s"] = time.perf_counter() - started
        data = _round(data)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        written = write_pages(data, pages_dir)
        log(f"wrote {json_path} and {', '.join(str(p) for p in written)}")
    finally:
        if args.keep:
            log(f"scratch kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
