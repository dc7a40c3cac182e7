"""Request and response bodies of the HTTP API (pydantic), kept apart from the ORM models.

Every text field is checked for what the database cannot store (NUL characters, lone surrogates), so such input
is a 422 with the field named, not a 500 from the driver.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt


def storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text (found a lone surrogate)") from exc
    return value


def as_utc(value: datetime) -> datetime:
    """An aware UTC time. A naive one is taken as UTC (as the store renders times); an offset time that falls
    outside the datetime range once moved to UTC (0001-01-01T00:02+01:00) is clamped to the range's end rather than
    overflowing later in the store as a 500: as a filter bound it selects the same rows."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if value.year == datetime.min.year else datetime.max
        return edge.replace(tzinfo=UTC)


Text = Annotated[str, AfterValidator(storable)]
UTCTime = Annotated[datetime, AfterValidator(as_utc)]
Label = Annotated[str, Field(max_length=200), AfterValidator(storable)]
# The same rules as `auditing.validate_task`, stated in the schema so clients (and fuzzers) know them up front.
TaskName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", description="Letters, digits, '_', "
                                        "'.', '-'; starts with a letter or digit; at most 100 characters.")]
FileName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")]
# What a pattern means, for 422 messages ("code: must not be blank" rather than the regular expression).
PATTERN_HINTS = {
    r"\S": "must not be blank",
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$": "must be 1-100 letters, digits, '_', '.', '-', starting with a letter or "
                                          "digit",
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$": "must be a plain file name (letters, digits, '_', '.', '-'; no folders)",
}


class SubmissionIn(BaseModel):
    """A submission to audit. Size limits are checked by the route (413), not here (422)."""

    model_config = ConfigDict(extra="forbid")

    task: Label = Field(description="Registered task name (GET /admin/tasks).")
    code: Annotated[Text, Field(min_length=1, pattern=r"\S", description="The submission's source code (not blank).")]
    user_id: Label | None = None
    leaderboard: Label | None = None
    file_name: Annotated[str, Field(max_length=300), AfterValidator(storable)] | None = None


class SubmissionAccepted(BaseModel):
    audit_id: int
    submission_id: int
    status: str = "pending"
    duplicate: bool = Field(False, description="True when the Idempotency-Key was seen before.")


Decision = Literal["cheat", "false_positive", "ok", "reviewed"]


