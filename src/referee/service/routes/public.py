"""Routes for the leaderboard backend and for monitoring: submit, poll an audit, health, metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Response, status
from fastapi.responses import PlainTextResponse

from referee import __version__
from referee.service.deps import SettingsDep, StoreDep, SubmitterDep
from referee.service.metrics import render_metrics
from referee.service.schemas import (
    AuditPublic,
    ErrorOut,
    HealthOut,
    LiveOut,
    SubmissionAccepted,
    SubmissionIn,
    error_responses,
)
from referee.store import repository
from referee.store.migrate import current_revision, head_revision

router = APIRouter(tags=["submissions"])

AuditId = Annotated[int, Path(ge=1, le=2**62, description="Audit id returned by POST /submissions.")]
PUBLIC_FIELDS = tuple(AuditPublic.model_fields)
AUTH = (401, 503)


def public_error(audit: dict[str, Any]) -> str | None:
    """The submitter's view of why an audit did not finish: never the exception text.

    Whatever a job provokes inside the service (an error message quoting a path, a setting, a secret it found) stays
    in the operator's view, `GET /admin/audits/{id}`.
    """
    if not audit.get("error"):
        return None
    if audit["status"] == "error":
        return (f"the audit could not be completed ({audit['attempts']} attempt(s)); the operator has the details")
    return "an earlier attempt did not finish; the audit is queued again"


@router.post("/submissions", status_code=status.HTTP_202_ACCEPTED, response_model=SubmissionAccepted,
             dependencies=[SubmitterDep], responses=error_responses(*AUTH, 409, 413, 422))
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
    except repository.IdempotencyConflict:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail="this Idempotency-Key was already used for a different submission (other task, "
                                   "code, user, leaderboard or file name); use a new key per submission") from None
    response.headers["Location"] = f"/audits/{done.audit_id}"
    return SubmissionAccepted(audit_id=done.audit_id, submission_id=done.submission_id, duplicate=done.duplicate)


@router.get("/audits/{audit_id}", dependencies=[SubmitterDep], response_model=AuditPublic,
            responses=error_responses(*AUTH, 404, 422))
def get_audit(audit_id: AuditId, store: StoreDep) -> AuditPublic:
    """An audit's status (pending, running, done, error), verdict and findings."""
    audit = repository.get_audit(store, audit_id)
    if audit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no audit {audit_id}")
    return AuditPublic(**{**{key: audit[key] for key in PUBLIC_FIELDS}, "error": public_error(audit)})


@router.get("/livez", tags=["ops"], response_model=LiveOut)
def livez() -> LiveOut:
    """Liveness only: the process answers (no database work). Readiness, with a write probe, is /healthz."""
    return LiveOut(version=__version__)


@router.get("/healthz", tags=["ops"], response_model=HealthOut, responses={503: {"model": HealthOut}})
def healthz(store: StoreDep, response: Response) -> HealthOut:
    """Liveness and readiness: the database answers, accepts a write, and its schema is current (else 503)."""
    try:
        revision = current_revision(store.engine)
    except Exception as exc:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return HealthOut(status="error", database=f"unreachable: {type(exc).__name__}", version=__version__)
    head = head_revision()
    writes = repository.write_probe(store) if revision == head else "not tried: the schema is not current"
    ok = revision == head and writes == "ok"
    if not ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthOut(status="ok" if ok else "error", database=store.dialect, writes=writes, schema=revision,
                     schema_head=head, version=__version__)


@router.get("/metrics", tags=["ops"], response_class=PlainTextResponse, response_model=None,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format 0.0.4."},
                       503: {"model": ErrorOut}})
def metrics(store: StoreDep) -> PlainTextResponse:
    """Prometheus text format: queue depth, audits by verdict, audit latency, reviews."""
    return PlainTextResponse(render_metrics(store), media_type="text/plain; version=0.0.4; charset=utf-8")
