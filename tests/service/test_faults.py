"""Fault injection against a real `referee serve`: unwritable SQLite files, a database that stops taking writes,
out-of-range ids. Each ends in a clear refusal or a 4xx/503, never a crash or a 500."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest
from referee_testdb import sqlite_url
from service_helpers import ADMIN_TOKEN, REFEREE, base_env, start_server, stop_server, wait_for

from referee.store.db import Store


def test_sqlite_database_file_is_created_readable_by_its_owner_only(tmp_path):
    old_umask = os.umask(0o022)  # the usual umask, which would leave a plain new file world-readable
    try:
        store = Store(sqlite_url(tmp_path))
        store.migrate()
        with store.engine.connect() as conn:  # an open connection keeps the -wal and -shm files in place
            conn.exec_driver_sql("SELECT count(*) FROM tasks").scalar()
            modes = {name: stat.S_IMODE((tmp_path / name).stat().st_mode)
                     for name in ("referee.sqlite3", "referee.sqlite3-wal", "referee.sqlite3-shm")}
        store.dispose()
    finally:
        os.umask(old_umask)
    assert modes == dict.fromkeys(modes, 0o600), {k: oct(v) for k, v in modes.items()}


def _as_other_user() -> list[str]:
    """Run as `nobody` when we are root (root ignores file modes), as ourselves otherwise."""
    return ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--"] if os.getuid() == 0 else []


@pytest.fixture
def open_folder():
    """A folder another user can reach (pytest's tmp_path sits under a 0700 folder of root's)."""
    folder = Path(tempfile.mkdtemp(prefix="referee-faults-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_serve_refuses_an_unwritable_shm_file_instead_of_dying(open_folder):
    """An `-shm` the service cannot write (another user's, a read-only mount): `serve` exits 3 naming the file."""
    folder = open_folder / "db"
    folder.mkdir()
    store = Store(sqlite_url(folder))
    store.migrate()
    store.dispose()
    shm = folder / "referee.sqlite3-shm"
    shm.write_bytes(b"")
    shm.chmod(0o444)
    if os.getuid() == 0:
        for path in (folder, *folder.iterdir()):
            if path != shm:
                os.chown(path, 65534, 65534)  # nobody owns the database; the -shm stays root's, read-only
    result = subprocess.run([*_as_other_user(), REFEREE, "serve", "--port", "0"], env=base_env(sqlite_url(folder)),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, (result.returncode, result.stderr)
    assert f"SQLite file {shm} is not writable" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.returncode != -7  # -7: SIGBUS


def test_review_page_ids_are_bounded(server):
    """10**30 would overflow the database's BIGINT: a 422 at the edge, like the API, never a 500."""
    with httpx.Client(base_url=server.url, follow_redirects=False) as browser:
        login = browser.post("/admin/ui/login", data={"token": ADMIN_TOKEN, "reviewer": "r"})
        assert login.status_code == 303
        for audit_id in (10**30, 2**63, 0, -1):
            page = browser.get(f"/admin/ui/audits/{audit_id}")
            assert page.status_code == 422, (audit_id, page.status_code)
            posted = browser.post(f"/admin/ui/audits/{audit_id}/review", data={"decision": "ok", "csrf": "x"})
            assert posted.status_code == 422, (audit_id, posted.status_code)
        assert browser.get(f"/admin/ui/audits/{2**62}").status_code == 404
        assert browser.get("/admin/ui", params={"before_id": 10**30}).status_code == 422


@pytest.mark.postgres
def test_healthz_fails_when_the_database_stops_taking_writes(tmp_path, pg_service_url):
    """Reads still work, writes do not (a read-only database): /healthz says 503 and why, then recovers."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    srv = start_server(pg_service_url, tmp_path / "serve.log", REFEREE_REGISTER_BUNDLED="0")
    name = make_url(pg_service_url).database
    admin_engine = create_engine(make_url(pg_service_url).set(database="postgres"), isolation_level="AUTOCOMMIT")

    def read_only(on: bool) -> None:
        with admin_engine.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {"on" if on else "off"}'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": name})  # pooled connections keep the old setting: make the server reconnect

    try:
        with srv.client(admin=True) as admin:
            assert admin.get("/healthz").json()["writes"] == "ok"
            read_only(True)
            health = wait_for(lambda: (r := admin.get("/healthz")).status_code == 503 and r, 30,
                              what="/healthz to notice the failing writes")
            body = health.json()
            assert body["status"] == "error" and "read-only" in body["writes"], body
            assert admin.get("/admin/tasks").status_code == 200  # reads still answer
            assert srv.proc.poll() is None
            read_only(False)
            wait_for(lambda: admin.get("/healthz").status_code == 200, 30, what="/healthz to recover")
    finally:
        read_only(False)
        admin_engine.dispose()
        stop_server(srv)


def test_stale_shm_left_by_an_older_run_is_fine_when_writable(tmp_path):
    """The check refuses only what cannot work: a writable leftover -shm is SQLite's normal recovery case."""
    srv = start_server(sqlite_url(tmp_path), tmp_path / "serve.log", REFEREE_REGISTER_BUNDLED="0")
    stop_server(srv)
    Path(tmp_path / "referee.sqlite3-shm").write_bytes(b"\0" * 32768)
    again = start_server(sqlite_url(tmp_path), tmp_path / "serve2.log", REFEREE_REGISTER_BUNDLED="0")
    try:
        assert httpx.get(again.url + "/healthz").json()["writes"] == "ok"
    finally:
        stop_server(again)
