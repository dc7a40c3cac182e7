"""The audit queue: the `audits` table itself, worked with row leases.

A worker claims the oldest pending audit of the best priority. On PostgreSQL the row is picked with
`SELECT ... FOR UPDATE SKIP LOCKED`, so N workers never wait on or double-claim the same row; on SQLite the claim
runs in a `BEGIN IMMEDIATE` transaction, which holds the single write lock from the first read to the commit, so
the read-then-update is atomic. A claim grants a lease (a random token and an expiry); the worker heartbeats to
extend it and every later write is fenced on the token, so a worker that stalled past its lease cannot overwrite
the result of the worker that took over. Expired leases go back to pending until `max_attempts` is used up, then
the audit ends in `error` with the reason: a submission that kills its worker every time cannot loop forever.
Times come from the database server's clock on PostgreSQL, so workers on other machines agree on expiry.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, literal, select, text, update
from sqlalchemy.orm import Session

from referee.store.db import Store
from referee.store.models import Audit, CodeBlob, Submission, Task, utcnow

DEFAULT_LEASE_S = 60.0
MAX_BACKOFF_S = 300.0


@dataclass(frozen=True)
class Lease:
    """Proof that a worker owns a running audit; pass it back to every write."""

    audit_id: int
    token: str
    owner: str
    attempt: int
    lease_until: datetime


@dataclass(frozen=True)
class ClaimedAudit:
    """What a worker needs to run one audit, loaded in the claim transaction."""

    lease: Lease
    code: str
    task_name: str
    task_files: dict[str, str]
    options: dict[str, Any]
    submission: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


def db_now(session: Session) -> datetime:
    """The database server's clock on PostgreSQL (shared by all workers), the local clock on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value
    return utcnow()


def backoff_s(attempt: int, base_s: float = 5.0) -> float:
    """Exponential retry delay with jitter: 5 s, 10 s, 20 s, ... capped at 5 minutes."""
    delay = min(MAX_BACKOFF_S, base_s * 2 ** max(0, attempt - 1))
    return delay * random.uniform(0.8, 1.2)


def _anything_due(store: Store, where: Sequence[ColumnElement[bool]] = ()) -> bool:
    """Cheap read-only look first, so idle workers polling an empty queue never take the write lock."""
    with store.read() as session:
        return session.execute(
            select(Audit.id).where(Audit.status == "pending", Audit.not_before <= db_now(session), *where).limit(1)
        ).first() is not None


