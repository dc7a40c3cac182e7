"""Engine and sessions, built from `REFEREE_DATABASE_URL` (never at import time).

The default is a SQLite file in the user's data directory, so `referee serve` works with nothing installed;
PostgreSQL (psycopg 3) is the production choice. SQLite gets WAL, a busy timeout and enforced foreign keys, and
its write transactions start with `BEGIN IMMEDIATE`: a deferred transaction that reads first and writes later can
fail with "database is locked" when another writer got in between, instead of waiting its turn.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_FILE_MODE = 0o600  # audits hold every user's code: readable by the service's own user only
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class DatabaseUnusable(RuntimeError):
    """The database cannot be used as configured; the message says what to fix."""


def default_database_url() -> str:
    """SQLite file in the per-user data dir (platformdirs), created on first use."""
    import platformdirs

    folder = Path(platformdirs.user_data_dir("referee", appauthor=False))
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'referee.sqlite3'}"


def prepare_sqlite_file(path: Path) -> None:
    """Create the database file 0600 (SQLite gives its -wal and -shm files the same mode) and check that every
    file SQLite will write is writable.

    An unwritable `-shm` (left by another user, a read-only mount) is refused here with its name: SQLite maps that
    file into memory, and a process that runs on with a mapping it cannot back dies of SIGBUS instead of an error.
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE)
        os.close(fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise DatabaseUnusable(f"cannot create the SQLite database {path}: {exc.strerror}") from None
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_SIDE_FILES)):
        if not candidate.exists():
            continue
        try:
            os.close(os.open(candidate, os.O_RDWR))
        except OSError as exc:
            raise DatabaseUnusable(
                f"SQLite file {candidate} is not writable ({exc.strerror}): fix its owner or permissions, or remove "
                "it while no referee process uses the database") from None
    probe = path.parent / f".{path.name}.write-probe-{os.getpid()}"
    try:
        os.close(os.open(probe, os.O_RDWR | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE))
        probe.unlink()
    except OSError as exc:
        raise DatabaseUnusable(f"cannot create files in {path.parent} ({exc.strerror}); SQLite needs to create "
                               f"{path.name}-wal and {path.name}-shm there") from None


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else the SQLite default. (`REFEREE_DATABASE_URL` is read by the service's
    settings, the one place that reads the environment.)

    Plain `postgresql://` and `postgres://` URLs are switched to the psycopg 3 driver, the one installed.
    """
    url = url or default_database_url()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def redact(url: str) -> str:
    """The URL with its password hidden, for logs and /healthz."""
    return make_url(url).render_as_string(hide_password=True)


def create_db_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine with the per-dialect settings the queue relies on."""
    url = database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            prepare_sqlite_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **kwargs)
        _sqlite_setup(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def _sqlite_setup(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, emit BEGIN, so write transactions can ask for IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 60000")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        if engine.url.database and engine.url.database != ":memory:":
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("referee_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Store:
    """An engine plus read and write session scopes. One per process; thread-safe."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        self.url = database_url(url) if engine is None else engine.url.render_as_string(hide_password=False)
        self.engine = engine or create_db_engine(self.url)
        self.dialect = self.engine.dialect.name
        writer = self.engine.execution_options(referee_write=True) if self.is_sqlite else self.engine
        self._write_lock: Any = threading.Lock() if self.is_sqlite else nullcontext()
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(writer, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; rolled back at the end (it must not write)."""
        with self._read() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception.

        On SQLite the threads of one process also queue on a lock first: SQLite admits one writer at a time
        anyway, and a lock hands over at once where SQLite's busy handler would sleep and poll (long tails).
        """
        with self._write_lock, self._write() as session, session.begin():
            yield session

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True

    def migrate(self) -> None:
        from referee.store.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({redact(self.url)!r})"
