"""`referee worker --requires cuda|cpu`: a GPU worker claims only audits of tasks needing CUDA, a CPU worker leaves
them; on SQLite and on PostgreSQL (SKIP LOCKED with the task filter)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "store"))  # shared database helpers

from referee_testdb import pg_server_url, scratch_pg_database, sqlite_url

from referee.report import Report
from referee.scale.devices import DeviceTasks
from referee.service.app import prepare
from referee.service.worker import Worker
from referee.store import repository
from referee.store.db import Store
from referee.submissions.task import bundled_tasks_dir


def _files(device: str) -> dict[str, str]:
    root = bundled_tasks_dir()
    files = {n: (root / "vectoradd_py" / n).read_text() for n in ("task.yml", "reference.py", "task.py")}
    files["utils.py"] = (root / "utils.py").read_text()
    files["task.yml"] = files["task.yml"].replace("device: cpu", f"device: {device}")
    return files


def _seen_by(store, requires):
    seen = []

    def auditor(code, task_name, task_files, options, sandbox=None):
        seen.append(task_name)
        return Report(subject=task_name, kind="submission")

    Worker(store, auditor=auditor, drain=True, poll_s=0.05, claim_where=DeviceTasks(store, requires)).run()
    return seen


def _exercise(url):
    store = Store(url)
    try:
        prepare(store, register_bundled=False)
        repository.register_task(store, "add_cpu", _files("cpu"))
        repository.register_task(store, "add_cuda", _files("cuda"))
        for i in range(3):
            for task in ("add_cpu", "add_cuda"):
                repository.submit(store, task=task, code=f"def custom_kernel(d):\n    return d  # {task} {i}\n")
        assert _seen_by(store, "cuda") == ["add_cuda"] * 3  # and it drains: CPU audits never keep it waiting
        repository.register_task(store, "late_cuda", _files("cuda"))  # registered while workers run
        repository.submit(store, task="late_cuda", code="def custom_kernel(d):\n    return d  # late\n")
        assert sorted(_seen_by(store, "cpu")) == ["add_cpu"] * 3  # leaves the new CUDA task to the GPU worker
        assert _seen_by(store, "cuda") == ["late_cuda"]
        assert _seen_by(store, "any") == []
    finally:
        store.dispose()


def test_device_filter_sqlite(tmp_path):
    _exercise(sqlite_url(tmp_path))


@pytest.mark.postgres
def test_device_filter_postgres():
    server = pg_server_url()
    if server is None:
        pytest.skip("PostgreSQL tests need REFEREE_TEST_PG_URL (bash scripts/pg.sh start); always run under CI")
    with scratch_pg_database(server) as url:
        _exercise(url)


def test_bad_requires_value():
    with pytest.raises(ValueError, match="cuda"):
        DeviceTasks(None, "tpu")
