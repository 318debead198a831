"""Run one `tinyreport collect` with every stage function timed; print the timings as JSON.

Usage: python -m benchmarks.collect_child PROJECT_DIR OUT.json

The stage functions are wrapped from here (collect.py is not changed): each wrapper adds its
wall time to the current model's row. What no wrapper covers (saving the Keras model, reading
the config, hashing) is reported as the remainder by the caller.
"""

from __future__ import annotations

import functools
import json
import sys
import time

_START = time.perf_counter()

# stage -> model ("" for work that belongs to no model) -> seconds
TIMES: dict[str, dict[str, float]] = {}
_CURRENT = {"model": ""}


def _add(stage: str, seconds: float) -> None:
    row = TIMES.setdefault(stage, {})
    row[_CURRENT["model"]] = row.get(_CURRENT["model"], 0.0) + seconds


def _timed(module, name: str, stage: str) -> None:
    original = getattr(module, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            _add(stage, time.perf_counter() - start)

    setattr(module, name, wrapper)


def _per_model(module, name: str, model_of=lambda args: args[1].name) -> None:
    """Attribute the stages inside `module.name` to the model `model_of(args)` names."""
    original = getattr(module, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        _CURRENT["model"] = model_of(args)
        try:
            return original(*args, **kwargs)
        finally:
            _CURRENT["model"] = ""

    setattr(module, name, wrapper)


def main(project: str, out: str) -> None:
    """Import, instrument, run collect in `project`, write the stage timings to `out`."""
    import os
    from pathlib import Path

    t = time.perf_counter()
    from tinyreport.config import load_config
    from tinyreport.pipeline import collect, convert, evaluate, tflm_host, train
    from tinyreport.site import render as site

    _add("import tinyreport", time.perf_counter() - t)
    t = time.perf_counter()
    import keras  # noqa: F401  (collect would import it in the first model; timed on its own)

    _add("import TensorFlow and Keras", time.perf_counter() - t)

    _timed(collect, "load_dataset", "load dataset")
    _timed(train, "train", "train")
    _timed(convert, "to_float", "convert")
    _timed(convert, "to_int8", "convert")
    _timed(evaluate, "keras_predict", "evaluate")
    _timed(evaluate, "tflite_predict", "evaluate")
    _timed(tflm_host, "measure_host_arena", "host arena (TFLM)")
    _timed(collect, "attach_device_runs", "device logs")
    _timed(site, "asset_files", "pages and assets")
    _timed(site, "page_files", "pages and assets")
    _timed(collect, "publish", "pages and assets")  # results, pages and assets, written together
    _per_model(collect, "build_model")
    _per_model(collect, "train_model", lambda args: args[2])  # (config, source, name, ...)

    os.chdir(project)
    t = time.perf_counter()
    summary = collect.collect(load_config(Path("tinyreport.toml")))
    collect_s = time.perf_counter() - t
    Path(out).write_text(
        json.dumps(
            {
                "stages": TIMES,
                "collect_s": collect_s,
                "child_s": time.perf_counter() - _START,
                "summary": summary,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
