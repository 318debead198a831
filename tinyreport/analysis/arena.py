"""Plan a model's TFLM tensor arena: the head as TFLM's greedy planner lays it out, and the tail.

TFLM splits the arena in two. The **head** holds the non-persistent buffers (activations and
kernel scratch buffers) that `MicroAllocator::CommitStaticMemoryPlan` hands to the
`GreedyMemoryPlanner`; the **tail** grows down from the end and holds persistent data: the
allocator objects, the `TfLiteEvalTensor` and `NodeAndRegistration` arrays, builtin operator
parameters, kernel op data, per-channel quantization arrays, scratch handles and the persistent
`TfLiteTensor`s of the graph inputs and outputs.

`plan_arena()` reproduces both, allocation by allocation, for a `Profile`: the struct sizes and
kernel behaviour of one TFLM build. The profiles and where each number comes from are described
in docs/reference/analysis.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinyreport.analysis.tflite_reader import Model, Operator

ALIGNMENT = 16  # MicroArenaBufferAlignment(): every head buffer is rounded up to this.


def align_up(n: int, alignment: int = ALIGNMENT) -> int:
    """Round `n` up to a multiple of `alignment`."""
    return (n + alignment - 1) // alignment * alignment


# ---------------------------------------------------------------------------------------------
# Profiles: what one TFLM build allocates.


@dataclass(frozen=True)
class Profile:
    """Struct sizes and kernel behaviour of one TFLM build (one ABI, one kernel set)."""

    name: str
    description: str
    pointer_bytes: int
    # (bytes, alignment, what) allocated before the model is read: allocator objects, planner.
    creation: tuple[tuple[int, int, str], ...]
    builtin_data_allocator: tuple[int, int]  # MicroBuiltinDataAllocator
    subgraph_allocations: tuple[int, int]  # SubgraphAllocations, one per subgraph
    eval_tensor: tuple[int, int]  # TfLiteEvalTensor
    node_and_registration: tuple[int, int]  # NodeAndRegistration
    scratch_handle: tuple[int, int]  # ScratchBufferHandle
    tflite_tensor: tuple[int, int]  # TfLiteTensor (the TF_LITE_STATIC_MEMORY layout)
    affine_quantization: tuple[int, int]  # TfLiteAffineQuantization
    # operator -> (bytes, alignment) of its builtin params struct, when its Parse allocates one
    builtin_params: dict[str, tuple[int, int]]
    # operator -> bytes its kernel's Init() asks AllocatePersistentBuffer for
    op_data: dict[str, int]
    # ESP-NN kernels of esp-tflite-micro: "" (none), "generic" (esp-nn's esp_nn_generic_opt.h,
    # what every target but the S3 and P4 compiles) or "esp32s3" (esp_nn_esp32s3.h).
    esp_nn: str = ""


def _profile_tables() -> tuple[dict[str, tuple[int, int]], dict[str, int], dict[str, int]]:
    # sizeof/alignof of the TfLite*Params structs in tensorflow/lite/core/c/builtin_op_data.h
    # that each operator's Parse function allocates. They hold no pointers, so 64-bit and 32-bit
    # agree (FULLY_CONNECTED differs by release). Read from the wheel's Parse allocations.
    builtin = {
        "ADD": (8, 4), "SUB": (8, 4), "MUL": (4, 4), "DIV": (4, 4),
        "CONCATENATION": (8, 4), "CONV_2D": (28, 4), "DEPTHWISE_CONV_2D": (28, 4),
        "AVERAGE_POOL_2D": (40, 4), "MAX_POOL_2D": (40, 4), "L2_POOL_2D": (40, 4),
        "MEAN": (1, 1), "SUM": (1, 1), "REDUCE_MAX": (1, 1), "REDUCE_MIN": (1, 1),
        "REDUCE_ALL": (1, 1), "RESHAPE": (36, 4), "SQUEEZE": (36, 4), "SHAPE": (4, 4),
        "SOFTMAX": (4, 4), "STRIDED_SLICE": (24, 4), "PACK": (8, 4), "UNPACK": (8, 4),
        "GATHER": (8, 4), "LEAKY_RELU": (4, 4), "SPLIT": (4, 4), "SPLIT_V": (4, 4),
        "TRANSPOSE_CONV": (20, 4), "RESIZE_NEAREST_NEIGHBOR": (2, 1), "RESIZE_BILINEAR": (2, 1),
        "ARG_MAX": (4, 4), "ARG_MIN": (4, 4), "CAST": (8, 4), "DEPTH_TO_SPACE": (4, 4),
        "SPACE_TO_DEPTH": (4, 4), "L2_NORMALIZATION": (4, 4), "BATCH_MATMUL": (3, 1),
        "MIRROR_PAD": (4, 4), "CUMSUM": (2, 1), "SVDF": (12, 4),
        "UNIDIRECTIONAL_SEQUENCE_LSTM": (16, 4), "CALL_ONCE": (4, 4), "IF": (8, 4),
        "WHILE": (8, 4),
    }  # fmt: skip
    # Init() sizes of the reference kernels, 64-bit build of the tflite-micro wheel (measured
    # with a debugger on AllocatePersistentBuffer; see docs/reference/analysis.md). 0: the
    # kernel has no Init() or allocates nothing in it.
    op_data_64 = {
        "CONV_2D": 80, "DEPTHWISE_CONV_2D": 80, "FULLY_CONNECTED": 72, "SOFTMAX": 80,
        "AVERAGE_POOL_2D": 32, "MAX_POOL_2D": 32, "ADD": 60, "CONCATENATION": 80,
        "MEAN": 44, "STRIDED_SLICE": 84, "LOGISTIC": 16, "TANH": 16, "MUL": 36, "SUB": 52,
        "REDUCE_MAX": 44, "QUANTIZE": 32, "DEQUANTIZE": 32, "SUM": 44, "REDUCE_MIN": 44,
        "REDUCE_ALL": 44, "PAD": 56, "PADV2": 56, "LEAKY_RELU": 24, "RELU": 28, "RELU6": 8,
        "PRELU": 28, "HARD_SWISH": 20, "ELU": 256, "DIV": 28, "SQUARED_DIFFERENCE": 112,
        "EQUAL": 32, "NOT_EQUAL": 32, "GREATER": 32, "GREATER_EQUAL": 32, "LESS": 32,
        "LESS_EQUAL": 32, "ABS": 28, "RSQRT": 28, "L2_NORMALIZATION": 4, "MIRROR_PAD": 20,
        "SPACE_TO_BATCH_ND": 4, "BATCH_MATMUL": 32, "SELECT_V2": 1, "TRANSPOSE_CONV": 88,
        "SVDF": 36, "UNIDIRECTIONAL_SEQUENCE_LSTM": 688,
        # The signal library's kernels (signal/micro/kernels/*.cc): their params structs.
        "CUSTOM:SignalWindow": 8, "CUSTOM:SignalEnergy": 8, "CUSTOM:SignalPCAN": 4,
        "CUSTOM:SignalFilterBankLog": 8, "CUSTOM:SignalFilterBank": 64,
        "CUSTOM:SignalFilterBankSpectralSubtraction": 56, "CUSTOM:SignalRfft": 48,
    }  # fmt: skip
    # The same for the i386 build (-m32) of tflite-micro 90b983c, plain MicroInterpreter.
    op_data_32 = {
        "CONV_2D": 56, "DEPTHWISE_CONV_2D": 56, "FULLY_CONNECTED": 48, "SOFTMAX": 56,
        "AVERAGE_POOL_2D": 32, "MAX_POOL_2D": 32, "ADD": 60, "CONCATENATION": 24,
        "MEAN": 44, "STRIDED_SLICE": 84, "LOGISTIC": 16, "TANH": 16, "MUL": 36, "SUB": 52,
        "REDUCE_MAX": 44, "QUANTIZE": 24, "DEQUANTIZE": 24, "SUM": 44, "REDUCE_MIN": 44,
    }  # fmt: skip
    return builtin, op_data_64, op_data_32


# Reference kernels with no Init() (or one that allocates nothing), on every ABI: tflite-micro
# kernels/*.cc register them with a null init, and the wheel allocates no op data for them.
NO_OP_DATA = frozenset(
    {
        "ADD_N", "ARG_MAX", "ARG_MIN", "BATCH_TO_SPACE_ND", "BROADCAST_ARGS", "BROADCAST_TO",
        "CAST", "CEIL", "COS", "CUMSUM", "DEPTH_TO_SPACE", "DYNAMIC_UPDATE_SLICE",
        "EMBEDDING_LOOKUP", "EXP", "EXPAND_DIMS", "FILL", "FLOOR", "FLOOR_DIV", "FLOOR_MOD",
        "GATHER", "GATHER_ND", "L2_POOL_2D", "LOG", "LOGICAL_AND", "LOGICAL_NOT", "LOGICAL_OR",
        "LOG_SOFTMAX", "MAXIMUM", "MINIMUM", "NEG", "PACK", "RESHAPE", "RESIZE_BILINEAR",
        "RESIZE_NEAREST_NEIGHBOR", "REVERSE_V2", "ROUND", "SHAPE", "SIN", "SLICE",
        "SPACE_TO_DEPTH", "SPLIT", "SPLIT_V", "SQRT", "SQUARE", "SQUEEZE", "TRANSPOSE", "UNPACK",
        "ZEROS_LIKE", "CUSTOM:SignalFftAutoScale", "CUSTOM:SignalFilterBankSquareRoot",
    }
)  # fmt: skip

_BUILTIN, _OP_DATA_64, _OP_DATA_32 = _profile_tables()

HOST = Profile(
    name="host",
    description="tflite-micro Python wheel on a 64-bit host: RecordingMicroInterpreter, "
    "compression support, reference kernels",
    pointer_bytes=8,
    creation=(
        (104, 8, "RecordingSingleArenaBufferAllocator"),
        (72, 8, "GreedyMemoryPlanner"),
        (272, 8, "RecordingMicroAllocator"),
    ),
    builtin_data_allocator=(16, 8),
    subgraph_allocations=(24, 8),
    eval_tensor=(24, 8),
    node_and_registration=(64, 8),
    scratch_handle=(8, 8),
    tflite_tensor=(64, 8),
    affine_quantization=(24, 8),
    builtin_params={**_BUILTIN, "FULLY_CONNECTED": (32, 8)},
    op_data=_OP_DATA_64,
)

REFERENCE_32 = Profile(
    name="ref32",
    description="tflite-micro built for i386 (-m32): plain MicroInterpreter, reference kernels",
    pointer_bytes=4,
    creation=(
        (36, 4, "SingleArenaBufferAllocator"),
        (44, 4, "GreedyMemoryPlanner"),
        (36, 4, "MicroAllocator"),
    ),
    builtin_data_allocator=(8, 4),
    subgraph_allocations=(8, 4),
    eval_tensor=(12, 4),
    node_and_registration=(32, 4),
    scratch_handle=(4, 4),
    tflite_tensor=(40, 4),
    affine_quantization=(12, 4),
    builtin_params={**_BUILTIN, "FULLY_CONNECTED": (16, 4)},
    op_data=_OP_DATA_32,
)

#: The esp-tflite-micro and esp-nn releases the "esp32" and "esp32s3" profiles were written from
#: and checked against (an i386 build of both, pinned in tests/data/esp_tflm_i386.json); the
#: firmware pins exactly these (firmware/main/idf_component.yml, checked by tests/test_firmware.py).
ESP_TFLITE_MICRO_VERSION = "1.3.8"
ESP_NN_VERSION = "1.1.2"
#: On how many corpus models (tests/data/corpus) each profile's head, tail and total equal that
#: 32-bit build: (equal, models the build allocates). tests/test_esp_arena.py recounts them.
ESP_BUILD_CHECK = {"esp32": (69, 69), "esp32s3": (69, 69)}

# Init() sizes in esp-tflite-micro 1.3.8 built for i386, read from its AllocatePersistentBuffer
# calls: the 32-bit table plus the kernels the corpus also uses. Its kernels/esp_nn/{conv,
# depthwise_conv,softmax}.cc allocate a NodeData: the reference op data plus `int buffer_idx`
# for the ESP-NN scratch buffer.
_OP_DATA_ESP_NN = {
    **_OP_DATA_32,
    "PAD": 56, "PADV2": 56, "LEAKY_RELU": 24, "SVDF": 36, "TRANSPOSE_CONV": 72,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": 672, "DIV": 28,
    "CUSTOM:SignalWindow": 8, "CUSTOM:SignalEnergy": 8, "CUSTOM:SignalPCAN": 4,
    "CUSTOM:SignalFilterBankLog": 8, "CUSTOM:SignalFilterBank": 36,
    "CUSTOM:SignalFilterBankSpectralSubtraction": 44, "CUSTOM:SignalRfft": 32,
    "CONV_2D": _OP_DATA_32["CONV_2D"] + 4,
    "DEPTHWISE_CONV_2D": _OP_DATA_32["DEPTHWISE_CONV_2D"] + 4,
    "SOFTMAX": _OP_DATA_32["SOFTMAX"] + 4,
}  # fmt: skip

ESP32 = Profile(
    **{
        **REFERENCE_32.__dict__,
        "name": "esp32",
        "description": f"ESP32 (32-bit Xtensa), esp-tflite-micro {ESP_TFLITE_MICRO_VERSION} "
        f"with ESP-NN {ESP_NN_VERSION} generic-optimised kernels (also ESP32-S2, -C3, -C6)",
        "op_data": _OP_DATA_ESP_NN,
        "esp_nn": "generic",
    }
)

ESP32S3 = Profile(
    **{
        **REFERENCE_32.__dict__,
        "name": "esp32s3",
        "description": f"ESP32-S3 (32-bit Xtensa), esp-tflite-micro {ESP_TFLITE_MICRO_VERSION} "
        f"with ESP-NN {ESP_NN_VERSION} kernels",
        "op_data": _OP_DATA_ESP_NN,
        "esp_nn": "esp32s3",
    }
)

PROFILES = {p.name: p for p in (HOST, REFERENCE_32, ESP32, ESP32S3)}


# ---------------------------------------------------------------------------------------------
# Kernel behaviour shared by the profiles: Prepare-time allocations and scratch requests.


def _tensor(model: Model, op: Operator, position: int):
    """The operator's input at `position`, or None when it is omitted or absent."""
    if position >= len(op.inputs) or op.inputs[position] < 0:
        return None
    return model.tensors[op.inputs[position]]


