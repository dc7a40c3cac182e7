"""The `kernelguard --api-mode` contract, so a leaderboard that calls KernelGuard can switch by changing the command.

kernelbot runs the command with the submission on stdin, reads the last non-empty stdout line as a JSON object,
rejects the submission when `should_filter` is true (naming the `pattern` of each `matched_patterns` entry), logs
`classification` otherwise, and treats a non-zero exit status as "pre-check unavailable". So: exit 0 for every
verdict, non-zero only when the audit itself could not be done. KernelGuard's vocabulary is kept (hacked /
suspicious / valid, high_critical); referee's own fields (`verdict`, `findings`) ride along.
"""

from __future__ import annotations

import hashlib
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
