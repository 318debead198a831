"""The arena planner: head and tail to the byte against TFLM, on 64-bit and 32-bit builds."""

from __future__ import annotations

import struct

import pytest
from graphs import BUILDERS, built, host_truth
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyreport.analysis.arena import (
    COVERED_GRAPHS,
    ESP32S3,
    HOST,
    REFERENCE_32,
    HeadBuffer,
    align_up,
    greedy_offsets,
    op_variant,
    plan_arena,
)
from tinyreport.analysis.tflite_reader import read_model

KEYS = [f"{name}_{kind}" for name in BUILDERS for kind in ("float", "int8")] + ["mnist_mlp_floatio"]

# arena_used_bytes() of a plain tflite::MicroInterpreter from tflite-micro commit 90b983c
# (Aug 2026) built with `make ... CXX_TOOL='g++ -m32' CC_TOOL='gcc -m32' BUILD_TYPE=release
# microlite` (Debian g++-multilib) and run on tests/graphs.py's models; head/tail split from
# tracing every SingleArenaBufferAllocator::AllocatePersistentBuffer call of the same run.
# (head, tail, total). Measured 2026-11-23; regenerate if tests/graphs.py changes.
I386 = {
    "mnist_mlp_float": (6288, 1128, 7416),
    "mnist_mlp_int8": (1584, 2796, 4380),
    "mnist_cnn_float": (27040, 2104, 29144),
    "mnist_cnn_int8": (6768, 2492, 9260),
    "branches_float": (17200, 1704, 18904),
    "branches_int8": (4320, 1804, 6124),
    "residual_float": (21632, 2008, 23640),
    "residual_int8": (5440, 2076, 7516),
    "depthwise_float": (9072, 1656, 10728),
    "depthwise_int8": (2288, 1756, 4044),
    "conv1d_float": (2176, 1608, 3784),
    "conv1d_int8": (544, 1676, 2220),
    "pooling_odd_float": (5488, 1320, 6808),
    "pooling_odd_int8": (1376, 1708, 3084),
    "elementwise_float": (5760, 1016, 6776),
    "elementwise_int8": (1472, 1084, 2556),
    "mnist_mlp_floatio": (3920, 2920, 6840),
}


@pytest.mark.slow
@pytest.mark.parametrize("key", KEYS)
def test_host_plan_equals_tflm(key):
    """Head, tail and total equal what tflite_micro's RecordingMicroAllocator reports."""
    plan = plan_arena(read_model(built()[key]), HOST)
    truth = host_truth(key)
    assert (plan.head_bytes, plan.tail_bytes, plan.total_bytes) == (
        truth.head_bytes,
        truth.tail_bytes,
        truth.total_bytes,
    )
    assert plan.exact


@pytest.mark.slow
def test_graph_coverage_table_is_what_the_graphs_prove():
    """COVERED_GRAPHS is exactly the operator variants of the test graphs, every one of which
    equals TFLM (test_host_plan_equals_tflm)."""
    proven = set()
    for key in KEYS:
        model = read_model(built()[key])
        plan, truth = plan_arena(model, HOST), host_truth(key)
        if (plan.head_bytes, plan.tail_bytes) == (truth.head_bytes, truth.tail_bytes):
            proven |= {op_variant(model, op) for op in model.operators}
    assert proven == set(COVERED_GRAPHS)


@pytest.mark.slow
@pytest.mark.parametrize("key", ["mnist_mlp_int8", "mnist_cnn_int8", "residual_float"])
def test_host_tail_items_match_tflm_records(key):
    """The eval-tensor and node arrays and persistent tensors match TFLM's own records."""
    plan = plan_arena(read_model(built()[key]), HOST)
    records = host_truth(key).records
    kinds = plan.tail_by_kind()
    assert kinds["TfLiteEvalTensor array"] == records["TfLiteEvalTensor data"]
    assert kinds["NodeAndRegistration array"] == records["NodeAndRegistration struct"]
    persistent = kinds["persistent input TfLiteTensor"] + kinds["persistent output TfLiteTensor"]
    assert persistent == records["Persistent TfLiteTensor data"]


@pytest.mark.slow
@pytest.mark.parametrize("key", KEYS)
def test_32bit_plan_equals_i386_tflm(key):
    plan = plan_arena(read_model(built()[key]), REFERENCE_32)
    assert (plan.head_bytes, plan.tail_bytes, plan.total_bytes) == I386[key]


@pytest.mark.slow
@pytest.mark.parametrize("key", KEYS)
def test_heads_do_not_depend_on_pointer_width(key):
    """Measured, not planned: the i386 TFLM head (pinned above) equals the 64-bit wheel's."""
    assert I386[key][0] == host_truth(key).head_bytes


@pytest.mark.slow
def test_esp_nn_adds_scratch_for_int8_conv_and_softmax_only():
    mlp = read_model(built()["mnist_mlp_int8"])
    scratch = [b for b in plan_arena(mlp, ESP32S3).head if b.kind == "scratch"]
    # esp_nn_get_softmax_scratch_size_opt: 4 bytes per logit.
    assert [(b.name.split(" (")[0], b.n_bytes) for b in scratch] == [("ESP-NN softmax scratch", 40)]
    cnn = read_model(built()["mnist_cnn_int8"])
    conv = [b.n_bytes for b in plan_arena(cnn, ESP32S3).head if "conv scratch" in b.name]
    # 3x3 valid convs: 3*3*align16(in_ch)*out_ch + 32 alignment + 4*out_ch offsets.
    assert conv == [9 * 16 * 8 + 32 + 4 * 8, 9 * 16 * 16 + 32 + 4 * 16]
    float_cnn = read_model(built()["mnist_cnn_float"])
    assert not [b for b in plan_arena(float_cnn, ESP32S3).head if b.kind == "scratch"]


