"""Repository functions on real SQLite and PostgreSQL: dedup, atomic submit, history, reviews, filters, tasks."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from referee.store import queue, repository
from referee.store.models import Audit, CodeBlob, Review, Submission

TASK = {"task.yml": "tests: [{size: 1}]", "reference.py": "def ref_kernel(d): return d"}


def _count(store, model) -> int:
    with store.read() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _finish(store, verdict: str) -> int:
    claimed = queue.claim(store, "w")
    assert queue.complete(store, claimed.lease, {"verdict": verdict, "findings": []})
    return claimed.lease.audit_id


def test_code_is_stored_once_and_round_trips_unicode(store):
    repository.register_task(store, "t", TASK)
    code = "def custom_kernel(d):\n    # 速い — ✓ émoji 🚀\n    return d\n"
    a = repository.submit(store, task="t", code=code, user_id="alice")
    b = repository.submit(store, task="t", code=code, user_id="bob")
    c = repository.submit(store, task="t", code=code + "# other\n", user_id="bob")
    assert len({a.submission_id, b.submission_id, c.submission_id}) == 3
    assert _count(store, CodeBlob) == 2
    detail = repository.get_audit(store, a.audit_id, full=True)
    assert detail["code"] == code
    assert detail["code_sha256"] == repository.sha256_text(code)
    assert detail["code_size"] == len(code.encode("utf-8"))


def test_submit_is_one_transaction(store, monkeypatch):
    repository.register_task(store, "t", TASK)
    with pytest.raises(repository.UnknownTask):
        repository.submit(store, task="missing", code="x = 1\n")

    def broken(*args, **kwargs):
        raise RuntimeError("crash between the submission insert and the audit insert")

    monkeypatch.setattr(repository, "_new_audit", broken)
    with pytest.raises(RuntimeError):
        repository.submit(store, task="t", code="x = 2\n")
    # neither the code, nor the submission, nor an audit survived the failed transaction
    assert (_count(store, CodeBlob), _count(store, Submission), _count(store, Audit)) == (0, 0, 0)


def test_idempotency_key_returns_the_first_audit(store):
    repository.register_task(store, "t", TASK)
    first = repository.submit(store, task="t", code="x = 1\n", idempotency_key="lb-42")
    again = repository.submit(store, task="t", code="x = 1\n", idempotency_key="lb-42")
    assert again.duplicate and (again.audit_id, again.submission_id) == (first.audit_id, first.submission_id)
    assert _count(store, Submission) == 1


def test_concurrent_identical_code_is_stored_once(store):
    repository.register_task(store, "t", TASK)
    results, errors = [], []

    def send(i: int) -> None:
        try:
            results.append(repository.submit(store, task="t", code="same = True\n", user_id=f"u{i}"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 8 and _count(store, Submission) == 8 and _count(store, CodeBlob) == 1


def test_reaudit_keeps_history_and_latest_is_current(store):
    repository.register_task(store, "t", TASK)
    sub = repository.submit(store, task="t", code="x = 1\n")
    first = _finish(store, "PASS")
    assert first == sub.audit_id
    result = repository.backfill(store, task="t")
    assert result["matched"] == 1 and result["queued"] == 1
    second = _finish(store, "FAIL")
    current = repository.list_audits(store)
    assert [a["id"] for a in current] == [second]
    assert current[0]["reason"] == "backfill" and current[0]["is_current"]
    history = repository.list_audits(store, current_only=False)
    assert [a["id"] for a in history] == [second, first]
    detail = repository.get_audit(store, first, full=True)
    assert not detail["is_current"] and detail["verdict"] == "PASS"
    assert [h["id"] for h in detail["history"]] == [second, first]


def test_backfill_filters_and_dry_run(store):
    repository.register_task(store, "a", TASK)
    repository.register_task(store, "b", TASK)
    repository.submit(store, task="a", code="x = 1\n", leaderboard="lb1")
    repository.submit(store, task="b", code="x = 2\n", leaderboard="lb2")
    _finish(store, "FAIL")
    assert repository.backfill(store, task="b", dry_run=True) == {"matched": 1, "queued": 0, "audit_ids": []}
    assert repository.backfill(store, verdict="FAIL", dry_run=True)["matched"] == 1
    assert repository.backfill(store, verdict="none", dry_run=True)["matched"] == 1  # the other is not finished
    assert repository.backfill(store, leaderboard="lb2", dry_run=True)["matched"] == 1
    assert repository.backfill(store, submission_ids=[1, 2], dry_run=True)["matched"] == 2
    assert repository.backfill(store, limit=1)["queued"] == 1


def test_reviews_append_and_the_audit_mirrors_the_latest(store):
    repository.register_task(store, "t", TASK)
    audit_id = repository.submit(store, task="t", code="x = 1\n").audit_id
    assert repository.record_review(store, 999, decision="ok") is None
    with pytest.raises(ValueError):
        repository.record_review(store, audit_id, decision="maybe")
    repository.record_review(store, audit_id, decision="cheat", note="replays outputs", reviewer="ana")
    repository.record_review(store, audit_id, decision="false_positive", note="benign cache", reviewer="bo")
    detail = repository.get_audit(store, audit_id, full=True)
    assert detail["review"]["decision"] == "false_positive" and detail["review"]["reviewer"] == "bo"
    assert [r["decision"] for r in detail["reviews"]] == ["false_positive", "cheat"]
    assert _count(store, Review) == 2


def test_list_filters_and_order(store):
    repository.register_task(store, "t", TASK)
    repository.register_task(store, "u", TASK)
    ids = [repository.submit(store, task=name, code=f"x = {i}\n", user_id=f"user{i}").audit_id
           for i, name in enumerate(["t", "t", "u", "u"])]
    verdicts = {}
    for verdict in ("PASS", "FAIL", "FLAG"):
        verdicts[_finish(store, verdict)] = verdict
    repository.record_review(store, ids[1], decision="cheat")
    assert [a["id"] for a in repository.list_audits(store)] == sorted(ids, reverse=True)
    assert [a["verdict"] for a in repository.list_audits(store, verdict="FAIL")] == ["FAIL"]
    assert {a["verdict"] for a in repository.list_audits(store, verdict="fail, flag")} == {"FAIL", "FLAG"}
    assert [a["id"] for a in repository.list_audits(store, reviewed=True)] == [ids[1]]
    assert ids[1] not in [a["id"] for a in repository.list_audits(store, reviewed=False)]
    assert {a["task"] for a in repository.list_audits(store, task="u")} == {"u"}
    assert [a["id"] for a in repository.list_audits(store, status="pending")] == [ids[3]]
    assert [a["id"] for a in repository.list_audits(store, user_id="user0")] == [ids[0]]
    assert len(repository.list_audits(store, limit=2)) == 2
    assert len(repository.list_audits(store, limit=0)) == 1  # clamped to 1..500
    page = repository.list_audits(store, before_id=ids[2])
    assert [a["id"] for a in page] == [ids[1], ids[0]]
    row = repository.list_audits(store, limit=1)[0]
    for key in ("submission_id", "user_id", "leaderboard", "file_name", "task", "submitted_at", "review"):
        assert key in row


def test_task_registration_versions_and_bundled_never_overwrite(store):
    task, outcome = repository.register_task(store, "t", TASK)
    assert outcome == "created" and task["version"] == 1 and task["files"] == ["reference.py", "task.yml"]
    assert repository.register_task(store, "t", dict(TASK))[1] == "unchanged"
    changed = {**TASK, "task.py": "Input = tuple"}
    task, outcome = repository.register_task(store, "t", changed)
    assert outcome == "updated" and task["version"] == 2
    assert repository.ensure_tasks(store, {"t": TASK, "new": TASK}) == ["new"]
    assert repository.get_task(store, "t")["file_texts"] == changed  # the operator's version stays
    listed = {t["name"]: t for t in repository.list_tasks(store)}
    assert listed["t"]["source"] == "admin" and listed["new"]["source"] == "bundled"
    audit_id = repository.submit(store, task="t", code="x = 1\n").audit_id
    assert repository.get_audit(store, audit_id)["task_version"] == 2
    assert repository.list_tasks(store)[1]["submissions"] == 1
