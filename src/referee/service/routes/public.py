"""Routes for the leaderboard backend and for monitoring: submit, poll an audit, health, metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Response, status
from fastapi.responses import PlainTextResponse

from referee import __version__
from referee.service.deps import SettingsDep, StoreDep, SubmitterDep
from referee.service.metrics import render_metrics
from referee.service.schemas import SubmissionAccepted, SubmissionIn
from referee.store import repository
from referee.store.migrate import current_revision, head_revision

router = APIRouter(tags=["submissions"])

AuditId = Annotated[int, Path(ge=1, le=2**62, description="Audit id returned by POST /submissions.")]
PUBLIC_FIELDS = ("id", "audit_id", "status", "verdict", "findings", "llm", "error", "attempts", "task",
                 "submission_id", "created_at", "started_at", "finished_at")


@router.post("/submissions", status_code=status.HTTP_202_ACCEPTED, response_model=SubmissionAccepted,
             dependencies=[SubmitterDep])
def submit(body: SubmissionIn, store: StoreDep, settings: SettingsDep, response: Response,
           idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> SubmissionAccepted:
    """Store a submission and queue its audit; returns at once with the audit id (202)."""
    size = len(body.code.encode("utf-8"))
    if size > settings.max_code_bytes:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            detail=f"code is {size} bytes; the limit is {settings.max_code_bytes}")
    if not body.code.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="code is empty")
    try:
        done = repository.submit(store, task=body.task, code=body.code, user_id=body.user_id,
                                 leaderboard=body.leaderboard, file_name=body.file_name,
                                 idempotency_key=idempotency_key or None, max_attempts=settings.max_attempts)
    except repository.UnknownTask:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"unknown task {body.task!r}: register it with POST /admin/tasks") from None
    response.headers["Location"] = f"/audits/{done.audit_id}"
    return SubmissionAccepted(audit_id=done.audit_id, submission_id=done.submission_id, duplicate=done.duplicate)


@router.get("/audits/{audit_id}", dependencies=[SubmitterDep])
def get_audit(audit_id: AuditId, store: StoreDep) -> dict[str, Any]:
    """An audit's status (pending, running, done, error), verdict and findings."""
    audit = repository.get_audit(store, audit_id)
    if audit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no audit {audit_id}")
    return {key: audit[key] for key in PUBLIC_FIELDS}


@router.get("/healthz", tags=["ops"])
def healthz(store: StoreDep, response: Response) -> dict[str, Any]:
    """Liveness and readiness: the database answers and its schema is current."""
    try:
        revision = current_revision(store.engine)
    except Exception as exc:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "error", "database": f"unreachable: {type(exc).__name__}", "version": __version__}
    head = head_revision()
    ok = revision == head
    if not ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"status": "ok" if ok else "error", "database": store.dialect, "schema": revision, "schema_head": head,
            "version": __version__}


@router.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
def metrics(store: StoreDep) -> PlainTextResponse:
    """Prometheus text format: queue depth, audits by verdict, audit latency, reviews."""
    return PlainTextResponse(render_metrics(store), media_type="text/plain; version=0.0.4; charset=utf-8")
