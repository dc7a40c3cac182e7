"""Alembic migrations run from code at startup, safely when several processes start at once.

`referee serve` and every `referee worker` call `prepare()` when they start, so a fresh database works with no
manual step and an upgraded package upgrades its schema. Concurrent starters are serialised: a PostgreSQL advisory
lock, or an exclusive file lock next to a SQLite file. The migration scripts ship inside the package
(`referee/store/migrations`), so an installed wheel needs no alembic.ini.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Stable 63-bit key for pg_advisory_lock, derived from a name so it cannot clash with another app by accident.
_LOCK_KEY = int.from_bytes(hashlib.sha256(b"referee.store.migrate").digest()[:8], "big") >> 1


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str | None:
    """Newest revision shipped with this package (read once: the files do not change while running)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """Revision the database is at (None before the first migration)."""
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError as exc:
            conn.rollback()
            if isinstance(exc, OperationalError | ProgrammingError) and "alembic_version" in str(exc):
                return MigrationContext.configure(conn).get_current_revision()
            raise


@contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """Hold the cross-process schema lock; yields a connection to migrate on."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        lock_path = Path(database + ".migrate-lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with engine.connect() as conn:
                yield conn
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    with engine.connect() as conn:
        yield conn


def upgrade_on(conn: Connection, revision: str = "head") -> None:
    """Upgrade through an open connection (the caller holds `migration_lock`)."""
    command.upgrade(alembic_config(conn), revision)
    conn.commit()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest), holding the cross-process lock."""
    with migration_lock(engine) as conn:
        upgrade_on(conn, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    with migration_lock(engine) as conn:
        command.downgrade(alembic_config(conn), revision)
        conn.commit()
