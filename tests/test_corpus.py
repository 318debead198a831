"""The planner against TFLM on real public models: host head, tail and total to the byte.

Truth is measured here, every run, by the `tflite_micro` wheel (one child process for the whole
corpus); nothing is cached. Each model's state is asserted exactly: a model not listed in
`EXPECTED` must be "exact" (equal to TFLM and labelled exact); a listed one must be in the state
given, so a fix that changes a state fails this test until the list is updated, and the list
only shrinks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus import CORPUS, corpus, corpus_names

from tinyreport.analysis.arena import HOST, plan_arena
from tinyreport.analysis.tflite_reader import read_model
from tinyreport.errors import ModelFileError
from tinyreport.pipeline.tflm_host import HostArena, measure_host_arenas

LICENCES = {"Apache-2.0", "MIT", "Zlib"}

EXACT = "exact"  # equal to TFLM, labelled exact
EQUAL_NOT_LABELLED = "equal, not labelled exact"
DIFFERS_LABELLED_EXACT = "differs, labelled exact"  # the one state that must never stay
DIFFERS = "differs, labelled with a bound"
BOTH_REFUSE = "refused, as TFLM does"
REFUSED_TFLM_ALLOCATES = "refused, but TFLM allocates it"
PLANNED_TFLM_REFUSES = "planned, but TFLM refuses it"

# Every model whose state is not EXACT, with its state. Shrinks as the planner improves.
EXPECTED: dict[str, str] = {
    "cfu__hps_model_2021_09_20_tiled.tflite": DIFFERS,
    "cfu__hps_model_2022_01_05_74ops.tflite": DIFFERS,
    "cfu__hps_model_2022_01_05_89ops.tflite": DIFFERS,
    "cfu__presence_0_320_240_1_20220117_140437_201k_26k_96ops.tflite": DIFFERS,
    "cfu__second_0_320_240_1_20220117_135512_201k_26k_96ops.tflite": DIFFERS,
    "cfu__shared_20220623_1032_tiled.tflite": DIFFERS,
    "sscma_esp32__fomo_efficientnet_coco_person.tflite": BOTH_REFUSE,
    "tflm__audio_preprocessor_float.tflite": REFUSED_TFLM_ALLOCATES,
    "tflm__audio_preprocessor_int8.tflite": REFUSED_TFLM_ALLOCATES,
    "tflm__person_detect_vela.tflite": BOTH_REFUSE,
    "tiny__kws_ref_model_float32.tflite": PLANNED_TFLM_REFUSES,
    "tiny__model_ToyCar_quant.tflite": PLANNED_TFLM_REFUSES,
}


@pytest.fixture(scope="module")
def truth() -> dict[str, HostArena | ModelFileError]:
    names = corpus_names()
    return dict(zip(names, measure_host_arenas([CORPUS / n for n in names]), strict=True))


def state(path: Path, measured: HostArena | ModelFileError) -> str:
    """Compare the planner's host profile with what TFLM did."""
    try:
        plan = plan_arena(read_model(path), HOST)
    except ModelFileError:
        return BOTH_REFUSE if isinstance(measured, ModelFileError) else REFUSED_TFLM_ALLOCATES
    if isinstance(measured, ModelFileError):
        return PLANNED_TFLM_REFUSES
    got = (plan.head_bytes, plan.tail_bytes, plan.total_bytes)
    want = (measured.head_bytes, measured.tail_bytes, measured.total_bytes)
    if got == want:
        return EXACT if plan.exact else EQUAL_NOT_LABELLED
    return DIFFERS_LABELLED_EXACT if plan.exact else DIFFERS


@pytest.mark.parametrize("name", corpus_names())
def test_host_plan_state(name, truth):
    assert state(CORPUS / name, truth[name]) == EXPECTED.get(name, EXACT)


def test_expected_states_name_corpus_models():
    assert set(EXPECTED) <= set(corpus_names())
    assert EXACT not in EXPECTED.values()


def test_corpus_is_large_varied_and_traceable():
    models = corpus()
    on_disk = sorted(p.name for p in CORPUS.glob("*.tflite"))
    assert [m.file for m in models] == on_disk
    assert len(models) >= 50
    assert len({m.repository for m in models}) >= 8
    for m in models:
        assert m.licence in LICENCES, m.file
        assert len(m.commit) == 40 and int(m.commit, 16) >= 0, m.file
        assert m.model_path.stat().st_size == m.n_bytes, m.file
        assert m.path.endswith(".tflite") and m.repository.count("/") == 1, m.file
    assert sum(m.n_bytes for m in models) < 20_000_000
