"""`referee audit-batch --ray`: the same verdicts as the local pool, in input order; a GPU task asks Ray for a GPU;
no Ray, or no GPU in the cluster, is a usage error (exit 3), never a traceback or a FAIL."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil

import pytest
from typer.testing import CliRunner

from referee.cli import app
from referee.submissions.audit import AuditOptions
from referee.submissions.batch import audit_paths, collect
from referee.submissions.task import bundled_tasks_dir, resolve_task

EXAMPLES = bundled_tasks_dir() / "vectoradd_py" / "submissions"


def _verdicts(reports):
    return {r.subject: r.verdict.value for r in reports}


def test_dynamic_audits_on_ray_match_local(ray_cluster, tmp_path):
    from referee.scale import RayAuditExecutor

    task = resolve_task("vectoradd_py")
    names = ["honest_add.py", "cheat_ptr_cache.py", "cheat_forged_output.py"]
    for name in names:
        shutil.copy(EXAMPLES / name, tmp_path / name)
    (tmp_path / "unreadable.py").mkdir()  # not a file: collect() skips it; a broken read is tested below
    paths = collect(tmp_path)
    options = AuditOptions(dynamic=True, timeout_s=60)
    executor = RayAuditExecutor(task=task, options=options, workers=1, timeout_s=60)
    try:
        assert executor.num_gpus == 0  # a CPU task asks for no GPU
        out = io.StringIO()
        remote = audit_paths(paths, tmp_path, task, options, out, executor=executor)
    finally:
        executor.close()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["file"] for line in lines] == sorted(names)  # streamed in input order
    local = audit_paths(paths, tmp_path, task, options, io.StringIO(), jobs=1)
    assert _verdicts(remote) == _verdicts(local)
    assert _verdicts(remote)["honest_add.py"] == "PASS"
    assert _verdicts(remote)["cheat_ptr_cache.py"] in {"FAIL", "FLAG"}
    assert all(r.metrics.get("dynamic", {}).get("status") == "ran" for r in remote)


def test_gpu_task_gets_a_gpu_from_ray(ray_cluster):
    """The session cluster declares one (logical) GPU; a CUDA task's worker must be the one holding it."""
    from referee.scale import RayAuditExecutor

    task = resolve_task("vectoradd_py")
    gpu_task = dataclasses.replace(task, settings=dataclasses.replace(task.settings, device="cuda"))
    assert gpu_task.needs_cuda
    executor = RayAuditExecutor(task=gpu_task, options=AuditOptions(dynamic=False))
    try:
        infos = executor.pool.infos()
    finally:
        executor.close()
    assert executor.num_gpus == 1 and len(infos) == 1  # one worker per cluster GPU
    assert infos[0]["gpu_ids"] and infos[0]["cuda_visible_devices"] == infos[0]["gpu_ids"][0]


def test_gpu_task_on_a_cluster_without_enough_gpus_is_a_usage_error(ray_cluster):
    from referee.scale import RayAuditExecutor, RayUnavailable

    task = resolve_task("vectoradd_py")
    with pytest.raises(RayUnavailable, match="needs a GPU"):
        RayAuditExecutor(task=task, options=AuditOptions(dynamic=False), num_gpus=2)


def test_audit_batch_cli_with_ray_static(ray_cluster, tmp_path):
    for name in ("honest_add.py", "cheat_timer_patch.py"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    out = tmp_path / "audits.jsonl"
    result = CliRunner().invoke(app, ["audit-batch", str(tmp_path), "--no-dynamic", "--ray", "auto", "-j", "2",
                                      "--out", str(out), "--json"])
    assert result.exit_code in (0, 1, 2), result.output
    summary = json.loads(result.stdout[result.stdout.index("{"):])
    assert summary["audited"] == 2
    assert [json.loads(line)["file"] for line in out.read_text().splitlines()] == ["cheat_timer_patch.py",
                                                                                    "honest_add.py"]
