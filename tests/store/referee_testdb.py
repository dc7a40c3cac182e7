"""Real databases for the store and service tests: a SQLite file per test, a scratch PostgreSQL database per session.

PostgreSQL comes from REFEREE_TEST_PG_URL (what `.ci/run` exports after `scripts/pg.sh start`). When it is unset,
PostgreSQL tests are skipped on a developer machine, but under CI (CI=true) the conftest starts the server with
scripts/pg.sh itself: the PostgreSQL tests must never be silently skipped there.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy import text

from referee.store.db import Store, database_url
from referee.store.scratch import scratch_pg_database

__all__ = ["scratch_pg_database"]

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("reviews", "audits", "submissions", "code_blobs", "tasks")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def pg_server_url() -> str | None:
    """URL of a PostgreSQL server to test against, or None (then PostgreSQL tests skip, outside CI only)."""
    url = os.environ.get("REFEREE_TEST_PG_URL", "").strip()
    if url:
        return database_url(url)
    if not in_ci():
        return None
    started = subprocess.run(["bash", str(ROOT / "scripts" / "pg.sh"), "start"], capture_output=True, text=True,
                             timeout=180)
    if started.returncode != 0:
        raise RuntimeError(f"CI=true but scripts/pg.sh start failed:\n{started.stdout}\n{started.stderr}")
    return database_url(started.stdout.strip().splitlines()[-1])


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'referee.sqlite3'}"


def empty_tables(store: Store) -> None:
    """Remove every row (schema stays) so a shared PostgreSQL database starts each test clean."""
    with store.engine.begin() as conn:
        if store.is_postgres:
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
