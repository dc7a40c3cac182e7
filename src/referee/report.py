"""One result model for every part of referee: Verdict, Finding, Report.

Every audit (a kernel submission, a benchmark claim, a graded completion batch) ends in the same shape so the
CLI, the service, the SARIF export and the review page only have to understand one thing. The verdict of a
report is never stored by hand: it is the worst verdict among its findings, so a report cannot say PASS while
carrying a FAIL finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from referee.report_models import Evidence, Finding, Report  # noqa: F401  (re-exported lazily)

#: the pydantic models, loaded on first use (`referee.report_models`): a `Verdict` alone costs no pydantic
_MODELS = ("Evidence", "Finding", "Report")


def __getattr__(name: str) -> Any:
    if name in _MODELS:
        from referee import report_models

        value = getattr(report_models, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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

    @classmethod
    def of_report(cls, findings: Iterable[Any], degraded: bool) -> Verdict:
        """A report's verdict (both report models use it): its worst finding, DEGRADED counting as one."""
        return cls.worst([*(f.verdict for f in findings), *([cls.DEGRADED] if degraded else [])])


_RANK = {Verdict.PASS: 0, Verdict.FLAG: 1, Verdict.DEGRADED: 2, Verdict.FAIL: 3}
_EXIT_CODE = {Verdict.PASS: 0, Verdict.FLAG: 1, Verdict.FAIL: 2, Verdict.DEGRADED: 3}

SARIF_LEVEL = {Verdict.PASS: "note", Verdict.FLAG: "warning", Verdict.FAIL: "error", Verdict.DEGRADED: "error"}


SARIF_ROOT_ID = "SRCROOT"


def reports_to_sarif(reports: Iterable[Report], rules: dict[str, dict[str, Any]] | None = None,
                     tool_name: str = "referee", version: str = "0.1.0", *, root: str | Path | None = None,
                     base: str | Path | None = None) -> dict[str, Any]:
    """SARIF 2.1.0 log so findings show up in code-scanning tools (GitHub, VS Code SARIF viewer).

    The rule table comes from the rulebook (`referee.rulebook`) for every rule a finding names; `rules` may add
    or override entries. Locations are URIs relative to `root` (default: the current directory), declared in
    `originalUriBaseIds` as `SRCROOT`, so the log reads the same on any machine; a relative evidence path is
    taken relative to `base` (default: `root`), and a file outside the root keeps an absolute `file:` URI.
    """
    from pathlib import Path

    from referee import rulebook
    from referee.report_models import Evidence

    reports = list(reports)
    root_dir = Path(root if root is not None else Path.cwd()).resolve()
    base_dir = Path(base).resolve() if base is not None else root_dir
    used = {f.rule for r in reports for f in r.findings}
    catalog: dict[str, dict[str, Any]] = {**rulebook.sarif_catalog(used), **(rules or {})}
    for report in reports:
        for finding in report.findings:
            catalog.setdefault(finding.rule, {"title": finding.title or finding.rule, "why": finding.message,
                                              "action": finding.action})
    rule_ids = sorted(catalog)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    driver_rules = [_sarif_rule(rule_id, catalog[rule_id]) for rule_id in rule_ids]
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
                artifact = _artifact(item.file or report.subject, root_dir, base_dir)
                physical: dict[str, Any] = {"artifactLocation": artifact}
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
            "originalUriBaseIds": {SARIF_ROOT_ID: {"uri": root_dir.as_uri().rstrip("/") + "/"}},
            "results": results,
        }],
    }


