"""Request and response bodies of the HTTP API (pydantic), kept apart from the ORM models.

Every text field is checked for what the database cannot store (NUL characters, lone surrogates), so such input
is a 422 with the field named, not a 500 from the driver.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text (found a lone surrogate)") from exc
    return value


Text = Annotated[str, AfterValidator(storable)]
Label = Annotated[str, Field(max_length=200), AfterValidator(storable)]


class SubmissionIn(BaseModel):
    """A submission to audit. Size limits are checked by the route (413), not here (422)."""

    model_config = ConfigDict(extra="forbid")

    task: Label = Field(description="Registered task name (GET /admin/tasks).")
    code: Text = Field(description="The submission's source code.")
    user_id: Label | None = None
    leaderboard: Label | None = None
    file_name: Annotated[str, Field(max_length=300), AfterValidator(storable)] | None = None


class SubmissionAccepted(BaseModel):
    audit_id: int
    submission_id: int
    status: str = "pending"
    duplicate: bool = Field(False, description="True when the Idempotency-Key was seen before.")


Decision = Literal["cheat", "false_positive", "ok"]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision = Field(description="cheat (confirmed cheat), false_positive, or ok.")
    note: Annotated[str, Field(max_length=10_000), AfterValidator(storable)] | None = None
    reviewer: Label | None = Field(None, description="Who decided; defaults to 'admin'.")


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Label
    files: dict[Label, Text] = Field(description="File name to text: task.yml, reference.py, task.py, ...")


class BackfillIn(BaseModel):
    """Which stored submissions to audit again. All filters are optional and combine with AND."""

    model_config = ConfigDict(extra="forbid")

    task: Label | None = None
    leaderboard: Label | None = None
    verdict: Label | None = Field(None, description="Current verdict(s), e.g. 'FAIL,FLAG'; 'none' = never audited.")
    since: datetime | None = None
    submission_ids: list[int] | None = Field(None, max_length=100_000)
    limit: int = Field(1000, ge=1, le=100_000)
    options: dict[str, Any] = Field(default_factory=dict, description="Audit options for the engine.")
    dry_run: bool = False
