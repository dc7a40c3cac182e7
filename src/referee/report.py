"""One result model for every part of referee: Verdict, Finding, Report.

Every audit (a kernel submission, a benchmark claim, a graded completion batch) ends in the same shape so the
CLI, the service, the SARIF export and the review page only have to understand one thing. The verdict of a
report is never stored by hand: it is the worst verdict among its findings, so a report cannot say PASS while
carrying a FAIL finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field, computed_field


class Verdict(str, Enum):
    """Outcome of a check, ordered from harmless to worst: PASS < FLAG < DEGRADED < FAIL.

    DEGRADED means the referee itself could not do its job (unreadable inputs, an internal error); it is kept
    apart from FAIL so that a broken audit is never mistaken for a caught cheat, and never for a pass. A caught
    cheat outranks it: a report holding a FAIL finding is FAIL even when another check degraded, because what was
    proven stays proven. The exit code is a separate, fixed mapping (0 PASS, 1 FLAG, 2 FAIL, 3 DEGRADED).
    """

    PASS = "PASS"
    FLAG = "FLAG"
    FAIL = "FAIL"
    DEGRADED = "DEGRADED"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def exit_code(self) -> int:
        """Process exit code used by every command: 0 PASS, 1 FLAG, 2 FAIL, 3 could not audit."""
        return _EXIT_CODE[self]

    @classmethod
    def worst(cls, verdicts: Iterable[Verdict], default: Verdict | None = None) -> Verdict:
        result = default or cls.PASS
        for verdict in verdicts:
            if verdict.rank > result.rank:
                result = verdict
        return result


_RANK = {Verdict.PASS: 0, Verdict.FLAG: 1, Verdict.DEGRADED: 2, Verdict.FAIL: 3}
_EXIT_CODE = {Verdict.PASS: 0, Verdict.FLAG: 1, Verdict.FAIL: 2, Verdict.DEGRADED: 3}

SARIF_LEVEL = {Verdict.PASS: "note", Verdict.FLAG: "warning", Verdict.FAIL: "error", Verdict.DEGRADED: "error"}


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
        return Verdict.worst([*(f.verdict for f in self.findings), *([Verdict.DEGRADED] if self.degraded else [])])

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def reports_to_sarif(reports: Iterable[Report], rules: dict[str, dict[str, str]] | None = None,
                     tool_name: str = "referee", version: str = "0.1.0") -> dict[str, Any]:
    """SARIF 2.1.0 log so findings show up in code-scanning tools (GitHub, VS Code SARIF viewer).

    `rules` maps a rule id to {"title", "why", "action"} for the driver's rule table; rule ids that only appear in
    findings are still listed so every result's ruleIndex resolves.
    """
    reports = list(reports)
    catalog: dict[str, dict[str, str]] = dict(rules or {})
    for report in reports:
        for finding in report.findings:
            catalog.setdefault(finding.rule, {"title": finding.title or finding.rule, "why": finding.message,
                                              "action": finding.action})
    rule_ids = sorted(catalog)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    driver_rules = [
        {
            "id": rule_id,
            "name": _sarif_name(catalog[rule_id].get("title", rule_id)),
            "shortDescription": {"text": catalog[rule_id].get("title", rule_id)},
            "fullDescription": {"text": catalog[rule_id].get("why", "")},
            "help": {"text": f"Action: {catalog[rule_id].get('action', 'review')}"},
        }
        for rule_id in rule_ids
    ]
    results = []
    for report in reports:
        for finding in report.findings:
            if finding.verdict is Verdict.PASS:
                continue
            locations = []
            for item in finding.evidence or [Evidence(file=report.subject)]:
                region: dict[str, Any] = {}
                if item.line is not None:
                    region["startLine"] = max(1, item.line)
                    if item.end_line is not None:
                        region["endLine"] = max(region["startLine"], item.end_line)
                physical: dict[str, Any] = {"artifactLocation": {"uri": item.file or report.subject}}
                if region:
                    physical["region"] = region
                locations.append({"physicalLocation": physical})
            results.append({
                "ruleId": finding.rule,
                "ruleIndex": index[finding.rule],
                "level": SARIF_LEVEL[finding.verdict],
                "message": {"text": f"{finding.message} Action: {finding.action}."},
                "locations": locations,
                "properties": {"verdict": finding.verdict.value, "action": finding.action},
            })
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": tool_name, "version": version, "informationUri": "https://pypi.org/project/referee/",
                                "rules": driver_rules}},
            "results": results,
        }],
    }


def _sarif_name(title: str) -> str:
    words = [w for w in "".join(c if c.isalnum() else " " for c in title).split() if w]
    return "".join(w[:1].upper() + w[1:] for w in words) or "Rule"


VERDICT_STYLE = {Verdict.PASS: "bold green", Verdict.FLAG: "bold yellow", Verdict.FAIL: "bold red",
                 Verdict.DEGRADED: "bold magenta"}


def render_report(report: Report, console: Any = None) -> None:
    """Readable Rich rendering: a header with the verdict, a findings table, then metrics and notes."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    style = VERDICT_STYLE[report.verdict]
    console.print(f"[bold]{report.kind}[/bold] {report.subject}: [{style}]{report.verdict.value}[/{style}]"
                  + (f"  action: {report.action}" if report.action else ""))
    if report.findings:
        table = Table(show_lines=False)
        table.add_column("verdict")
        table.add_column("rule")
        table.add_column("where")
        table.add_column("message", overflow="fold")
        table.add_column("action")
        for finding in sorted(report.findings, key=lambda f: -f.verdict.rank):
            where = ", ".join(e.location() for e in finding.evidence if e.location())[:60]
            fstyle = VERDICT_STYLE[finding.verdict]
            table.add_row(f"[{fstyle}]{finding.verdict.value}[/{fstyle}]", finding.rule, where, finding.message,
                          finding.action)
        console.print(table)
    else:
        console.print("no findings")
    for note in report.notes:
        console.print(f"[dim]note:[/dim] {note}")
    if report.timings:
        console.print("[dim]timings:[/dim] " + ", ".join(f"{k}={v:.3f}s" for k, v in report.timings.items()))
