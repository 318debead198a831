"""Evaluate Keras and TFLite variants on the same test set."""

from __future__ import annotations

import math
from importlib.metadata import version

import numpy as np

from tinyreport.dataset import quantize
from tinyreport.results import Evaluation, TensorQuant

BATCH = 1000  # Keras prediction batch


def summarize(
    predictions: np.ndarray, labels: np.ndarray, n_classes: int, runtime: str
) -> Evaluation:
    """Accuracy, per-class accuracy and confusion matrix from predicted classes."""
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    return Evaluation(
        n_samples=int(labels.size),
        accuracy=round(float((predictions == labels).mean()), 6),
        per_class_accuracy=[round(float(a), 6) for a in per_class],
        confusion=confusion.tolist(),
        runtime=runtime,
    )


def keras_runtime() -> str:
    """Name and version of what ran the Keras predictions."""
    return f"keras {version('keras')}"


def mismatch(inp: TensorQuant, out: TensorQuant, input_shape, n_classes: int) -> str | None:
    """Say why a TFLite model cannot be evaluated on the data set, or None when it can."""
    want = math.prod(input_shape)
    if inp.shape[0] != 1 or math.prod(inp.shape) != want:
        return (
            f"its input has shape {tuple(inp.shape)}, the data set's samples have shape "
            f"{tuple(input_shape)} (batch 1 with the same number of values is needed)"
        )
    if math.prod(out.shape) != n_classes:
        return f"its output has shape {tuple(out.shape)}, the data set has {n_classes} classes"
    return None


def keras_predict(model, x: np.ndarray) -> np.ndarray:
    """Predicted classes of a Keras model."""
    return np.argmax(model.predict(x, batch_size=BATCH, verbose=0), axis=1)


def _interpreter(flatbuffer: bytes):
    """LiteRT with TFLite's reference kernels on one thread: no XNNPACK or ruy code chosen by
    the CPU's features, so every x86-64 machine computes the same outputs."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    return Interpreter(
        model_content=flatbuffer,
        num_threads=1,
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
    )


def io_details(flatbuffer: bytes) -> tuple[TensorQuant, TensorQuant, list[str]]:
    """Input and output quantization, and the dtypes of every tensor in the graph."""
    interpreter = _interpreter(flatbuffer)

    def quant(detail: dict) -> TensorQuant:
        scale, zero_point = detail["quantization"]
        quantized = scale != 0.0
        return TensorQuant(
            dtype=np.dtype(detail["dtype"]).name,
            shape=[int(d) for d in detail["shape"]],
            scale=float(scale) if quantized else None,
            zero_point=int(zero_point) if quantized else None,
        )

    dtypes = sorted({np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details()})
    inp = quant(interpreter.get_input_details()[0])
    out = quant(interpreter.get_output_details()[0])
    return inp, out, dtypes


def tflite_predict(flatbuffer: bytes, x: np.ndarray) -> np.ndarray:
    """Predicted classes of a TFLite model run by the LiteRT interpreter, one image per invoke.

    The models have batch size 1, as on the device. int8 inputs are quantized with the model's
    own input scale and zero point.
    """
    interpreter = _interpreter(flatbuffer)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    if inp["dtype"] in (np.int8, np.int16):
        scale, zero_point = inp["quantization"]
        x = quantize(x, scale, zero_point, np.dtype(inp["dtype"]))
    x = x.astype(inp["dtype"]).reshape(len(x), *inp["shape"][1:])
    predictions = np.empty(len(x), dtype=np.int64)
    for i, image in enumerate(x):
        interpreter.set_tensor(inp["index"], image[np.newaxis])
        interpreter.invoke()
        # argmax of int8 scores equals argmax of dequantized scores (scale > 0)
        predictions[i] = np.argmax(interpreter.get_tensor(out["index"])[0])
    return predictions


def litert_runtime() -> str:
    """Name and version of the interpreter used for TFLite evaluation."""
    return f"ai-edge-litert {version('ai-edge-litert')}"