class ReviewIn(BaseModel):
    """The optional body of POST /admin/audits/{id}/reviewed; no body at all records `reviewed`."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision = Field("reviewed", description="cheat (confirmed cheat), false_positive, ok, or reviewed "
                                                       "(seen, no judgement: the default).")
    note: Annotated[str, Field(max_length=10_000), AfterValidator(storable)] | None = None
    reviewer: Label | None = Field(None, description="Who decided; defaults to 'admin'.")


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: TaskName
    files: dict[FileName, Text] = Field(min_length=1, description="File name to text: task.yml, reference.py, "
                                                                  "task.py, ...")


class BackfillIn(BaseModel):
    """Which stored submissions to audit again. All filters are optional and combine with AND."""

    model_config = ConfigDict(extra="forbid")

    task: Label | None = None
    leaderboard: Label | None = None
    verdict: Label | None = Field(None, description="Current verdict(s), e.g. 'FAIL,FLAG'; 'none' = never audited.")
    since: UTCTime | None = Field(None, description="Only submissions created at or after this time (ISO 8601; "
                                                  "no offset means UTC).")
    submission_ids: list[Annotated[StrictInt, Field(ge=1, le=2**62)]] | None = Field(None, max_length=100_000)
    limit: StrictInt = Field(1000, ge=1, le=100_000)
    options: dict[str, Any] = Field(default_factory=dict, description="Audit options for the engine.")
    dry_run: StrictBool = False


# --- responses -----------------------------------------------------------------------------------------------
# Every route declares one of these, so /openapi.json describes what clients get (and schemathesis can check it).
# Times are ISO 8601 strings as the store renders them.


class ErrorOut(BaseModel):
    """Every 4xx/5xx except validation: what is wrong, in words."""

    detail: str


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: e.g. [\"body\", \"decision\"] or [\"query\", \"limit\"].")
    msg: str = Field(description="What is wrong, naming the field and, for a choice, the allowed values.")
    type: str


class ValidationErrorOut(BaseModel):
    """422: a list of field errors (request validation), or one sentence (a value the service refused)."""

    detail: list[FieldError] | str


class LlmOpinion(BaseModel):
    model: str | None = None
    verdict: str | None = None
    reasoning: str | None = None


class AuditPublic(BaseModel):
    """What the leaderboard (the submitter's side) may see of an audit: no code, no report, no internal errors."""

    id: int
    audit_id: int
    status: Literal["pending", "running", "done", "error"]
    verdict: str | None = None
    findings: list[dict[str, Any]] = Field(default_factory=list)
    llm: LlmOpinion | None = None
    error: str | None = Field(None, description="Why the audit did not finish, in general words; details are "
                                                "for the operator (GET /admin/audits/{id}).")
    attempts: int
    task: str
    submission_id: int
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None


class ReviewState(BaseModel):
    decision: str
    reviewer: str | None = None
    at: str | None = None


class AuditSummary(BaseModel):
    id: int
    audit_id: int
    status: str
    verdict: str | None = None
    findings: list[dict[str, Any]] = Field(default_factory=list)
    llm: LlmOpinion | None = None
    timings: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    attempts: int
    reason: str
    is_current: bool
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    latency_s: float | None = None
    submission_id: int
    user_id: str | None = None
    leaderboard: str | None = None
    file_name: str | None = None
    submitted_at: str | None = None
    code_sha256: str
    code_size: int
    task: str
    task_version: int
    task_latest_version: int
    reviewed: bool
    review: ReviewState | None = None


class ReviewOut(BaseModel):
    id: int
    audit_id: int | None = None
    decision: str
    reviewer: str
    note: str | None = None
    at: str | None = None


class AuditHistoryItem(BaseModel):
    id: int
    status: str
    verdict: str | None = None
    reason: str
    created_at: str | None = None


class AuditDetail(AuditSummary):
    report: dict[str, Any] | None = None
    lease_owner: str | None = None
    lease_until: str | None = None
    max_attempts: int
    code: str
    reviews: list[ReviewOut]
    history: list[AuditHistoryItem]


class AuditListOut(BaseModel):
    status: Literal["ok"] = "ok"
    audits: list[AuditSummary]
    next_before_id: int | None = Field(None, description="Pass as before_id for the next (older) page.")


class AuditDetailOut(BaseModel):
    status: Literal["ok"] = "ok"
    audit: AuditDetail


class ReviewRecorded(BaseModel):
    status: Literal["ok"] = "ok"
    audit_id: int
    review: ReviewOut


class TaskSummary(BaseModel):
    name: str
    version: int
    source: str
    sha256: str
    files: list[str]
    created_at: str | None = None
    updated_at: str | None = None
    submissions: int | None = None
    file_texts: dict[str, str] | None = None


class TaskListOut(BaseModel):
    status: Literal["ok"] = "ok"
    tasks: list[TaskSummary]


class TaskOut(BaseModel):
    status: Literal["ok"] = "ok"
    task: TaskSummary


class TaskRegistered(TaskOut):
    outcome: Literal["created", "updated", "unchanged"]


class BackfillOut(BaseModel):
    status: Literal["ok"] = "ok"
    matched: int
    queued: int
    audit_ids: list[int]
    audit_ids_truncated: bool


class LiveOut(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class HealthOut(BaseModel):
    status: Literal["ok", "error"]
    database: str
    writes: str | None = Field(None, description="'ok', or why a write probe failed.")
    schema_: str | None = Field(None, alias="schema")
    schema_head: str | None = None
    version: str

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry of a route: its 4xx/5xx shapes, for the OpenAPI schema."""
    described = {401: "Missing or wrong bearer token.", 403: "Admin API disabled (no admin token configured).",
                 404: "Not found.", 409: "Conflict (an Idempotency-Key reused with other content; a concurrent "
                                          "change).",
                 413: "Request body or code over the limit.", 422: "Invalid request: field errors.",
                 503: "Database unavailable; retry after Retry-After seconds."}
    return {code: {"model": ValidationErrorOut if code == 422 else ErrorOut, "description": described[code]}
            for code in codes}
