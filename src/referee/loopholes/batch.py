"""Grading at RL scale: completions JSONL in, one reward record per line out, a summary per mode.

Input lines are JSON objects with `problem_id`, `completion` and an optional `mode` (a name or short code) that
overrides the problem's assigned mode; every other key is carried through as an identifier. A line that is not
valid UTF-8 or JSON, is not an object, lacks a field, names an unknown problem or mode, becomes an *error record*
at its place in the output, with its line number: nothing is dropped, nothing crashes the batch.

The executor is pluggable (`Executor`: an ordered `map` from tasks to rewards, plus `close`). `LocalExecutor`
grades on this machine's sandbox with all cores; a distributed backend only has to implement the same two
methods.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any, Protocol

from referee.loopholes.engine import GradeConfig, Grader
from referee.loopholes.modes import MODES, EnvMode, parse_mode
from referee.loopholes.reward import Reward
from referee.sandbox.ordered import in_order

REWARD_FIELDS = [f.name for f in fields(Reward)]
_CARRY_LIMIT = 2000


@dataclass(frozen=True)
class GradeTask:
    """One completion to grade: the problem (anything with gt_answer, canonical_solution, setup_code, func_name,
    id), the answer text, the mode, and the identifiers to copy into the output record."""

    problem: Any
    completion: str
    mode: EnvMode
    ids: dict[str, Any] = field(default_factory=dict)


class Executor(Protocol):
    """Where grading runs. `map` must yield one Reward per task, in task order."""

    def map(self, tasks: Iterable[GradeTask]) -> Iterator[Reward]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Grades on a local sandbox over all cores (one isolated run per completion, plus C/D probes)."""

    def __init__(self, workers: int | None = None, config: GradeConfig | None = None,
                 grader: Grader | None = None) -> None:
        self._owns = grader is None
        self.grader = grader or Grader(workers=workers, config=config)
        self.threads = max(2, self.grader.sandbox.workers * 2)

    def _grade(self, task: GradeTask) -> Reward:
        problem = task.problem
        try:
            return self.grader.grade(task.completion, tests=problem.gt_answer, canonical=problem.canonical_solution,
                                     mode=task.mode, setup_code=problem.setup_code, func_name=problem.func_name)
        except Exception as exc:  # a referee bug must cost one record its reward, not the batch its records
            return Reward(reward=0.0, passed=False, gt_correct=False, gt_pass=False, exploited=False, mechanism=None,
                          format_ok=False, hacked_loophole_used=False, hacked=False, hacked_wrong_tests=False,
                          mode=task.mode, status="error", error=f"grader failed: {exc!r}"[:500])

    def map(self, tasks: Iterable[GradeTask]) -> Iterator[Reward]:
        pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="grade")
        finished = False
        try:
            # in input order, but a slow grading holds back only its own record, never the next submissions
            for future in in_order(lambda task: pool.submit(self._grade, task), tasks, in_flight=self.threads * 2):
                yield future.result()
            finished = True
        finally:  # Ctrl-C or a consumer that stops early: queued gradings are cancelled, not run and thrown away
            pool.shutdown(wait=finished, cancel_futures=not finished)

    def close(self) -> None:
        if self._owns:
            self.grader.close()


@dataclass
class InputLine:
    """One input line: its number, the task built from it, or why it could not be used."""

    line: int
    ids: dict[str, Any]
    task: GradeTask | None = None
    error: str | None = None


def read_completions(source: str | Path | IO[bytes], problems: Mapping[str, Any]) -> Iterator[InputLine]:
    """Parse a completions JSONL file line by line; never raises on a bad line."""
    handle = open(source, "rb") if isinstance(source, str | Path) else source  # noqa: SIM115
    try:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            yield parse_line(number, raw, problems)
    finally:
        if isinstance(source, str | Path):
            handle.close()


def parse_line(number: int, raw: bytes | str, problems: Mapping[str, Any]) -> InputLine:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        return InputLine(number, {}, error=f"not UTF-8 ({exc.reason} at byte {exc.start})")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return InputLine(number, {}, error=f"invalid JSON at column {exc.colno}: {exc.msg}")
    if not isinstance(record, dict):
        return InputLine(number, {}, error=f"expected a JSON object, got {type(record).__name__}")
    ids = {k: v for k, v in record.items() if k != "completion" and _small(v)}
    problem_id = record.get("problem_id")
    completion = record.get("completion")
    if problem_id is None or isinstance(problem_id, bool) or not isinstance(problem_id, str | int):
        return InputLine(number, ids, error="missing or invalid 'problem_id'")
    if not isinstance(completion, str):
        return InputLine(number, ids, error="missing 'completion' (a string)")
    problem = problems.get(str(problem_id))
    if problem is None:
        return InputLine(number, ids, error=f"unknown problem_id {problem_id!r}")
    raw_mode = record.get("mode", record.get("env_mode"))
    try:
        mode = parse_mode(raw_mode) if raw_mode is not None else problem.mode
    except (ValueError, AttributeError) as exc:
        return InputLine(number, ids, error=str(exc))
    if mode is None:
        return InputLine(number, ids, error="no mode: the problem has none and the line gives none")
    return InputLine(number, ids, task=GradeTask(problem, completion, mode, ids))


