"""Predict a model's inference latency on a board, operator by operator, before deployment.

Each operator costs `per_op_cycles + cycles_per_unit * units + cycles_per_output * outputs`
cycles of its kernel library, where `units` are its multiply-accumulates (convolutions, fully
connected), window reads (pooling) or elements (element-wise operators) and `outputs` its output
elements (the requantisation cost). The coefficients are fitted on public measurements only
(benchmarks/latency/points.toml, fitted by benchmarks/latency/fit.py) and live in
latency_coefficients.json; a board names its library with `latency_library` in its board file.

Nothing is predicted where there is no data: float operators (no public timing of ESP-NN's
float fallback), boards without a `latency_library` (the Cortex-M boards), and operator kinds a
library has no measurement for are listed instead of guessed (they count only their dispatch
overhead, and the prediction says so).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from tinyreport.analysis.tflite_reader import Model, Operator

# Provenance of a figure a model fitted on other data gives, with that model's measured error
# (beside tinyreport.results' measured-device, measured-host-tflm, computed, estimated).
PREDICTED = "predicted"

# Operator kinds with a cost model, and the kind of work their `units` count.
UNITS = {
    "conv_1x1": "MACs",
    "conv": "MACs",
    "depthwise": "MACs",
    "fully_connected": "MACs",
    "average_pool": "window reads",
    "max_pool": "window reads",
    "add": "elements",
    "mul": "elements",
    "softmax": "elements",
    "relu": "elements",
}
_SIMPLE_KINDS = {
    "DEPTHWISE_CONV_2D": "depthwise",
    "FULLY_CONNECTED": "fully_connected",
    "AVERAGE_POOL_2D": "average_pool",
    "MAX_POOL_2D": "max_pool",
    "ADD": "add",
    "MUL": "mul",
    "SOFTMAX": "softmax",
    "RELU": "relu",
    "RELU6": "relu",
}
_FLOATS = {"FLOAT32", "FLOAT16", "FLOAT64", "BFLOAT16"}


@dataclass(frozen=True)
class OpWork:
    """What one operator asks of its kernel: its kind, dtype and amount of work."""

    op: str  # BuiltinOperator name
    kind: str | None  # a key of UNITS, or None when no kind has a cost model
    dtype: str  # the input's TensorType name, lower case
    n_units: int
    n_outputs: int


def kind_of(op: str, kernel: tuple[int, int], stride: tuple[int, int], in_channels: int) -> str:
    """The cost-model kind of an operator; CONV_2D splits on ESP-NN's fast 1x1 path."""
    if op == "CONV_2D":
        # esp_nn_conv_s8 takes its mult-8 1x1 assembly path for 1x1 filters, stride 1 and input
        # channels a multiple of 8 (esp-nn src/convolution/esp_nn_conv_esp32s3.c).
        fast = kernel == (1, 1) and stride == (1, 1) and in_channels % 8 == 0
        return "conv_1x1" if fast else "conv"
    return _SIMPLE_KINDS.get(op)


def work(
    op: str,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    kernel: tuple[int, int] = (1, 1),
    stride: tuple[int, int] = (1, 1),
    n_macs: int = 0,
    dtype: str = "int8",
) -> OpWork:
    """The work of one operator from its shapes (also used for published kernel timings)."""
    n_out = 1
    for d in out_shape:
        n_out *= d
    in_channels = in_shape[-1] if in_shape else 0
    kind = kind_of(op, kernel, stride, in_channels)
    if kind in ("average_pool", "max_pool"):
        units = n_out * kernel[0] * kernel[1]
    elif kind in ("add", "mul", "softmax", "relu"):
        units = n_out
    else:
        units = n_macs
    return OpWork(op=op, kind=kind, dtype=dtype, n_units=units, n_outputs=n_out)