def claim(store: Store, owner: str, lease_s: float = DEFAULT_LEASE_S, *,
          where: Sequence[ColumnElement[bool]] = ()) -> ClaimedAudit | None:
    """Take the next due pending audit, or None when there is nothing to do.

    `where` narrows which audits this worker may take (extra SQL conditions on `Audit`, ANDed), e.g. a GPU-only
    filter for workers on GPU machines; new options go after the `*` as keywords, so callers never break.
    """
    if not _anything_due(store, where):
        return None
    with store.write() as session:
        now = db_now(session)
        audit_id = session.execute(
            select(Audit.id)
            .where(Audit.status == "pending", Audit.not_before <= now, *where)
            .order_by(Audit.priority, Audit.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if audit_id is None:
            return None
        token = secrets.token_hex(16)
        until = now + timedelta(seconds=lease_s)
        session.execute(
            update(Audit)
            .where(Audit.id == audit_id)
            .values(status="running", lease_owner=owner[:200], lease_token=token, lease_until=until,
                    heartbeat_at=now, started_at=now, attempts=Audit.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        row = session.execute(
            select(Audit.attempts, Audit.options, Audit.created_at, CodeBlob.code, Task.name, Task.files,
                   Submission.user_id, Submission.leaderboard, Submission.file_name, Submission.id)
            .join(Submission, Submission.id == Audit.submission_id)
            .join(CodeBlob, CodeBlob.id == Submission.code_id)
            .join(Task, Task.id == Submission.task_id)
            .where(Audit.id == audit_id)
        ).one()
    lease = Lease(audit_id=audit_id, token=token, owner=owner, attempt=row.attempts, lease_until=until)
    return ClaimedAudit(
        lease=lease, code=row.code, task_name=row.name, task_files=dict(row.files or {}),
        options=dict(row.options or {}), created_at=row.created_at,
        submission={"submission_id": row.id, "user_id": row.user_id, "leaderboard": row.leaderboard,
                    "file_name": row.file_name},
    )


def _fenced(lease: Lease) -> Any:
    return (Audit.id == lease.audit_id) & (Audit.lease_token == lease.token) & (Audit.status == "running")


def heartbeat(store: Store, lease: Lease, lease_s: float = DEFAULT_LEASE_S) -> bool:
    """Extend the lease. False means it was lost (expired and taken over): stop and discard the work."""
    with store.write() as session:
        now = db_now(session)
        result = session.execute(
            update(Audit).where(_fenced(lease))
            .values(lease_until=now + timedelta(seconds=lease_s), heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def complete(store: Store, lease: Lease, result: dict[str, Any]) -> bool:
    """Store a finished audit. `result` holds verdict, findings, report, timings and the llm_* fields.

    Returns False when the lease was lost; the result is then dropped, because another worker owns the audit.
    """
    allowed = {"verdict", "findings", "report", "timings", "llm_model", "llm_verdict", "llm_reasoning"}
    values = {key: value for key, value in result.items() if key in allowed}
    with store.write() as session:
        now = db_now(session)
        row = session.execute(select(Audit.created_at, Audit.started_at).where(_fenced(lease))).one_or_none()
        if row is None:
            return False
        updated = session.execute(
            update(Audit).where(_fenced(lease))
            .values(status="done", finished_at=now, error=None, lease_token=None, lease_until=None,
                    latency_s=max(0.0, (now - row.created_at).total_seconds()),
                    run_s=max(0.0, (now - (row.started_at or now)).total_seconds()), **values)
            .execution_options(synchronize_session=False)
        )
        return updated.rowcount == 1


def fail(store: Store, lease: Lease, error: str, *, retry: bool = True, backoff_base_s: float = 5.0) -> str | None:
    """Record a failed attempt: back to pending after a backoff while attempts remain, else `error`.

    Returns the new status, or None when the lease was already lost.
    """
    with store.write() as session:
        now = db_now(session)
        row = session.execute(
            select(Audit.attempts, Audit.max_attempts, Audit.created_at).where(_fenced(lease))
        ).one_or_none()
        if row is None:
            return None
        message = error[-4000:]
        if retry and row.attempts < row.max_attempts:
            delay = timedelta(seconds=backoff_s(row.attempts, backoff_base_s))
            values: dict[str, Any] = {"status": "pending", "not_before": now + delay,
                                      "error": f"attempt {row.attempts} failed: {message}"}
        else:
            values = {"status": "error", "finished_at": now, "error": message,
                      "latency_s": max(0.0, (now - row.created_at).total_seconds())}
        session.execute(
            update(Audit).where(_fenced(lease))
            .values(lease_token=None, lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        return values["status"]


def _attempt_note(before: str, after: str) -> Any:
    """`before || attempts || after` in SQL (SQLite before 3.44 has no concat())."""
    return literal(before, String) + cast(Audit.attempts, String) + literal(after, String)


def reclaim_expired(store: Store) -> int:
    """Return audits whose lease ran out (dead or hung worker) to the queue; give up after max_attempts.

    Safe to run from every worker at once: each UPDATE re-checks its condition row by row.
    """
    with store.write() as session:
        now = db_now(session)
        expired = (Audit.status == "running") & (Audit.lease_until < now)
        gave_up = session.execute(
            update(Audit).where(expired, Audit.attempts >= Audit.max_attempts)
            .values(status="error", finished_at=now, lease_token=None, lease_until=None,
                    error=_attempt_note("lease expired on attempt ", "; the worker died or hung, no attempts left"))
            .execution_options(synchronize_session=False)
        ).rowcount
        requeued = session.execute(
            update(Audit).where(expired)
            .values(status="pending", not_before=now, lease_token=None, lease_until=None,
                    error=_attempt_note("lease expired on attempt ", " (the worker died or hung); requeued"))
            .execution_options(synchronize_session=False)
        ).rowcount
    return int(gave_up or 0) + int(requeued or 0)


def queue_counts(store: Store) -> dict[str, int]:
    """Number of audits per status (pending, running, done, error)."""
    with store.read() as session:
        rows = session.execute(select(Audit.status, func.count()).group_by(Audit.status)).all()
    counts = {"pending": 0, "running": 0, "done": 0, "error": 0}
    counts.update({status: int(n) for status, n in rows})
    return counts
