"""Migrations: they build exactly the models' schema, run from code, and survive concurrent starters."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from referee_testdb import scratch_pg_database, sqlite_url
from sqlalchemy import inspect

from referee.store.db import Store, database_url, default_database_url
from referee.store.migrate import current_revision, downgrade, head_revision, upgrade
from referee.store.models import Base

TABLES = {"tasks", "code_blobs", "submissions", "audits", "reviews", "health_probe", "alembic_version"}


def _schema_diff(store: Store) -> list:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrations_match_models_and_round_trip(store):
    assert current_revision(store.engine) == head_revision()
    assert set(inspect(store.engine).get_table_names()) >= TABLES
    assert _schema_diff(store) == []  # the migration creates exactly what models.py declares
    downgrade(store.engine)
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    upgrade(store.engine)
    upgrade(store.engine)  # idempotent at head
    assert current_revision(store.engine) == head_revision()
    assert _schema_diff(store) == []


def _concurrent_migrations(url: str, processes: int = 3) -> list[subprocess.CompletedProcess]:
    code = textwrap.dedent(f"""
        from referee.store.db import Store
        from referee.store import repository
        store = Store({url!r})
        store.migrate()
        repository.ensure_tasks(store, {{"t": {{"task.yml": "x"}}}})
        print("ok")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(processes)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_concurrent_first_start_on_sqlite(tmp_path):
    url = sqlite_url(tmp_path)
    results = _concurrent_migrations(url)
    assert all(r.returncode == 0 and "ok" in r.stdout for r in results), [r.stderr[-800:] for r in results]
    store = Store(url)
    assert current_revision(store.engine) == head_revision()
    from referee.store import repository

    assert [t["name"] for t in repository.list_tasks(store)] == ["t"]


@pytest.mark.postgres
def test_concurrent_first_start_on_postgres(request):
    request.getfixturevalue("pg_url")  # skips (outside CI) when there is no server
    from referee_testdb import pg_server_url

    with scratch_pg_database(pg_server_url()) as url:
        results = _concurrent_migrations(url)
        assert all(r.returncode == 0 and "ok" in r.stdout for r in results), [r.stderr[-800:] for r in results]
        store = Store(url)
        assert current_revision(store.engine) == head_revision()
        store.dispose()


def test_database_url_defaults_and_normalisation(tmp_path, monkeypatch):
    monkeypatch.delenv("REFEREE_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = database_url()
    assert url == default_database_url()
    assert url.startswith("sqlite:///") and url.endswith("referee/referee.sqlite3")
    assert str(tmp_path / "data") in url
    monkeypatch.setenv("REFEREE_DATABASE_URL", "postgres://u:p@h/db")
    assert database_url() == default_database_url()  # the store reads no environment: the service's Settings do
    assert database_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert database_url("postgresql://h/db") == "postgresql+psycopg://h/db"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_default_store_creates_its_file(tmp_path, monkeypatch):
    monkeypatch.delenv("REFEREE_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    store = Store()
    store.migrate()
    assert (tmp_path / "data" / "referee" / "referee.sqlite3").is_file()
    assert "password" not in repr(Store("postgresql://u:password@h/db"))
