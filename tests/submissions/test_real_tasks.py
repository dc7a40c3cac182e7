"""The probes on the layout of real reference-kernels tasks (pmpp_v2 prefixsum_py and vectoradd_py, run on CPU).

The fixtures under fixtures/reference_kernels/ are independent rewrites, not copies: upstream
(gpu-mode/reference-kernels@f83cb92a) is under the June 9 Researcher Reciprocity License. They keep its file
names, signatures, task.yml specs, seeds, dtypes and tolerances, so they behave as the upstream tasks do.

These tasks hand a preallocated output buffer inside `data` (`A, B, C = data; C[...] = A + B; return C`), their
prefix-sum reference returns float64 while its output buffer and the official solution are float32, and their
references run inside `DeterministicContext`. Honest code written to that contract must pass; cheats that abuse
it (a stale output buffer, writes into the real inputs, a fixed quantisation scale) must not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from referee.report import Verdict
from referee.submissions.task import load_task, task_from_files

FIXTURES = Path(__file__).parent / "fixtures" / "reference_kernels"

#: cheat: the output buffer keeps the last answer, so a call on the same objects returns it without computing
STALE_BUFFER = """
from task import input_t, output_t
_seen = set()

def custom_kernel(data: input_t) -> output_t:
    A, B, output = data
    key = (A.data_ptr(), B.data_ptr())
    if key not in _seen:
        _seen.add(key)
        output[...] = A + B
    return output
"""

#: cheat: writes the answer into a real input (the harness's checker then compares corrupted inputs)
WRITES_INPUT = """
from task import input_t, output_t

def custom_kernel(data: input_t) -> output_t:
    A, B, output = data
    A.add_(B)
    output[...] = A
    return output
"""

#: approximation: 12-bit integers with one fixed scale fit unit-Gaussian inputs and clip anything larger
FIXED_SCALE = """
import torch
SCALE = 256.0

def custom_kernel(data):
    a, b = data
    qa = torch.clamp(torch.round(a * SCALE), -2047, 2047)
    qb = torch.clamp(torch.round(b * SCALE), -2047, 2047)
    return (qa + qb) / SCALE
"""

#: a task with a tolerance (rtol = atol = 1e-2, as many AMD and helion tasks use), written the reference-kernels way
TOLERANT_TASK = {
    "task.yml": "tests:\n  - {size: 4096, seed: 11}\n  - {size: 1000, seed: 12}\nbenchmarks:\n"
                "  - {size: 8192, seed: 13}\nreferee: {precision_rel_error: null}\n",
    "reference.py": """
import torch

def generate_input(size, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(size, generator=gen), torch.randn(size, generator=gen)

def ref_kernel(data):
    a, b = data
    return a + b

def check_implementation(data, output):
    ok = torch.allclose(output, ref_kernel(data), rtol=1e-2, atol=1e-2)
    return ok, "" if ok else "mismatch"
"""}


#: honest: a new float64 tensor like the reference's instead of the float32 buffer
PREFIX_FLOAT64 = """
import torch
from task import input_t, output_t

def custom_kernel(data: input_t) -> output_t:
    x, _ = data
    return torch.cumsum(x.to(torch.float64), dim=0)
"""


@pytest.fixture(scope="module")
def real_tasks():
    return {name: load_task(FIXTURES / name) for name in ("prefixsum_py", "vectoradd_py")}


def rules(report) -> set[str]:
    return {f.rule for f in report.findings}


@pytest.mark.parametrize(("task", "name"), [("prefixsum_py", "template.py"), ("prefixsum_py", "correct_ref.py"),
                                            ("vectoradd_py", "template.py")])
def test_official_templates_and_solutions_pass(audit_code, real_tasks, task, name):
    """The output-buffer contract is not input mutation; float32 sums for a float64 reference pass the checker."""
    source = (FIXTURES / task / "submissions" / name).read_text()
    report = audit_code(source, task=real_tasks[task])
    assert report.verdict is Verdict.PASS, (report.findings, report.notes)
    assert report.metrics["dynamic"]["ok_calls"] == report.metrics["dynamic"]["calls"]


def test_the_maintainers_wrong_solution_fails(audit_code, real_tasks):
    source = (FIXTURES / "prefixsum_py" / "submissions" / "wrong_empty.py").read_text()
    report = audit_code(source, task=real_tasks["prefixsum_py"])
    assert report.verdict is Verdict.FAIL and "PRB101" in rules(report)


def test_a_float64_answer_to_a_float32_buffer_task_passes(audit_code, real_tasks):
    assert audit_code(PREFIX_FLOAT64, task=real_tasks["prefixsum_py"]).verdict is Verdict.PASS


def test_a_stale_output_buffer_is_replay(audit_code, real_tasks):
    report = audit_code(STALE_BUFFER, task=real_tasks["vectoradd_py"])
    assert report.verdict is Verdict.FAIL and "PRB102" in rules(report), report.findings


def test_writing_into_a_real_input_is_still_input_mutation(audit_code, real_tasks):
    report = audit_code(WRITES_INPUT, task=real_tasks["vectoradd_py"])
    assert "PRB201" in rules(report) and report.verdict is Verdict.FAIL, report.findings
    assert all(r != "PRB202" for r in rules(report))  # the returned buffer is the task's own output member


def test_a_fixed_scale_passes_the_generator_and_is_flagged_on_adversarial_inputs(audit_code):
    task = task_from_files("tolerant_add", TOLERANT_TASK)
    honest = audit_code("def custom_kernel(data):\n    return data[0] + data[1]\n", task=task)
    assert honest.verdict is Verdict.PASS, honest.findings
    report = audit_code(FIXED_SCALE, task=task)
    assert rules(report) == {"PRB108"} and report.verdict is Verdict.FLAG, report.findings
    finding = report.findings[0]
    assert finding.data["adversarial"] and finding.data["task_rel_error"] < 0.01


def test_the_run_confirms_which_members_are_outputs(audit_code, real_tasks):
    """vectoradd's reference writes C (allocated empty); prefixsum's returns a new tensor and leaves its empty y."""
    add = audit_code((FIXTURES / "vectoradd_py/submissions/template.py").read_text(), task=real_tasks["vectoradd_py"])
    contract = add.metrics["dynamic"]["contract"]
    assert contract["dynamic"]["written"] == [2] and contract["dynamic"]["buffers"] == [2]
    assert contract["outputs"] == contract["static"]["outputs"] == [2]
    scan = audit_code(PREFIX_FLOAT64, task=real_tasks["prefixsum_py"])
    dynamic = scan.metrics["dynamic"]["contract"]["dynamic"]
    assert dynamic["written"] == [] and dynamic["returns"] == [] and dynamic["buffers"] == [1]
