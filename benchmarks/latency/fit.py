"""Fit the latency model on the public calibration points; measure it on the held-out ones.

    python -m benchmarks.latency.fit          # writes the coefficients, the report and the page

Reads benchmarks/latency/points.toml and graphs.json; writes
tinyreport/analysis/latency_coefficients.json (what `tinyreport analyze` predicts with),
benchmarks/latency/report.json (every error) and docs/latency.md. Pure Python and numpy: no
TensorFlow, no network; deterministic, so a test can refit and compare.
"""

from __future__ import annotations

import json
import statistics
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyreport.analysis.latency import UNITS, OpWork, op_cycles, op_work, predict_works, work
from tinyreport.analysis.tflite_reader import read_model

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
POINTS = HERE / "points.toml"
GRAPHS = HERE / "graphs.json"
CORPUS = ROOT / "tests" / "data" / "corpus"
# The MLPerf Tiny reference models (mlcommons/tiny, in the test corpus): predicted on both
# libraries, for whoever finds or makes ESP32 timings of them to check against.
MLPERF = {
    "visual wake words (vww_96_int8)": "tiny__vww_96_int8.tflite",
    "keyword spotting DS-CNN (kws_ref_model)": "tiny__kws_ref_model.tflite",
    "image classification ResNet-8 (pretrainedResnet_quant)": "tiny__pretrainedResnet_quant.tflite",
    "anomaly detection FC autoencoder (ad01_int8)": "tiny__ad01_int8.tflite",
}
COEFFICIENTS = ROOT / "tinyreport" / "analysis" / "latency_coefficients.json"
REPORT = HERE / "report.json"
PAGE = ROOT / "docs" / "latency.md"

# Version of the fitted model: bump when the form of the model or its calibration set changes.
MODEL_VERSION = 1
CLOCK_MHZ = 240  # every kernel point was measured at 240 MHz
MEASURED = ("esp-nn-ansi-c", "esp-nn-esp32s3")  # the two columns of the README tables

LIBRARIES = {
    "esp-nn-esp32s3": {
        "name": "ESP-NN, ESP32-S3 SIMD kernels",
        "fitted_on": "esp-nn-esp32s3",
        "basis": "fitted on the ESP32-S3 'Optimized' kernel timings of the esp-nn README "
        "(data in PSRAM for convolutions and element-wise operators, so internal-SRAM arenas "
        "may run faster) plus TFLM's per-operator dispatch cost",
    },
    "esp-nn-esp32": {
        "name": "ESP-NN generic kernels on the ESP32",
        "fitted_on": "esp-nn-ansi-c",
        "basis": "no ESP32 kernel timing with a public graph exists: the ESP32-S3 'ANSI C' "
        "kernel timings of the esp-nn README at the same clock stand in for the ESP32's "
        "generic kernels (an assumption, not a fit on the ESP32), plus TFLM's per-operator "
        "dispatch cost",
    },
}


@dataclass(frozen=True)
class KernelPoint:
    """One published kernel timing on one library."""

    source: str
    function: str
    library: str
    work: OpWork
    cycles: int
    role: str


def load() -> tuple[dict, list[KernelPoint], dict]:
    """The points file, its kernel points per library, and the derived graphs."""
    data = tomllib.loads(POINTS.read_text("utf-8"))
    kernels = []
    for k in data["kernel"]:
        w = work(
            k["op"],
            tuple(k["input"]),
            tuple(k["output"]),
            kernel=tuple(k.get("kernel", (1, 1))),
            n_macs=k.get("macs", 0),
        )
        for library, cycles in sorted(k["cycles"].items()):
            kernels.append(KernelPoint(k["source"], k["function"], library, w, cycles, k["role"]))
    return data, kernels, json.loads(GRAPHS.read_text("utf-8"))


