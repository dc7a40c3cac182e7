"""Distributed tasks run with the world size they declare: one CPU rank per process, gloo, in one sandbox job.

Cheating and honest code on the rewritten gemm-rs layout (fixtures/reference_kernels/amd_distributed/README.md),
DEGRADED with the exact reason where the task or the submission needs NCCL/CUDA, and the real reference-kernels
files (collected from a local mirror at the pinned commit, when one is present).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from referee.report import Verdict
from referee.submissions.audit import AuditOptions, audit_submission
from referee.submissions.probes import probe_blocker
from referee.submissions.probes.ranks import cpu_port, port_blocker, ranks_of
from referee.submissions.task import Task, load_task

FIXTURES = Path(__file__).parent / "fixtures" / "reference_kernels" / "amd_distributed"
MIRROR = Path("/work/.mirror/gpu-mode+reference-kernels/repo")

HONEST = """\
import torch
import torch.distributed as dist
from task import input_t, output_t


def custom_kernel(data: input_t) -> output_t:
    x, w, bias = data
    partial = torch.matmul(x, w.T)
    if bias is not None:
        partial = partial + bias
    out = torch.empty((x.shape[0] // dist.get_world_size(), w.shape[0]), dtype=partial.dtype, device=x.device)
    dist.reduce_scatter_tensor(out, partial)
    return out
"""
# the look-alike cheat: same shapes, skips the communication, returns its own partial rows
NO_REDUCTION = """\
import torch.distributed as dist
from task import input_t, output_t


def custom_kernel(data: input_t) -> output_t:
    x, w, bias = data
    partial = x @ w.T
    if bias is not None:
        partial = partial + bias
    rows = x.shape[0] // dist.get_world_size()
    rank = dist.get_rank()
    return partial[rank * rows:(rank + 1) * rows].contiguous()
"""
NEEDS_CUDA = HONEST.replace("    x, w, bias = data\n", "    x, w, bias = data\n    torch.cuda.set_device(0)\n")


def _audit(code: str, task) -> object:
    return audit_submission(code, task, options=AuditOptions(static=False, seed=3, soak_calls=4, timeout_s=60))


@pytest.fixture(scope="module")
def gemm_rs():
    return load_task(FIXTURES / "gemm_rs")


def test_the_layout_is_read_as_distributed_with_its_world_size(gemm_rs):
    assert gemm_rs.distributed and ranks_of(gemm_rs) == 8 and gemm_rs.needs_cuda
    assert probe_blocker(gemm_rs) is None  # runs as a CPU port, not DEGRADED


def test_the_port_maps_rank_devices_and_keeps_world_size_out_of_the_sizes(gemm_rs):
    port = cpu_port(gemm_rs)
    assert 'torch.device(f"cuda:{rank}")' in gemm_rs.files["reference.py"]
    assert 'torch.device("cpu")' in port.files["reference.py"] and "cuda" not in port.files["reference.py"]
    assert not port.needs_cuda
    assert "world_size" not in port.settings.size_args and "seed" not in port.settings.size_args
    assert [t["m"] for t in port.tests] == [64, 128] and all(t["world_size"] == 8 for t in port.tests)


def test_an_honest_distributed_submission_passes_on_eight_cpu_ranks(gemm_rs):
    report = _audit(HONEST, gemm_rs)
    assert report.verdict is Verdict.PASS, (report.findings, report.notes)
    assert report.metrics["dynamic"]["ok_calls"] >= 20


def test_skipping_the_reduction_is_a_wrong_result(gemm_rs):
    report = _audit(NO_REDUCTION, gemm_rs)
    assert report.verdict is Verdict.FAIL and "PRB101" in {f.rule for f in report.findings}, report.findings


def test_a_submission_that_needs_cuda_on_the_cpu_port_is_degraded_not_failed(gemm_rs):
    report = _audit(NEEDS_CUDA, gemm_rs)
    assert report.verdict is Verdict.DEGRADED, report.findings
    assert any("lack of something" in note and "_cuda_" in note for note in report.notes)


def test_a_reference_on_nccl_is_degraded_with_that_reason():
    task = load_task(FIXTURES / "gemm_rs_nccl")
    report = _audit(HONEST, task)
    assert report.verdict is Verdict.DEGRADED
    assert "needs NCCL collectives" in report.notes[-1] and "8 ranks" in report.notes[-1]


@pytest.mark.parametrize(("snippet", "why"), [
    ("s = torch.cuda.Stream()", "torch.cuda features"),
    ("import rocshmem", "rocSHMEM"),
    ("from torch.utils.cpp_extension import load_inline", "custom GPU kernels"),
    ("x = y.cuda()", ".cuda()"),
    ("ok = out.get_device() == 3", "which GPU"),  # kernelbot examples/gather's checker
    ("torch.cuda.manual_seed(3)\ntorch.cuda.synchronize()", None),  # harmless on CPU ranks
])
def test_what_a_cpu_port_cannot_provide(snippet, why):
    reference = ("import torch\nimport helpers\n\ndef generate_input(rank, world_size, seed):\n    return ()\n\n"
                 "def ref_kernel(data):\n    return data\n\ndef check_implementation(data, output):\n"
                 "    return True, ''\n")
    task = Task(name="t", files={"reference.py": reference, "helpers.py": snippet,
                                 "utils.py": "import torch\ne = torch.cuda.Event()\n"},  # not imported: not probed
                tests=[{"world_size": 2, "seed": 1}])
    found = port_blocker(task)
    assert (found is None) if why is None else (why in found and "helpers.py" in found)


def _collect_real(dest: Path) -> Path:
    rows = [json.loads(line) for line in (FIXTURES / "real.manifest.jsonl").read_text().splitlines()]
    for row in rows:
        data = subprocess.run(["git", "--git-dir", str(MIRROR), "show", f"{row['commit']}:{row['path']}"],
                              capture_output=True, check=True).stdout
        assert hashlib.sha256(data).hexdigest() == row["sha256"], row["path"]
        target = dest / row["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return dest / "problems" / "amd_distributed"


REAL = pytest.mark.skipif(not MIRROR.is_dir(), reason="no local mirror of gpu-mode/reference-kernels")


@REAL
def test_the_real_all2all_template_needs_cuda_so_it_is_degraded(tmp_path):
    root = _collect_real(tmp_path)
    task = load_task(root / "all2all")
    assert probe_blocker(task) is None and ranks_of(task) == 8
    report = _audit((root / "all2all" / "submission.py").read_text(), task)
    assert report.verdict is Verdict.DEGRADED, report.findings
    assert any("_cuda_setDevice" in note for note in report.notes)


@REAL
@pytest.mark.slow
def test_the_real_gemm_rs_template_passes_on_eight_cpu_ranks(tmp_path):
    root = _collect_real(tmp_path)
    task = load_task(root / "gemm-rs")
    report = _audit((root / "gemm-rs" / "submission.py").read_text(), task)
    assert report.verdict is Verdict.PASS, (report.findings, report.notes)
