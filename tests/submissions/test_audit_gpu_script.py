"""The prepared GPU run (issue 10 item 8): on a machine without CUDA it says so and exits DEGRADED (3) at once.

The audit itself needs a lent GPU; what can be checked here is that the script and its driver are ready: the case
list (public pmpp_v2 solutions with their expected verdicts, Triton and load_inline included, and referee's own GPU
cheats and honest look-alikes), the collect step against the pinned commit, and the DEGRADED path.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from referee.submissions.probes import gpu_present

ROOT = Path(__file__).resolve().parents[2]
MIRROR = Path("/work/.mirror/gpu-mode+reference-kernels/repo")
NO_GPU = pytest.mark.skipif(gpu_present(), reason="a GPU is present: the script would run the real audit")


def _driver():
    spec = importlib.util.spec_from_file_location("gpu_audit", ROOT / "benchmarks" / "gpu_audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@NO_GPU
def test_the_driver_exits_degraded_without_cuda(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_audit.py"), "run",
                           "--collected", str(tmp_path), "--out", str(tmp_path / "rows.json")],
                          capture_output=True, timeout=120, check=False)
    assert proc.returncode == 3, proc.stderr[-1000:]
    assert proc.stdout.decode().startswith("DEGRADED: ") and b"Traceback" not in proc.stderr
    assert not (tmp_path / "rows.json").exists()  # nothing was audited, so nothing is reported as audited


@NO_GPU
def test_the_shell_script_reports_the_machine_and_exits_degraded(tmp_path):
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh")], capture_output=True, timeout=180,
                          check=False, env={"PATH": "/usr/bin:/bin", "OUT": str(tmp_path),
                                            "PYTHON": sys.executable, "HOME": str(tmp_path)})
    out = proc.stdout.decode()
    assert proc.returncode == 3, (out, proc.stderr[-1000:])
    assert "torch " in out and "DEGRADED" in out and "exit 3" in out


def test_the_case_list_covers_real_solutions_and_own_gpu_families(tmp_path):
    driver = _driver()
    found = driver.cases(tmp_path)
    third = [c for c in found if c["source"] != "referee"]
    own = {Path(c["file"]).name: c["expected"] for c in found if c["source"] == "referee"}
    assert {c["expected"] for c in third} == {"PASS", "FAIL"}
    names = {str(c["file"]) for c in third}
    assert any("submission_triton.py" in n for n in names) and any("submission_cuda_inline.py" in n for n in names)
    assert any(n.endswith("vectorsum_py/solutions/wrong/cheat.py") for n in names)
    assert own == {"cheat_side_stream.py": "FAIL", "cheat_data_ptr_cache.py": "FAIL",
                   "cheat_skip_after_warmup.py": "FAIL", "cheat_patched_synchronize.py": "FAIL",
                   "honest_cuda_graph.py": "PASS", "honest_synced_stream.py": "PASS"}


def test_labels_follow_the_maintainers_folders():
    driver = _driver()
    assert driver.expected_label("problems/pmpp_v2/sort_py/solutions/wrong/empty.py") == "FAIL"
    assert driver.expected_label("problems/pmpp_v2/sort_py/solutions/correct/ref.py") == "PASS"
    assert driver.expected_label("problems/pmpp_v2/sort_py/submission.py") == "PASS"
    assert driver.expected_label("problems/pmpp_v2/sort_py/reference.py") is None


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no local mirror of gpu-mode/reference-kernels")
def test_collected_real_tasks_load_and_are_degraded_not_failed_without_cuda(tmp_path):
    """Real pmpp_v2 tasks as published need CUDA: here an honest solution is DEGRADED, never FAIL."""
    driver = _driver()
    assert driver.collect(MIRROR, tmp_path) == 0
    from referee.report import Verdict
    from referee.submissions.audit import AuditOptions, audit_once
    from referee.submissions.task import load_task

    task = load_task(tmp_path / driver.PROBLEMS / "vectoradd_py")
    assert task.needs_cuda
    code = (tmp_path / driver.PROBLEMS / "vectoradd_py" / "solutions" / "correct" / "submission_triton.py").read_text()
    report = audit_once(code, task, AuditOptions())
    assert report.verdict is Verdict.DEGRADED, report.findings
    assert any("needs CUDA" in note for note in report.notes)
