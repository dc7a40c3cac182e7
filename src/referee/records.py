"""Plain-Python twins of the result model (Evidence, Finding, Report) for paths that must not load pydantic.

`referee audit --api-mode` is one process per submission, and building the pydantic models costs more than the
whole KernelGuard run it replaces (~0.1 s). The static engine therefore builds these records, and converts them
to the models (`to_model()`) only where a caller wants a `referee.report` object. They carry the same fields,
defaults and derived values (`Finding.line`, `Report.verdict`) as the models, and `model_dump()` gives the same
JSON as the model's `model_dump(mode="json")` (tested on the bundled corpus), so a consumer cannot tell which one
produced a result. No validation beyond what the models do on the fields the engine fills: rule ids are
canonicalised and verdicts coerced, exactly like the models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from referee.report import Verdict
from referee.ruleids import canonical_id

if TYPE_CHECKING:
    from referee.report_models import Evidence, Finding, Report


class EvidenceRecord:
    """`referee.report.Evidence` without pydantic."""

    __slots__ = ("detail", "end_line", "file", "line", "snippet")

    def __init__(self, file: str | None = None, line: int | None = None, end_line: int | None = None,
                 snippet: str | None = None, detail: str | None = None) -> None:
        self.file, self.line, self.end_line, self.snippet, self.detail = file, line, end_line, snippet, detail

    def location(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def model_dump(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "end_line": self.end_line, "snippet": self.snippet,
                "detail": self.detail}

    def to_model(self) -> Evidence:
        from referee.report_models import Evidence

        return Evidence.model_construct(**self.model_dump())


class FindingRecord:
    """`referee.report.Finding` without pydantic (same constructor, `line`, `model_copy(update=...)`)."""

    __slots__ = ("action", "data", "evidence", "message", "rule", "title", "verdict")

    def __init__(self, rule: str, verdict: Verdict | str, message: str, action: str = "review",
                 title: str | None = None, evidence: list[EvidenceRecord] | None = None,
                 data: dict[str, Any] | None = None) -> None:
        self.rule = canonical_id(rule)
        self.verdict = Verdict(verdict)
        self.message = message
        self.action = action
        self.title = title
        self.evidence = list(evidence) if evidence is not None else []
        self.data = data if data is not None else {}

    @property
    def line(self) -> int | None:
        for item in self.evidence:
            if item.line is not None:
                return item.line
        return None

    def model_copy(self, update: dict[str, Any] | None = None) -> FindingRecord:
        """A shallow copy with some fields replaced, unvalidated (as pydantic's `model_copy`)."""
        copy = object.__new__(FindingRecord)
        for name in self.__slots__:
            object.__setattr__(copy, name, getattr(self, name))
        for name, value in (update or {}).items():
            setattr(copy, name, value)
        return copy

    def model_dump(self) -> dict[str, Any]:
        return {"rule": self.rule, "verdict": self.verdict.value, "message": self.message, "action": self.action,
                "title": self.title, "evidence": [e.model_dump() for e in self.evidence], "data": self.data,
                "line": self.line}

    def to_model(self) -> Finding:
        """The pydantic `Finding` (validated, as if it had been built directly)."""
        from referee.report_models import Finding

        return Finding(rule=self.rule, verdict=self.verdict, message=self.message, action=self.action,
                       title=self.title, evidence=[e.to_model() for e in self.evidence], data=self.data)


class ReportRecord:
    """`referee.report.Report` without pydantic; `verdict` is derived from the findings, as in the model."""

    __slots__ = ("action", "degraded", "findings", "kind", "metrics", "notes", "subject", "timings")

    def __init__(self, subject: str, kind: str) -> None:
        self.subject, self.kind = subject, kind
        self.findings: list[Any] = []
        self.metrics: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.notes: list[str] = []
        self.degraded = False
        self.action: str | None = None

    @property
    def verdict(self) -> Verdict:
        return Verdict.of_report(self.findings, self.degraded)

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def add(self, finding: Any) -> None:
        self.findings.append(finding)

    def to_model(self) -> Report:
        from referee.report_models import Report

        findings = [f.to_model() if isinstance(f, FindingRecord) else f for f in self.findings]
        return Report(subject=self.subject, kind=self.kind, findings=findings, metrics=self.metrics,
                      timings=self.timings, notes=self.notes, degraded=self.degraded, action=self.action)
