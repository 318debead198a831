"""Benchmark `tinyreport analyze`: cost against model size and operator count."""

from __future__ import annotations

from pathlib import Path

from benchmarks import models
from benchmarks.timing import ROOT, time_call, time_command, tinyreport_cmd

TARGET_FILE_BYTES = 1_000_000  # the target is stated for "a 1 MB model"


def run(quick: bool, log=print) -> tuple[dict, Path]:
    """Time analyze on every sweep model; return the results and the ~1 MB model's path."""
    from tinyreport.analysis.analyze import analyze
    from tinyreport.analysis.tflite_reader import read_model

    n_cli, n_call = (2, 3) if quick else (5, 7)
    rows, paths = [], {}
    for spec, path in models.build(quick, log):
        paths[spec["name"]] = path
        log(f"analyze: timing {spec['name']}")
        model = read_model(path)
        cli = time_command(tinyreport_cmd("analyze", str(path), "--json"), ROOT, n_cli)
        call = time_call(lambda p=path: analyze(Path(p)), n_call)
        rows.append(
            {
                "name": spec["name"],
                "sweep": spec["sweep"],
                "file_bytes": model.file_bytes,
                "n_operators": len(model.operators),
                "n_tensors": len(model.tensors),
                "command": cli,
                "library_call": call,
            }
        )
    sized = [r for r in rows if r["sweep"] == "size"]
    reference = min(sized, key=lambda r: abs(r["file_bytes"] - TARGET_FILE_BYTES))
    return {"models": rows, "reference_model": reference["name"]}, paths[reference["name"]]
