"""The one seam between the service and the submission audit engine (`referee.submissions`).

Workers call `run_audit`; the API calls `validate_task` when a task is registered; startup calls
`bundled_tasks`. Everything the engine returns is turned into plain JSON here (`report_to_result`), so the queue
never stores an object it cannot read back. An operator can swap the engine with `referee worker --auditor
module:function` (same signature as `run_audit`), e.g. for a static-only deployment.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from referee.report import Report, Verdict
from referee.submissions.audit import AuditOptions, audit_submission
from referee.submissions.task import bundled_task_names, bundled_tasks_dir, load_task, task_from_files

log = logging.getLogger("referee.service")

TASK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")

Auditor = Callable[..., Report]


class InvalidTask(ValueError):
    """The task files do not form a usable task; the message says why."""


def validate_task(name: str, files: dict[str, str], *, max_bytes: int) -> None:
    """Reject unusable tasks before they reach the database. Raises InvalidTask with a clear message."""
    if not TASK_NAME.match(name or ""):
        raise InvalidTask("task name must be 1-100 characters of letters, digits, '_', '.', '-' and start with a "
                          "letter or digit")
    if not files:
        raise InvalidTask("a task needs at least one file (task.yml, reference.py, ...)")
    total = 0
    for file_name, body in files.items():
        if not FILE_NAME.match(file_name) or file_name in (".", ".."):
            raise InvalidTask(f"bad file name {file_name!r}: plain names only (no folders), letters, digits, "
                              "'_', '.', '-'")
        if not isinstance(body, str):
            raise InvalidTask(f"file {file_name!r} must be text")
        total += len(body.encode("utf-8", "surrogatepass"))
    if total > max_bytes:
        raise InvalidTask(f"task files are {total} bytes; the limit is {max_bytes}")
    try:
        task_from_files(name, dict(files))
    except Exception as exc:  # the engine's own validation error types are its business
        raise InvalidTask(f"invalid task {name!r}: {exc}") from exc


def bundled_tasks() -> dict[str, dict[str, str]]:
    """The engine's example tasks as {name: {file: text}} (task.yml plus the files it names, shared ones
    included)."""
    root = Path(bundled_tasks_dir())
    tasks: dict[str, dict[str, str]] = {}
    for name in bundled_task_names():
        try:
            task = load_task(root / name)
            tasks[name] = {"task.yml": (root / name / "task.yml").read_text(encoding="utf-8"), **task.files}
        except Exception as exc:  # one broken example must not keep the service from starting
            log.warning("bundled task %s not registered: %s", name, exc)
    return tasks


# Options that hold objects, not JSON values: never taken from the queue (llm_config comes from REFEREE_LLM_*).
NOT_FROM_QUEUE = {"llm_config"}


def _build_options(options_cls: Any, options: dict[str, Any]) -> Any:
    """AuditOptions from a stored dict, keeping only the fields this engine version knows."""
    if dataclasses.is_dataclass(options_cls):
        known = {f.name for f in dataclasses.fields(options_cls)}
    else:
        known = set(getattr(options_cls, "model_fields", {}) or {})
    known -= NOT_FROM_QUEUE
    unknown = sorted(set(options) - known)
    if unknown:
        log.warning("ignoring audit options this engine does not know: %s", ", ".join(unknown))
    return options_cls(**{k: v for k, v in options.items() if k in known})


def run_audit(code: str, task_name: str, task_files: dict[str, str], options: dict[str, Any],
              sandbox: Any = None) -> Report:
    """Audit one submission with the real engine (`referee.submissions`)."""
    task = task_from_files(task_name, dict(task_files))
    return audit_submission(code, task, options=_build_options(AuditOptions, options or {}), sandbox=sandbox)


def make_engine_sandbox(slots: int) -> Any:
    """The sandbox the engine's dynamic probes want (torch preloaded), one fork server per concurrent audit."""
    from referee.submissions.probes import make_sandbox

    return make_sandbox(workers=slots)


def load_auditor(spec: str | None) -> Auditor:
    """`module:function` to a callable with run_audit's signature; None means the real engine."""
    if not spec:
        return run_audit
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"--auditor must look like 'package.module:function', got {spec!r}")
    target = getattr(importlib.import_module(module_name), attr)
    if not callable(target):
        raise ValueError(f"{spec} is not callable")
    return target


REDACTED = "[redacted]"


def scrub(value: Any, secrets: list[str]) -> Any:
    """`value` (JSON: dicts, lists, strings) with every occurrence of a secret replaced.

    The service's own secrets (database password, tokens) must never reach a stored report, which submitters read:
    a job that found one (in /proc, in an error message it provoked) and printed it gets `[redacted]` back.
    """
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, secrets) for item in value]
    return value


def report_to_result(report: Report, secrets: list[str] | None = None) -> dict[str, Any]:
    """The columns `queue.complete` stores, from a Report (LLM opinion from metrics["llm"] when it ran), with
    the given secrets scrubbed out of every text."""
    if not isinstance(report, Report):
        raise TypeError(f"the auditor returned {type(report).__name__}, not a referee.report.Report")
    data = scrub(report.to_dict(), secrets or [])
    llm = data.get("metrics", {}).get("llm")
    llm = llm if isinstance(llm, dict) else {}
    verdict = report.verdict.value if isinstance(report.verdict, Verdict) else str(report.verdict)
    return {
        "verdict": verdict,
        "findings": data.get("findings", []),
        "report": data,
        "timings": data.get("timings", {}),
        "llm_model": _short(llm.get("model"), 200),
        "llm_verdict": _short(llm.get("verdict"), 20),
        "llm_reasoning": _short(llm.get("reasoning"), 20_000),
    }


def _short(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
