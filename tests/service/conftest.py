"""Fixtures: real `referee serve` processes on random loopback ports, real worker processes, real databases."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "store"))  # shared database helpers

from referee_testdb import pg_server_url, scratch_pg_database, sqlite_url
from service_helpers import Server, start_server, stop_server


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    """One service on SQLite (the embedded default) for the HTTP tests, with the bundled tasks registered."""
    folder = tmp_path_factory.mktemp("service")
    srv = start_server(sqlite_url(folder), folder / "serve.log")
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def pg_service_url() -> Iterator[str]:
    server_url = pg_server_url()
    if server_url is None:
        pytest.skip("PostgreSQL tests need REFEREE_TEST_PG_URL (bash scripts/pg.sh start); always run under CI")
    with scratch_pg_database(server_url) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_server(request, tmp_path) -> Iterator[Server]:
    """A service on an empty database of its own: SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        db_url = sqlite_url(tmp_path)
        srv = start_server(db_url, tmp_path / "serve.log")
        yield srv
        stop_server(srv)
        return
    yield request.getfixturevalue("pg_server")


@pytest.fixture
def pg_server(tmp_path) -> Iterator[Server]:
    """A service on a fresh PostgreSQL database of its own."""
    server_url = pg_server_url()
    if server_url is None:
        pytest.skip("PostgreSQL tests need REFEREE_TEST_PG_URL (bash scripts/pg.sh start); always run under CI")
    with scratch_pg_database(server_url) as db_url:
        srv = start_server(db_url, tmp_path / "serve.log")
        try:
            yield srv
        finally:
            stop_server(srv)
