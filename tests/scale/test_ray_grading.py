"""Loophole grading on Ray actors: same records as the local pool, in input order, and nothing lost or repeated
when a worker process is killed mid-batch."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

from referee.loopholes.batch import LocalExecutor, grade_batch
from referee.loopholes.hacks import by_name
from referee.scale import RayExecutor

KEYS = ("line", "sample_id", "passed", "gt_correct", "exploited", "mechanism", "reward", "status")


def _lines(problems, n):
    """n completion lines cycling over honest, wrong and hacking answers on a few problems, plus one bad line."""
    samples = ["honest-correct", "honest-wrong", "rt-def-pass", "so-print"]
    chosen = [problems.by_id("bracket-depth"), problems.by_id("reverse-list")]
    out = []
    for i in range(n):
        p = chosen[i % len(chosen)]
        sample = samples[i % len(samples)]
        mode = {"rt-def-pass": "rt", "so-print": "stdout_marker"}.get(sample)
        record = {"problem_id": p.id, "completion": by_name(sample).render(p.method_name, p.canonical_solution),
                  "sample_id": i}
        if mode:
            record["mode"] = mode
        out.append(json.dumps(record))
    out.insert(3, "{not json")
    return out


def _view(records):
    return [tuple(r.get(k) for k in KEYS) for r in records]


def test_ray_matches_local_pool_in_order(ray_cluster, problems):
    lines = _lines(problems, 12)
    local = grade_batch(lines, problems, executor=LocalExecutor(workers=1))
    with RayExecutor(workers=2) as executor:
        remote = grade_batch(lines, problems, executor=executor)
    assert [r["line"] for r in remote] == list(range(1, len(lines) + 1))
    assert _view(remote) == _view(local)
    assert any(r["exploited"] for r in remote) and any(r["gt_correct"] for r in remote)
    assert remote[3]["status"] == "invalid_input"


def test_killed_worker_loses_and_repeats_nothing(ray_cluster, problems):
    lines = _lines(problems, 40)
    executor = RayExecutor(workers=2)
    try:
        victim = executor.pool.infos()[0]["pid"]
        seen = []

        def kill_soon():
            while len(seen) < 3:
                time.sleep(0.01)
            os.kill(victim, signal.SIGKILL)

        killer = threading.Thread(target=kill_soon)
        killer.start()
        records = []
        for record in grade_batch_stream(lines, problems, executor):
            seen.append(record)
            records.append(record)
        killer.join()
        restarts = executor.pool.restarts
        pids = {info["pid"] for info in executor.pool.infos()}
    finally:
        executor.close()
    assert restarts == 1 and victim not in pids  # one replacement; the healthy worker was left alone
    assert [r["line"] for r in records] == list(range(1, len(lines) + 1))  # every record exactly once, in order
    ids = [r["sample_id"] for r in records if r["status"] != "invalid_input"]
    assert sorted(ids) == list(range(40)) and len(set(ids)) == 40
    assert all(r["status"] != "crashed" for r in records)  # retried elsewhere, not given up
    assert _view(records) == _view(grade_batch(lines, problems, executor=LocalExecutor(workers=1)))


def grade_batch_stream(lines, problems, executor):
    from referee.loopholes.batch import grade_lines, parse_line

    index = {p.id: p for p in problems}
    return grade_lines((parse_line(i, raw, index) for i, raw in enumerate(lines, 1)), executor)


def test_item_given_up_after_max_tries_is_a_crashed_record(ray_cluster, problems):
    """A completion that kills its worker every time ends as one 'crashed' record, and the batch goes on."""
    from referee.loopholes.batch import GradeTask
    from referee.scale.pool import ActorPool

    pool = ActorPool("scale_backends:KillOnPoison", {}, workers=2, max_tries=2,
                     on_give_up=lambda item, why: f"gave up {item}: {why}")
    try:
        results = list(pool.imap(["a", "poison", "b"]))
    finally:
        pool.close()
    assert results[0] == "ok a" and results[2] == "ok b"
    assert results[1].startswith("gave up poison: worker lost on try 2")
    assert GradeTask  # the executor's task type is importable without Ray


def test_cli_grade_with_ray(ray_cluster, problems, tmp_path):
    from typer.testing import CliRunner

    from referee.cli import app

    src = tmp_path / "c.jsonl"
    src.write_text("\n".join(_lines(problems, 6)) + "\n")
    out = tmp_path / "o.jsonl"
    result = CliRunner().invoke(app, ["loopholes", "grade", str(src), "-o", str(out), "--ray", "auto", "-j", "2",
                                      "--json"])
    # grading finished: exit 0 (issue 9: bad lines are data); the report is DEGRADED for the one invalid input line,
    # which keeps its error record at its place
    assert result.exit_code == 0 and "1 input line(s) could not be graded" in result.output, result.output
    assert '"verdict": "DEGRADED"' in result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["line"] for r in records] == list(range(1, 8))
    assert _view(records) == _view(grade_batch(_lines(problems, 6), problems, executor=LocalExecutor(workers=1)))


def test_more_workers_than_the_cluster_has_is_a_clear_error(ray_cluster):
    import pytest

    from referee.scale import RayUnavailable

    with pytest.raises(RayUnavailable, match="more than the cluster's 2 CPU"):
        RayExecutor(workers=5)
