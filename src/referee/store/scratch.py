"""A throwaway PostgreSQL database on a server: what the store tests and the service benchmarks run against.

One copy for both, so a test session and a benchmark run create and drop theirs the same way (FORCE: a server
process left connected must not keep the database alive).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def scratch_pg_database(server_url: str, prefix: str = "referee_test") -> Iterator[str]:
    """A fresh, empty database on the server (its URL, password kept); dropped afterwards whatever happened."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
