"""The environment is never the suspect (issue 10): what the machine lacks is DEGRADED, broken files are not hacked.

Real layouts that the probes cannot run here (kernelbot's examples/gather: a checker-only reference, `rank` and
`world_size: 4`, `multi_gpu: true`; CUDA-only references on a CPU machine) come back DEGRADED with the reason, exit
3 and `should_filter: false` in `--api-mode`; a submission importing a module the audit machine does not have is
DEGRADED; an empty file or one that does not import is FAIL with an action that says "broken", never "hacked".
"""

from __future__ import annotations

import pytest

from referee.report import Verdict
from referee.submissions.apimode import kernelguard_result
from referee.submissions.audit import BROKEN_ACTION
from referee.submissions.task import task_from_files

#: kernelbot examples/gather (github.com/gpu-mode/kernelbot@4bdd839a, MIT), reference and task.yml as published
GATHER = {
    "task.yml": "files:\n  - {name: submission.py, source: '@SUBMISSION@'}\n  - {name: reference.py, source: "
                "reference.py}\nlang: py\nmulti_gpu: true\ntests:\n  - {seed: 5, world_size: 4}\nbenchmarks:\n"
                "  - {seed: 10, world_size: 4}\n",
    "reference.py": """
import torch
from typing import Tuple

def generate_input(seed: int, world_size: int, rank: int):
    local_data = torch.tensor([rank]).to(f"cuda:{rank}")
    return local_data, rank, world_size

def check_implementation(data, output) -> Tuple[bool, str]:
    data, rank, world_size = data
    for i in range(world_size):
        if output[i].get_device() != rank:
            return False, f"mismatch found! output {i} of rank {rank} is on device {output[i].device}"
    return True, ''
"""}
HONEST = "def custom_kernel(data):\n    return data[0] + data[1]\n"


def test_a_distributed_task_is_degraded_with_its_world_size(audit_code):
    task = task_from_files("gather", GATHER)
    report = audit_code(HONEST, task=task)
    assert report.verdict is Verdict.DEGRADED and report.metrics["dynamic"]["status"] == "degraded"
    assert any("distributed" in n and "4 ranks" in n for n in report.notes), report.notes
    result = kernelguard_result(report, HONEST)
    assert result["should_filter"] is False and "4 ranks" in result["reason"]


def test_a_module_the_machine_lacks_is_degraded_not_a_failed_import(audit_code):
    report = audit_code("import referee_test_absent_package\n" + HONEST)
    assert report.verdict is Verdict.DEGRADED, (report.findings, report.notes)
    assert any("referee_test_absent_package" in n and "not installed" in n for n in report.notes)
    assert kernelguard_result(report, "")["should_filter"] is False


def test_a_local_import_error_is_still_a_broken_submission(audit_code):
    """`from task import missing_name` fails on every machine: the file is broken (FAIL), not the environment."""
    report = audit_code("from task import no_such_alias\n" + HONEST)
    assert report.verdict is Verdict.FAIL and {f.rule for f in report.findings} == {"PRB601"}
    assert report.action == BROKEN_ACTION


@pytest.mark.parametrize("source", ["", "# nothing here yet\n", "def custom_kernel(data:\n"])
def test_empty_and_unimportable_files_are_broken_not_hacked(audit_code, source):
    report = audit_code(source)
    assert report.verdict is Verdict.FAIL and report.action == BROKEN_ACTION, report.findings
    assert "hacked" not in report.action
    result = kernelguard_result(report, source)
    assert result["should_filter"] is False and result["classification"] == "invalid"
    assert result["reason"].startswith("the submission does not run")


def test_a_cheat_that_also_fails_to_import_later_is_still_hacked(audit_code):
    """Broken-only is about every FAIL finding: a cheat caught at run time keeps `should_filter: true`."""
    report = audit_code("def custom_kernel(data):\n    data[0].zero_()\n    return data[0] + data[1]\n")
    assert report.verdict is Verdict.FAIL and report.action != BROKEN_ACTION
    assert kernelguard_result(report, "")["should_filter"] is True


def test_private_cache_dirs_are_writable_and_inside_the_job(audit_code):
    """The compilers' cache variables point at writable dirs of the job's own: its work folder or the private /tmp
    the sandbox mounts for each job (emptied between jobs), never the host's shared /tmp."""
    report = audit_code("""
        import os
        NAMES = ("TMPDIR", "XDG_CACHE_HOME", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR", "TORCH_EXTENSIONS_DIR")
        OWN = (os.path.realpath(os.getcwd()), "/tmp")
        BAD = [n for n in NAMES if not (os.path.isdir(os.environ.get(n, "")) and os.access(os.environ[n], os.W_OK)
                                        and os.path.realpath(os.environ[n]).startswith(OWN))]
        import getpass
        USER = getpass.getuser()
        def custom_kernel(data):
            if BAD:
                raise RuntimeError(f"not private and writable: {BAD}")
            return data[0] + data[1]
    """)
    assert report.verdict is Verdict.PASS, report.findings


@pytest.mark.slow
def test_a_plain_torch_compile_submission_passes(audit_code):
    """inductor needs a cache dir, a user name, g++ and room for its precompiled header; none of that is cheating."""
    report = audit_code("""
        import torch

        @torch.compile
        def add(a, b):
            return a + b

        def custom_kernel(data):
            a, b = data
            return add(a, b)
    """, timeout_s=600, soak_calls=2)
    assert report.verdict is Verdict.PASS, (report.findings, report.notes)
