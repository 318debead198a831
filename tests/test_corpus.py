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

from tinyreport.analysis.arena import COVERED_CORPUS, HOST, op_variant, plan_arena
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
    "sscma_esp32__fomo_efficientnet_coco_person.tflite": BOTH_REFUSE,
    "tflm__person_detect_vela.tflite": BOTH_REFUSE,
    "tiny__kws_ref_model_float32.tflite": BOTH_REFUSE,
    "tiny__model_ToyCar_quant.tflite": BOTH_REFUSE,
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


def test_coverage_table_is_what_the_corpus_proves(truth):
    """COVERED_CORPUS (what makes a plan "exact") is exactly the operator variants of the corpus
    models whose modelled host head and tail equal TFLM's."""
    proven = set()
    for name in corpus_names():
        measured = truth[name]
        if isinstance(measured, ModelFileError):
            continue
        try:
            model = read_model(CORPUS / name)
        except ModelFileError:
            continue
        plan = plan_arena(model, HOST)
        equal = (plan.head_bytes, plan.tail_bytes) == (measured.head_bytes, measured.tail_bytes)
        if equal and not plan.unmodelled_ops and not plan.caveats:
            proven |= {op_variant(model, op) for op in model.operators}
    assert proven == set(COVERED_CORPUS)


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


# --- what TFLM refuses: tinyreport refuses it too, with TFLM's reason -------------------------

# Public models of the corpus TFLM refuses, and the sentence tinyreport gives.
REFUSED = {
    "tiny__model_ToyCar_quant.tflite": r"float32 input and int8 weights, a hybrid .* TFLM refuses",
    "tiny__kws_ref_model_float32.tflite": r"operator 0 \(CONV_2D\) has float32 input and int8",
    "sscma_esp32__fomo_efficientnet_coco_person.tflite": r"uses operator TILE, which TFLM has no",
    "tflm__person_detect_vela.tflite": r"uses operator CUSTOM:ethos-u, which TFLM has no kernel",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_public_models_tflm_refuses_are_refused(name, truth):
    assert isinstance(truth[name], ModelFileError)
    with pytest.raises(ModelFileError, match=REFUSED[name]):
        read_model(CORPUS / name)


def _synthetic_refusals(tmp: Path) -> dict[str, tuple[Path, str]]:
    from synthetic import T, one_op_model

    q8 = (0.1, 0)
    return {
        "uint8 softmax": (
            one_op_model(
                tmp / "softmax_uint8.tflite",
                "SOFTMAX",
                [T("UINT8", (1, 10), quant=q8)],
                [T("UINT8", (1, 10), quant=(1 / 256, 0))],
            ),
            r"reads a uint8 tensor; TFLM's kernel accepts only float32, int16, int8",
        ),
        "float16 weights": (
            one_op_model(
                tmp / "dequantize_float16.tflite",
                "DEQUANTIZE",
                [T("FLOAT16", (4, 4), data=bytes(32))],
                [T("FLOAT32", (4, 4))],
            ),
            r"float16 tensor 0 't0'; TFLM has no float16 kernels",
        ),
        "hybrid fully connected": (
            one_op_model(
                tmp / "fc_hybrid.tflite",
                "FULLY_CONNECTED",
                [T("FLOAT32", (1, 8)), T("INT8", (4, 8), data=bytes(32), quant=q8)],
                [T("FLOAT32", (1, 4))],
            ),
            r"float32 input and int8 weights, a hybrid",
        ),
    }


def test_models_tflm_refuses_are_refused_with_its_reason(tmp_path):
    cases = _synthetic_refusals(tmp_path)
    measured = measure_host_arenas([path for path, _ in cases.values()])
    for (case, (path, reason)), result in zip(cases.items(), measured, strict=True):
        assert isinstance(result, ModelFileError), case  # the wheel refuses it
        with pytest.raises(ModelFileError, match=reason):
            read_model(path)


def test_a_tensor_too_large_for_tflm_is_refused_though_the_wheel_loads_it(tmp_path):
    """A 4 GiB activation: TFLM's int element count wraps to 0, so the wheel plans no head at
    all (a model that would write far outside its arena); tinyreport refuses it."""
    from synthetic import T, one_op_model

    shape = (1, 1 << 16, 1 << 14)
    path = one_op_model(
        tmp_path / "huge.tflite", "RELU", [T("FLOAT32", shape)], [T("FLOAT32", shape)]
    )
    (result,) = measure_host_arenas([path])
    assert result.head_bytes == 0
    with pytest.raises(ModelFileError, match=r"would take 4,294,967,296 bytes, more than TFLM can"):
        read_model(path)


# --- never a traceback: mutated corpus models ----------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "tflm__trained_lstm_int8.tflite",
        "tflm__keyword_scrambled_8bit.tflite",
        "tflm__transpose_conv1.tflite",
        "tflm__audio_preprocessor_int8.tflite",
        "cfu__hps_model_2022_01_05_74ops.tflite",
    ],
)
def test_mutated_corpus_model_gives_a_document_or_one_model_file_error(tmp_path, name):
    """Structure bytes of models with LSTM, SVDF, transpose conv, signal operators and an
    offline plan set to boundary and random values: a document or ModelFileError, never more."""
    import json
    import random

    from test_model_validation import _null_console, _structure_positions

    from tinyreport.analysis.analyze import analyze, render

    data = (CORPUS / name).read_bytes()
    positions = _structure_positions(data)
    rng = random.Random(20261204)
    path = tmp_path / "mutant.tflite"
    outcomes = {"document": 0, "refused": 0}
    for i in range(40):
        mutant = bytearray(data)
        edits = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            pos = rng.choice(positions)
            mutant[pos] = rng.choice((0, 0xFF, 0x7F, 0x80, mutant[pos] ^ 1, rng.randrange(256)))
            edits.append((pos, mutant[pos]))
        path.write_bytes(mutant)
        try:
            doc = analyze(path)
        except ModelFileError:
            outcomes["refused"] += 1
            continue
        except Exception as exc:  # name the mutant that crashed
            pytest.fail(f"mutant {i} of {name}, edits (position, byte) {edits}: {exc!r}")
        json.dumps(doc, allow_nan=False)
        render(doc, _null_console())
        outcomes["document"] += 1
    assert outcomes["document"] > 0 and outcomes["refused"] > 0, outcomes
