"""Fixtures: `store` runs each test on a fresh SQLite file AND on the session's PostgreSQL database."""

from __future__ import annotations

import pytest
from referee_testdb import empty_tables, pg_server_url, scratch_pg_database, sqlite_url

from referee.store.db import Store


@pytest.fixture(scope="session")
def pg_url():
    server = pg_server_url()
    if server is None:
        pytest.skip("PostgreSQL tests need REFEREE_TEST_PG_URL (bash scripts/pg.sh start; export "
                    "REFEREE_TEST_PG_URL=$(bash scripts/pg.sh url)); they always run under CI=true")
    with scratch_pg_database(server) as url:
        yield url


@pytest.fixture(scope="session")
def pg_store(pg_url):
    store = Store(pg_url)
    store.migrate()
    yield store
    store.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "sqlite":
        sqlite = Store(sqlite_url(tmp_path))
        sqlite.migrate()
        yield sqlite
        sqlite.dispose()
        return
    shared = request.getfixturevalue("pg_store")
    empty_tables(shared)
    yield shared
