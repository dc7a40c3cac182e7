"""A durable outbox for `AuditClient(spool=...)`: submissions survive a restart of the process that made them.

Without a spool the client's queue lives in memory: `close()` reports what it could not deliver, and a crash or a
deploy of the leaderboard loses it. With one, `submit` first writes the submission (payload and Idempotency-Key)
to a small SQLite file, the delivery thread deletes it once the service accepted (202) or refused it for good
(4xx), and the next client opened on the same file re-sends whatever is left, with the same keys, so the service
makes exactly one audit per submission however often it is re-sent.

SQLite in WAL mode with synchronous=NORMAL survives a killed process (the case that matters here); a write takes
well under a millisecond, the only work `submit` does on the caller's thread besides queueing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

_SCHEMA = "CREATE TABLE IF NOT EXISTS outbox (key TEXT PRIMARY KEY, payload TEXT NOT NULL, created REAL NOT NULL)"


class Spool:
    """Thread-safe outbox: `add` before queueing, `remove` once settled, `pending` on start."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=2.0, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def add(self, key: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO outbox (key, payload, created) VALUES (?, ?, ?)",
                             (key, json.dumps(payload), time.time()))

    def remove(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE key = ?", (key,))

    def pending(self) -> list[tuple[str, dict[str, Any], float]]:
        """(key, payload, age in seconds) of everything not yet settled, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT key, payload, created FROM outbox ORDER BY created").fetchall()
        now = time.time()
        return [(key, json.loads(payload), max(0.0, now - created)) for key, payload, created in rows]

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