def fit_kind(points: list[KernelPoint]) -> dict:
    """Cycles per unit and per output of one kind: least squares when two points pin both
    down with non-negative values, else cycles per unit alone (total cycles / total units)."""
    if len(points) >= 2:
        a = np.array([[p.work.n_units, p.work.n_outputs] for p in points], dtype=float)
        b = np.array([p.cycles for p in points], dtype=float)
        if np.linalg.matrix_rank(a) == 2:
            (per_unit, per_output), *_ = np.linalg.lstsq(a, b, rcond=None)
            if per_unit >= 0 and per_output >= 0:
                return {
                    "cycles_per_unit": round(float(per_unit), 4),
                    "cycles_per_output": round(float(per_output), 4),
                    "n_points": len(points),
                }
    units = sum(p.work.n_units for p in points)
    return {
        "cycles_per_unit": round(sum(p.cycles for p in points) / units, 4),
        "cycles_per_output": 0.0,
        "n_points": len(points),
    }


def fit_library(points: list[KernelPoint]) -> dict:
    """Coefficients of every kind that has calibration points."""
    kinds = sorted({p.work.kind for p in points})
    return {"kinds": {k: fit_kind([p for p in points if p.work.kind == k]) for k in kinds}}


def per_op_cycles(data: dict) -> float:
    """TFLM's dispatch cost per operator, from the only public direct-vs-TFLM pair."""
    tflm = next(m for m in data["model"] if m["measured_ms"] == 98.9)
    direct = next(m for m in data["model"] if m["measured_ms"] == 97.7)
    n_ops = 66  # operators of a MobileNetV2 graph (Keras MobileNetV2 converted: 66)
    return round((tflm["measured_ms"] - direct["measured_ms"]) * 1e3 * CLOCK_MHZ / n_ops, 1)


def pc_error(predicted: float, measured: float) -> float:
    """Signed error of a prediction, in % of the measured value."""
    return round(100.0 * (predicted - measured) / measured, 1)


def model_total_us(ops: list[dict], library: dict, per_op: float, clock_mhz: float) -> dict:
    """Predicted total of a graph, and the operators no coefficient covers."""
    doc = predict_works([OpWork(**op) for op in ops], library, per_op, clock_mhz)
    return {
        "us": doc["predicted_us"],
        "low_us": doc["low_us"],
        "high_us": doc["high_us"],
        "unmodelled": doc["unmodelled_ops"],
    }


