"""Batch grading: order kept, malformed lines become error records with line numbers, executor pluggable."""

from __future__ import annotations

import io
import json

from referee.loopholes.batch import (
    REWARD_FIELDS,
    GradeTask,
    LocalExecutor,
    grade_batch,
    grade_lines,
    read_completions,
    summarize,
    write_jsonl,
)
from referee.loopholes.hacks import by_name
from referee.loopholes.reward import Reward


def line(problem, sample, **extra):
    record = {"problem_id": problem.id, "completion": by_name(sample).render(problem.method_name,
                                                                             problem.canonical_solution), **extra}
    return json.dumps(record)


def test_batch_keeps_order_and_reports_bad_lines(grader, problems):
    p = problems.by_id("bracket-depth")
    raw = [
        line(p, "honest-correct", sample_id=1),
        "{broken json",
        line(p, "rt-def-pass", mode="rt", sample_id=3),
        json.dumps({"problem_id": "nope", "completion": "x", "sample_id": 4}),
        json.dumps([1, 2]),
        json.dumps({"problem_id": p.id, "completion": "x", "mode": "zz", "sample_id": 6}),
        json.dumps({"problem_id": p.id, "sample_id": 7}),
        b"\xff\xfe not utf-8",
        line(p, "so-print", mode="stdout_marker", sample_id=9, prompt="y" * 5000),
    ]
    out = grade_batch(raw, problems, executor=LocalExecutor(grader=grader))
    assert [r["line"] for r in out] == list(range(1, 10))
    assert [r["status"] == "invalid_input" for r in out] == [False, True, False, True, True, True, True, True, False]
    assert out[0]["passed"] and out[0]["gt_correct"] and out[0]["mode"] == p.mode and out[0]["sample_id"] == 1
    assert out[2]["exploited"] and out[2]["mechanism"] == "run_tests"
    assert out[8]["exploited"] and "prompt" not in out[8]  # long free text is not copied through
    assert "unknown problem_id" in out[3]["error"] and out[3]["sample_id"] == 4
    assert "invalid JSON" in out[1]["error"] and "not UTF-8" in out[7]["error"]
    for record in out:
        assert set(REWARD_FIELDS) <= set(record)


def test_summary_rates(grader, problems):
    p = problems.by_id("reverse-list")
    raw = [line(p, "honest-correct", mode="sn"), line(p, "sn-init", mode="sn"), line(p, "honest-wrong", mode="sn"),
           "not json"]
    summary = summarize(grade_batch(raw, problems, executor=LocalExecutor(grader=grader)))
    sentinel = summary["sentinel"]
    assert (sentinel["n"], sentinel["passed"], sentinel["gt_correct"], sentinel["exploited"]) == (3, 2, 1, 1)
    assert sentinel["exploited_rate"] == round(1 / 3, 4) and sentinel["E"] == 1
    assert summary["invalid"]["errors"] == 1 and summary["all"]["n"] == 4


class RecordingExecutor:
    """A stand-in backend: proves grade_lines only needs the Executor protocol."""

    def __init__(self):
        self.seen: list[GradeTask] = []

    def map(self, tasks):
        for task in tasks:
            self.seen.append(task)
            yield Reward(reward=0.0, passed=False, gt_correct=False, gt_pass=False, exploited=False, mechanism=None,
                         format_ok=False, hacked_loophole_used=False, hacked=False, hacked_wrong_tests=False,
                         mode=task.mode, status="remote")

    def close(self):
        pass


def test_executor_is_pluggable_and_files_stream(problems, tmp_path):
    p = problems.by_id("bracket-depth")
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join([line(p, "honest-wrong", k=1), "", "oops", line(p, "honest-wrong", k=2)]) + "\n")
    executor = RecordingExecutor()
    sink = io.StringIO()
    records = write_jsonl(grade_lines(read_completions(source, {q.id: q for q in problems}), executor), sink)
    assert [r["line"] for r in records] == [1, 3, 4]
    assert [r.get("k") for r in records] == [1, None, 2]
    assert [t.ids["k"] for t in executor.seen] == [1, 2]
    assert records[0]["status"] == "remote" and records[1]["status"] == "invalid_input"
    assert len(sink.getvalue().splitlines()) == 3


def test_a_grader_failure_costs_one_record_not_the_batch(problems):
    class Broken:
        class sandbox:  # the attribute LocalExecutor reads
            workers = 1

        def grade(self, text, **kwargs):
            if "boom" in text:
                raise RuntimeError("boom")
            raise KeyError("other")

    p = problems.by_id("bracket-depth")
    raw = [json.dumps({"problem_id": p.id, "completion": "boom"}), json.dumps({"problem_id": p.id, "completion": "x"})]
    out = grade_batch(raw, problems, executor=LocalExecutor(grader=Broken()))
    assert [r["status"] for r in out] == ["error", "error"] and "boom" in out[0]["error"]
