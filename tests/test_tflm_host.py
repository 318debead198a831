"""Host TFLM measurement: parsing the allocator report and the error path."""

import pytest

from tinyreport.errors import ModelFileError
from tinyreport.pipeline.tflm_host import measure_host_arena, parse_allocations

REPORT = """\
[RecordingMicroAllocator] Arena allocation total 5456 bytes
[RecordingMicroAllocator] Arena allocation head 1584 bytes
[RecordingMicroAllocator] Arena allocation tail 3872 bytes
[RecordingMicroAllocator] 'TfLiteEvalTensor data' used 432 bytes with alignment overhead (requested 432 bytes for 18 allocations)
[RecordingMicroAllocator] 'Persistent buffer data' used 2076 bytes with alignment overhead (requested 2012 bytes for 13 allocations)
"""


def test_parse_allocations():
    total, head, tail, records = parse_allocations(REPORT)
    assert (total, head, tail) == (5456, 1584, 3872)
    assert records == {"TfLiteEvalTensor data": 432, "Persistent buffer data": 2076}


def test_parse_rejects_output_without_summary():
    with pytest.raises(ValueError, match="no RecordingMicroAllocator summary in the output"):
        parse_allocations("[RecordingMicroAllocator] Arena allocation total 12 bytes\n")


def test_corrupt_model_gives_one_clear_error(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"TFL3" + bytes(60))
    with pytest.raises(ModelFileError, match=r"TFLM could not load .*bad\.tflite"):
        measure_host_arena(bad)


def test_batch_measures_each_model_and_names_the_one_tflm_refuses(tmp_path):
    """One child for many models: the same figures as one child per model; a model TFLM
    refuses gets its own error, with TFLM's reason, and does not hide the others."""
    from corpus import CORPUS

    from tinyreport.pipeline.tflm_host import measure_host_arenas

    good = CORPUS / "tflm__hello_world_int8.tflite"
    hybrid = CORPUS / "tiny__model_ToyCar_quant.tflite"
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"TFL3" + bytes(60))
    first, refused, corrupt, again = measure_host_arenas([good, hybrid, bad, good])
    single = measure_host_arena(good)
    assert (first.head_bytes, first.tail_bytes, first.total_bytes) == (32, 1472, 1504)
    assert (single.head_bytes, single.tail_bytes) == (32, 1472)
    assert again == first
    assert isinstance(refused, ModelFileError)
    assert "Input type: FLOAT32 with filter type: INT8 not supported" in str(refused)
    assert isinstance(corrupt, ModelFileError) and "bad.tflite" in str(corrupt)
