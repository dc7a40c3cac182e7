"""Tables of the audit service (SQLAlchemy 2, typed `Mapped[...]` columns).

Code is stored once per distinct text (`code_blobs`, keyed by sha256), so resubmissions and backfills cost a row,
not a copy. A submission can have many audits: re-auditing appends one and moves the `is_current` flag, so the
history stays and "the audit" of a submission is always the newest. Reviews likewise append; the audit row keeps a
copy of the latest decision so the review queue can filter without a join. The migrations in
`store/migrations/versions` must describe exactly these tables (a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

AUDIT_STATUSES = ("pending", "running", "done", "error")
# "reviewed": an admin has seen the audit and gave no judgement (POST /admin/audits/{id}/reviewed with no body).
REVIEW_DECISIONS = ("cheat", "false_positive", "ok", "reviewed")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python on every backend.

    SQLite has no time zones and would hand back naive values, PostgreSQL would convert naive ones with the
    session's zone; normalising here keeps lease arithmetic and comparisons identical on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
# BIGINT ids on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}


class Task(Base):
    """A leaderboard problem: its files as texts (task.yml, reference.py, ...). Re-registering bumps `version`."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    files: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(String(20), default="admin")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CodeBlob(Base):
    """One distinct submission text, stored once."""

    __tablename__ = "code_blobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    code: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Submission(Base):
    """A submission as the leaderboard saw it: who, where, which task, which code."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_task_created", "task_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="RESTRICT"))
    code_id: Mapped[int] = mapped_column(ForeignKey("code_blobs.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[str | None] = mapped_column(String(200))
    leaderboard: Mapped[str | None] = mapped_column(String(200))
    file_name: Mapped[str | None] = mapped_column(String(300))
    # Set by clients that retry (the `Idempotency-Key` header): a retried POST returns the first audit.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    task: Mapped[Task] = relationship(lazy="select")
    code: Mapped[CodeBlob] = relationship(lazy="select")


class Audit(Base):
    """One audit run of a submission, and its place in the work queue.

    Queue states: pending -> running (a worker holds `lease_token` until `lease_until`, renewed by heartbeats) ->
    done | error. An expired lease puts the row back to pending (or error after `max_attempts`); a worker whose
    lease was taken over can no longer write its result, because every write is fenced on the token.
    """

    __tablename__ = "audits"
    __table_args__ = (
        Index("ix_audits_queue", "status", "priority", "id"),
        Index("ix_audits_lease", "status", "lease_until"),
        Index("ix_audits_submission", "submission_id", "id"),
        Index("ix_audits_current_verdict", "is_current", "verdict"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str] = mapped_column(String(40), default="submit")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    task_version: Mapped[int] = mapped_column(Integer, default=1)

    status: Mapped[str] = mapped_column(String(10), default="pending")
    # Lower runs first: live submissions (0) overtake a large backfill (10).
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_token: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]

    verdict: Mapped[str | None] = mapped_column(String(10))
    findings: Mapped[list[Any] | None]
    report: Mapped[dict[str, Any] | None]
    timings: Mapped[dict[str, Any] | None]
    llm_model: Mapped[str | None] = mapped_column(String(200))
    llm_verdict: Mapped[str | None] = mapped_column(String(20))
    llm_reasoning: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    latency_s: Mapped[float | None] = mapped_column(Float)
    run_s: Mapped[float | None] = mapped_column(Float)

    review_decision: Mapped[str | None] = mapped_column(String(20))
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None]

    submission: Mapped[Submission] = relationship(lazy="select")


class Review(Base):
    """A human decision on an audit. Appended, never overwritten: the audit row mirrors the latest one."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HealthProbe(Base):
    """One row that `/healthz` rewrites: readiness means the database takes writes, not only that it answers."""

    __tablename__ = "health_probe"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_by: Mapped[str | None] = mapped_column(String(200))