def _sarif_rule(rule_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    title = entry.get("title", rule_id)
    record: dict[str, Any] = {
        "id": rule_id,
        "name": _sarif_name(title),
        "shortDescription": {"text": title},
        "fullDescription": {"text": entry.get("why", "")},
        "help": {"text": " ".join(t for t in (entry.get("what", ""), f"Action: {entry.get('action', 'review')}")
                                  if t)},
    }
    if entry.get("aliases"):
        record["deprecatedIds"] = list(entry["aliases"])
    return record


def _artifact(file: str, root: Path, base: Path) -> dict[str, Any]:
    """A SARIF artifactLocation: relative to the root when the file lies under it, else an absolute file URI."""
    from pathlib import Path
    from urllib.parse import quote

    path = Path(file)
    absolute = path if path.is_absolute() else base / path
    try:
        relative = absolute.resolve().relative_to(root)
    except (ValueError, OSError, RuntimeError):
        return {"uri": absolute.as_uri() if absolute.is_absolute() else file}
    return {"uri": quote(relative.as_posix()), "uriBaseId": SARIF_ROOT_ID}


def _sarif_name(title: str) -> str:
    words = [w for w in "".join(c if c.isalnum() else " " for c in title).split() if w]
    return "".join(w[:1].upper() + w[1:] for w in words) or "Rule"


VERDICT_STYLE = {Verdict.PASS: "bold green", Verdict.FLAG: "bold yellow", Verdict.FAIL: "bold red",
                 Verdict.DEGRADED: "bold magenta"}


#: below this many columns the findings are printed as blocks instead of a table (an 80-column terminal, a CI log).
COMPACT_BELOW = 100


def render_report(report: Report, console: Any = None) -> None:
    """Readable Rich rendering: a header with the verdict, the findings, then notes and timings.

    Nothing is cut: every `file:line` and rule id is printed whole (a table on wide terminals, one block per
    finding below `COMPACT_BELOW` columns), and text from the audited input is escaped, never read as markup.
    """
    from rich.console import Console
    from rich.markup import escape

    console = console or Console()
    style = VERDICT_STYLE[report.verdict]
    console.print(f"[bold]{escape(report.kind)}[/bold] {escape(report.subject)}: "
                  f"[{style}]{report.verdict.value}[/{style}]"
                  + (f"  action: {escape(report.action)}" if report.action else ""), soft_wrap=True)
    findings = sorted(report.findings, key=lambda f: -f.verdict.rank)
    if not findings:
        console.print("no findings")
    elif console.width < COMPACT_BELOW or _longest_location(findings) > console.width // 3:
        _render_blocks(findings, console)
    else:
        _render_table(findings, console)
    for note in report.notes:
        console.print(f"[dim]note:[/dim] {escape(note)}")
    if report.timings:
        console.print("[dim]timings:[/dim] " + ", ".join(f"{k}={v:.3f}s" for k, v in report.timings.items()))


def _locations(finding: Finding) -> list[str]:
    seen: list[str] = []
    for item in finding.evidence:
        where = item.location()
        if where and where not in seen:
            seen.append(where)
    return seen


def _longest_location(findings: list[Finding]) -> int:
    return max((len(w) for f in findings for w in _locations(f)), default=0)


def _render_table(findings: list[Finding], console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_lines=False)
    table.add_column("verdict", no_wrap=True)
    table.add_column("rule", no_wrap=True, min_width=max(len(f.rule) for f in findings))
    table.add_column("where", no_wrap=True, min_width=min(_longest_location(findings), console.width // 3))
    table.add_column("message", overflow="fold", ratio=3)
    table.add_column("action", overflow="fold", ratio=1)
    for finding in findings:
        fstyle = VERDICT_STYLE[finding.verdict]
        table.add_row(f"[{fstyle}]{finding.verdict.value}[/{fstyle}]", escape(finding.rule),
                      escape("\n".join(_locations(finding))), escape(finding.message), escape(finding.action))
    console.print(table)


def _render_blocks(findings: list[Finding], console: Any) -> None:
    """One block per finding: verdict, rule and title, each location on its own line, message, action."""
    from rich.markup import escape

    for finding in findings:
        fstyle = VERDICT_STYLE[finding.verdict]
        title = f" {escape(finding.title)}" if finding.title else ""
        console.print(f"[{fstyle}]{finding.verdict.value}[/{fstyle}] [bold]{escape(finding.rule)}[/bold]{title}",
                      soft_wrap=True)
        for where in _locations(finding):
            console.print(f"  at {escape(where)}", soft_wrap=True, highlight=False)
        console.print(f"  {escape(finding.message)}", highlight=False)
        console.print(f"  [dim]action:[/dim] {escape(finding.action)}", highlight=False)
