"""Every kind of reference kernel allocation against TFLM, on one-operator models.

The public corpus (test_corpus.py) covers the operators people's models use; these small
files, written without TensorFlow (synthetic.py), cover the rest of the kernels the
tflite_micro wheel registers: each is measured by the wheel here (one child process) and the
planner's host head and tail must equal it. COVERED_KERNELS is what they prove.
"""

from __future__ import annotations

import pytest
from synthetic import kernel_cases, one_op_model

from tinyreport.analysis.arena import COVERED_KERNELS, HOST, op_variant, plan_arena
from tinyreport.analysis.tflite_reader import read_model
from tinyreport.pipeline.tflm_host import HostArena, measure_host_arenas


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kernels")
    paths = {
        name: one_op_model(folder / f"{name.replace(' ', '_')}.tflite", op, inputs, outputs)
        for name, (op, inputs, outputs) in kernel_cases().items()
    }
    truth = measure_host_arenas(list(paths.values()))
    return {name: (paths[name], t) for name, t in zip(paths, truth, strict=True)}


@pytest.mark.parametrize("name", sorted(kernel_cases()))
def test_one_operator_plan_equals_tflm(name, measured):
    path, truth = measured[name]
    assert isinstance(truth, HostArena), truth  # TFLM runs it
    model = read_model(path)
    plan = plan_arena(model, HOST)
    assert not plan.unmodelled_ops
    assert (plan.head_bytes, plan.tail_bytes, plan.total_bytes) == (
        truth.head_bytes,
        truth.tail_bytes,
        truth.total_bytes,
    )
    assert op_variant(model, model.operators[0]) == name


def test_kernel_coverage_table_is_what_the_one_operator_models_prove():
    assert set(COVERED_KERNELS) == set(kernel_cases())
