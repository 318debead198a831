"""How good are tinyreport's numbers: predicted vs measured arena, rules of thumb, int8 accuracy.

Every figure carries its provenance (the values of docs/reference/results.md) and its source.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from benchmarks.timing import ROOT

QUICK_GRAPHS = ["residual"]


def _rules(model) -> list[tuple[str, int, str]]:
    """The rules of thumb people size arenas with: (rule, bytes, where it comes from)."""
    file_bytes = model.file_bytes
    all_tensors = sum(t.n_bytes for t in model.tensors)
    activations = sum(t.n_bytes for t in model.tensors if not t.is_constant)
    peak_op = max(
        (
            sum(
                model.tensors[i].n_bytes
                for i in (*op.inputs, *op.outputs)
                if i >= 0 and not model.tensors[i].is_constant
            )
            for op in model.operators
        ),
        default=0,
    )
    return [
        ("2 × model size", 2 * file_bytes, "common rule; also in `tinyreport analyze`"),
        ("2.5 × model size", round(2.5 * file_bytes), "common rule"),
        ("3 × model size", 3 * file_bytes, "common rule; also in `tinyreport analyze`"),
        ("10 × model size", 10 * file_bytes, "tflite_micro Python interpreter's default arena"),
        ("sum of all tensors × 1.2", round(1.2 * all_tensors), "also in `tinyreport analyze`"),
        ("sum of activation tensors × 1.2", round(1.2 * activations), "weights stay in flash"),
        ("largest operator's activations (inputs + output)", peak_op, "naive peak"),
    ]


def compare(name: str, group: str, path: Path) -> dict:
    """Predicted and measured host arena of one .tflite file, and every rule's error."""
    from tinyreport.analysis.analyze import analyze
    from tinyreport.analysis.tflite_reader import read_model
    from tinyreport.pipeline.tflm_host import measure_host_arena

    model = read_model(path)
    doc = analyze(path)
    measured = measure_host_arena(path)
    predicted = doc["arena"]["host_bytes"]

    def error(n: int) -> float:
        return pc_error(n, measured.total_bytes)

    return {
        "name": name,
        "group": group,
        "file_bytes": model.file_bytes,
        "n_operators": len(model.operators),
        "int8": model.is_int8,
        "measured_bytes": measured.total_bytes,
        "measured_head_bytes": measured.head_bytes,
        "measured_tail_bytes": measured.tail_bytes,
        "predicted_bytes": predicted,
        "predicted_exact": doc["arena"]["host"]["exact"],
        "pc_error_predicted": error(predicted),
        "target_bytes": doc["arena"]["target_bytes"],
        "target_profile": doc["arena"]["target"]["profile"],
        "rules": [
            {"rule": rule, "bytes": n, "basis": basis, "pc_error": error(n)}
            for rule, n, basis in _rules(model)
        ],
    }


def pc_error(predicted: int, measured: int) -> float:
    """Error of a prediction in percent of the measured bytes."""
    return 100 * (predicted - measured) / measured


def with_exact_errors(quality: dict) -> dict:
    """Return the quality data with every error recomputed from the byte counts it holds.

    benchmarks.json keeps floats to 4 significant digits (readable diffs); the bytes are exact,
    so the pages print errors from them (a +10,872 % error must not print as +10,870 %).
    """
    rows = [
        {
            **row,
            "pc_error_predicted": pc_error(row["predicted_bytes"], row["measured_bytes"]),
            "rules": [
                {**r, "pc_error": pc_error(r["bytes"], row["measured_bytes"])} for r in row["rules"]
            ],
        }
        for row in quality["models"]
    ]
    return {
        **quality,
        "models": rows,
        "rules": _rule_summary(rows),
        "max_abs_pc_error_predicted": max(abs(r["pc_error_predicted"]) for r in rows),
    }


def _rule_summary(rows: list[dict]) -> list[dict]:
    names = [r["rule"] for r in rows[0]["rules"]] if rows else []
    out = []
    for i, name in enumerate(names):
        errors = [row["rules"][i]["pc_error"] for row in rows]
        out.append(
            {
                "rule": name,
                "basis": rows[0]["rules"][i]["basis"],
                "median_abs_pc_error": statistics.median(abs(e) for e in errors),
                "min_pc_error": min(errors),
                "max_pc_error": max(errors),
                "n_within_25pc": sum(abs(e) <= 25 for e in errors),
                "n_under": sum(e < 0 for e in errors),
                "n_models": len(errors),
            }
        )
    return out


def accuracy(results_path: Path) -> dict:
    """int8 vs float accuracy from a results file, as it is committed."""
    data = json.loads(results_path.read_text())
    models = []
    for m in data["models"]:
        v = m["variants"]
        acc = {k: v[k]["evaluation"]["accuracy"] for k in ("keras", "tflite_float", "tflite_int8")}
        models.append(
            {
                "name": m["name"],
                "n_samples": v["tflite_int8"]["evaluation"]["n_samples"],
                "accuracy": acc,
                "pp_int8_minus_float": 100 * (acc["tflite_int8"] - acc["tflite_float"]),
                "pp_float_minus_keras": 100 * (acc["tflite_float"] - acc["keras"]),
                "agreement_int8_float": m["agreement_int8_float"],
                "size_ratio_float_to_int8": v["tflite_float"]["size_bytes"]
                / v["tflite_int8"]["size_bytes"],
            }
        )
    return {
        "source": results_path.relative_to(ROOT).as_posix()
        if results_path.is_relative_to(ROOT)
        else str(results_path),
        "tinyreport_version": data.get("tinyreport_version"),
        "n_test": data["dataset"]["n_test"],
        "models": models,
    }


def run(project: Path, work: Path, quick: bool, log=print) -> dict:
    """Compare predictions and rules with TFLM on the bundled models and the test graphs."""
    from tinyreport.fsutil import native_output_to
    from tinyreport.pipeline.tflm_host import tflm_version

    sys.path.insert(0, str(ROOT / "tests"))
    import graphs

    results = json.loads((project / "docs" / "data" / "results.json").read_text())
    rows = []
    for m in results["models"]:
        for kind in ("tflite_float", "tflite_int8"):
            name = f"{m['name']}_{kind.removeprefix('tflite_')}"
            log(f"quality: {name}")
            rows.append(compare(name, "bundled", project / m["variants"][kind]["path"]))
    log("quality: building the test graphs (tests/graphs.py)")
    names = QUICK_GRAPHS if quick else list(graphs.BUILDERS)
    with native_output_to(work / "graphs.log"):  # TensorFlow's chatter
        built = graphs.build_all(work / "graphs", names)
    for key, path in built.items():
        log(f"quality: {key}")
        rows.append(compare(key, "test graph", path))
    return {
        "tflm_version": tflm_version(),
        "models": rows,
        "rules": _rule_summary(rows),
        "n_exact": sum(r["measured_bytes"] == r["predicted_bytes"] for r in rows),
        "max_abs_pc_error_predicted": max(abs(r["pc_error_predicted"]) for r in rows),
        "accuracy": accuracy(ROOT / "docs" / "data" / "results.json"),
    }
