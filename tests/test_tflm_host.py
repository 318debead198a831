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
