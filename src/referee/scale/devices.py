"""Device-specific audit workers: `referee worker --requires cuda` claims only audits of tasks whose reference runs
on CUDA, `--requires cpu` leaves those to the GPU workers, `any` (the default) takes everything.

Whether a task needs CUDA is the engine's own answer (`Task.needs_cuda`: task.yml `referee.device`, else does
reference.py allocate on CUDA?), computed from the stored task files. The set is re-read whenever the tasks table
changes (a cheap count/version probe before each claim), so a task registered a second ago is routed right.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, select

from referee.store.models import Audit, Submission, Task

log = logging.getLogger("referee.worker")
REQUIRES = ("any", "cuda", "cpu")


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks' audits a worker may claim: only `names` (include) or all but `names` (exclude)."""

    names: frozenset[str]
    include: bool = True

    def clause(self) -> Any:
        """The SQL condition on `Audit` for `queue.claim(..., where=[...])`."""
        tasks = select(Submission.id).join(Task, Task.id == Submission.task_id)
        if self.include:
            return Audit.submission_id.in_(tasks.where(Task.name.in_(sorted(self.names))))
        if not self.names:
            return literal(True)
        return Audit.submission_id.not_in(tasks.where(Task.name.in_(sorted(self.names))))


def task_needs_cuda(name: str, files: dict[str, str]) -> bool:
    """The engine's decision; a task it cannot read counts as CPU (its audit then says DEGRADED, with why)."""
    try:
        from referee.submissions.task import task_from_files

        return bool(task_from_files(name, dict(files)).needs_cuda)
    except Exception as exc:
        log.warning("task %s: cannot tell whether it needs CUDA (%s); treating it as CPU", name, exc)
        return False


class DeviceTasks:
    """Callable for `Worker(claim_where=...)`: the claim conditions of `requires` (none for `any`)."""

    def __init__(self, store: Any, requires: str) -> None:
        if requires not in REQUIRES:
            raise ValueError(f"--requires must be one of {', '.join(REQUIRES)}, got {requires!r}")
        self.store = store
        self.requires = requires
        self._stamp: tuple[Any, ...] | None = None
        self._filter: TaskFilter | None = None
        self._lock = threading.Lock()

    def __call__(self) -> list[Any]:
        current = self.current()
        return [current.clause()] if current is not None else []

    def current(self) -> TaskFilter | None:
        """The filter for the tasks registered now (rebuilt only when the tasks table changed)."""
        if self.requires == "any":
            return None
        with self.store.read() as session:
            stamp = tuple(session.execute(select(func.count(Task.id), func.max(Task.id),
                                                 func.sum(Task.version))).one())
        with self._lock:
            if stamp != self._stamp or self._filter is None:
                self._filter = self._build()
                self._stamp = stamp
            return self._filter

    def _build(self) -> TaskFilter:
        with self.store.read() as session:
            rows = session.execute(select(Task.name, Task.files)).all()
        cuda = frozenset(name for name, files in rows if task_needs_cuda(name, files or {}))
        log.info("worker --requires %s: %d of %d task(s) need CUDA", self.requires, len(cuda), len(rows))
        return TaskFilter(cuda, include=self.requires == "cuda")
