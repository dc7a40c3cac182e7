"""Admin API (bearer token): the review queue, reviews, tasks, backfills."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Path, Query, Response, status
from pydantic import BeforeValidator, Field

from referee.service.auditing import InvalidTask, validate_task
from referee.service.deps import AdminDep, SettingsDep, StoreDep
from referee.service.schemas import (
    AuditDetailOut,
    AuditListOut,
    BackfillIn,
    BackfillOut,
    ReviewIn,
    ReviewRecorded,
    TaskIn,
    TaskListOut,
    TaskOut,
    TaskRegistered,
    error_responses,
)
from referee.store import repository

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep],
                   responses=error_responses(401, 403, 503))

AuditId = Annotated[int, Path(ge=1, le=2**62)]
Status = Literal["pending", "running", "done", "error"]
VERDICTS = {"PASS", "FLAG", "FAIL", "DEGRADED"}
_ONE = "(PASS|FLAG|FAIL|DEGRADED|pass|flag|fail|degraded)"
VERDICT_LIST = rf"^( *{_ONE}( *, *{_ONE})* *)?$"  # empty: not given (an HTML form's blank field)


def _blank_is_unset(value: Any) -> Any:
    """`?reviewed=&limit=` (an empty form field) means "not given", not a parse error."""
    return None if isinstance(value, str) and not value.strip() else value


Blank = BeforeValidator(_blank_is_unset)
PositiveId = Annotated[int, Field(ge=1, le=2**62)]
Limit = Annotated[int, Field(ge=1, le=500)]


@router.get("/audits", response_model=AuditListOut, responses=error_responses(422))
def list_audits(
    store: StoreDep,
    verdict: Annotated[str | None, Query(max_length=100, pattern=VERDICT_LIST,
                                                description="PASS, FLAG, FAIL, DEGRADED; comma list")] = None,
    reviewed: Annotated[bool | None, Blank, Query()] = None,
    task: Annotated[str | None, Query(max_length=200)] = None,
    status_: Annotated[Status | None, Blank, Query(alias="status")] = None,
    leaderboard: Annotated[str | None, Query(max_length=200)] = None,
    user_id: Annotated[str | None, Query(max_length=200)] = None,
    history: Annotated[bool, Query(description="include superseded audits, not only each submission's latest")] = False,
    before_id: Annotated[PositiveId | None, Blank, Query(description="page: audits older than this id")] = None,
    limit: Annotated[Limit | None, Blank, Query(description="1..500, default 50")] = None,
) -> dict[str, Any]:
    """Audits, newest first, with their submission and task fields."""
    limit = limit or 50
    if verdict:
        unknown = {v.strip().upper() for v in verdict.split(",") if v.strip()} - VERDICTS
        if unknown:
            known = ", ".join(sorted(VERDICTS))
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                detail=f"verdict: unknown value {', '.join(sorted(unknown))}; allowed: {known} "
                                       "(comma-separated)")
    audits = repository.list_audits(store, verdict=verdict, reviewed=reviewed, task=task, status=status_,
                                    leaderboard=leaderboard, user_id=user_id, current_only=not history,
                                    before_id=before_id, limit=limit)
    next_before = audits[-1]["id"] if len(audits) == limit else None
    return {"status": "ok", "audits": audits, "next_before_id": next_before}


@router.get("/audits/{audit_id}", response_model=AuditDetailOut, responses=error_responses(404, 422))
def get_audit(audit_id: AuditId, store: StoreDep) -> dict[str, Any]:
    """One audit in full: code, report, reviews, and the submission's other audits."""
    audit = repository.get_audit(store, audit_id, full=True)
    if audit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Audit {audit_id} not found")
    return {"status": "ok", "audit": audit}


@router.post("/audits/{audit_id}/reviewed", response_model=ReviewRecorded,
             responses=error_responses(404, 409, 413, 422))
def mark_reviewed(audit_id: AuditId, store: StoreDep, body: Annotated[ReviewIn | None, Body()] = None,
                  ) -> dict[str, Any]:
    """Mark an audit reviewed. No body records `reviewed` (seen); a body may give a decision (cheat,
    false_positive, ok) and a note. Earlier reviews are kept as history."""
    body = body or ReviewIn()
    review = repository.record_review(store, audit_id, decision=body.decision, note=body.note,
                                      reviewer=body.reviewer or "admin")
    if review is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Audit {audit_id} not found")
    return {"status": "ok", "audit_id": audit_id, "review": review}


@router.get("/tasks", response_model=TaskListOut)
def list_tasks(store: StoreDep) -> dict[str, Any]:
    """Registered tasks with their file names and submission counts."""
    return {"status": "ok", "tasks": repository.list_tasks(store)}


@router.get("/tasks/{name}", response_model=TaskOut, responses=error_responses(404, 422))
def get_task(name: Annotated[str, Path(max_length=200)], store: StoreDep) -> dict[str, Any]:
    """One task with its file texts."""
    task = repository.get_task(store, name)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Task {name!r} not found")
    return {"status": "ok", "task": task}


@router.post("/tasks", response_model=TaskRegistered, status_code=status.HTTP_200_OK,
             responses={201: {"model": TaskRegistered, "description": "Created."}, **error_responses(409, 413, 422)})
def register_task(body: TaskIn, store: StoreDep, settings: SettingsDep, response: Response) -> dict[str, Any]:
    """Register a task from its file texts (201), or update it (200; its version goes up)."""
    try:
        validate_task(body.name, body.files, max_bytes=settings.max_task_bytes)
    except InvalidTask as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    task, outcome = repository.register_task(store, body.name, dict(body.files))
    if outcome == "created":
        response.status_code = status.HTTP_201_CREATED
    return {"status": "ok", "outcome": outcome, "task": task}


@router.post("/backfill", status_code=status.HTTP_202_ACCEPTED, response_model=BackfillOut,
             responses=error_responses(404, 409, 413, 422))
def backfill(body: BackfillIn, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    """(Re-)audit stored submissions matching the filters. Live submissions keep priority over a backfill."""
    if body.task and repository.get_task(store, body.task, with_files=False) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Task {body.task!r} not found")
    result = repository.backfill(store, task=body.task, leaderboard=body.leaderboard, verdict=body.verdict,
                                 since=body.since, submission_ids=body.submission_ids, limit=body.limit,
                                 options=body.options, dry_run=body.dry_run, max_attempts=settings.max_attempts)
    ids = result["audit_ids"]
    return {"status": "ok", "matched": result["matched"], "queued": result["queued"], "audit_ids": ids[:1000],
            "audit_ids_truncated": len(ids) > 1000}