def _prepare_persistent(model: Model, op: Operator, pointer_bytes: int) -> list[tuple[int, str]]:
    """What a reference kernel's Prepare() asks AllocatePersistentBuffer for (16-aligned), in
    order: per-channel quantization arrays, int16 softmax lookup tables, writable output dims."""
    channel_arrays = {"CONV_2D": (1, 0), "DEPTHWISE_CONV_2D": (1, 3), "TRANSPOSE_CONV": (1, 0)}
    if op.op in channel_arrays:
        # conv_common.cc, depthwise_conv_common.cc, transpose_conv.cc: always, for every type.
        position, dim = channel_arrays[op.op]
        n = model.tensors[op.inputs[position]].shape[dim]
    elif op.op == "FULLY_CONNECTED":
        # fully_connected_common.cc: only a quantized filter with more than one scale.
        w = model.tensors[op.inputs[1]]
        if model.tensors[op.inputs[0]].dtype == "FLOAT32" or not (
            w.quantization and w.quantization.per_channel
        ):
            return []
        n = len(w.quantization.scales)
    elif op.op == "SOFTMAX":
        # softmax_common.cc InitializeLutForInt16: two int16 tables of LUTSize<int16_t>() = 513.
        if model.tensors[op.inputs[0]].dtype != "INT16":
            return []
        return [(2 * 513, "int16 exp lookup table"), (2 * 513, "int16 1/(1+x) lookup table")]
    elif op.op == "LOG_SOFTMAX":
        # log_softmax.cc: int8 only, LogSoftmaxOpData (five int32, two size_t).
        if model.tensors[op.inputs[0]].dtype != "INT8":
            return []
        return [(align_up(20, pointer_bytes) + 2 * pointer_bytes, "log-softmax op data")]
    elif op.op == "EMBEDDING_LOOKUP":
        # embedding_lookup.cc: OpData {float, size_t}, then the writable output dims.
        rank = len(model.tensors[op.outputs[0]].shape)
        return [
            (2 * pointer_bytes, "embedding lookup op data"),
            (4 + 4 * rank, "writable output dims"),
        ]
    elif op.op == "BATCH_MATMUL":
        # batch_matmul.cc InitializeTemporaries: a transposed copy of the left operand when
        # adj_x, of the right one unless adj_y (an eval tensor, its dims, its data); then
        # ReshapeOutputTensor's writable output dims. (int8/int16 also allocate quantization
        # data: not modelled.)
        copies = []
        for position, transposed in (
            (0, op.options.get("adj_x", False)),
            (1, not op.options.get("adj_y", False)),
        ):
            if transposed:
                t = model.tensors[op.inputs[position]]
                copies += [
                    (3 * pointer_bytes, "transposed operand eval tensor"),
                    (4 + 4 * len(t.shape), "transposed operand dims"),
                    (t.n_bytes, "transposed operand data"),
                ]
        rank = len(model.tensors[op.outputs[0]].shape)
        return copies + [(4 + 4 * rank, "writable output dims")]
    elif op.op in _WRITABLE_DIMS:
        # kernel_util.cc CreateWritableTensorDimsWithCopy: a TfLiteIntArray for the output dims.
        rank = len(model.tensors[op.outputs[0]].shape)
        return [(4 + 4 * rank, "writable output dims")]
    else:
        return []
    return [(4 * n, "per-channel output multipliers"), (4 * n, "per-channel output shifts")]


