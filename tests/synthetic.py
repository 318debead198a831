"""Small .tflite files written with the flatbuffer schema (no TensorFlow): one operator,
tensors of the types and shapes a test needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import flatbuffers

from tinyreport.analysis.tflite_reader import schema


@dataclass(frozen=True)
class T:
    """A tensor of the model: its type name, shape, constant bytes (None: an activation)
    and per-tensor quantization (scale, zero point) if any."""

    dtype: str
    shape: tuple[int, ...]
    data: bytes | None = None
    quant: tuple[float, int] | None = None


def one_op_model(path: Path, op: str, inputs: list[T], outputs: list[T]) -> Path:
    """Write a model running `op` once on `inputs`; activations are the graph's inputs."""
    s = schema()
    m = s.ModelT()
    m.version = 3
    code = s.OperatorCodeT()
    code.builtinCode = getattr(s.BuiltinOperator, op)
    code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    m.operatorCodes = [code]
    m.buffers = [s.BufferT()]
    tensors = []
    for i, t in enumerate([*inputs, *outputs]):
        tensor = s.TensorT()
        tensor.name = f"t{i}"
        tensor.type = getattr(s.TensorType, t.dtype)
        tensor.shape = list(t.shape)
        tensor.buffer = 0
        if t.data is not None:
            buffer = s.BufferT()
            buffer.data = list(t.data)
            m.buffers.append(buffer)
            tensor.buffer = len(m.buffers) - 1
        if t.quant is not None:
            q = s.QuantizationParametersT()
            q.scale, q.zeroPoint = [t.quant[0]], [t.quant[1]]
            tensor.quantization = q
        tensors.append(tensor)
    graph = s.SubGraphT()
    graph.tensors = tensors
    n_in = len(inputs)
    graph.inputs = [i for i, t in enumerate(inputs) if t.data is None]
    graph.outputs = list(range(n_in, n_in + len(outputs)))
    operator = s.OperatorT()
    operator.opcodeIndex = 0
    operator.inputs = list(range(n_in))
    operator.outputs = graph.outputs
    graph.operators = [operator]
    m.subgraphs = [graph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(builder.Output())
    return path
