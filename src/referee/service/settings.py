"""Service settings, read from the environment when a process starts (never at import time).

| variable | default | meaning |
|---|---|---|
| REFEREE_DATABASE_URL | SQLite file in the user's data dir | where tasks, submissions, audits and reviews live |
| REFEREE_ADMIN_TOKEN | unset: admin API and review page refuse | bearer token for /admin/* |
| REFEREE_SUBMIT_TOKEN | unset: POST /submissions and GET /audits are open | bearer token for the leaderboard |
| REFEREE_MAX_CODE_BYTES | 262144 | largest submission accepted (413 above) |
| REFEREE_MAX_ATTEMPTS | 3 | attempts per audit before it ends in `error` |
| REFEREE_REGISTER_BUNDLED | 1 | register the bundled example tasks on startup (missing names only) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from referee.store.db import database_url


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=database_url)
    admin_token: str | None = None
    submit_token: str | None = None
    max_code_bytes: int = 256 * 1024
    max_task_bytes: int = 4 * 1024 * 1024
    max_attempts: int = 3
    register_bundled: bool = True
    ui_session_s: int = 12 * 3600

    @property
    def max_body_bytes(self) -> int:
        """Largest request body read at all: one submission, with room for JSON escaping and metadata."""
        return 2 * self.max_code_bytes + 64 * 1024

    @property
    def max_task_body_bytes(self) -> int:
        """Largest body of POST /admin/tasks."""
        return 2 * self.max_task_bytes + 64 * 1024

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        admin = os.environ.get("REFEREE_ADMIN_TOKEN", "").strip() or None
        submit = os.environ.get("REFEREE_SUBMIT_TOKEN", "").strip() or None
        settings = cls(
            database_url=database_url(),
            admin_token=admin,
            submit_token=submit,
            max_code_bytes=_int("REFEREE_MAX_CODE_BYTES", 256 * 1024),
            max_attempts=max(1, _int("REFEREE_MAX_ATTEMPTS", 3)),
            register_bundled=os.environ.get("REFEREE_REGISTER_BUNDLED", "1").strip() not in ("0", "false", "no"),
        )
        return replace(settings, **overrides) if overrides else settings  # type: ignore[arg-type]
