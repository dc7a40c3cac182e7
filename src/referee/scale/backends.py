"""What each Ray actor holds: one warm sandbox and the function that turns an item into a result.

Built inside the actor process (by `ActorHost`), never in the driver, so the fork servers live next to the actor
that uses them, and untrusted code runs on the worker's machine inside its sandbox exactly as it would locally.
"""

from __future__ import annotations

from typing import Any


class GradeBackend:
    """GradeTask -> Reward on this actor's own loophole grader (the same code path as `LocalExecutor`)."""

    def __init__(self, slots: int = 1, config: Any = None) -> None:
        from referee.loopholes.batch import LocalExecutor

        self.local = LocalExecutor(workers=slots, config=config)

    def __call__(self, task: Any) -> Any:
        return self.local._grade(task)

    def close(self) -> None:
        self.local.close()


class AuditBackend:
    """AuditItem -> Report with this actor's own probe sandbox (started once; none for static-only audits)."""

    def __init__(self, task: Any = None, options: Any = None, slots: int = 1, timeout_s: float = 60.0,
                 dynamic: bool = True) -> None:
        from referee.submissions.audit import AuditOptions

        self.task = task
        self.options = options or AuditOptions(dynamic=dynamic)
        self.sandbox = None
        if dynamic:
            from referee.submissions.probes import make_sandbox

            self.sandbox = make_sandbox(workers=slots, timeout_s=timeout_s)

    def __call__(self, item: Any) -> Any:
        from referee.report import Report
        from referee.submissions.audit import AuditOptions, audit_submission

        if item.data is None:
            report = Report(subject=item.name, kind="submission", degraded=True,
                            notes=[f"could not read the file: {item.read_error}"])
            report.action = "re-run the audit: the file could not be read"
            return report
        options = AuditOptions(**{**self.options.__dict__, "filename": item.name})
        try:
            return audit_submission(item.data, self.task, options=options, sandbox=self.sandbox)
        except Exception as exc:  # a bug of ours must not cost the batch its other records
            return Report(subject=item.name, kind="submission", degraded=True,
                          notes=[f"audit crashed inside the referee: {type(exc).__name__}: {exc}"])

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