# Kernels whose Prepare() moves the output dims into the arena (gather.cc, gather_nd.cc,
# depth_to_space.cc, space_to_depth.cc, l2_pool_2d.cc, embedding_lookup.cc).
_WRITABLE_DIMS = frozenset(
    {"GATHER", "GATHER_ND", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "L2_POOL_2D"}
)


def _last_dim(tensor) -> int:
    """The innermost dimension (1 for a scalar)."""
    return tensor.shape[-1] if tensor.shape else 1


def _signal_init_buffers(model: Model, op: Operator, pointer_bytes: int) -> list[tuple[int, str]]:
    """What the signal library's Init() allocates after its params, from the sizes in the
    custom options, which TFLM's Prepare checks against the tensor shapes used here."""
    if op.op == "CUSTOM:SignalFilterBank":  # filter_bank.cc: (num_channels + 1) uint64
        return [(8 * (model.tensors[op.outputs[0]].n_elements + 1), "filter bank work area")]
    if op.op == "CUSTOM:SignalFilterBankSpectralSubtraction":  # one uint32 per channel
        return [(4 * model.tensors[op.inputs[0]].n_elements, "noise estimate")]
    if op.op == "CUSTOM:SignalRfft":
        # rfft.cc: RfftInt16GetNeededMemory(fft_length) = kiss_fftr_alloc's size for int16:
        # the fftr state (3 pointers), the complex FFT of fft_length / 2 points (nfft,
        # inverse, 64 factors, its twiddles) and 3/2 x fft_length / 2 super twiddles and tmp.
        half = max(_last_dim(model.tensors[op.outputs[0]]) - 2, 0) // 2
        state = 3 * pointer_bytes + (4 + 4 + 4 * 64 + 4 * half) + 4 * (half * 3 // 2)
        return [(state, "FFT state")]
    return []


def _reference_scratch(model: Model, op: Operator, pointer_bytes: int) -> list[tuple[int, str]]:
    """Scratch buffers the reference kernels request in Prepare(), in request order."""
    if op.op in ("MEAN", "SUM"):  # reduce_common.cc
        x, axis, out = (model.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
        requests = []
        if x.dtype in ("INT8", "INT16"):
            requests.append((4 * out.n_elements, "reduce accumulator"))
        requests += [(4 * len(x.shape), "reduce input iterator"), (4 * axis.n_elements, "axes")]
        return requests
    if op.op in ("REDUCE_MAX", "REDUCE_MIN"):
        x, axis = model.tensors[op.inputs[0]], model.tensors[op.inputs[1]]
        return [(4 * len(x.shape), "reduce input iterator"), (4 * axis.n_elements, "axes")]
    if op.op == "TRANSPOSE_CONV":  # transpose_conv.cc: int32 or int64 accumulators
        x, out = model.tensors[op.inputs[2]], model.tensors[op.outputs[0]]
        requests = []
        if x.dtype == "INT8":
            requests.append((4 * out.n_elements, "int32 accumulators"))
        elif x.dtype == "INT16":
            requests.append((8 * out.n_elements, "int64 accumulators"))
            bias = _tensor(model, op, 3)
            if bias is not None and bias.dtype == "INT16":
                requests.append((8 * bias.n_elements, "int64 bias"))
        return requests
    if op.op == "SVDF":  # svdf_common.cc
        x, w = model.tensors[op.inputs[0]], model.tensors[op.inputs[1]]
        batch, filters = x.shape[0], w.shape[0]
        rank = op.options.get("rank", 1)
        requests = [(4 * batch * filters, "SVDF state products")]
        if x.dtype == "INT8":
            requests.append((4 * batch * (filters // rank), "SVDF output accumulators"))
        return requests
    if op.op == "UNIDIRECTIONAL_SEQUENCE_LSTM":  # unidirectional_sequence_lstm.cc: four buffers
        x, state, cell = (model.tensors[op.inputs[i]] for i in (0, 18, 19))
        batch = x.shape[1] if op.options.get("time_major") else x.shape[0]
        size = batch * state.shape[-1] * (4 if cell.dtype == "FLOAT32" else 2)
        return [(size, f"LSTM gate buffer {i + 1}") for i in range(4)]
    if op.op == "MIRROR_PAD":  # mirror_pad.cc
        rank = len(model.tensors[op.inputs[0]].shape)
        return [(4 * rank, "output dims element counts"), (4 * rank, "input dims element counts")]
    if op.op == "CUSTOM:SignalRfft":  # rfft.cc: fft_length samples of the input type
        x = model.tensors[op.inputs[0]]
        fft_length = max(_last_dim(model.tensors[op.outputs[0]]) - 2, 0)
        return [(fft_length * (2 if x.dtype == "INT16" else 4), "FFT input buffer")]
    if op.op == "ADD_N" and model.tensors[op.outputs[0]].dtype == "FLOAT32":  # add_n.cc
        return [(pointer_bytes * len(op.inputs), "input pointers")]
    return []


def _conv_padding(op: Operator, model: Model) -> tuple[int, int]:
    """TFLM's ComputePaddingHeightWidth for SAME padding (VALID gives 0)."""
    if op.options.get("padding") != "SAME":
        return 0, 0
    x, out = model.tensors[op.inputs[0]], model.tensors[op.outputs[0]]
    w = model.tensors[op.inputs[1]]
    kh, kw = (w.shape[1], w.shape[2])
    sh, sw = op.options.get("stride", (1, 1))
    dh, dw = op.options.get("dilation", (1, 1))
    pads = []
    for in_size, out_size, k, s, d in (
        (x.shape[1], out.shape[1], kh, sh, dh),
        (x.shape[2], out.shape[2], kw, sw, dw),
    ):
        effective = (k - 1) * d + 1
        total = max((out_size - 1) * s + effective - in_size, 0)
        pads.append(total // 2)
    return pads[0], pads[1]


def esp_nn_scratch(model: Model, op: Operator, target: str = "esp32s3") -> list[tuple[int, str]]:
    """Scratch bytes the ESP-NN kernels of esp-tflite-micro ask for on `target`.

    Requested from Prepare in esp-tflite-micro v1.3 tensorflow/lite/micro/kernels/esp_nn/
    {conv,depthwise_conv}.cc for int8 inputs, softmax.cc for int8 in and out, only when the size
    is above 0. Sizes from esp-nn v1.1.2: on the ESP32-S3 `esp_nn_get_conv_scratch_size_esp32s3`
    (src/convolution/esp_nn_conv_esp32s3.c), `esp_nn_get_depthwise_conv_scratch_size_esp32s3`
    (src/convolution/esp_nn_depthwise_conv_s8_esp32s3.c); on the other targets ("generic") the
    `_opt` conv and depthwise functions return 0. Softmax on both: `esp_nn_get_softmax_scratch_
    size_opt` (src/softmax/esp_nn_softmax_opt.c). Fully connected, pooling, add and mul request
    none. tests/data/esp_tflm_i386.json pins what these functions return, compiled for the host.
    """
    # Only these three have an input to look at: VAR_HANDLE or CALL_ONCE have none.
    if op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "SOFTMAX"):
        return []
    x = model.tensors[op.inputs[0]]
    if x.dtype != "INT8":
        return []
    if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D") and target != "esp32s3":
        return []
    if op.op == "CONV_2D":
        out, w = model.tensors[op.outputs[0]], model.tensors[op.inputs[1]]
        in_h, in_w, in_ch = x.shape[1], x.shape[2], x.shape[3]
        k_h, k_w, out_ch = w.shape[1], w.shape[2], out.shape[3]
        pad_h, pad_w = _conv_padding(op, model)
        stride = op.options.get("stride", (1, 1))
        if (k_w, k_h, pad_w, pad_h) == (1, 1, 0, 0) and stride == (1, 1):
            ch8 = (in_ch + 7) & ~7
            transpose = 0 if in_w * in_h < 8 else 2 * 8 * ch8
            inp = in_w * in_h * ch8 if in_ch % 8 else 0
            size = inp + ch8 * out_ch + transpose + 32
        else:
            ch16 = (in_ch + 15) & ~15
            inp = 0 if (pad_w, pad_h) == (0, 0) else (in_w + 2 * pad_w) * (in_h + 2 * pad_h) * in_ch
            size = inp + k_w * k_h * ch16 * out_ch + 32 + 4 * out_ch
        return [(size, "ESP-NN conv scratch")] if size > 0 else []
    if op.op == "DEPTHWISE_CONV_2D":
        out, w = model.tensors[op.outputs[0]], model.tensors[op.inputs[1]]
        in_h, in_w, ch = x.shape[1], x.shape[2], x.shape[3]
        k_h, k_w = w.shape[1], w.shape[2]
        mult = out.shape[3] // ch
        pad_h, pad_w = _conv_padding(op, model)
        sh, sw = op.options.get("stride", (1, 1))
        filter_size = k_w * k_h * ch * mult
        if mult == 1 and ch % 8 == 0 and (k_w, k_h) == (3, 3):
            if ch % 16 == 0:
                if pad_w or pad_h:
                    pw, ph = 2 * pad_w, 2 * pad_h
                else:
                    pw = out.shape[2] * sw + k_w - 1 - in_w
                    ph = out.shape[1] * sh + k_h - 1 - in_h
                if pw or ph:
                    size = filter_size + (in_w + pw) * (in_h + ph) * ch + 16
                else:
                    size = filter_size + 16
            else:
                size = 2 * (filter_size + in_w * in_h * ch) + 16
        elif mult % 4 == 0:
            size = 2 * (filter_size + in_w * in_h * ch) + 16
        else:
            size = 32
        return [(size, "ESP-NN depthwise scratch")]
    if op.op == "SOFTMAX" and model.tensors[op.outputs[0]].dtype == "INT8":
        # esp_nn_get_softmax_scratch_size_opt(width, height) = width * 4, width = dims[1].
        width = x.shape[1] if len(x.shape) > 1 else 1
        return [(4 * width, "ESP-NN softmax scratch")]
    return []


# Kernels whose Prepare() allocates what the functions above do not describe (resource
# variables, control flow, batch matmul's transposed copies, op data allocated in Prepare).
_PREPARE_UNMODELLED = frozenset(
    {
        "ASSIGN_VARIABLE", "CALL_ONCE", "IF", "READ_VARIABLE", "VAR_HANDLE", "WHILE",
    }
)  # fmt: skip


# The input whose type selects a kernel's code path, where it is not input 0.
_DATA_INPUT = {"TRANSPOSE_CONV": 2, "EMBEDDING_LOOKUP": 1, "FILL": 1, "SELECT_V2": 1, "SPLIT": 1}


def op_variant(model: Model, op: Operator) -> str:
    """The operator and the variant its allocations depend on, e.g. "SOFTMAX int16" or
    "FULLY_CONNECTED int8 per-channel": the keys of the coverage tables below."""
    position = _DATA_INPUT.get(op.op, 0)
    index = op.inputs[position] if position < len(op.inputs) else -1
    x = model.tensors[index] if index >= 0 else model.tensors[op.outputs[0]] if op.outputs else None
    variant = f"{op.op} {x.dtype.lower()}" if x is not None else op.op
    if op.op == "FULLY_CONNECTED":
        w = model.tensors[op.inputs[1]]
        if w.quantization and w.quantization.per_channel:
            variant += " per-channel"
    return variant


# Operator variants whose host allocations equal the tflite_micro wheel's on at least one model
# where every operator is modelled: derived from the public models in tests/data/corpus/
# (checked by tests/test_corpus.py, which recomputes this set) and from the test graphs of
# tests/graphs.py (checked by tests/test_memory.py), and the one-operator models of
# tests/synthetic.py (tests/test_kernels.py). A plan is exact only when all its operators are
# here.
COVERED_CORPUS = frozenset(
    {
        "ADD float32",
        "ADD int16",
        "ADD int32",
        "ADD int8",
        "AVERAGE_POOL_2D float32",
        "AVERAGE_POOL_2D int8",
        "CAST int16",
        "CAST int32",
        "CAST uint32",
        "CONCATENATION int32",
        "CONCATENATION int8",
        "CONV_2D float32",
        "CONV_2D int16",
        "CONV_2D int8",
        "CUSTOM:SignalEnergy int16",
        "CUSTOM:SignalFftAutoScale int16",
        "CUSTOM:SignalFilterBank uint32",
        "CUSTOM:SignalFilterBankLog uint32",
        "CUSTOM:SignalFilterBankSpectralSubtraction uint32",
        "CUSTOM:SignalFilterBankSquareRoot uint64",
        "CUSTOM:SignalPCAN uint32",
        "CUSTOM:SignalRfft int16",
        "CUSTOM:SignalWindow int16",
        "DEPTHWISE_CONV_2D float32",
        "DEPTHWISE_CONV_2D int8",
        "DEQUANTIZE int8",
        "DIV int32",
        "FULLY_CONNECTED float32",
        "FULLY_CONNECTED int8",
        "LEAKY_RELU int16",
        "LOGISTIC int8",
        "MAXIMUM int32",
        "MAX_POOL_2D int8",
        "MEAN int8",
        "MINIMUM int32",
        "MUL float32",
        "MUL int32",
        "MUL int8",
        "PACK int32",
        "PAD int16",
        "PAD int8",
        "PADV2 int8",
        "QUANTIZE float32",
        "QUANTIZE int16",
        "QUANTIZE int32",
        "QUANTIZE int8",
        "RESHAPE float32",
        "RESHAPE int16",
        "RESHAPE int8",
        "RESIZE_NEAREST_NEIGHBOR int8",
        "SHAPE int8",
        "SOFTMAX float32",
        "SOFTMAX int8",
        "SPLIT_V int8",
        "STRIDED_SLICE int16",
        "STRIDED_SLICE int32",
        "STRIDED_SLICE int8",
        "SUB int16",
        "SUB int8",
        "SVDF int8",
        "TRANSPOSE int8",
        "TRANSPOSE_CONV int16",
        "UNIDIRECTIONAL_SEQUENCE_LSTM float32",
        "UNIDIRECTIONAL_SEQUENCE_LSTM int8",
    }
)
COVERED_GRAPHS = frozenset(
    {
        "ADD float32",
        "ADD int8",
        "AVERAGE_POOL_2D float32",
        "AVERAGE_POOL_2D int8",
        "CONCATENATION float32",
        "CONCATENATION int8",
        "CONV_2D float32",
        "CONV_2D int8",
        "DEPTHWISE_CONV_2D float32",
        "DEPTHWISE_CONV_2D int8",
        "DEQUANTIZE int8",
        "EXPAND_DIMS float32",
        "EXPAND_DIMS int8",
        "FULLY_CONNECTED float32",
        "FULLY_CONNECTED int8 per-channel",
        "LOGISTIC float32",
        "LOGISTIC int8",
        "MAX_POOL_2D float32",
        "MAX_POOL_2D int8",
        "MEAN float32",
        "MEAN int8",
        "MUL float32",
        "MUL int8",
        "PACK int32",
        "QUANTIZE float32",
        "REDUCE_MAX float32",
        "REDUCE_MAX int8",
        "RESHAPE float32",
        "RESHAPE int8",
        "SHAPE float32",
        "SHAPE int8",
        "SOFTMAX float32",
        "SOFTMAX int8",
        "STRIDED_SLICE int32",
        "SUB float32",
        "SUB int8",
        "TANH float32",
        "TANH int8",
    }
)
COVERED_KERNELS = frozenset(
    {
        "ABS float32",
        "ABS int16",
        "ABS int8",
        "ADD float32",
        "ADD int8",
        "ADD_N float32",
        "ARG_MAX float32",
        "ARG_MIN int8",
        "BATCH_MATMUL float32",
        "BATCH_TO_SPACE_ND float32",
        "BROADCAST_TO float32",
        "CAST float32",
        "CAST int8",
        "CEIL float32",
        "COS float32",
        "CUMSUM float32",
        "DEQUANTIZE int16",
        "DIV float32",
        "DIV int8",
        "ELU float32",
        "ELU int8",
        "EMBEDDING_LOOKUP float32",
        "EQUAL float32",
        "EQUAL int8",
        "EXP float32",
        "EXPAND_DIMS float32",
        "FILL float32",
        "FLOOR float32",
        "FLOOR_DIV float32",
        "FLOOR_MOD float32",
        "GATHER float32",
        "GATHER int8",
        "GATHER_ND float32",
        "GREATER float32",
        "GREATER int8",
        "GREATER_EQUAL float32",
        "GREATER_EQUAL int8",
        "HARD_SWISH float32",
        "HARD_SWISH int8",
        "L2_NORMALIZATION float32",
        "L2_NORMALIZATION int8",
        "LEAKY_RELU float32",
        "LEAKY_RELU int8",
        "LESS float32",
        "LESS int8",
        "LESS_EQUAL float32",
        "LESS_EQUAL int8",
        "LOG float32",
        "LOGICAL_AND bool",
        "LOGICAL_NOT bool",
        "LOGICAL_OR bool",
        "LOGISTIC float32",
        "LOGISTIC int16",
        "LOGISTIC int8",
        "LOG_SOFTMAX float32",
        "LOG_SOFTMAX int8",
        "MAXIMUM float32",
        "MAXIMUM int8",
        "MINIMUM float32",
        "MINIMUM int8",
        "MIRROR_PAD float32",
        "MUL float32",
        "MUL int8",
        "NEG float32",
        "NOT_EQUAL float32",
        "NOT_EQUAL int8",
        "PAD float32",
        "PRELU float32",
        "PRELU int8",
        "QUANTIZE float32",
        "REDUCE_MIN int8",
        "RELU float32",
        "RELU int16",
        "RELU int8",
        "RELU6 float32",
        "RELU6 int8",
        "RESIZE_BILINEAR float32",
        "RESIZE_NEAREST_NEIGHBOR float32",
        "REVERSE_V2 float32",
        "ROUND float32",
        "RSQRT float32",
        "RSQRT int8",
        "SELECT_V2 float32",
        "SIN float32",
        "SLICE float32",
        "SOFTMAX float32",
        "SOFTMAX int16",
        "SPACE_TO_BATCH_ND float32",
        "SPLIT float32",
        "SQRT float32",
        "SQUARE float32",
        "SQUARED_DIFFERENCE float32",
        "SQUARED_DIFFERENCE int8",
        "SQUEEZE float32",
        "SUB float32",
        "SUB int8",
        "SUM float32",
        "TANH float32",
        "TANH int16",
        "TANH int8",
        "TRANSPOSE float32",
        "UNPACK float32",
        "ZEROS_LIKE float32",
    }
)
COVERED = COVERED_CORPUS | COVERED_GRAPHS | COVERED_KERNELS


def unverified_ops(model: Model) -> tuple[str, ...]:
    """Operator variants of `model` that no test has checked against TFLM."""
    return tuple(sorted({op_variant(model, op) for op in model.operators} - COVERED))


def unmodelled_ops(model: Model, profile: Profile) -> tuple[str, ...]:
    """Operators of `model` whose allocations `profile` does not describe completely."""
    missing = set()
    for op in model.operators:
        if op.op in _PREPARE_UNMODELLED:
            missing.add(op.op)
        elif op.op == "CUSTOM:SignalRfft" and model.tensors[op.inputs[0]].dtype != "INT16":
            missing.add(op.op)  # the float and int32 FFT states have other sizes
        elif op.op not in profile.op_data and op.op not in NO_OP_DATA:
            missing.add(op.op)
        elif (
            op.op in ("ADD_N", "CUMSUM", "BATCH_MATMUL")
            and model.tensors[op.outputs[0]].dtype != "FLOAT32"
        ):
            missing.add(op.op)  # their int8/int16 Prepare allocates op data not modelled
    return tuple(sorted(missing))


# ---------------------------------------------------------------------------------------------
# The plan.


@dataclass(frozen=True)
class HeadBuffer:
    """One buffer the greedy planner places in the head."""

    kind: str  # "tensor" or "scratch"
    index: int  # tensor index, or the operator index for a scratch buffer
    name: str
    n_bytes: int
    first_scope: int  # allocation scopes: 0 = graph inputs, op i runs in scope i + 1
    last_scope: int
    offset: int = 0
    offline_offset: int = -1  # the file's offline plan places it here; -1: the greedy planner

    @property
    def aligned_bytes(self) -> int:
        """Bytes the planner reserves (rounded up to 16)."""
        return align_up(self.n_bytes)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "kind": self.kind,
            "index": self.index,
            "name": self.name,
            "bytes": self.n_bytes,
            "aligned_bytes": self.aligned_bytes,
            "first_op": self.first_scope - 1,
            "last_op": self.last_scope - 1,
            "offset": self.offset,
        }


@dataclass(frozen=True)
class TailItem:
    """One persistent allocation in the tail, in TFLM's order."""

    what: str
    n_bytes: int
    alignment: int
    op: int | None = None  # the operator it belongs to, if any
    used_bytes: int = 0  # with the alignment padding it caused

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "what": self.what,
            "bytes": self.n_bytes,
            "used_bytes": self.used_bytes,
            "op": self.op,
        }


@dataclass(frozen=True)
class OpMemory:
    """Head use while one operator runs."""

    index: int
    op: str
    live_bytes: int  # sum of the live buffers, 16-aligned
    top_bytes: int  # highest end offset among live buffers: the head this op needs
    live: tuple[str, ...]  # names of the live buffers, largest first
    scratch_bytes: int = 0  # the part of live_bytes that is kernel scratch (16-aligned)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "index": self.index,
            "op": self.op,
            "live_bytes": self.live_bytes,
            "top_bytes": self.top_bytes,
            "scratch_bytes": self.scratch_bytes,
            "live": list(self.live),
        }


@dataclass(frozen=True)
class ArenaPlan:
    """A model's arena under one profile: head layout, tail items, timeline."""

    profile: str
    pointer_bytes: int
    head: tuple[HeadBuffer, ...]
    tail: tuple[TailItem, ...]
    timeline: tuple[OpMemory, ...]
    unmodelled_ops: tuple[str, ...] = field(default=())
    caveats: tuple[str, ...] = field(default=())  # model features the planner does not follow
    unverified_ops: tuple[str, ...] = field(default=())  # modelled, but checked by no test

    @property
    def head_bytes(self) -> int:
        """Non-persistent bytes: the greedy plan's high-water mark."""
        return max((b.offset + b.aligned_bytes for b in self.head), default=0)

    @property
    def tail_bytes(self) -> int:
        """Persistent bytes, alignment padding included."""
        return sum(t.used_bytes for t in self.tail)

    @property
    def total_bytes(self) -> int:
        """What `arena_used_bytes()` reports."""
        return self.head_bytes + self.tail_bytes

    @property
    def exact(self) -> bool:
        """True when every operator's allocations are modelled and checked against TFLM by a
        test, and no caveat applies."""
        return self.bound == "exact"

    @property
    def bound(self) -> str:
        """ "exact"; "unverified" (every allocation modelled from TFLM's kernels, some operator
        variants checked by no test); or "lower" (some operator allocates what is not modelled,
        which only adds to the arena, or a caveat applies)."""
        if self.unmodelled_ops or self.caveats:
            return "lower"
        return "unverified" if self.unverified_ops else "exact"

    @property
    def peak_op(self) -> OpMemory | None:
        """The first operator with the most live head bytes (the head's high-water mark can
        sit higher when the greedy layout leaves holes)."""
        if not self.timeline:
            return None
        most = max(m.live_bytes for m in self.timeline)
        return next(m for m in self.timeline if m.live_bytes == most)

    def tail_by_kind(self) -> dict[str, int]:
        """Tail bytes grouped by what they are, alignment padding included."""
        groups: dict[str, int] = {}
        for item in self.tail:
            groups[item.what] = groups.get(item.what, 0) + item.used_bytes
        return groups


def lifetimes(model: Model, scratch: list[list[tuple[int, str]]]) -> list[HeadBuffer]:
    """Return the head buffers with TFLM's lifetimes, in the order they reach the planner.

    Follows AllocationInfoBuilder::MarkAllocationLifetimes (micro_allocation_info.cc): graph
    inputs live from scope 0, op i runs in scope i + 1, outputs of the graph live to the end;
    constants, variables and empty tensors are not planned.
    """
    n_tensors = len(model.tensors)
    first = [-1] * n_tensors
    last = [-1] * n_tensors
    scope = 0
    for t in model.inputs:
        if first[t] == -1:
            first[t] = scope
        last[t] = scope
    scratch_scopes = []
    for op in model.operators:
        scope += 1
        for t in op.outputs:
            if first[t] == -1:
                first[t] = scope
        for t in op.inputs:
            if t >= 0:
                last[t] = scope
        for t in op.outputs:
            last[t] = scope
        scratch_scopes.append(scope)
    for t in model.outputs:
        if first[t] == -1:
            first[t] = scope
        last[t] = scope

    offline = model.offline_offsets or (-1,) * n_tensors
    buffers = [
        HeadBuffer(
            "tensor",
            t.index,
            t.name,
            t.n_bytes,
            first[t.index],
            last[t.index],
            offline_offset=offline[t.index],
        )
        for t in model.tensors
        # An offline-planned variable tensor is placed in the head like the others.
        if not t.is_constant and (not t.is_variable or offline[t.index] != -1) and t.n_bytes != 0
    ]
    for op, requests in zip(model.operators, scratch, strict=True):
        s = scratch_scopes[op.index]
        buffers += [
            HeadBuffer("scratch", op.index, f"{what} (op {op.index} {op.op})", n, s, s)
            for n, what in requests
        ]
    return buffers


def greedy_offsets(buffers: list[HeadBuffer]) -> list[int]:
    """Place buffers like TFLM's GreedyMemoryPlanner::CalculateOffsetsIfNeeded; return offsets.

    Buffers are taken largest first; ties keep TFLM's order (the later-added buffer first,
    because the planner fills its sort array from the back and bubble-sorts it). Each goes into
    the first gap, scanning live buffers by offset, that is large enough.
    """
    count = len(buffers)
    if count == 0:
        return []
    sizes = [b.aligned_bytes for b in buffers]
    # Offline-planned buffers first, in the order they were added, at their offsets.
    fixed = [i for i in range(count) if buffers[i].offline_offset != -1]
    online = [i for i in range(count) if buffers[i].offline_offset == -1]
    order = fixed + sorted(online, key=lambda i: (-sizes[i], -i))
    offsets = [-1] * count
    placed: list[int] = []  # buffer indices sorted by offset (ties: insertion order)
    for i in order:
        if buffers[i].offline_offset != -1:
            candidate = buffers[i].offline_offset
        else:
            candidate = _first_fit(buffers, sizes, offsets, placed, i)
        offsets[i] = candidate
        # Keep `placed` sorted by offset; an equal offset goes after the existing entries.
        pos = len(placed)
        for k, j in enumerate(placed):
            if offsets[j] > candidate:
                pos = k
                break
        placed.insert(pos, i)
    return offsets


def _first_fit(
    buffers: list[HeadBuffer], sizes: list[int], offsets: list[int], placed: list[int], i: int
) -> int:
    """The lowest offset where buffer i fits between the placed buffers alive with it."""
    lo, hi = buffers[i].first_scope, buffers[i].last_scope
    candidate = 0
    for j in placed:
        other = buffers[j]
        if other.first_scope > hi or lo > other.last_scope:
            continue
        if offsets[j] - candidate >= sizes[i]:
            break
        candidate = max(candidate, offsets[j] + sizes[j])
    return candidate


def plan_arena(model: Model, profile: Profile = HOST) -> ArenaPlan:
    """Plan `model`'s arena as the TFLM build described by `profile` would."""
    scratch = []
    for op in model.operators:
        requests = _reference_scratch(model, op, profile.pointer_bytes)
        if profile.esp_nn:
            requests = esp_nn_scratch(model, op, profile.esp_nn) + requests
        scratch.append(requests)
    buffers = lifetimes(model, scratch)
    offsets = greedy_offsets(buffers)
    head = tuple(
        HeadBuffer(b.kind, b.index, b.name, b.n_bytes, b.first_scope, b.last_scope, off)
        for b, off in zip(buffers, offsets, strict=True)
    )
    n_scratch = sum(len(r) for r in scratch)
    return ArenaPlan(
        profile=profile.name,
        pointer_bytes=profile.pointer_bytes,
        head=head,
        tail=_tail(model, profile, n_scratch),
        timeline=_timeline(model, head),
        unmodelled_ops=unmodelled_ops(model, profile),
        caveats=_caveats(model),
        unverified_ops=unverified_ops(model),
    )


def _caveats(model: Model) -> tuple[str, ...]:
    """What in the file makes TFLM plan differently from what tinyreport reproduces."""
    caveats = []
    if model.n_subgraphs > 1:
        caveats.append(f"{model.n_subgraphs} subgraphs: only the main subgraph is planned")
    if model.has_compression_metadata:
        caveats.append("compressed tensors: their decompression buffers are not modelled")
    return tuple(caveats)


def _tail(model: Model, profile: Profile, n_scratch: int) -> tuple[TailItem, ...]:
    """List the persistent allocations in TFLM's order, then lay them out top-down."""
    items: list[tuple[int, int, str, int | None]] = []

    def add(n: int, align: int, what: str, op: int | None = None) -> None:
        items.append((n, align, what, op))

    for n, align, what in profile.creation:
        add(n, align, what)
    add(*profile.builtin_data_allocator, "MicroBuiltinDataAllocator")
    add(*profile.subgraph_allocations, "SubgraphAllocations")
    size, align = profile.eval_tensor
    add(size * len(model.tensors), align, "TfLiteEvalTensor array")
    size, align = profile.node_and_registration
    add(size * len(model.operators), align, "NodeAndRegistration array")
    # MicroInterpreter::PrepareNodeAndRegistrationDataFromFlatbuffer: builtin params per op.
    for op in model.operators:
        if op.op in profile.builtin_params:
            add(*profile.builtin_params[op.op], "builtin params", op.index)
    # MicroInterpreterGraph::InitSubgraphs: each kernel's Init() op data.
    for op in model.operators:
        if op.op in profile.op_data:
            add(profile.op_data[op.op], ALIGNMENT, "kernel op data", op.index)
            for n, what in _signal_init_buffers(model, op, profile.pointer_bytes):
                add(n, ALIGNMENT, what, op.index)
    # MicroInterpreterGraph::PrepareSubgraphs: what each kernel's Prepare() keeps.
    for op in model.operators:
        for n, what in _prepare_persistent(model, op, profile.pointer_bytes):
            add(n, ALIGNMENT, what, op.index)
    if n_scratch:
        size, align = profile.scratch_handle
        add(size * n_scratch, align, "ScratchBufferHandle array")
    for t in model.tensors:
        if t.is_variable:
            add(t.n_bytes, ALIGNMENT, "variable tensor")
    # MicroInterpreter::AllocateTensors: persistent TfLiteTensors for graph inputs and outputs.
    for group, what in ((model.inputs, "input"), (model.outputs, "output")):
        add(profile.pointer_bytes * len(group), ALIGNMENT, f"{what} tensor pointers")
        for index in group:
            tensor = model.tensors[index]
            add(*profile.tflite_tensor, f"persistent {what} TfLiteTensor")
            if tensor.quantization is not None:
                add(*profile.affine_quantization, f"{what} quantization")
                channels = len(tensor.quantization.scales)
                add(4 + 4 * channels, 4, f"{what} zero points")

    # SingleArenaBufferAllocator::AllocatePersistentBuffer: tail = AlignDown(tail - size, a).
    # The arena end is 16-aligned, so a relative pointer reproduces the padding exactly.
    pointer = 0
    laid_out = []
    for n, align, what, op in items:
        new = ((pointer - n) // align) * align
        laid_out.append(TailItem(what, n, align, op, pointer - new))
        pointer = new
    return tuple(laid_out)


def _timeline(model: Model, head: tuple[HeadBuffer, ...]) -> tuple[OpMemory, ...]:
    """Live head buffers at each operator."""
    timeline = []
    for op in model.operators:
        scope = op.index + 1
        live = [b for b in head if b.first_scope <= scope <= b.last_scope]
        live.sort(key=lambda b: (-b.aligned_bytes, b.index))
        timeline.append(
            OpMemory(
                index=op.index,
                op=op.op,
                live_bytes=sum(b.aligned_bytes for b in live),
                top_bytes=max((b.offset + b.aligned_bytes for b in live), default=0),
                live=tuple(b.name for b in live),
                scratch_bytes=sum(b.aligned_bytes for b in live if b.kind == "scratch"),
            )
        )
    return tuple(timeline)
