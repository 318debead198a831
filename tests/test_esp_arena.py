"""The "esp32" and "esp32s3" arena profiles against esp-tflite-micro built for a 32-bit host.

tests/data/esp_tflm_i386.json pins what esp-tflite-micro, with its ESP-NN kernel wrappers and
esp-nn, allocates when built for i386 (`g++ -m32`: 32-bit pointers and structs, as on Xtensa):
`arena_used_bytes()` of a plain `MicroInterpreter` and its head and tail, for every corpus model
and every test graph, once with esp-nn compiled for the ESP32 (`esp_nn_generic_opt.h`) and once
for the ESP32-S3 (`esp_nn_esp32s3.h`: esp-nn's own S3 scratch-size C code; only the S3's
assembly compute kernels, which never run while allocating, are replaced by stubs). For the S3
build it also lists every scratch buffer the kernels asked for in Prepare, so the S3 figures
rest on esp-nn's code rather than on reading it. The file says which releases and commits were
built; nothing here needs that build to run.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

import pytest
from corpus import CORPUS, corpus_names

from tinyreport.analysis.arena import (
    COVERED_CORPUS,
    COVERED_GRAPHS,
    ESP32,
    ESP32S3,
    ESP_BUILD_CHECK,
    ESP_NN_VERSION,
    ESP_TFLITE_MICRO_VERSION,
    Profile,
    op_variant,
    plan_arena,
)
from tinyreport.analysis.tflite_reader import read_model
from tinyreport.errors import ModelFileError

PINS = json.loads((Path(__file__).parent / "data" / "esp_tflm_i386.json").read_text())
PROFILES = {"esp32": ESP32, "esp32s3": ESP32S3}

EXACT = "exact"  # equal to the build, labelled exact
EQUAL_NOT_LABELLED = "equal, not labelled exact"
DIFFERS_LABELLED_EXACT = "differs, labelled exact"
DIFFERS = "differs, labelled with a bound"
BOTH_REFUSE = "refused, as the build does"
REFUSED_BUILD_ALLOCATES = "refused, but the build allocates it"
PLANNED_BUILD_REFUSES = "planned, but the build refuses it"

# Every corpus model whose state is not EXACT, per profile. Shrinks as the planner improves.
_COMMON = {
    "sscma_esp32__fomo_efficientnet_coco_person.tflite": BOTH_REFUSE,  # TILE: no TFLM kernel
    "tflm__person_detect_vela.tflite": BOTH_REFUSE,  # ethos-u custom operator
    # Hybrid (float activations, int8 weights): the kernels refuse them in Prepare.
    "tiny__kws_ref_model_float32.tflite": BOTH_REFUSE,
    "tiny__model_ToyCar_quant.tflite": BOTH_REFUSE,
}
EXPECTED: dict[str, dict[str, str]] = {"esp32": _COMMON, "esp32s3": _COMMON}

# Models whose scratch requests (kernel, bytes) the planner does not reproduce yet.
SCRATCH_DIFFERS: set[str] = set()

# What real ESP32 boards (esp-tflite-micro 1.3.x, ESP-IDF 5.5, ESP-NN) report as
# arena_used_bytes() for TFLM's person detection example and three MLPerf Tiny reference models.
ESP32_BOARDS = {
    "tflm__person_detect.tflite": 82_300,  # person detection (TFLM's example)
    "tiny__kws_ref_model.tflite": 22_780,  # keyword spotting, DS-CNN
    "tiny__pretrainedResnet_quant.tflite": 54_364,  # image classification, ResNet-8
    "tiny__ad01_int8.tflite": 2_380,  # anomaly detection, FC autoencoder
}


def _pin(key: str, profile: str) -> dict:
    return PINS["models"][key][profile]


@cache
def _plan(path: Path, profile: str):
    """The model and its plan under `profile` (one per test session)."""
    model = read_model(path)
    return model, plan_arena(model, PROFILES[profile])


def state(path: Path, pin: dict, profile: Profile) -> str:
    """Compare the planner's profile with what the 32-bit build did."""
    try:
        plan = _plan(path, profile.name)[1]
    except ModelFileError:
        return BOTH_REFUSE if "error" in pin else REFUSED_BUILD_ALLOCATES
    if "error" in pin:
        return PLANNED_BUILD_REFUSES
    got = (plan.head_bytes, plan.tail_bytes, plan.total_bytes)
    if got == (pin["head"], pin["tail"], pin["total"]):
        return EXACT if plan.exact else EQUAL_NOT_LABELLED
    return DIFFERS_LABELLED_EXACT if plan.exact else DIFFERS


def scratch_requests(path: Path, profile: Profile) -> list[list]:
    """The planner's scratch buffers as the build logs them: [kernel, bytes] in Prepare order."""
    model, plan = _plan(path, profile.name)
    buffers = [b for b in plan.head if b.kind == "scratch"]  # op order, then request order
    return [[model.operators[b.index].op, b.n_bytes] for b in buffers]


def test_pins_come_from_the_releases_the_profiles_model():
    tools = PINS["tools"]
    assert tools["esp-tflite-micro"]["version"] == ESP_TFLITE_MICRO_VERSION
    assert tools["esp-nn"]["version"] == ESP_NN_VERSION
    for tool in ("esp-tflite-micro", "esp-nn"):
        assert len(tools[tool]["commit"]) == 40 and int(tools[tool]["commit"], 16) >= 0


