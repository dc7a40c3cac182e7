"""What the API and the tools do with the store: tasks, submissions, audits, reviews, backfills.

Each function runs its own transaction through `Store.read()` / `Store.write()` and returns plain dicts, so routes
and commands never hold ORM objects past a session. The queue side (claim, heartbeat, finish) is in `queue.py`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from referee.store.db import Store
from referee.store.models import REVIEW_DECISIONS, Audit, CodeBlob, HealthProbe, Review, Submission, Task, utcnow

PRIORITY_SUBMIT = 0
PRIORITY_BACKFILL = 10


class UnknownTask(LookupError):
    """The submission names a task that is not registered."""


class IdempotencyConflict(ValueError):
    """An Idempotency-Key seen before arrives with different content: a client bug, never a silent duplicate."""


@dataclass(frozen=True)
class Submitted:
    audit_id: int
    submission_id: int
    duplicate: bool = False


def sha256_text(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def files_sha256(files: dict[str, str]) -> str:
    return sha256_text(json.dumps(files, sort_keys=True, ensure_ascii=False))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- tasks -------------------------------------------------------------------------------------------------


def task_to_dict(task: Task, *, with_files: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": task.name, "version": task.version, "source": task.source, "sha256": task.sha256,
        "files": sorted(task.files or {}), "created_at": _iso(task.created_at), "updated_at": _iso(task.updated_at),
    }
    if with_files:
        data["file_texts"] = dict(task.files or {})
    return data


def register_task(store: Store, name: str, files: dict[str, str], *, source: str = "admin") -> tuple[dict, str]:
    """Create or update a task. Returns (task, "created" | "updated" | "unchanged")."""
    digest = files_sha256(files)
    for _ in range(3):  # a concurrent first registration of the same name loses the INSERT race: retry as update
        try:
            with store.write() as session:
                task = session.execute(select(Task).where(Task.name == name).with_for_update()).scalar_one_or_none()
                if task is None:
                    task = Task(name=name, files=files, sha256=digest, version=1, source=source)
                    session.add(task)
                    session.flush()
                    return task_to_dict(task), "created"
                if task.sha256 == digest:
                    return task_to_dict(task), "unchanged"
                task.files, task.sha256, task.source = files, digest, source
                task.version += 1
                task.updated_at = utcnow()
                session.flush()
                return task_to_dict(task), "updated"
        except IntegrityError:
            continue
    raise RuntimeError(f"could not register task {name!r} (concurrent updates)")


def ensure_tasks(store: Store, tasks: dict[str, dict[str, str]], *, source: str = "bundled") -> list[str]:
    """Register the tasks whose name is not taken yet (never overwrite an operator's version)."""
    added = []
    for name, files in tasks.items():
        with store.read() as session:
            exists = session.execute(select(Task.id).where(Task.name == name)).first() is not None
        if not exists:
            _, outcome = register_task(store, name, files, source=source)
            if outcome == "created":
                added.append(name)
    return added


def get_task(store: Store, name: str, *, with_files: bool = True) -> dict[str, Any] | None:
    with store.read() as session:
        task = session.execute(select(Task).where(Task.name == name)).scalar_one_or_none()
        return task_to_dict(task, with_files=with_files) if task else None


def list_tasks(store: Store) -> list[dict[str, Any]]:
    with store.read() as session:
        counts = dict(session.execute(select(Submission.task_id, func.count()).group_by(Submission.task_id)).all())
        tasks = session.execute(select(Task).order_by(Task.name)).scalars().all()
        return [{**task_to_dict(t), "submissions": int(counts.get(t.id, 0))} for t in tasks]


# --- submissions and audits --------------------------------------------------------------------------------


def _insert(session: Session, model: Any) -> Any:
    """The dialect's INSERT (both PostgreSQL's and SQLite's have ON CONFLICT DO NOTHING)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(model)
    return sqlite_insert(model)


def _code_id(session: Session, code: str) -> int:
    """Id of the stored copy of `code`, inserting it once; a concurrent insert of the same text is harmless."""
    digest = sha256_text(code)
    found = session.execute(select(CodeBlob.id).where(CodeBlob.sha256 == digest)).scalar_one_or_none()
    if found is not None:
        return found
    inserted = session.execute(
        _insert(session, CodeBlob)
        .values(sha256=digest, code=code, size=len(code.encode("utf-8")), created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["sha256"]).returning(CodeBlob.id)
    ).scalar_one_or_none()
    if inserted is not None:
        return inserted
    return session.execute(select(CodeBlob.id).where(CodeBlob.sha256 == digest)).scalar_one()


def _new_audit(session: Session, submission_id: int, task_version: int, *, reason: str, priority: int,
               options: dict[str, Any], max_attempts: int, fresh: bool = False) -> int:
    """Append an audit and make it the submission's current one; returns its id.

    For an existing submission (`fresh` False) its row is locked first (PostgreSQL), so two concurrent re-audits
    cannot both end up current.
    """
    if not fresh:
        session.execute(select(Submission.id).where(Submission.id == submission_id).with_for_update())
        session.execute(
            update(Audit).where(Audit.submission_id == submission_id, Audit.is_current.is_(True))
            .values(is_current=False).execution_options(synchronize_session=False)
        )
    now = utcnow()
    return session.execute(
        insert(Audit).values(submission_id=submission_id, is_current=True, reason=reason, priority=priority,
                             options=options, task_version=task_version, status="pending", attempts=0,
                             max_attempts=max_attempts, not_before=now, created_at=now)
        .returning(Audit.id)
    ).scalar_one()


def submit(store: Store, *, task: str, code: str, user_id: str | None = None, leaderboard: str | None = None,
           file_name: str | None = None, idempotency_key: str | None = None, options: dict[str, Any] | None = None,
           max_attempts: int = 3) -> Submitted:
    """Store a submission and its pending audit in ONE transaction: either both exist or neither does."""
    for attempt in range(3):
        try:
            with store.write() as session:
                if idempotency_key:
                    seen = session.execute(
                        select(Submission.id, Submission.user_id, Submission.leaderboard, Submission.file_name,
                               Task.name, CodeBlob.sha256)
                        .join(Task, Task.id == Submission.task_id).join(CodeBlob, CodeBlob.id == Submission.code_id)
                        .where(Submission.idempotency_key == idempotency_key)
                    ).one_or_none()
                    if seen is not None:
                        if (seen.name, seen.sha256, seen.user_id, seen.leaderboard, seen.file_name) != (
                                task, sha256_text(code), user_id, leaderboard, file_name):
                            raise IdempotencyConflict(idempotency_key)
                        current = session.execute(
                            select(Audit.id).where(Audit.submission_id == seen.id).order_by(Audit.id.desc()).limit(1)
                        ).scalar_one()
                        return Submitted(audit_id=current, submission_id=seen.id, duplicate=True)
                task_row = session.execute(select(Task.id, Task.version).where(Task.name == task)).one_or_none()
                if task_row is None:
                    raise UnknownTask(task)
                submission_id = session.execute(
                    insert(Submission).values(task_id=task_row.id, code_id=_code_id(session, code), user_id=user_id,
                                              leaderboard=leaderboard, file_name=file_name,
                                              idempotency_key=idempotency_key, created_at=utcnow())
                    .returning(Submission.id)
                ).scalar_one()
                audit_id = _new_audit(session, submission_id, task_row.version, reason="submit",
                                      priority=PRIORITY_SUBMIT, options=options or {}, max_attempts=max_attempts,
                                      fresh=True)
                return Submitted(audit_id=audit_id, submission_id=submission_id)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _audit_columns() -> tuple[Any, ...]:
    return (Audit, Submission.user_id, Submission.leaderboard, Submission.file_name, Submission.created_at,
            CodeBlob.sha256, CodeBlob.size, Task.name, Task.version)


def _audit_query() -> Any:
    return (select(*_audit_columns())
            .join(Submission, Submission.id == Audit.submission_id)
            .join(CodeBlob, CodeBlob.id == Submission.code_id)
            .join(Task, Task.id == Submission.task_id))


def audit_to_dict(row: Any, *, full: bool = False) -> dict[str, Any]:
    audit: Audit = row[0]
    llm = None
    if audit.llm_model or audit.llm_verdict or audit.llm_reasoning:
        llm = {"model": audit.llm_model, "verdict": audit.llm_verdict, "reasoning": audit.llm_reasoning}
    data: dict[str, Any] = {
        "id": audit.id, "audit_id": audit.id, "status": audit.status, "verdict": audit.verdict,
        "findings": audit.findings or [], "llm": llm, "timings": audit.timings or {}, "error": audit.error,
        "attempts": audit.attempts, "reason": audit.reason, "is_current": audit.is_current,
        "created_at": _iso(audit.created_at), "started_at": _iso(audit.started_at),
        "finished_at": _iso(audit.finished_at), "latency_s": audit.latency_s,
        "submission_id": audit.submission_id, "user_id": row.user_id, "leaderboard": row.leaderboard,
        "file_name": row.file_name, "submitted_at": _iso(row[4]), "code_sha256": row.sha256, "code_size": row.size,
        "task": row.name, "task_version": audit.task_version, "task_latest_version": row.version,
        "reviewed": audit.review_decision is not None,
        "review": ({"decision": audit.review_decision, "reviewer": audit.reviewed_by,
                    "at": _iso(audit.reviewed_at)} if audit.review_decision else None),
    }
    if full:
        data["report"] = audit.report
        data["lease_owner"] = audit.lease_owner
        data["lease_until"] = _iso(audit.lease_until)
        data["max_attempts"] = audit.max_attempts
    return data


def get_audit(store: Store, audit_id: int, *, full: bool = False) -> dict[str, Any] | None:
    """One audit; with `full`, also its code, report, review history and the submission's other audits."""
    with store.read() as session:
        row = session.execute(_audit_query().where(Audit.id == audit_id)).one_or_none()
        if row is None:
            return None
        data = audit_to_dict(row, full=full)
        if full:
            data["code"] = session.execute(
                select(CodeBlob.code).join(Submission, Submission.code_id == CodeBlob.id)
                .where(Submission.id == row[0].submission_id)
            ).scalar_one()
            reviews = session.execute(
                select(Review).where(Review.audit_id == audit_id).order_by(Review.id.desc())
            ).scalars().all()
            data["reviews"] = [{"id": r.id, "decision": r.decision, "reviewer": r.reviewer, "note": r.note,
                                "at": _iso(r.created_at)} for r in reviews]
            history = session.execute(
                select(Audit.id, Audit.status, Audit.verdict, Audit.reason, Audit.created_at)
                .where(Audit.submission_id == row[0].submission_id).order_by(Audit.id.desc())
            ).all()
            data["history"] = [{"id": h.id, "status": h.status, "verdict": h.verdict, "reason": h.reason,
                                "created_at": _iso(h.created_at)} for h in history]
        return data


def list_audits(store: Store, *, verdict: str | None = None, reviewed: bool | None = None,
                task: str | None = None, status: str | None = None, leaderboard: str | None = None,
                user_id: str | None = None, current_only: bool = True, before_id: int | None = None,
                limit: int = 50) -> list[dict[str, Any]]:
    """Newest first. `verdict` may list several, comma-separated (e.g. "FAIL,FLAG")."""
    query = _audit_query()
    conditions = []
    if current_only:
        conditions.append(Audit.is_current.is_(True))
    if verdict:
        conditions.append(Audit.verdict.in_([v.strip().upper() for v in verdict.split(",") if v.strip()]))
    if reviewed is not None:
        conditions.append(Audit.review_decision.is_not(None) if reviewed else Audit.review_decision.is_(None))
    if task:
        conditions.append(Task.name == task)
    if status:
        conditions.append(Audit.status == status)
    if leaderboard:
        conditions.append(Submission.leaderboard == leaderboard)
    if user_id:
        conditions.append(Submission.user_id == user_id)
    if before_id is not None:
        conditions.append(Audit.id < before_id)
    if conditions:
        query = query.where(and_(*conditions))
    query = query.order_by(Audit.id.desc()).limit(max(1, min(500, limit)))
    with store.read() as session:
        return [audit_to_dict(row) for row in session.execute(query).all()]


def record_review(store: Store, audit_id: int, *, decision: str, note: str | None = None,
                  reviewer: str = "admin") -> dict[str, Any] | None:
    """Append a review and mirror it on the audit. None when the audit does not exist."""
    if decision not in REVIEW_DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(REVIEW_DECISIONS)}")
    with store.write() as session:
        audit = session.get(Audit, audit_id, with_for_update=True)
        if audit is None:
            return None
        now = utcnow()
        review = Review(audit_id=audit_id, reviewer=reviewer, decision=decision, note=note, created_at=now)
        session.add(review)
        audit.review_decision, audit.reviewed_by, audit.reviewed_at = decision, reviewer, now
        session.flush()
        return {"id": review.id, "audit_id": audit_id, "decision": decision, "reviewer": reviewer, "note": note,
                "at": _iso(now)}


