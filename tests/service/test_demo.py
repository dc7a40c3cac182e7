"""`referee service-demo`: the service end to end, on a temporary database unless told otherwise."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess

from service_helpers import REFEREE

from referee.service import demo
from referee.service.auditing import bundled_tasks
from referee.service.demo import example_submissions
from referee.store import repository
from referee.store.db import Store
from referee.submissions.task import bundled_task_names

ROW = re.compile(r"│ (\d+) +│ (\w+) +│ (\S+\.py) +│ (\w+) +│")


def _env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFEREE_")}
    env.update({"XDG_DATA_HOME": str(tmp_path / "data"), "COLUMNS": "160", **extra})
    return env


def test_service_demo_shows_only_its_own_run(tmp_path):
    """Told to use a database that holds an older run (a wrong verdict stored under the old demo's idempotency key),
    the demo audits afresh and shows none of the old audits."""
    url = f"sqlite:///{tmp_path / 'kept.sqlite3'}"
    store = Store(url)
    store.migrate()
    repository.ensure_tasks(store, bundled_tasks())
    task, name, code = next(e for e in example_submissions() if "cheat" in e[1])
    old_key = "demo-" + hashlib.sha256(f"{task}/{name}\0{code}".encode()).hexdigest()[:24]
    stale = repository.submit(store, task=task, code=code, file_name=name, idempotency_key=old_key)
    store.dispose()
    result = subprocess.run([REFEREE, "service-demo"], env=_env(tmp_path, REFEREE_DATABASE_URL=url),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = ROW.findall(result.stdout)
    assert len(rows) == len(example_submissions()) >= 20, result.stdout
    assert str(stale.audit_id) not in {audit_id for audit_id, *_ in rows}
    assert len({audit_id for audit_id, *_ in rows}) == len(rows)
    # every example was stored, audited to the end and shown (whether the engine is right about each one is
    # tests/submissions' business; test_worker.py checks real verdicts flow through the service unchanged)
    assert {verdict for *_, verdict in rows} <= {"PASS", "FLAG", "FAIL", "DEGRADED"}, result.stdout
    assert "FAIL" in {verdict for *_, verdict in rows}
    assert {row[1] for row in rows} == set(bundled_task_names())
    assert not (tmp_path / "data" / "referee").exists()  # told a database: the user's default was never touched


def test_service_demo_uses_a_temporary_database_by_default(tmp_path, monkeypatch):
    """Untold, the demo's database is a temporary file, gone afterwards: the user's data dir is never touched."""
    seen: dict[str, str] = {}

    def fake_run(env, *, keep, echo, where):
        seen.update(url=env["REFEREE_DATABASE_URL"], where=where)
        return 0

    for name in ("REFEREE_DATABASE_URL", "REFEREE_DATABASE_URL_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(demo, "_run", fake_run)
    assert demo.run_demo() == 0
    path = seen["url"].removeprefix("sqlite:///")
    assert "referee-demo-" in path and "temporary" in seen["where"]
    assert not os.path.exists(os.path.dirname(path))  # removed at the end
    monkeypatch.setenv("REFEREE_DATABASE_URL", f"sqlite:///{tmp_path}/mine.sqlite3")
    assert demo.run_demo() == 0 and seen["url"] == f"sqlite:///{tmp_path}/mine.sqlite3"