def op_work(model: Model, op: Operator) -> OpWork:
    """The work of operator `op` of `model`."""
    x = model.tensors[op.inputs[0]] if op.inputs and op.inputs[0] >= 0 else None
    y = model.tensors[op.outputs[0]] if op.outputs else None
    kernel = (1, 1)
    if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D") and len(op.inputs) > 1:
        w = model.tensors[op.inputs[1]].shape
        kernel = (w[1], w[2]) if len(w) == 4 else (1, 1)
    elif op.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        kernel = tuple(op.options.get("filter", (1, 1)))
    dtypes = {model.tensors[i].dtype for i in (*op.inputs, *op.outputs) if i >= 0}
    dtype = "float32" if dtypes & _FLOATS else (x.dtype.lower() if x else "int8")
    return work(
        op.op,
        x.shape if x else (),
        y.shape if y else (),
        kernel=kernel,
        stride=tuple(op.options.get("stride", (1, 1))),
        n_macs=op.n_macs,
        dtype=dtype,
    )


@cache
def coefficients() -> dict:
    """The fitted coefficients (tinyreport/analysis/latency_coefficients.json)."""
    text = (resources.files("tinyreport.analysis") / "latency_coefficients.json").read_text()
    return json.loads(text)


def op_cycles(w: OpWork, library: dict) -> float | None:
    """Predicted cycles of one operator's kernel, without dispatch; None when not modelled."""
    c = library["kinds"].get(w.kind) if w.kind else None
    if c is None:
        return None
    return c["cycles_per_unit"] * w.n_units + c["cycles_per_output"] * w.n_outputs


def predict_works(works: list[OpWork], library: dict, per_op: float, clock_mhz: float) -> dict:
    """Predict the latency of a list of operators with one library's coefficients."""
    ops, unmodelled = [], []
    total = low = high = 0.0
    for i, w in enumerate(works):
        kernel = op_cycles(w, library)
        if kernel is None:
            unmodelled.append(w.op)
            lo, hi = 1.0, 1.0
        else:
            lo, hi = library["kinds"][w.kind]["band"]
        us = ((kernel or 0.0) + per_op) / clock_mhz
        total += us
        low += ((kernel or 0.0) * lo + per_op) / clock_mhz
        high += ((kernel or 0.0) * hi + per_op) / clock_mhz
        ops.append(
            {
                "index": i,
                "op": w.op,
                "kind": w.kind,
                "units": w.n_units,
                "outputs": w.n_outputs,
                "modelled": kernel is not None,
                "predicted_us": round(us, 1),
            }
        )
    return {
        "predicted_us": round(total, 1),
        "low_us": round(low, 1),
        "high_us": round(high, 1),
        "ops": ops,
        "unmodelled_ops": sorted(set(unmodelled)),
    }


def predict(model: Model, board) -> dict | None:
    """Predicted latency of `model` on `board`, or None when the board has no latency model.

    A float model gets a document with `predicted_us` None and the reason: no public timing of
    float kernels on these libraries exists to calibrate on.
    """
    library_id = getattr(board, "latency_library", "") or ""
    if not library_id:
        return None
    coef = coefficients()
    library = coef["libraries"][library_id]
    base = {
        "provenance": PREDICTED,
        "model_version": coef["version"],
        "library": library_id,
        "library_name": library["name"],
        "clock_mhz": board.cpu_mhz,
        "basis": library["basis"],
    }
    works = [op_work(model, op) for op in model.operators]
    floats = sorted({w.op for w in works if w.dtype == "float32"})
    if floats:
        return {
            **base,
            "predicted_us": None,
            "low_us": None,
            "high_us": None,
            "ops": [],
            "unmodelled_ops": floats,
            "label": "no prediction: float operators "
            f"({', '.join(floats)}); no public timing of float kernels on {library['name']} "
            "exists to calibrate on",
        }
    doc = {**base, **predict_works(works, library, coef["per_op_cycles"], board.cpu_mhz)}
    doc["inferences_per_second"] = (
        round(1e6 / doc["predicted_us"], 1) if doc["predicted_us"] else None
    )
    note = (
        f"; {', '.join(doc['unmodelled_ops'])} not modelled (dispatch overhead only)"
        if doc["unmodelled_ops"]
        else ""
    )
    doc["label"] = f"predicted ({library['name']}, model v{coef['version']}){note}"
    return doc
