"""Audit a folder of submissions on every core, writing one JSON line per submission as it finishes.

Dynamic probes run in the sandbox's worker processes (one per core), static analysis in the calling threads. A file
that cannot be read, or an audit that breaks, still gets its line (verdict DEGRADED with the reason): a batch never
loses a record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import IO, Any

from referee.report import Report
from referee.sandbox import Sandbox
from referee.submissions.audit import AuditOptions, audit_submission
from referee.submissions.task import Task

MAX_FILE_BYTES = 4 << 20


def collect(folder: Path, pattern: str = "*.py", recursive: bool = False) -> list[Path]:
    """Submission files under `folder`, sorted (regular files only; links are not followed)."""
    return collect_with_skips(folder, pattern, recursive)[0]


def collect_with_skips(folder: Path, pattern: str = "*.py",
                       recursive: bool = False) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(files to audit, [(path, why it was skipped)]): every match that is not a regular file is named, not dropped."""
    found = folder.rglob(pattern) if recursive else folder.glob(pattern)
    files, skipped = [], []
    for path in sorted(found):
        why = _skip_reason(path)
        if why is None:
            files.append(path)
        elif why != "folder":
            skipped.append((path, why))
    return files, skipped


def _skip_reason(path: Path) -> str | None:
    import stat

    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        return f"cannot stat: {exc.strerror}"
    if stat.S_ISLNK(mode):
        return "dangling symbolic link" if not path.exists() else "symbolic link (not followed)"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISREG(mode):
        return None
    kind = {stat.S_IFIFO: "named pipe (FIFO)", stat.S_IFSOCK: "socket", stat.S_IFCHR: "character device",
            stat.S_IFBLK: "block device"}.get(stat.S_IFMT(mode), "not a regular file")
    return kind


def _audit_file(path: Path, root: Path, task: Task | None, options: AuditOptions, sandbox: Sandbox | None) -> Report:
    name = str(path.relative_to(root)) if path.is_relative_to(root) else path.name
    opts = AuditOptions(**{**options.__dict__, "filename": name})
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise OSError(f"larger than {MAX_FILE_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        report = Report(subject=name, kind="submission", degraded=True, notes=[f"could not read the file: {exc}"])
        report.action = "re-run the audit: the file could not be read"
        return report
    try:
        return audit_submission(data, task, options=opts, sandbox=sandbox)
    except Exception as exc:  # a bug of ours must not cost the batch its other records
        return Report(subject=name, kind="submission", degraded=True,
                      notes=[f"audit crashed inside the referee: {type(exc).__name__}: {exc}"])


def audit_paths(paths: Iterable[Path], root: Path, task: Task | None, options: AuditOptions, out: IO[str],
                sandbox: Sandbox | None = None, jobs: int | None = None,
                on_done: Callable[[Report], Any] | None = None, executor: Any = None) -> list[Report]:
    """Audit files in parallel; each report is written to `out` (JSON line, flushed) as soon as it is done.

    `executor` (e.g. `referee.scale.RayAuditExecutor`) audits elsewhere; its reports arrive in input order.
    """
    paths = list(paths)
    if executor is not None:
        return _audit_remote(paths, root, executor, out, on_done)
    jobs = max(1, jobs or os.cpu_count() or 1)
    reports: list[Report] = []
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="audit")
    finished = False
    try:
        futures = [pool.submit(_audit_file, p, root, task, options, sandbox) for p in paths]
        for future in as_completed(futures):
            report = future.result()
            out.write(json.dumps({"file": report.subject, **report.to_dict()}) + "\n")
            out.flush()
            reports.append(report)
            if on_done is not None:
                on_done(report)
        finished = True
    finally:  # Ctrl-C: queued audits are cancelled, not run and thrown away; written lines stay written
        pool.shutdown(wait=finished, cancel_futures=not finished)
    return sorted(reports, key=lambda r: r.subject)


def _audit_remote(paths: list[Path], root: Path, executor: Any, out: IO[str],
                  on_done: Callable[[Report], Any] | None) -> list[Report]:
    """Read each file here (workers need no shared disk) and stream the executor's reports out in order."""
    from referee.scale.executors import read_item

    reports: list[Report] = []
    for report in executor.map(read_item(p, root, MAX_FILE_BYTES) for p in paths):
        out.write(json.dumps({"file": report.subject, **report.to_dict()}) + "\n")
        out.flush()
        reports.append(report)
        if on_done is not None:
            on_done(report)
    return sorted(reports, key=lambda r: r.subject)