PINNED = sorted(k.removeprefix("corpus/") for k in PINS["models"] if k.startswith("corpus/"))


def test_every_corpus_model_is_pinned_unchanged():
    """A corpus file that changes or appears must be measured again (see the data file)."""
    not_measured = [k.removeprefix("corpus/") for k in PINS["not_measured"]]
    assert sorted(PINNED + not_measured) == corpus_names()
    assert len(PINNED) >= 70
    for name in PINNED:
        data = (CORPUS / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == PINS["models"][f"corpus/{name}"]["sha256"]


@pytest.mark.parametrize("profile", ["esp32", "esp32s3"])
@pytest.mark.parametrize("name", PINNED)
def test_plan_state_against_32bit_build(name, profile):
    pin = _pin(f"corpus/{name}", profile)
    assert state(CORPUS / name, pin, PROFILES[profile]) == EXPECTED[profile].get(name, EXACT)


def test_expected_states_name_corpus_models():
    for states in EXPECTED.values():
        assert set(states) <= set(PINNED)
        assert EXACT not in states.values()
    assert SCRATCH_DIFFERS <= set(PINNED)


SCRATCH_CASES = [
    (name, profile)
    for name in PINNED
    for profile in PROFILES
    if "scratch" in _pin(f"corpus/{name}", profile)
]


@pytest.mark.parametrize(("name", "profile"), SCRATCH_CASES)
def test_scratch_requests_equal_the_build(name, profile):
    """Every scratch buffer the build's kernels requested in Prepare (on the S3: esp-nn's own
    conv, depthwise and softmax scratch-size functions), in order and to the byte."""
    got = scratch_requests(CORPUS / name, PROFILES[profile])
    want = _pin(f"corpus/{name}", profile)["scratch"]
    assert (got == want) != (name in SCRATCH_DIFFERS)


def test_esp_nn_s3_scratch_is_checked_on_many_kernels():
    """The S3 pins exercise each ESP-NN scratch-size function on many operators."""
    requests = [r for n in PINNED for r in _pin(f"corpus/{n}", "esp32s3").get("scratch", [])]
    kernels = {k: sum(1 for r in requests if r[0] == k) for k in ("CONV_2D", "DEPTHWISE_CONV_2D")}
    assert kernels["CONV_2D"] >= 200 and kernels["DEPTHWISE_CONV_2D"] >= 100


def test_build_check_counts_are_the_pinned_ones():
    """The counts the labels quote ("equal on N of M corpus models") are this file's."""
    for profile, p in PROFILES.items():
        states = [state(CORPUS / name, _pin(f"corpus/{name}", profile), p) for name in PINNED]
        allocated = [s for s in states if s not in (BOTH_REFUSE, PLANNED_BUILD_REFUSES)]
        equal = [s for s in allocated if s in (EXACT, EQUAL_NOT_LABELLED)]
        assert ESP_BUILD_CHECK[profile] == (len(equal), len(allocated)), profile


def _proven(key: str, path: Path, profile: str) -> set[str]:
    """The operator variants of a model whose head and tail equal the build's, with every
    operator modelled (what may make a plan "exact"); empty otherwise."""
    pin = _pin(key, profile)
    if "error" in pin:
        return set()
    try:
        model = read_model(path)
    except ModelFileError:
        return set()
    plan = plan_arena(model, PROFILES[profile])
    equal = (plan.head_bytes, plan.tail_bytes) == (pin["head"], pin["tail"])
    if equal and not plan.unmodelled_ops and not plan.caveats:
        return {op_variant(model, op) for op in model.operators}
    return set()


@pytest.mark.parametrize("profile", ["esp32", "esp32s3"])
def test_checked_variants_are_the_host_coverage_table(profile):
    """A plan is "exact" when all its operator variants are in COVERED (arena.py), which the
    host tests derive from the tflite_micro wheel. The 32-bit build proves the same variants of
    the corpus for these profiles, so their exact plans are checked against it too."""
    proven = set()
    for name in PINNED:
        proven |= _proven(f"corpus/{name}", CORPUS / name, profile)
    assert proven == set(COVERED_CORPUS)


def test_build_equals_real_esp32_boards_on_mlperf_tiny():
    """The instrument: the 32-bit build gives what ESP32 boards report, to the byte."""
    assert {n: _pin(f"corpus/{n}", "esp32")["total"] for n in ESP32_BOARDS} == ESP32_BOARDS


def test_esp32_plan_equals_real_esp32_boards_on_mlperf_tiny():
    got = {n: _plan(CORPUS / n, "esp32")[1].total_bytes for n in ESP32_BOARDS}
    assert got == ESP32_BOARDS


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["esp32", "esp32s3"])
def test_test_graphs_equal_32bit_build(profile):
    from graphs import built

    assert sorted(built()) == sorted(
        k.removeprefix("graphs/") for k in PINS["models"] if k.startswith("graphs/")
    )
    got, want, proven = {}, {}, set()
    for key, path in built().items():
        proven |= _proven(f"graphs/{key}", path, profile)
        pin = _pin(f"graphs/{key}", profile)
        plan = plan_arena(read_model(path), PROFILES[profile])
        got[key] = (plan.head_bytes, plan.tail_bytes, plan.total_bytes)
        want[key] = (pin["head"], pin["tail"], pin["total"])
        if profile == "esp32s3":
            got[key] += (scratch_requests(path, ESP32S3),)
            want[key] += (pin["scratch"],)
    assert got == want
    assert proven == set(COVERED_GRAPHS)