def run() -> dict:
    """Fit, evaluate, and return coefficients and report."""
    data, kernels, graphs = load()
    per_op = per_op_cycles(data)
    fitted = {}
    for lib in MEASURED:
        fitted[lib] = fit_library(
            [p for p in kernels if p.library == lib and p.role == "calibration"]
        )

    # Hold-out 1: leave one calibration kernel out, refit its kind, predict it.
    loo = []
    for p in kernels:
        if p.role != "calibration":
            continue
        rest = [
            q
            for q in kernels
            if q.library == p.library
            and q.role == "calibration"
            and q.work.kind == p.work.kind
            and q is not p
        ]
        row = {
            "library": p.library,
            "kind": p.work.kind,
            "function": p.function,
            "source": p.source,
            "measured_cycles": p.cycles,
        }
        if not rest:
            row.update(
                predicted_cycles=None,
                pc_error=None,
                note="only point of its kind: nothing left to predict it from",
            )
        else:
            c = op_cycles(p.work, fit_library(rest))
            row.update(predicted_cycles=round(c), pc_error=pc_error(c, p.cycles))
        loo.append(row)

    # Hold-out 2: the older README's timings, predicted by the model fitted on the newer one.
    drift = []
    for p in kernels:
        if p.role != "holdout":
            continue
        c = op_cycles(p.work, fitted[p.library])
        drift.append(
            {
                "library": p.library,
                "kind": p.work.kind,
                "function": p.function,
                "source": p.source,
                "measured_cycles": p.cycles,
                "predicted_cycles": round(c),
                "pc_error": pc_error(c, p.cycles),
            }
        )

    libraries = {}
    for lib_id, spec in LIBRARIES.items():
        libraries[lib_id] = {**spec, **json.loads(json.dumps(fitted[spec["fitted_on"]]))}

    # The prediction's range, per kind: the spread of measured/predicted over the kind's
    # held-out kernel timings (leave-one-out and the older library version), always including 1;
    # a kind with no held-out timing takes the spread of all its library's.
    for lib_id, spec in LIBRARIES.items():
        rows = [
            r
            for r in loo + drift
            if r["library"] == spec["fitted_on"] and r["pc_error"] is not None
        ]
        every = [1 / (1 + r["pc_error"] / 100) for r in rows]
        for kind, c in libraries[lib_id]["kinds"].items():
            spans = [1 / (1 + r["pc_error"] / 100) for r in rows if r["kind"] == kind] or every
            c["band"] = [round(min(1.0, *spans), 3), round(max(1.0, *spans), 3)]
            c["n_holdout"] = sum(1 for r in rows if r["kind"] == kind)

    # Whole models: hold-out and the check.
    models = []
    for m in data["model"]:
        row = {k: m[k] for k in ("name", "chip", "library", "measured_ms", "role", "source", "why")}
        row["memory"] = m.get("memory", "")
        if m["role"] in ("holdout", "check") and m["graph"] in graphs:
            total = model_total_us(
                graphs[m["graph"]]["ops"], libraries[m["library"]], per_op, m["clock_mhz"]
            )
            row["predicted_ms"] = round(total["us"] / 1e3, 1)
            row["low_ms"] = round(total["low_us"] / 1e3, 1)
            row["high_ms"] = round(total["high_us"] / 1e3, 1)
            row["pc_error"] = pc_error(total["us"] / 1e3, m["measured_ms"])
            row["unmodelled_ops"] = total["unmodelled"]
            row["n_macs"] = graphs[m["graph"]]["n_macs"]
        elif m["role"] in ("holdout", "check"):
            row["predicted_ms"] = None
            row["pc_error"] = None
            row["note"] = f"graph '{m['graph']}' not derived (benchmarks/latency/graphs.py)"
        models.append(row)

    coefficients = {
        "version": MODEL_VERSION,
        "per_op_cycles": per_op,
        "per_op_basis": "TFLM + ESP-NN minus ESP-NN called directly, 98.9 - 97.7 ms over 66 "
        "operators at 240 MHz (espressif/esp-nn issue 38)",
        "units": UNITS,
        "libraries": libraries,
    }
    mlperf = []
    for name, file in MLPERF.items():
        path = CORPUS / file
        if not path.exists():
            continue
        model = read_model(path)
        works = [op_work(model, op) for op in model.operators]
        row = {"name": name, "file": f"tests/data/corpus/{file}", "n_macs": model.n_macs}
        for lib_id, lib in libraries.items():
            p = predict_works(works, lib, per_op, CLOCK_MHZ)
            row[lib_id] = {k: p[k] for k in ("predicted_us", "low_us", "high_us", "unmodelled_ops")}
        mlperf.append(row)
    summary = _summaries(loo, drift, models)
    report = {
        "version": MODEL_VERSION,
        "per_op_cycles": per_op,
        "loo": loo,
        "drift": drift,
        "models": models,
        "summary": summary,
        "mlperf": mlperf,
        "sources": data["sources"],
        "n_points": {"kernel": len(kernels), "model": len(data["model"])},
    }
    return {"coefficients": coefficients, "report": report}


def _summaries(loo: list[dict], drift: list[dict], models: list[dict]) -> dict:
    """Median and worst absolute error per library and kind, per hold-out set."""
    out = {}
    for name, rows in (("loo", loo), ("drift", drift)):
        groups: dict[str, list[float]] = {}
        for r in rows:
            if r["pc_error"] is not None:
                groups.setdefault(f"{r['library']} {r['kind']}", []).append(abs(r["pc_error"]))
        out[name] = {
            k: {"n": len(v), "median": round(statistics.median(v), 1), "worst": max(v)}
            for k, v in sorted(groups.items())
        }
    checks = [
        abs(r["pc_error"]) for r in models if r["role"] == "check" and r.get("pc_error") is not None
    ]
    out["check"] = (
        {"n": len(checks), "median": round(statistics.median(checks), 1), "worst": max(checks)}
        if checks
        else None
    )
    return out


def main() -> None:
    result = run()
    COEFFICIENTS.write_text(json.dumps(result["coefficients"], indent=2, sort_keys=True) + "\n")
    REPORT.write_text(json.dumps(result["report"], indent=2, sort_keys=True) + "\n")
    from benchmarks.latency.page import render

    PAGE.write_text(render(result["report"], result["coefficients"]))
    json.dump(result["report"]["summary"], sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
