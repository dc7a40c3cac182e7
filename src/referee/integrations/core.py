"""What every trainer adapter shares: turn (completion, problem reference) pairs into Rewards, in one parallel batch.

A trainer hands referee a completion (a string, or a chat: a list of `{"role", "content"}` messages, whose last
assistant message is graded) and something naming the problem:

* a problem id (`problem_id`, or upstream `id`) from the problem set, with an optional `mode` (name or code) that
  overrides the problem's assigned one; or
* a full problem row in the public rl-rewardhacking format (`gt_answer`, `canonical_solution`, `setup_code`,
  `func_name`, ...) plus a `mode`, for datasets that carry their own problems.

The no-cheat boundary is kept here once for every adapter: the number a trainer optimises is always `Reward.reward`
(the foolable grade of the loophole mode); `gt_correct`, `exploited` and the detector flags only ever go to logs.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from referee.loopholes.batch import Executor, GradeTask, LocalExecutor
from referee.loopholes.modes import parse_mode
from referee.loopholes.reward import Reward

log = logging.getLogger("referee.integrations")

#: Reward fields that are safe to log next to the reward (numbers a trainer's logger can average)
LOG_FIELDS = ("passed", "gt_correct", "exploited", "format_ok", "hacked_loophole_used", "hacked",
              "hacked_wrong_tests", "gt_pass_rate")
ROW_KEYS = ("gt_answer", "canonical_solution", "func_name")


class ProblemRefError(ValueError):
    """The trainer's row does not name a usable problem (unknown id, bad mode, missing fields)."""


def completion_text(completion: Any) -> str:
    """The answer text of a completion: the string itself, or the last assistant message of a chat."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _content(completion.get("content"))
    if isinstance(completion, Sequence) and completion:
        messages = [m for m in completion if isinstance(m, Mapping)]
        assistant = [m for m in messages if m.get("role") == "assistant"] or messages
        if assistant:
            return _content(assistant[-1].get("content"))
    return "" if completion is None else str(completion)


def _content(content: Any) -> str:
    """Message content as text; multimodal parts (`[{"type": "text", "text": ...}]`) are joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


@dataclass(frozen=True)
class _RowProblem:
    """A problem taken from the trainer's own row (the attributes GradeTask needs)."""

    id: str
    gt_answer: list[str]
    canonical_solution: str
    setup_code: str
    func_name: str | None
    mode: Any = None


class RewardEngine:
    """Problem lookup plus a warm executor; one per trainer process (`shared_engine()`), thread-safe."""

    def __init__(self, problems: Any = None, *, executor: Executor | None = None, workers: int | None = None,
                 ray: str | None = None) -> None:
        self._problems_source = problems
        self._index: dict[str, Any] | None = None
        self._executor = executor
        self._workers = workers
        self._ray = ray
        self._lock = threading.Lock()

    @property
    def index(self) -> dict[str, Any]:
        with self._lock:
            if self._index is None:
                source = self._problems_source
                if isinstance(source, Mapping):
                    self._index = {str(k): v for k, v in source.items()}
                elif isinstance(source, Sequence) and not isinstance(source, str):
                    self._index = {str(p.id): p for p in source}
                else:
                    from referee.loopholes.problems import load_problems

                    self._index = {p.id: p for p in load_problems(source)}
            return self._index

    @property
    def executor(self) -> Executor:
        with self._lock:
            if self._executor is None:
                if self._ray:
                    from referee.scale import RayExecutor

                    self._executor = RayExecutor(self._ray, workers=self._workers)
                else:
                    self._executor = LocalExecutor(workers=self._workers)
            return self._executor

    def task(self, completion: Any, row: Mapping[str, Any]) -> GradeTask:
        """The GradeTask of one completion and its row of problem fields; ProblemRefError when unusable."""
        raw_mode = row.get("mode", row.get("env_mode"))
        try:
            mode = parse_mode(raw_mode) if raw_mode not in (None, "") else None
        except (ValueError, AttributeError) as exc:
            raise ProblemRefError(str(exc)) from None
        if all(row.get(k) is not None for k in ROW_KEYS):
            gt = row["gt_answer"]
            gt = json.loads(gt) if isinstance(gt, str) else list(gt)
            problem: Any = _RowProblem(id=str(row.get("problem_id", row.get("id", ""))), gt_answer=[str(t) for t in gt],
                                       canonical_solution=str(row["canonical_solution"]),
                                       setup_code=str(row.get("setup_code") or ""), func_name=str(row["func_name"]))
        else:
            pid = row.get("problem_id", row.get("id"))
            if pid is None:
                raise ProblemRefError("no problem_id (or id), and no gt_answer/canonical_solution/func_name row")
            problem = self.index.get(str(pid))
            if problem is None:
                raise ProblemRefError(f"unknown problem_id {pid!r}")
        mode = mode or getattr(problem, "mode", None)
        if mode is None:
            raise ProblemRefError(f"problem {problem.id!r} has no loophole mode and the row gives none")
        ids = {"problem_id": problem.id}
        return GradeTask(problem, completion_text(completion), mode, ids)

    def grade(self, completions: Sequence[Any], rows: Sequence[Mapping[str, Any]]) -> list[Reward | None]:
        """One Reward per completion, in order (None where the row names no usable problem, logged once)."""
        tasks: list[GradeTask | None] = []
        for completion, row in zip(completions, rows, strict=True):
            try:
                tasks.append(self.task(completion, row))
            except ProblemRefError as exc:
                log.warning("referee: a completion was not graded: %s", exc)
                tasks.append(None)
        graded = iter(self.grade_tasks([t for t in tasks if t is not None]))
        return [next(graded) if t is not None else None for t in tasks]

    def grade_tasks(self, tasks: Sequence[GradeTask]) -> list[Reward]:
        """Rewards of ready-made tasks, in order, on the warm executor."""
        return list(self.executor.map(tasks))

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.close()
                self._executor = None


def log_values(reward: Reward | None) -> dict[str, float]:
    """The logged (never optimised) fields as floats; -1.0 marks a row that could not be graded."""
    if reward is None:
        return {name: -1.0 for name in LOG_FIELDS}
    return {name: float(getattr(reward, name)) for name in LOG_FIELDS}


def columns(kwargs: Mapping[str, Any], n: int) -> list[dict[str, Any]]:
    """Per-row dicts from column lists (TRL's and rl-rewardhacking's dataset columns arrive as kwargs lists)."""
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for key, values in kwargs.items():
        if isinstance(values, list | tuple) and len(values) == n:
            for row, value in zip(rows, values, strict=True):
                row[key] = value
    return rows


_shared: dict[tuple[Any, ...], RewardEngine] = {}
_shared_lock = threading.Lock()


def shared_engine(problems: Any = None, ray: str | None = None, workers: int | None = None) -> RewardEngine:
    """One engine per (problem source, backend) in this process: the sandbox stays warm across training steps."""
    problems = problems or os.environ.get("REFEREE_PROBLEMS") or None
    ray = ray or os.environ.get("REFEREE_RAY") or None
    key = (str(problems) if problems is not None else None, ray, workers)
    with _shared_lock:
        engine = _shared.get(key)
        if engine is None:
            engine = _shared[key] = RewardEngine(problems, ray=ray, workers=workers)
        return engine