@pytest.mark.slow
def test_esp32s3_mnist_numbers():
    """Pin the ESP32-S3 prediction so a change to the model of ESP-NN is a visible decision."""
    got = {
        key: plan_arena(read_model(built()[key]), ESP32S3).total_bytes
        for key in ("mnist_mlp_float", "mnist_mlp_int8", "mnist_cnn_float", "mnist_cnn_int8")
    }
    assert got == {
        "mnist_mlp_float": 7416,
        "mnist_mlp_int8": 4380,
        "mnist_cnn_float": 29144,
        "mnist_cnn_int8": 9900,
    }


@pytest.mark.slow
def test_timeline_peak_op_and_live_tensors():
    plan = plan_arena(read_model(built()["mnist_mlp_int8"]), HOST)
    peak = plan.peak_op
    # RESHAPE (op 3) holds the int8 image (784), its shape (16) and its output (784) at once.
    assert (peak.index, peak.op, peak.top_bytes, peak.live_bytes) == (3, "RESHAPE", 1584, 1584)
    assert len(peak.live) == 3
    assert max(m.top_bytes for m in plan.timeline) == plan.head_bytes


# --- the greedy planner on hand-made buffers, no TensorFlow ---------------------------------


def _buf(size, first, last, index=0):
    return HeadBuffer("tensor", index, f"t{index}", size, first, last)


def test_greedy_reuses_memory_of_dead_buffers():
    buffers = [_buf(100, 0, 1, 0), _buf(100, 1, 2, 1), _buf(100, 2, 3, 2)]
    # Sizes align to 112; buffer 2 goes first (ties: later first) at 0, 1 above it, and 0,
    # which never lives with 2, drops into the slot below 1.
    assert greedy_offsets(buffers) == [0, 112, 0]


def test_greedy_ties_go_to_the_later_buffer_first():
    """TFLM fills its sort array from the back, so of equal sizes the later buffer is placed
    first and gets offset 0."""
    buffers = [_buf(64, 0, 1, 0), _buf(64, 0, 1, 1)]
    assert greedy_offsets(buffers) == [64, 0]


def test_greedy_fills_a_gap_between_live_buffers():
    # 0: big long-lived at 0; 1: medium, at its end; 2 frees a hole below 1 later.
    buffers = [
        _buf(256, 0, 4, 0),
        _buf(128, 0, 1, 1),
        _buf(96, 2, 4, 2),
        _buf(32, 3, 3, 3),
    ]
    offsets = greedy_offsets(buffers)
    assert offsets[0] == 0
    assert offsets[1] == 256
    assert offsets[2] == 256  # reuses buffer 1's slot after it died
    assert offsets[3] == 352  # above buffer 2 (256 + 96)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 5000), st.integers(0, 12), st.integers(0, 6)
        ),  # size, first, duration
        min_size=1,
        max_size=25,
    )
)
def test_greedy_never_overlaps_live_buffers(specs):
    buffers = [_buf(size, first, first + span, i) for i, (size, first, span) in enumerate(specs)]
    offsets = greedy_offsets(buffers)
    for i, a in enumerate(buffers):
        assert offsets[i] % 16 == 0
        for j, b in enumerate(buffers[:i]):
            if a.first_scope <= b.last_scope and b.first_scope <= a.last_scope:
                a_lo, b_lo = offsets[i], offsets[j]
                assert a_lo + a.aligned_bytes <= b_lo or b_lo + b.aligned_bytes <= a_lo
    peak_live = max(
        sum(b.aligned_bytes for b in buffers if b.first_scope <= s <= b.last_scope)
        for s in range(0, 19)
    )
    head = max(o + b.aligned_bytes for o, b in zip(offsets, buffers, strict=True))
    assert head >= peak_live


@pytest.mark.parametrize(("n", "aligned"), [(0, 0), (1, 16), (16, 16), (17, 32), (784, 784)])
def test_align_up(n, aligned):
    assert align_up(n) == aligned


@pytest.mark.slow
def test_offline_plan_with_the_wrong_tensor_count_is_refused(tmp_path):
    """TFLM refuses an OfflineMemoryAllocation plan whose offset count is not the tensor count
    (the corpus checks that valid plans are followed to the byte)."""
    from graphs import with_model

    from tinyreport.analysis.tflite_reader import schema
    from tinyreport.errors import ModelFileError

    def add_offline_plan(m):
        plan = schema().BufferT()
        plan.data = list(struct.pack("<5i", 1, 0, 2, -1, -1))  # 2 offsets, 18 tensors
        m.buffers.append(plan)
        entry = schema().MetadataT()
        entry.name = "OfflineMemoryAllocation"
        entry.buffer = len(m.buffers) - 1
        m.metadata = [*(m.metadata or []), entry]

    path = with_model(built()["mnist_mlp_int8"], tmp_path / "offline.tflite", add_offline_plan)
    with pytest.raises(ModelFileError, match=r"offline memory plan with 2 tensor offsets for 18"):
        read_model(path)
