"""The `kernelguard --api-mode` contract, so a leaderboard that calls KernelGuard can switch by changing the command.

A thin adapter: the audit itself is `audit.audit_once`. kernelbot runs the command with the submission on stdin,
reads the last non-empty stdout line as a JSON object, rejects the submission when `should_filter` is true (naming
the `pattern` of each `matched_patterns` entry; it then marks the submission "hacked"), logs `classification`
otherwise, and treats a non-zero exit status as "pre-check unavailable". So: exit 0 for every verdict, non-zero only
when the audit itself could not be done (DEGRADED: exit 3, `should_filter: false` and a `reason`). A FAIL that only
says the file does not run is `classification: invalid` and not filtered: it is broken, not hacked. KernelGuard's
vocabulary is kept (hacked / suspicious / valid, high_critical); referee's own fields ride along.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import TYPE_CHECKING, Any

from referee import __version__
from referee.report import Verdict

if TYPE_CHECKING:
    from referee.records import ReportRecord
    from referee.report import Report

CLASSIFICATION = {Verdict.FAIL: "hacked", Verdict.FLAG: "suspicious", Verdict.PASS: "valid",
                  Verdict.DEGRADED: "unknown"}
SEVERITY = {Verdict.FAIL: "critical", Verdict.FLAG: "medium", Verdict.PASS: "low", Verdict.DEGRADED: "low"}


def _kernelguard_names(data: dict[str, Any]) -> list[str]:
    """KernelGuard's own pattern names for a finding (static rules record them), so existing filters keep working."""
    names = data.get("kernelguard") if isinstance(data, dict) else None
    return [str(n) for n in names] if isinstance(names, list | tuple) else []


def _reason(report: Report | ReportRecord, broken: bool) -> str | None:
    """One line saying why the submission was not simply accepted (DEGRADED: what the referee could not do)."""
    if report.verdict is Verdict.DEGRADED:
        return "; ".join(report.notes[-3:]) or "the referee could not finish the audit"
    if broken:
        return "the submission does not run: " + "; ".join(
            f.message for f in report.findings if f.verdict is Verdict.FAIL)[:400]
    if report.verdict is Verdict.PASS:
        return None
    return "; ".join(f"{f.rule}: {f.title}" for f in report.findings if f.verdict is report.verdict)[:400]


def kernelguard_result(report: Report | ReportRecord, code: str) -> dict[str, Any]:
    """One JSON object in KernelGuard's api-mode shape, plus referee's verdict and findings."""
    verdict = report.verdict
    patterns = [{"pattern": _kernelguard_names(f.data)[0] if _kernelguard_names(f.data) else f.rule,
                 "rule": f.rule, "kernelguard": _kernelguard_names(f.data), "severity": SEVERITY[f.verdict],
                 "evidence": f.message[:500], "field": "code", "line": f.line, "verdict": f.verdict.value}
                for f in report.findings]
    from referee.submissions.audit import broken_only

    broken = verdict is Verdict.FAIL and broken_only(report)
    # kernelbot marks a filtered submission "hacked"; a file that does not run is rejected by its own run, not here
    should_filter = verdict is Verdict.FAIL and not broken
    return {
        "matched_patterns": patterns,
        "classification": "invalid" if broken else CLASSIFICATION[verdict],
        "should_filter": should_filter,
        "filter_reason": "high_critical" if should_filter else None,
        "reason": _reason(report, broken),
        "code_hash": hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()[:16],
        "structural_hash": "",
        "is_default": False,
        "default_reason": None,
        "verdict": verdict.value,
        "action": report.action,
        "findings": [{"rule": f.rule, "verdict": f.verdict.value, "message": f.message, "line": f.line,
                      "action": f.action} for f in report.findings],
        "notes": report.notes,
        "tool": "referee",
        "version": __version__,
    }


def write_api_result(code: str, task: Any, options: Any) -> int:
    """Audit, print the one JSON line, and return the exit status of the contract (0 unless the audit failed)."""
    from referee.submissions.audit import audit_once_records

    report = audit_once_records(code, task, options)  # printed from the record: no pydantic model is built
    sys.stdout.write(json.dumps(kernelguard_result(report, code)) + "\n")
    sys.stdout.flush()
    return Verdict.DEGRADED.exit_code if report.verdict is Verdict.DEGRADED else 0


_VALUE_FLAGS = {"--task", "-t", "--profile", "--config"}


def fast_api_mode(argv: list[str]) -> int | None:
    """`referee audit --api-mode [--task T]` without Typer: the per-submission hot path of a leaderboard.

    Returns the exit status, or None when the arguments need the full CLI (anything beyond KernelGuard's flags).
    """
    if not argv or argv[0] != "audit" or "--api-mode" not in argv:
        return None
    task_spec = None
    rest = argv[1:]
    while rest:
        arg = rest.pop(0)
        if arg == "--api-mode":
            continue
        name, eq, value = arg.partition("=")
        if name not in _VALUE_FLAGS:
            return None
        if not eq:
            if not rest:
                return None
            value = rest.pop(0)
        if name in ("--task", "-t"):
            task_spec = value
    from referee.submissions.audit import AuditOptions

    task = None
    if task_spec is not None:
        from referee.submissions.task import TaskError, resolve_task

        try:
            task = resolve_task(task_spec)
        except (TaskError, OSError) as exc:
            sys.stderr.write(f"referee: --task {task_spec}: {exc}\n")
            from referee.exitcodes import EXIT_USAGE

            return EXIT_USAGE  # a task that does not exist is a usage error, not a verdict
    code = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    return write_api_result(code, task, AuditOptions(dynamic=task is not None))
