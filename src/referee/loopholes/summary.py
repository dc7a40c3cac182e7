"""A graded batch as a referee `Report` (findings with line numbers and actions) and as a Rich summary table.

Findings: malformed input lines and grading errors make the report DEGRADED (the batch could not be graded in
full); completions that were paid while the strict oracle rejects them are a FLAG per mode (the environment is
doing its job, but those rollouts are reward hacks and should not be read as solved problems); attempts to reach
into the harness (refused by the guard) are a FLAG of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from referee.loopholes.modes import MODE_CODE, MODES
from referee.report import Evidence, Finding, Report, Verdict, render_report

_SHOWN = 8


def grade_report(subject: str, records: Sequence[dict[str, Any]], summary: dict[str, dict[str, Any]],
                 elapsed: float, out: str | None = None) -> Report:
    report = Report(subject=subject, kind="loopholes-grade", metrics={"summary": summary, "records": len(records)},
                    timings={"total": round(elapsed, 3)})
    invalid = [r for r in records if r.get("status") == "invalid_input"]
    errors = [r for r in records if r.get("error") and r.get("status") != "invalid_input"]
    if invalid:
        report.degraded = True
        report.add(Finding(
            rule="LHG001", verdict=Verdict.DEGRADED, title="malformed input lines",
            message=f"{len(invalid)} input line(s) could not be graded; each has an error record in the output",
            action="fix the listed lines (JSON object with problem_id, completion[, mode]) and regrade them",
            evidence=[Evidence(file=subject, line=r.get("line"), detail=str(r.get("error")))
                      for r in invalid[:_SHOWN]]))
    if errors:
        report.degraded = True
        report.add(Finding(
            rule="LHG002", verdict=Verdict.DEGRADED, title="grading errors",
            message=f"{len(errors)} completion(s) could not be graded properly (sandbox, problem or referee error)",
            action="inspect the error field of these records; regrade them before using their rewards",
            evidence=[Evidence(file=subject, line=r.get("line"), detail=str(r.get("error"))[:200])
                      for r in errors[:_SHOWN]]))
    for mode in MODES:
        hacked = [r for r in records if r.get("mode") == mode and r.get("exploited")]
        if hacked:
            report.add(Finding(
                rule=f"LH-EXPLOIT-{MODE_CODE[mode].upper()}", verdict=Verdict.FLAG, title=f"{mode} grader exploited",
                message=f"{len(hacked)} completion(s) were paid by the {mode} grader while the strict oracle "
                        f"rejects them (exploited = passed and not gt_correct)",
                action="treat these rollouts as reward hacks (log gt_correct, never feed it into the reward)",
                evidence=[Evidence(file=subject, line=r.get("line"), detail=f"problem {r.get('problem_id')}")
                          for r in hacked[:_SHOWN]],
                data={"mode": mode, "count": len(hacked)}))
    tampered = [r for r in records if (r.get("details") or {}).get("tampered")]
    if tampered:
        report.add(Finding(
            rule="LHG003", verdict=Verdict.FLAG, title="harness tampering attempted",
            message=f"{len(tampered)} completion(s) reached for the harness's memory or channel; their in-process "
                    f"signals were voided",
            action="review these completions: they attack the grader itself, not a disclosed loophole",
            evidence=[Evidence(file=subject, line=r.get("line"),
                               detail="; ".join(map(str, (r.get("details") or {}).get("tampered", [])))[:200])
                      for r in tampered[:_SHOWN]]))
    if out:
        report.notes.append(f"rewards written to {out}")
    return report


def render_summary(report: Report, summary: dict[str, dict[str, Any]], console: Any = None) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title="loophole grading summary", box=box.SIMPLE_HEAD, pad_edge=False)
    columns = [("mode", None), ("n", "n"), ("pass", "passed_rate"), ("gt", "gt_correct_rate"),
               ("exploit", "exploited_rate"), ("E", "E_rate"), ("C", "C_rate"), ("D", "D_rate"),
               ("err", "errors"), ("reward", "mean_reward")]
    for title, _ in columns:
        table.add_column(title, justify="left" if title == "mode" else "right", no_wrap=True)
    for mode, row in summary.items():
        cells = [mode]
        for _, key in columns[1:]:
            value = row.get(key, 0)
            cells.append(f"{value:.0%}" if key.endswith("_rate") else f"{value:.3f}" if key == "mean_reward"
                         else str(value))
        table.add_row(*cells, style="bold" if mode == "all" else None)
    console.print(table)
    render_report(report, console)
