"""Real `referee worker` processes against a real server and database (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from service_helpers import REFEREE, base_env, wait_for
from test_api import _register

from referee.service.cli import parse_options

CLEAN = "def custom_kernel(data):\n    return data\n"
CHEAT = "CACHE = {}\n\ndef custom_kernel(data):\n    return CACHE.get(id(data))  # CHEAT\n"
SUSPECT_LLM = "import os\n\ndef custom_kernel(data):  # SUSPECT, ask the LLM\n    return data\n"


def _submit(srv, task: str, code: str) -> int:
    with srv.client() as public:
        response = public.post("/submissions", json={"task": task, "code": code, "user_id": "u"})
    assert response.status_code == 202, response.text
    return response.json()["audit_id"]


def _audit(srv, audit_id: int) -> dict:
    with srv.client(admin=True) as admin:
        return admin.get(f"/admin/audits/{audit_id}").json()["audit"]


def _wait_status(srv, audit_id: int, statuses: set[str], timeout: float = 60) -> dict:
    return wait_for(lambda: (a := _audit(srv, audit_id))["status"] in statuses and a, timeout=timeout,
                    what=f"audit {audit_id} to reach {statuses}")


def _worker_log(srv) -> str:
    return "\n".join(p.read_text() for p in srv.log.parent.glob("worker-*.log"))


def test_workers_audit_submissions_end_to_end(fresh_server):
    srv = fresh_server
    with srv.client(admin=True) as admin:
        task = _register(admin)
    ids = {name: _submit(srv, task, code) for name, code in (("clean", CLEAN), ("cheat", CHEAT),
                                                              ("suspect", SUSPECT_LLM))}
    worker = srv.start_worker("--auditor", "service_auditors:marker_auditor", "--drain", "--poll-seconds", "0.1",
                              "--concurrency", "2", "--option", "dynamic=false", "-o", "label=static only")
    assert worker.wait(timeout=120) == 0, _worker_log(srv)
    clean, cheat, suspect = (_audit(srv, ids[name]) for name in ("clean", "cheat", "suspect"))
    assert (clean["status"], clean["verdict"], clean["findings"]) == ("done", "PASS", [])
    assert cheat["verdict"] == "FAIL" and [f["line"] for f in cheat["findings"]] == [4]
    assert cheat["findings"][0]["rule"] == "test-cheat" and cheat["report"]["verdict"] == "FAIL"
    assert suspect["verdict"] == "FLAG"
    assert clean["report"]["metrics"]["options"] == {"dynamic": False, "label": "static only",
                                                     "filename": "submission.py"}
    assert suspect["llm"] == {"model": "test-model", "verdict": "cheating", "reasoning": "it said LLM"}
    for audit in (clean, cheat, suspect):
        assert audit["attempts"] == 1 and audit["error"] is None and audit["latency_s"] > 0
    with srv.client() as public:
        metrics = public.get("/metrics").text
    assert 'referee_audits_current{verdict="FAIL"} 1' in metrics
    assert "referee_audit_latency_seconds_count 3" in metrics


def test_sigkilled_worker_audit_completes_after_lease_expiry(fresh_server, tmp_path):
    srv = fresh_server
    env = {"REFEREE_TEST_FLAKY_DIR": str(tmp_path)}
    with srv.client(admin=True) as admin:
        task = _register(admin)
    audit_id = _submit(srv, task, CHEAT)
    doomed = srv.start_worker("--auditor", "service_auditors:slow_once_auditor", "--lease-seconds", "2",
                              "--poll-seconds", "0.1", "--name", "doomed", env=env)
    running = _wait_status(srv, audit_id, {"running"})
    assert running["lease_owner"] == "doomed" and running["attempts"] == 1
    time.sleep(0.5)  # well inside the audit (it hangs for a minute on its first attempt)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    killed_at = time.monotonic()
    srv.start_worker("--auditor", "service_auditors:slow_once_auditor", "--lease-seconds", "2",
                     "--poll-seconds", "0.1", "--name", "rescuer", env=env)
    done = _wait_status(srv, audit_id, {"done", "error"}, timeout=60)
    assert done["status"] == "done", done["error"]
    assert done["verdict"] == "FAIL" and [f["line"] for f in done["findings"]] == [4]
    assert done["attempts"] == 2 and done["lease_owner"] == "rescuer"
    assert time.monotonic() - killed_at < 30
    assert "expired lease" in _worker_log(srv)


def test_failing_auditor_is_retried_with_backoff_then_recorded(server, tmp_path):
    with server.client(admin=True) as admin:
        task = _register(admin)
    broken = _submit(server, task, "x = 'always fails'\n")
    worker = server.start_worker("--auditor", "service_auditors:failing_auditor", "--drain", "--retry-seconds",
                                 "0.1", "--poll-seconds", "0.05")
    assert worker.wait(timeout=120) == 0
    audit = _audit(server, broken)
    assert audit["status"] == "error" and audit["attempts"] == 3
    assert "RuntimeError: the engine crashed on purpose" in audit["error"]  # the operator's view
    with server.client() as public:
        shown = public.get(f"/audits/{broken}").json()
    assert shown["status"] == "error" and "crashed on purpose" not in shown["error"]  # the submitter's view
    assert shown["error"] == "the audit could not be completed (3 attempt(s)); the operator has the details"


def test_transient_failure_succeeds_on_retry(server, tmp_path):
    with server.client(admin=True) as admin:
        task = _register(admin)
    audit_id = _submit(server, task, CHEAT + "# flaky\n")
    worker = server.start_worker("--auditor", "service_auditors:flaky_auditor", "--drain", "--retry-seconds", "0.1",
                                 "--poll-seconds", "0.05", env={"REFEREE_TEST_FLAKY_DIR": str(tmp_path)})
    assert worker.wait(timeout=120) == 0
    audit = _audit(server, audit_id)
    assert audit["status"] == "done" and audit["verdict"] == "FAIL" and audit["attempts"] == 2
    assert audit["error"] is None


def test_auditor_returning_garbage_is_an_error_not_a_crash(server):
    with server.client(admin=True) as admin:
        task = _register(admin)
    audit_id = _submit(server, task, "garbage = 1\n")
    worker = server.start_worker("--auditor", "service_auditors:not_a_report", "--drain", "--retry-seconds", "0",
                                 "--poll-seconds", "0.05")
    assert worker.wait(timeout=120) == 0
    audit = _audit(server, audit_id)
    assert audit["status"] == "error" and "not a referee.report.Report" in audit["error"]


def test_sigterm_finishes_the_audit_in_hand(server):
    with server.client(admin=True) as admin:
        task = _register(admin)
    audit_id = _submit(server, task, CLEAN + "# sleep: 2\n")
    worker = server.start_worker("--auditor", "service_auditors:marker_auditor", "--poll-seconds", "0.05")
    _wait_status(server, audit_id, {"running"})
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert _audit(server, audit_id)["status"] == "done"


@pytest.mark.postgres
def test_real_engine_end_to_end(pg_server):
    """The default worker (referee.submissions, dynamic probes in one warm sandbox) on bundled examples, on
    PostgreSQL (test_demo.py runs the same engine over every bundled example on the SQLite default)."""
    import yaml

    from referee.submissions.task import bundled_tasks_dir

    srv = pg_server
    folder = bundled_tasks_dir() / "vectoradd_py" / "submissions"
    expected = yaml.safe_load((folder / "expected.yml").read_text())
    chosen = ["honest_add.py", "cheat_ptr_cache.py", "cheat_timer_patch.py"]
    ids = {}
    for name in chosen:
        with srv.client() as public:
            response = public.post("/submissions", json={"task": "vectoradd_py", "code": (folder / name).read_text(),
                                                         "file_name": name, "leaderboard": "vectoradd"})
        ids[name] = response.json()["audit_id"]
    worker = srv.start_worker("--drain", "--poll-seconds", "0.1")
    assert worker.wait(timeout=240) == 0, _worker_log(srv)
    for name in chosen:
        audit = _audit(srv, ids[name])
        assert audit["status"] == "done", (name, audit["error"])
        assert audit["verdict"] == expected[name]["verdict"], (name, audit["findings"], audit["report"]["notes"])
        rules = {f["rule"] for f in audit["findings"]}
        assert set(expected[name]["dynamic"]) <= rules, (name, rules)
        assert audit["report"]["subject"] == name  # the submission's file name reached the engine
        assert audit["timings"]["total"] > 0


def test_option_parsing():
    assert parse_options(["dynamic=false", "n=3", "name=x y", 'tags=["a"]']) == {
        "dynamic": False, "n": 3, "name": "x y", "tags": ["a"]}
    for bad in ("novalue", "=3", "bad key=1"):
        with pytest.raises(ValueError):
            parse_options([bad])


@pytest.mark.parametrize(("args", "db_url", "message", "code"), [
    (["--auditor", "no_such_module:fn"], None, "cannot load --auditor", 4),  # a bad option value: usage error
    (["--auditor", "nocolon"], None, "cannot load --auditor", 4),
    (["-o", "dynamc=false"], None, "unknown --option dynamc", 4),  # a misspelt key is refused, not ignored
    (["--auditor", "service_auditors:marker_auditor"], "postgresql://nobody@127.0.0.1:1/none",
     "cannot use the database", 3),
])
def test_worker_refuses_bad_configuration_clearly(tmp_path, args, db_url, message, code):
    result = subprocess.run([REFEREE, "worker", *args], env=base_env(db_url or f"sqlite:///{tmp_path}/db.sqlite3"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == code and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_bad_settings_are_named(tmp_path, command):
    env = base_env(f"sqlite:///{tmp_path}/db.sqlite3", REFEREE_MAX_CODE_BYTES="lots")
    result = subprocess.run([REFEREE, command], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 4, result.stderr
    assert "REFEREE_MAX_CODE_BYTES: Input should be a valid integer" in result.stderr, result.stderr
    if command == "worker":
        bad_option = subprocess.run([REFEREE, "worker", "--option", "nonsense"], env=base_env("sqlite://"),
                                    capture_output=True, text=True, timeout=60)
        assert bad_option.returncode == 4 and "KEY=VALUE" in bad_option.stderr


@pytest.mark.postgres
def test_worker_rides_out_a_database_outage(tmp_path, pg_service_url):
    """The database disappears under a running worker: it logs, waits, and resumes when it is back."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from referee.store import repository
    from referee.store.db import Store

    log = tmp_path / "worker.log"
    worker = subprocess.Popen([REFEREE, "worker", "--auditor", "service_auditors:marker_auditor", "--poll-seconds",
                               "0.1"], env=base_env(pg_service_url), stdout=log.open("w"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    name = make_url(pg_service_url).database
    admin = create_engine(make_url(pg_service_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        wait_for(lambda: "slot(s)" in log.read_text(), 60, what="the worker to start")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        wait_for(lambda: "database unavailable" in log.read_text(), 30, what="the outage log line")
        time.sleep(1.0)
        assert worker.poll() is None, log.read_text()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        store = Store(pg_service_url)
        store.migrate()
        repository.register_task(store, "t", {"task.yml": "x", "reference.py": "y"})
        audit_id = repository.submit(store, task="t", code=CHEAT).audit_id
        done = wait_for(lambda: (a := repository.get_audit(store, audit_id))["status"] == "done" and a, 60,
                        what="the audit after the database came back")
        assert done["verdict"] == "FAIL"
        store.dispose()
        assert "database reachable again" in log.read_text()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        assert "Traceback" not in log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
        admin.dispose()
