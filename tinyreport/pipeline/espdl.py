"""ESP-DL int8: the float TFLite file to ONNX (tf2onnx), quantized by ESP-PPQ for an Espressif
chip, evaluated by ESP-PPQ's quantized executor on the host, with its error analysis.

Everything runs in a child process (`python -m tinyreport.pipeline.espdl`): ESP-PPQ prints a
banner on import, its exported bytes depend on Python's hash seed (the child runs with
PYTHONHASHSEED=0, so the same inputs give the same .espdl), and torch is held to one thread
(on a busy two-core machine its default threads made quantization 10-20x slower).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from tinyreport.errors import ModelFileError

EXTRA = "tinyreport[espdl]"
PACKAGES = ("esp-ppq", "torch", "tf2onnx")
NOT_BUILT = (
    "espdl_int8 was not built: ESP-DL's quantizer is not installed; "
    f'install it with `pip install "{EXTRA}"` (CPU-only torch: see the README)'
)
# The guide's thresholds for ESP-PPQ's noise-to-signal figures (graphwise: the error at each
# layer's output with every layer before it quantized; layerwise: that layer alone).
OUTPUT_NSR_LIMIT = 0.10
LAYER_NSR_LIMIT = 0.01


def missing() -> list[str]:
    """The packages of the ESP-DL extra that cannot be imported here."""
    out = []
    for module, package in (("esp_ppq", "esp-ppq"), ("torch", "torch"), ("tf2onnx", "tf2onnx")):
        try:
            if importlib.util.find_spec(module) is None:
                out.append(package)
        except (ImportError, ValueError):
            out.append(package)
    return out


def versions() -> dict[str, str]:
    """Versions of the packages the variant depends on (part of the cache key)."""
    out = {}
    for package in PACKAGES:
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out


@dataclass(frozen=True)
class EspdlBuild:
    """What the child process made: the file, predictions on the test set, error figures."""

    espdl: bytes
    predictions: np.ndarray
    graphwise: dict[str, float]  # op name -> noise-to-signal ratio at its output
    layerwise: dict[str, float]  # op name -> noise-to-signal ratio of that op alone
    error_samples: int
    mixed: dict | None  # the N worst layers at 16 bits: {"layers", "espdl", "predictions"}


def build(
    name: str,
    float_tflite: Path,
    calibration: np.ndarray,
    x_test: np.ndarray,
    target: str,
    error_samples: int,
    int16_layers: int,
) -> EspdlBuild:
    """Quantize the float TFLite file for `target` and evaluate it; see the module docstring."""
    with tempfile.TemporaryDirectory(prefix="tinyreport-espdl-") as tmp:
        work = Path(tmp)
        np.save(work / "calibration.npy", calibration.astype(np.float32))
        np.save(work / "test.npy", x_test.astype(np.float32))
        job = {
            "name": name,
            "tflite": str(float_tflite),
            "target": target,
            "error_samples": error_samples,
            "int16_layers": int16_layers,
        }
        (work / "job.json").write_text(json.dumps(job))
        env = {
            **os.environ,
            "PYTHONHASHSEED": "0",
            "OMP_NUM_THREADS": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "CUDA_VISIBLE_DEVICES": "",
        }
        proc = subprocess.run(
            [sys.executable, "-m", "tinyreport.pipeline.espdl", str(work)],
            capture_output=True,
            text=True,
            env=env,
        )
        (float_tflite.parent / "espdl.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            last = [line for line in proc.stderr.splitlines() if line.strip()][-1:] or ["?"]
            raise ModelFileError(
                f"ESP-PPQ could not quantize {float_tflite.name} for {target}: {last[0][:300]} "
                f"(full output: {float_tflite.parent / 'espdl.log'})"
            )
        out = json.loads((work / "out.json").read_text())
        mixed = None
        if out.get("mixed"):
            mixed = {
                "layers": out["mixed"]["layers"],
                "espdl": (work / "mixed.espdl").read_bytes(),
                "predictions": np.load(work / "mixed_predictions.npy"),
            }
        return EspdlBuild(
            espdl=(work / "model.espdl").read_bytes(),
            predictions=np.load(work / "predictions.npy"),
            graphwise=out["graphwise"],
            layerwise=out["layerwise"],
            error_samples=out["error_samples"],
            mixed=mixed,
        )


# ---------------------------------------------------------------------------------------------
# The child process


def _canonical(graph) -> None:
    """Make tf2onnx's output the same on every run: it numbers the constants it folds in an
    order that varies from run to run (`const_fold_opt__29` one time is `__33` the next), and
    ESP-PPQ writes the constants in that order. Rename the folded constants by where the graph
    first uses them and list every constant in that order."""
    import re

    first_use: dict[str, int] = {}
    for position, node in enumerate(graph.node):
        for name in node.input:
            first_use.setdefault(name, position)
    folded = sorted(
        (i.name for i in graph.initializer if re.fullmatch(r"const_fold_opt__\d+", i.name)),
        key=lambda name: (first_use.get(name, len(graph.node)), name),
    )
    renamed = {old: f"const_fold_opt__c{k}" for k, old in enumerate(folded)}
    for init in graph.initializer:
        init.name = renamed.get(init.name, init.name)
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in renamed:
                node.input[i] = renamed[name]
    ordered = sorted(
        graph.initializer,
        key=lambda i: (
            first_use.get(i.name, first_use.get(_old(renamed, i.name), 1 << 30)),
            i.name,
        ),
    )
    del graph.initializer[:]
    graph.initializer.extend(ordered)


def _old(renamed: dict[str, str], new: str) -> str:
    return next((old for old, name in renamed.items() if name == new), new)


def _child(work: Path) -> None:
    """Run one quantization job in `work` (job.json in, model.espdl and out.json out)."""
    import contextlib
    import io
    import shutil

    job = json.loads((work / "job.json").read_text())
    # ESP-PPQ and tf2onnx print banners and progress on stdout: keep stdout for the log only.
    with contextlib.redirect_stdout(io.StringIO()) as chatter:
        import torch

        torch.set_num_threads(1)
        torch.manual_seed(0)
        from esp_ppq.api import espdl_quantize_onnx
        from esp_ppq.core import TargetPlatform
        from esp_ppq.executor import TorchExecutor
        from esp_ppq.quantization.analyse import graphwise_error_analyse, layerwise_error_analyse
        from torch.utils.data import DataLoader

        onnx_file = work / "converted.onnx"
        converted = subprocess.run(
            [
                sys.executable, "-m", "tf2onnx.convert", "--tflite", job["tflite"],
                "--opset", "13", "--output", str(onnx_file),
            ],
            capture_output=True,
            text=True,
        )  # fmt: skip
        if converted.returncode != 0:
            sys.stderr.write(converted.stderr)
            raise SystemExit(
                f"tf2onnx could not convert the float TFLite file: {converted.stderr[-300:]}"
            )
        # The .espdl graph carries the model's name: ESP-DL's profilers print it on the board
        # (`model:NAME`), which is how a device log finds its model.
        import onnx

        graph = onnx.load(onnx_file)
        _canonical(graph.graph)
        graph.graph.name = job["name"]
        onnx.save(graph, onnx_file)
        calibration = np.load(work / "calibration.npy")
        x_test = np.load(work / "test.npy")
        samples = [torch.from_numpy(x[np.newaxis]) for x in calibration]
        loader = DataLoader(samples, batch_size=None, shuffle=False)
        shape = [1, *calibration.shape[1:]]

        def quantize(out: Path, override: dict | None = None):
            source = work / f"{out.stem}.onnx"
            shutil.copy(onnx_file, source)  # ESP-PPQ rewrites its input file
            return espdl_quantize_onnx(
                onnx_import_file=str(source),
                espdl_export_file=str(out),
                calib_dataloader=loader,
                calib_steps=len(samples),
                input_shape=shape,
                target=job["target"],
                num_of_bits=8,
                device="cpu",
                error_report=False,
                dispatching_override=override,
                verbose=0,
            )

        def predict(graph) -> np.ndarray:
            executor = TorchExecutor(graph, device="cpu")
            out = np.empty(len(x_test), dtype=np.int64)
            with torch.no_grad():
                for i, x in enumerate(x_test):
                    out[i] = int(executor.forward(torch.from_numpy(x[np.newaxis]))[0].argmax())
            return out

        graph = quantize(work / "model.espdl")
        np.save(work / "predictions.npy", predict(graph))
        steps = min(job["error_samples"], len(samples))

        def identity(batch):
            return batch

        graphwise = graphwise_error_analyse(
            graph, running_device="cpu", dataloader=loader, collate_fn=identity,
            steps=steps, verbose=False,
        )  # fmt: skip
        layerwise = layerwise_error_analyse(
            graph, dataloader=loader, collate_fn=identity, running_device="cpu",
            steps=steps, verbose=False,
        )  # fmt: skip
        result = {
            "graphwise": {k: float(v) for k, v in graphwise.items()},
            "layerwise": {k: float(v) for k, v in layerwise.items()},
            "error_samples": steps,
            "mixed": None,
        }
        if job["int16_layers"] > 0:
            worst = sorted(layerwise, key=lambda k: -float(layerwise[k]))[: job["int16_layers"]]
            platform = {
                "esp32s3": TargetPlatform.ESPDL_S3_INT16,
                "esp32p4": TargetPlatform.ESPDL_INT16,
            }[job["target"]]
            mixed_graph = quantize(work / "mixed.espdl", {name: platform for name in worst})
            np.save(work / "mixed_predictions.npy", predict(mixed_graph))
            result["mixed"] = {"layers": worst}
    sys.stderr.write(chatter.getvalue()[-4000:])
    (work / "out.json").write_text(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    _child(Path(sys.argv[1]))
