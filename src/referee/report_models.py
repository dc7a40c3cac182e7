"""The pydantic models of the result model: Evidence, Finding, Report (import them from `referee.report`).

They live apart from `referee.report` so that importing a `Verdict` costs no pydantic: building these three
models loads most of pydantic (~0.1 s), which the per-submission `referee audit --api-mode` process cannot
afford; `referee.report` loads this module on first use of any of the three names.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field, computed_field, field_validator

from referee.report import Verdict
from referee.ruleids import canonical_id


class Evidence(BaseModel):
    """Where a finding comes from: a file and line, and what was seen there."""

    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    snippet: str | None = None
    detail: str | None = None

    def location(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file


class Finding(BaseModel):
    """One reason for a verdict: which rule, how bad, what was seen, what to do about it."""

    rule: str
    verdict: Verdict
    message: str
    action: str = "review"
    title: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("rule")
    @classmethod
    def _rulebook_id(cls, value: str) -> str:
        """Old rule spellings (`PA-01`, `LH-INPUT`) become rulebook ids, for fresh and stored reports alike."""
        return canonical_id(value)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def line(self) -> int | None:
        """First cited line, so JSON consumers get `line` without walking the evidence list."""
        for item in self.evidence:
            if item.line is not None:
                return item.line
        return None


class Report(BaseModel):
    """Everything one audit concluded. `verdict` is derived from the findings (worst wins)."""

    subject: str
    kind: str
    findings: list[Finding] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    degraded: bool = False
    action: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> Verdict:
        return Verdict.of_report(self.findings, self.degraded)

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

