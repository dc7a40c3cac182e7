"""Audit one leaderboard submission: static rules, sandboxed dynamic probes, optional LLM second opinion.

    from referee.submissions.audit import audit_submission, AuditOptions
    report = audit_submission(code, task, options=AuditOptions(dynamic=True, llm=False))

`audit_submission` never raises for anything a submission contains: unparsable code, hostile code, a crash in the
sandbox all end up as findings or notes. The report's verdict is the worst finding (FAIL beats FLAG beats PASS);
DEGRADED means the referee itself could not finish (the task's reference broke, the sandbox died) and is never
mistaken for a pass or for a caught cheat.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from referee.records import EvidenceRecord, FindingRecord, ReportRecord
from referee.report import Verdict

if TYPE_CHECKING:  # imported where used: `referee audit --api-mode` without a task never needs them (speed)
    from referee.report import Report
    from referee.sandbox import Sandbox
    from referee.submissions.judge import JudgeConfig
    from referee.submissions.task import Task

MAX_CODE_CHARS = 4 << 20  # = the static engine's MAX_SOURCE: below it every file is scanned in full
ACTIONS = {
    Verdict.FAIL: "reject: mark the submission as hacked and keep the evidence",
    Verdict.FLAG: "hold for human review before it is ranked",
    Verdict.PASS: "accept",
    Verdict.DEGRADED: "re-run the audit where the task can run: the referee could not finish (see notes)",
}
#: probe families that mean "this file does not run", which the leaderboard's own run rejects anyway
BROKEN_FAMILIES = {"broken"}
BROKEN_ACTION = ("reject as broken, not as cheating: the submission does not import or defines no custom_kernel "
                 "(see the finding); ask the author to fix it")


@dataclass
class AuditOptions:
    """What to run. Defaults: static rules and dynamic probes; the LLM only when asked for."""

    dynamic: bool = True
    llm: bool = False
    static: bool = True
    #: subject of the report (the submission's file name)
    filename: str = "submission.py"
    timeout_s: float = 60.0
    memory_mb: int = 4096
    #: probe seed for fresh inputs; None draws one (it is recorded in metrics, so a run can be repeated)
    seed: int | None = None
    soak_calls: int = 100
    #: None reads REFEREE_LLM_* / OPENROUTER_API_KEY from the environment
    llm_config: JudgeConfig | None = None


def _static_engine() -> tuple[Any, str | None]:
    """(scan_records, None), or (None, why) when a rule module is broken (the referee's bug: the audit degrades)."""
    try:
        from referee.submissions.rules import scan_records
    except Exception as exc:  # a broken rule module must not take the audit down
        return None, f"static rules failed to load: {type(exc).__name__}: {exc}"
    return scan_records, None


def static_rule_catalog() -> dict[str, dict[str, str]]:
    """id -> {title, why, action} of every static rule; for SARIF."""
    from referee.submissions.rules import all_rules

    return {r.id: {"title": r.title, "why": r.why, "action": r.action} for r in all_rules()}


_shared: Sandbox | None = None
_shared_lock = threading.Lock()


def shared_sandbox() -> Sandbox:
    """One process-wide probe sandbox (torch preloaded, up to 8 workers), closed at interpreter exit.

    Used when `audit_submission` gets no sandbox; services and batch runs pass their own (`make_sandbox(n)`).
    """
    from referee.submissions.probes import make_sandbox

    global _shared
    with _shared_lock:
        if _shared is None or _shared._closed:
            _shared = make_sandbox(workers=min(8, os.cpu_count() or 1))
            atexit.register(_shared.close)
        return _shared


def task_contract_of(task: Task | None) -> Any:
    """The task's output contract read from its reference (None without a task, or when it cannot be read)."""
    if task is None:
        return None
    from referee.submissions.analysis.contract import task_contract

    try:
        return task_contract(task.reference)
    except Exception:  # a reference the analysis cannot read: the rules fall back to the no-task reading
        return None


def _run_static(code: str, filename: str, report: ReportRecord, task: Task | None = None) -> bool:
    """Static findings into the report; returns whether the code parses (False also when it cannot be told)."""
    engine, problem = _static_engine()
    if engine is None:
        report.notes.append(str(problem))
        report.metrics["static"] = {"available": False}
        report.degraded = True
        return True
    try:
        findings = list(engine(code, filename, contract=task_contract_of(task)))
    except Exception as exc:
        report.degraded = True
        report.notes.append(f"static rules crashed (the referee's bug): {type(exc).__name__}: {exc}")
        return True
    for finding in findings:
        finding.data.setdefault("source", "static")
    report.findings.extend(findings)
    report.metrics["static"] = {"available": True, "findings": len(findings)}
    return not any(f.rule == "SYN001" for f in findings)


def _run_dynamic(code: str, task: Task | None, options: AuditOptions, sandbox: Sandbox | None,
                 report: ReportRecord) -> None:
    if task is None:
        report.notes.append("dynamic probes skipped: no task given")
        report.metrics["dynamic"] = {"status": "skipped"}
        return
    from referee.submissions.probes import run_probes

    try:
        if sandbox is None and not task.distributed:  # distributed tasks bring their own (probes.distributed_sandbox)
            sandbox = shared_sandbox()
        outcome = run_probes(code, task, sandbox, filename=options.filename, seed=options.seed,
                             timeout_s=options.timeout_s, memory_mb=options.memory_mb, soak_calls=options.soak_calls)
    except Exception as exc:  # the sandbox could not start, or a bug of ours: never the submission's fault
        report.degraded = True
        report.notes.append(f"dynamic probes failed inside the referee: {type(exc).__name__}: {exc}")
        report.metrics["dynamic"] = {"status": "degraded"}
        return
    report.findings.extend(outcome.findings)
    report.notes.extend(outcome.notes)
    report.metrics["dynamic"] = outcome.metrics or {"status": outcome.status}
    report.degraded = report.degraded or outcome.degraded


def _run_llm(code: str, task: Task | None, options: AuditOptions, report: ReportRecord) -> None:
    from referee.submissions.judge import JudgeConfig, judge_submission

    config = options.llm_config or JudgeConfig.from_env()
    if config is None:
        report.notes.append("LLM second opinion skipped: no REFEREE_LLM_API_KEY (or OPENROUTER_API_KEY) is set")
        return
    result = judge_submission(code, task, list(report.findings), config, filename=options.filename)
    report.notes.extend(result.notes)
    if result.error is not None:
        report.notes.append(f"LLM second opinion unavailable ({config.model}): {result.error}")
        report.metrics["llm"] = {"model": config.model, "verdict": None, "reasoning": None, "error": result.error,
                                 "attempts": result.attempts}
        return
    report.metrics["llm"] = {"model": result.model, "verdict": result.verdict, "reasoning": result.reasoning,
                             "confidence": result.confidence, "attempts": result.attempts}
    if result.verdict in {"suspicious", "cheating"}:
        evidence = [EvidenceRecord(file=options.filename, line=line) for line in result.lines[:5] if line > 0]
        report.findings.append(FindingRecord(
            rule="LLM001", verdict=Verdict.FLAG, title="LLM second opinion: possible cheating",
            message=f"{result.model} judged the submission {result.verdict}: {result.reasoning[:400]}",
            action="review: an LLM's opinion is a lead for a human, not evidence", evidence=evidence,
            data={"source": "llm", "confidence": result.confidence}))


def audit_submission(code: str | bytes, task: Task | None, *, options: AuditOptions | None = None,
                     sandbox: Sandbox | None = None) -> Report:
    """Audit one submission against its task (see module docstring). Never raises for bad submissions."""
    return audit_records(code, task, options=options, sandbox=sandbox).to_model()


def audit_records(code: str | bytes, task: Task | None, *, options: AuditOptions | None = None,
                  sandbox: Sandbox | None = None) -> ReportRecord:
    """`audit_submission` before the report becomes a pydantic model: the same audit, the same fields.

    `--api-mode` prints from this record directly, so a static-only audit never loads pydantic (speed)."""
    options = options or AuditOptions()
    started = time.perf_counter()
    report = ReportRecord(subject=options.filename, kind="submission")
    report.timings = {"static": 0.0, "dynamic": 0.0, "llm": 0.0}
    if isinstance(code, bytes):
        text = code.decode("utf-8", errors="replace")
        if "\ufffd" in text:
            report.notes.append("the submission is not valid UTF-8; undecodable bytes were replaced")
        code = text
    report.metrics["task"] = task.name if task is not None else None
    report.metrics["code_sha256"] = hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()
    report.metrics["lines"] = code.count("\n") + 1
    if len(code) > MAX_CODE_CHARS:
        report.findings.append(FindingRecord(
            rule="AUD001", verdict=Verdict.FAIL, title="Submission too large to audit",
            message=f"The submission has {len(code)} characters (limit {MAX_CODE_CHARS}); it was not analysed, so "
                    "it is filtered unchecked (padding past the scanner's cap must never buy a pass).",
            action="filter: resubmit without padding or embedded payloads; kernels this large are not audited"))
        report.action = ACTIONS[report.verdict]
        return report
    parses = True
    if options.static:
        t0 = time.perf_counter()
        parses = _run_static(code, options.filename, report, task)
        report.timings["static"] = time.perf_counter() - t0
    if options.dynamic:
        t0 = time.perf_counter()
        if parses:
            _run_dynamic(code, task, options, sandbox, report)
        else:
            report.notes.append("dynamic probes skipped: the submission does not parse")
        report.timings["dynamic"] = time.perf_counter() - t0
    else:
        report.notes.append("dynamic probes skipped: disabled (--no-dynamic)")
    if not parses:  # it cannot be imported by any harness: broken (FAIL), whatever the static rule's own verdict
        from referee.submissions.probes.rules import probe_record

        syntax = next((f.message for f in report.findings if f.rule == "SYN001"), "a syntax error")
        report.findings.append(probe_record("PRB601", f"The submission does not parse, so it cannot be imported: "
                                             f"{syntax}"))
    if options.llm:
        t0 = time.perf_counter()
        _run_llm(code, task, options, report)
        report.timings["llm"] = time.perf_counter() - t0
    report.timings["total"] = time.perf_counter() - started
    report.action = report_action(report)
    return report


def broken_only(report: Report | ReportRecord) -> bool:
    """A FAIL whose every FAIL finding says the file does not run (no import, no entry point): not a cheat."""
    fails = [f for f in report.findings if f.verdict is Verdict.FAIL]
    return bool(fails) and all(f.data.get("family") in BROKEN_FAMILIES for f in fails)


def report_action(report: Report | ReportRecord) -> str:
    """What an operator should do, worded from the evidence: broken code is rejected, never called hacked."""
    verdict = report.verdict
    if verdict is Verdict.FAIL and broken_only(report):
        return BROKEN_ACTION
    dynamic_status = report.metrics.get("dynamic", {}).get("status")
    if verdict is Verdict.PASS and dynamic_status != "ran":
        return "accept on static evidence only: the dynamic probes did not run (see notes)"
    return ACTIONS[verdict]


def without_probes(options: AuditOptions) -> AuditOptions:
    return replace(options, dynamic=False)


def audit_once(code: str | bytes, task: Task | None, options: AuditOptions) -> Report:
    """One audit with a one-worker sandbox of its own (a single audit needs one fork server, not one per core).

    Used by `referee audit` and `--api-mode`, which audit one submission per process.
    """
    return audit_once_records(code, task, options).to_model()


def audit_once_records(code: str | bytes, task: Task | None, options: AuditOptions) -> ReportRecord:
    """`audit_once` as a plain record (`--api-mode` prints it without building the pydantic model)."""
    if not (options.dynamic and task is not None):
        return audit_records(code, task, options=options)
    from referee.submissions.probes import make_sandbox, probes_can_run

    if not probes_can_run(task) or task.distributed:  # DEGRADED with the reason / runs in its own sandbox
        return audit_records(code, task, options=options)
    try:
        sandbox = make_sandbox(workers=1, timeout_s=options.timeout_s, memory_mb=options.memory_mb)
    except Exception as exc:  # no sandbox on this machine: the audit says so instead of crashing
        report = audit_records(code, task, options=without_probes(options))
        report.degraded = True
        report.notes.append(f"dynamic probes could not start the sandbox: {type(exc).__name__}: {exc}")
        report.action = report_action(report)
        return report
    try:
        return audit_records(code, task, options=options, sandbox=sandbox)
    finally:
        sandbox.close()
