"""The `kernelguard --api-mode` contract, so a leaderboard that calls KernelGuard can switch by changing the command.

kernelbot runs the command with the submission on stdin, reads the last non-empty stdout line as a JSON object,
rejects the submission when `should_filter` is true (naming the `pattern` of each `matched_patterns` entry), logs
`classification` otherwise, and treats a non-zero exit status as "pre-check unavailable". So: exit 0 for every
verdict, non-zero only when the audit itself could not be done. KernelGuard's vocabulary is kept (hacked /
suspicious / valid, high_critical); referee's own fields (`verdict`, `findings`) ride along.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

from referee import __version__
from referee.report import Report, Verdict

CLASSIFICATION = {Verdict.FAIL: "hacked", Verdict.FLAG: "suspicious", Verdict.PASS: "valid",
                  Verdict.DEGRADED: "unknown"}
SEVERITY = {Verdict.FAIL: "critical", Verdict.FLAG: "medium", Verdict.PASS: "low", Verdict.DEGRADED: "low"}


def _kernelguard_names(data: dict[str, Any]) -> list[str]:
    """KernelGuard's own pattern names for a finding (static rules record them), so existing filters keep working."""
    names = data.get("kernelguard") if isinstance(data, dict) else None
    return [str(n) for n in names] if isinstance(names, list | tuple) else []


def kernelguard_result(report: Report, code: str) -> dict[str, Any]:
    """One JSON object in KernelGuard's api-mode shape, plus referee's verdict and findings."""
    verdict = report.verdict
    patterns = [{"pattern": _kernelguard_names(f.data)[0] if _kernelguard_names(f.data) else f.rule,
                 "rule": f.rule, "kernelguard": _kernelguard_names(f.data), "severity": SEVERITY[f.verdict],
                 "evidence": f.message[:500], "field": "code", "line": f.line, "verdict": f.verdict.value}
                for f in report.findings]
    should_filter = verdict is Verdict.FAIL
    return {
        "matched_patterns": patterns,
        "classification": CLASSIFICATION[verdict],
        "should_filter": should_filter,
        "filter_reason": "high_critical" if should_filter else None,
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


def audit_once(code: str | bytes, task: Any, options: Any) -> Any:
    """One audit with a one-worker sandbox of its own (a single audit needs one fork server, not one per core)."""
    from referee.submissions.audit import audit_submission

    if not (options.dynamic and task is not None):
        return audit_submission(code, task, options=options)
    from referee.submissions.probes import make_sandbox

    try:
        sandbox = make_sandbox(workers=1, timeout_s=options.timeout_s, memory_mb=options.memory_mb)
    except Exception as exc:  # no sandbox on this machine: the audit says so instead of crashing
        report = audit_submission(code, task, options=without_probes(options))
        report.degraded = True
        report.notes.append(f"dynamic probes could not start the sandbox: {type(exc).__name__}: {exc}")
        return report
    try:
        return audit_submission(code, task, options=options, sandbox=sandbox)
    finally:
        sandbox.close()


def without_probes(options: Any) -> Any:
    from dataclasses import replace

    return replace(options, dynamic=False)


def write_api_result(code: str, task: Any, options: Any) -> int:
    """Audit, print the one JSON line, and return the exit status of the contract (0 unless the audit failed)."""
    report = audit_once(code, task, options)
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
    from referee.submissions.task import TaskError, resolve_task

    task = None
    if task_spec is not None:
        try:
            task = resolve_task(task_spec)
        except (TaskError, OSError) as exc:
            sys.stderr.write(f"referee: --task {task_spec}: {exc}\n")
            from referee.exitcodes import EXIT_USAGE

            return EXIT_USAGE  # a task that does not exist is a usage error, not a verdict
    code = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    return write_api_result(code, task, AuditOptions(dynamic=task is not None))
