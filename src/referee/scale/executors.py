"""Ray executors for the two batch jobs: loophole grading and submission audits.

    from referee.loopholes import grade_batch
    from referee.scale import RayExecutor
    records = grade_batch(lines, problems, executor=RayExecutor(address="auto", workers=8))

`RayExecutor` implements the loopholes `Executor` protocol (`map(tasks) -> rewards in order`, `close()`), so
`grade_batch`, `grade_lines` and `referee loopholes grade --ray` use it unchanged. `RayAuditExecutor` does the
same for `referee audit-batch --ray`: the driver reads each file and ships its bytes, so workers on other machines
need no shared file system; an audit of a task whose reference runs on CUDA asks Ray for one GPU per worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from referee.scale.cluster import RayUnavailable, cluster_resource, connect, default_workers
from referee.scale.pool import DEFAULT_MAX_TRIES, ActorPool

_GRADE_BACKEND = "referee.scale.backends:GradeBackend"
_AUDIT_BACKEND = "referee.scale.backends:AuditBackend"


class RayExecutor:
    """Grades on `workers` Ray actors, each with its own warm loophole sandbox of `slots` fork servers."""

    def __init__(self, address: str | None = "auto", *, workers: int | None = None, slots: int = 1,
                 config: Any = None, num_gpus: float = 0.0, max_tries: int = DEFAULT_MAX_TRIES) -> None:
        connect(address)
        self.pool = ActorPool(_GRADE_BACKEND, {"slots": slots, "config": config},
                              workers=workers or default_workers(), slots=slots, num_cpus=slots,
                              num_gpus=num_gpus, max_tries=max_tries, on_give_up=_lost_reward)

    def map(self, tasks: Iterable[Any]) -> Iterator[Any]:
        return self.pool.imap(tasks)

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lost_reward(task: Any, reason: str) -> Any:
    """The record of an item no worker could finish: zero reward, status crashed, the reason logged."""
    from referee.loopholes.reward import Reward

    return Reward(reward=0.0, passed=False, gt_correct=False, gt_pass=False, exploited=False, mechanism=None,
                  format_ok=False, hacked_loophole_used=False, hacked=False, hacked_wrong_tests=False,
                  mode=task.mode, status="crashed", error=f"not graded: {reason}")


@dataclass(frozen=True)
class AuditItem:
    """One submission to audit remotely: its report name and bytes (or why it could not be read)."""

    name: str
    data: bytes | None
    read_error: str | None = None


class RayAuditExecutor:
    """Audits submissions on Ray actors, each holding one probe sandbox (torch preloaded) for its whole life."""

    def __init__(self, address: str | None = "auto", *, task: Any = None, options: Any = None,
                 workers: int | None = None, slots: int = 1, timeout_s: float = 60.0,
                 num_gpus: float | None = None, max_tries: int = DEFAULT_MAX_TRIES) -> None:
        connect(address)
        gpus = num_gpus if num_gpus is not None else (1.0 if task is not None and task.needs_cuda else 0.0)
        if gpus and cluster_resource("GPU") < gpus:
            raise RayUnavailable(f"task {task.name if task else '?'} needs a GPU, and the Ray cluster has "
                                 f"{cluster_resource('GPU'):g}; add a GPU node or audit with --no-dynamic")
        if workers is None:
            workers = int(cluster_resource("GPU") // gpus) if gpus else default_workers()
        dynamic = bool(options is None or getattr(options, "dynamic", True)) and task is not None
        self.num_gpus = gpus
        self.pool = ActorPool(_AUDIT_BACKEND, {"task": task, "options": options, "slots": slots,
                                               "timeout_s": timeout_s, "dynamic": dynamic},
                              workers=max(1, workers), slots=slots, num_cpus=slots, num_gpus=gpus,
                              max_tries=max_tries, on_give_up=_lost_report)

    def map(self, items: Iterable[AuditItem]) -> Iterator[Any]:
        return self.pool.imap(items)

    def close(self) -> None:
        self.pool.close()


def _lost_report(item: AuditItem, reason: str) -> Any:
    from referee.report import Report

    report = Report(subject=item.name, kind="submission", degraded=True,
                    notes=[f"audit not finished: {reason}"])
    report.action = "re-run the audit: the referee could not finish (see notes)"
    return report


def read_item(path: Any, root: Any, max_bytes: int) -> AuditItem:
    """The AuditItem of one file: its name relative to `root`, its bytes, or why it could not be read."""
    name = str(path.relative_to(root)) if path.is_relative_to(root) else path.name
    try:
        if path.stat().st_size > max_bytes:
            raise OSError(f"larger than {max_bytes} bytes")
        return AuditItem(name, path.read_bytes())
    except OSError as exc:
        return AuditItem(name, None, str(exc))