def backfill(store: Store, *, task: str | None = None, leaderboard: str | None = None,
             verdict: str | None = None, since: datetime | None = None, submission_ids: list[int] | None = None,
             limit: int = 1000, options: dict[str, Any] | None = None, dry_run: bool = False,
             max_attempts: int = 3) -> dict[str, Any]:
    """Queue a new audit for each matching stored submission (history kept; the new one becomes current).

    Runs at backfill priority, so live submissions keep overtaking it. `verdict` filters on the current audit's
    verdict ("none" selects submissions never audited to the end).
    """
    query = (select(Submission.id, Task.version).join(Task, Task.id == Submission.task_id)
             .outerjoin(Audit, and_(Audit.submission_id == Submission.id, Audit.is_current.is_(True))))
    if task:
        query = query.where(Task.name == task)
    if leaderboard:
        query = query.where(Submission.leaderboard == leaderboard)
    if since is not None:
        query = query.where(Submission.created_at >= since)
    if submission_ids:
        query = query.where(Submission.id.in_(submission_ids))
    if verdict:
        wanted = [v.strip().upper() for v in verdict.split(",") if v.strip()]
        parts = [Audit.verdict.in_([v for v in wanted if v != "NONE"])]
        if "NONE" in wanted:
            parts.append(Audit.verdict.is_(None))
        query = query.where(parts[0] if len(parts) == 1 else parts[0] | parts[1])
    query = query.order_by(Submission.id).limit(max(1, min(100_000, limit)))
    with store.write() as session:
        targets = session.execute(query).all()
        if dry_run:
            return {"matched": len(targets), "queued": 0, "audit_ids": []}
        ids = [_new_audit(session, sid, version, reason="backfill", priority=PRIORITY_BACKFILL,
                          options=options or {}, max_attempts=max_attempts) for sid, version in targets]
    return {"matched": len(targets), "queued": len(ids), "audit_ids": ids}


def write_probe(store: Store, who: str = "healthz") -> str:
    """Commit one small write; "ok", or why it failed (read-only file or database, full disk, lock timeout)."""
    try:
        with store.write() as session:
            values = {"checked_at": utcnow(), "checked_by": who[:200]}
            session.execute(_insert(session, HealthProbe).values(id=1, **values)
                            .on_conflict_do_update(index_elements=["id"], set_=values))
        return "ok"
    except Exception as exc:  # any failure to commit is the answer, not an error of the probe
        first = str(getattr(exc, "orig", None) or exc).splitlines()
        return f"failing: {type(exc).__name__}: {first[0][:200] if first else ''}"