def _small(value: Any) -> bool:
    """Identifiers worth copying through (long free text such as prompts is left out)."""
    return not isinstance(value, str) or len(value) <= _CARRY_LIMIT


def error_record(item: InputLine) -> dict[str, Any]:
    record: dict[str, Any] = {"line": item.line, **item.ids}
    record.update({name: None for name in REWARD_FIELDS})
    record.update({"status": "invalid_input", "error": item.error})
    return record


def reward_record(item: InputLine, reward: Reward) -> dict[str, Any]:
    return {"line": item.line, **item.ids, **reward.to_dict()}


def grade_lines(items: Iterable[InputLine], executor: Executor) -> Iterator[dict[str, Any]]:
    """Output records in input order: graded ones and error records interleaved where they belong."""
    pending: list[InputLine] = []

    def tasks() -> Iterator[GradeTask]:
        for item in items:
            pending.append(item)
            if item.task is not None:
                yield item.task

    results = executor.map(tasks())
    for reward in results:
        while pending and pending[0].task is None:
            yield error_record(pending.pop(0))
        item = pending.pop(0)
        yield reward_record(item, reward)
    while pending:
        item = pending.pop(0)
        yield error_record(item) if item.task is None else error_record(
            InputLine(item.line, item.ids, error="the executor returned no reward for this line"))


def grade_batch(records: Iterable[Mapping[str, Any] | str | bytes], problems: Sequence[Any] | Mapping[str, Any], *,
                executor: Executor | None = None, workers: int | None = None,
                config: GradeConfig | None = None) -> list[dict[str, Any]]:
    """Grade completion records (dicts, or raw JSONL lines) against problems; one output dict per record."""
    index = problems if isinstance(problems, Mapping) else {str(p.id): p for p in problems}
    items = (parse_line(number, record if isinstance(record, str | bytes) else json.dumps(dict(record)), index)
             for number, record in enumerate(records, 1))
    owns = executor is None
    executor = executor or LocalExecutor(workers=workers, config=config)
    try:
        return list(grade_lines(items, executor))
    finally:
        if owns:
            executor.close()


def summarize(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per mode (and `all`): counts and the rates an RL run watches (pass, gt, exploit, E/C/D, errors)."""
    rows: dict[str, dict[str, Any]] = {}
    for record in records:
        mode = record.get("mode") if record.get("status") != "invalid_input" else "invalid"
        for key in (mode or "invalid", "all"):
            row = rows.setdefault(key, {"n": 0, "graded": 0, "passed": 0, "gt_correct": 0, "exploited": 0,
                                        "E": 0, "C": 0, "D": 0, "errors": 0, "reward": 0.0})
            row["n"] += 1
            if record.get("status") == "invalid_input" or record.get("error"):
                row["errors"] += 1
            if record.get("status") == "invalid_input":
                continue
            row["graded"] += 1
            row["reward"] += float(record.get("reward") or 0.0)
            for name, column in (("passed", "passed"), ("gt_correct", "gt_correct"), ("exploited", "exploited"),
                                 ("hacked_loophole_used", "E"), ("hacked", "C"), ("hacked_wrong_tests", "D")):
                row[column] += bool(record.get(name))
    for row in rows.values():
        graded = row["graded"] or 1
        for column in ("passed", "gt_correct", "exploited", "E", "C", "D"):
            row[f"{column}_rate"] = round(row[column] / graded, 4)
        row["mean_reward"] = round(row.pop("reward") / graded, 4)
    order = {m: i for i, m in enumerate([*MODES, "invalid", "all"])}
    return dict(sorted(rows.items(), key=lambda kv: order.get(kv[0], len(order))))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def dump_record(record: Mapping[str, Any]) -> str:
    """One JSONL line that any record survives: readable UTF-8, lone surrogates (which UTF-8 cannot hold, and a
    completion's error text or output may carry) escaped as `\\udXXX`, so `json.loads` gives the same string
    back. A record that cannot be serialised at all still leaves a line: its line number, ids and the reason."""
    try:
        text = json.dumps(record, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError, OverflowError) as exc:
        fallback = {"line": record.get("line"), "problem_id": record.get("problem_id"), "status": "error",
                    "error": f"record could not be serialised: {exc!r}"[:500]}
        text = json.dumps(fallback, ensure_ascii=False, default=repr)
    return _SURROGATE.sub(_escape_surrogate, text)


def write_jsonl(records: Iterable[dict[str, Any]], out: IO[str],
                on_record: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Write records as they arrive (a crash keeps everything graded so far) and return them."""
    kept = []
    for record in records:
        out.write(dump_record(record) + "\n")
        out.flush()
        kept.append(record)
        if on_record is not None:
            on_record(record)
    return kept
