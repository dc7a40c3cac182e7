"""The audit queue on real SQLite and PostgreSQL: exclusive claims, leases, heartbeats, expiry, retries."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections import Counter

from sqlalchemy import select, update

from referee.store import queue, repository
from referee.store.models import Audit, Submission, Task

TASK_FILES = {"task.yml": "tests: [{size: 1}]", "reference.py": "def ref_kernel(d): return d"}


def _seed(store, n: int, task: str = "t") -> list[int]:
    repository.register_task(store, task, TASK_FILES)
    return [repository.submit(store, task=task, code=f"def custom_kernel(d):\n    return d  # {i}\n").audit_id
            for i in range(n)]


def _expire(store, audit_id: int) -> None:
    """Move a lease into the past, as if its worker had gone silent for longer than the lease."""
    with store.write() as session:
        session.execute(update(Audit).where(Audit.id == audit_id)
                        .values(lease_until=queue.utcnow().replace(year=2000)))


def test_claim_order_priority_and_payload(store):
    first, second = _seed(store, 2)
    backfilled = repository.backfill(store, submission_ids=[1])["audit_ids"][0]
    third = repository.submit(store, task="t", code="x = 3\n", user_id="u3", leaderboard="lb",
                              file_name="s.py").audit_id
    order = []
    while (claimed := queue.claim(store, "w")) is not None:
        order.append(claimed.lease.audit_id)
        if claimed.lease.audit_id == third:
            assert claimed.code == "x = 3\n" and claimed.task_name == "t"
            assert claimed.task_files == TASK_FILES
            assert claimed.submission["user_id"] == "u3" and claimed.submission["file_name"] == "s.py"
            assert claimed.lease.attempt == 1
    # live submissions first (FIFO), the backfill last even though it was queued before `third`
    assert order == [first, second, third, backfilled]
    assert queue.claim(store, "w") is None
    assert queue.queue_counts(store)["running"] == 4


def test_complete_is_fenced_on_the_lease(store):
    [audit_id] = _seed(store, 1)
    claimed = queue.claim(store, "w1", lease_s=30)
    assert queue.heartbeat(store, claimed.lease)
    result = {"verdict": "FAIL", "findings": [{"rule": "r", "verdict": "FAIL", "message": "m", "line": 2}],
              "report": {"subject": "s"}, "timings": {"total": 0.5}, "llm_model": "m1", "llm_verdict": "FLAG",
              "llm_reasoning": "looks odd", "status": "pending"}  # unknown keys such as status are ignored
    assert queue.complete(store, claimed.lease, result)
    assert not queue.complete(store, claimed.lease, result)  # a second write with the same lease is refused
    assert not queue.heartbeat(store, claimed.lease)
    audit = repository.get_audit(store, audit_id, full=True)
    assert audit["status"] == "done" and audit["verdict"] == "FAIL"
    assert audit["findings"][0]["line"] == 2
    assert audit["llm"] == {"model": "m1", "verdict": "FLAG", "reasoning": "looks odd"}
    assert audit["latency_s"] >= 0 and audit["finished_at"]


def test_expired_lease_is_reclaimed_and_the_stale_worker_is_fenced_out(store):
    [audit_id] = _seed(store, 1)
    stale = queue.claim(store, "dead-worker", lease_s=30)
    assert queue.reclaim_expired(store) == 0  # lease still valid
    _expire(store, audit_id)
    assert queue.reclaim_expired(store) == 1
    audit = repository.get_audit(store, audit_id)
    assert audit["status"] == "pending" and "lease expired on attempt 1" in audit["error"]
    fresh = queue.claim(store, "live-worker")
    assert fresh.lease.audit_id == audit_id and fresh.lease.attempt == 2
    # the stalled worker wakes up: every write it tries is refused, the live worker's result stands
    assert not queue.heartbeat(store, stale.lease)
    assert not queue.complete(store, stale.lease, {"verdict": "PASS"})
    assert queue.fail(store, stale.lease, "boom") is None
    assert queue.complete(store, fresh.lease, {"verdict": "FLAG"})
    assert repository.get_audit(store, audit_id)["verdict"] == "FLAG"


def test_lease_expiry_gives_up_after_max_attempts(store):
    [audit_id] = _seed(store, 1)
    for attempt in (1, 2, 3):
        claimed = queue.claim(store, f"w{attempt}")
        assert claimed.lease.attempt == attempt
        _expire(store, audit_id)
        assert queue.reclaim_expired(store) == 1
    audit = repository.get_audit(store, audit_id)
    assert audit["status"] == "error"
    assert "no attempts left" in audit["error"] and audit["attempts"] == 3
    assert queue.claim(store, "w4") is None


def test_failed_attempt_backs_off_then_errors(store):
    [audit_id] = _seed(store, 1)
    claimed = queue.claim(store, "w")
    assert queue.fail(store, claimed.lease, "ValueError: engine blew up", backoff_base_s=60) == "pending"
    audit = repository.get_audit(store, audit_id)
    assert audit["status"] == "pending" and "engine blew up" in audit["error"]
    assert queue.claim(store, "w") is None  # not due before its backoff
    with store.write() as session:
        session.execute(update(Audit).values(not_before=queue.utcnow()))
    claimed = queue.claim(store, "w")
    assert claimed.lease.attempt == 2
    assert queue.fail(store, claimed.lease, "again", retry=False) == "error"
    assert repository.get_audit(store, audit_id)["status"] == "error"


def test_heartbeat_extends_the_lease(store):
    [audit_id] = _seed(store, 1)
    claimed = queue.claim(store, "w", lease_s=1)
    with store.read() as session:
        before = session.execute(select(Audit.lease_until).where(Audit.id == audit_id)).scalar_one()
    assert queue.heartbeat(store, claimed.lease, lease_s=120)
    with store.read() as session:
        after = session.execute(select(Audit.lease_until).where(Audit.id == audit_id)).scalar_one()
    assert (after - before).total_seconds() > 100
    assert queue.reclaim_expired(store) == 0


def test_threads_never_claim_the_same_audit(store):
    ids = _seed(store, 120)
    claimed: list[int] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while (item := queue.claim(store, name)) is not None:
            assert queue.complete(store, item.lease, {"verdict": "PASS"})
            with lock:
                claimed.append(item.lease.audit_id)

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    counts = Counter(claimed)
    assert sorted(counts) == sorted(ids) and max(counts.values()) == 1
    assert queue.queue_counts(store) == {"pending": 0, "running": 0, "done": 120, "error": 0}


def test_processes_never_claim_the_same_audit(store):
    ids = _seed(store, 100)
    code = textwrap.dedent(f"""
        import sys
        from referee.store.db import Store
        from referee.store import queue
        store = Store({store.url!r})
        got = []
        while (item := queue.claim(store, sys.argv[1])) is not None:
            assert queue.complete(store, item.lease, {{"verdict": "PASS"}})
            got.append(item.lease.audit_id)
        print(" ".join(map(str, got)))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code, f"p{i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(2)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err[-600:] for _, err in outputs]
    claimed = [int(x) for out, _ in outputs for x in out.split()]
    assert sorted(claimed) == sorted(ids), "every audit claimed exactly once across processes"


def test_claim_can_be_narrowed_by_extra_conditions(store):
    """The hook a specialised worker (e.g. GPU-only) uses: it takes only what matches, the rest stays pending."""
    repository.register_task(store, "t", TASK_FILES)
    repository.register_task(store, "other", TASK_FILES)
    wanted = repository.submit(store, task="t", code="x = 'mine'\n").audit_id
    left = repository.submit(store, task="other", code="x = 'not mine'\n").audit_id
    only_t = [Audit.submission_id.in_(select(Submission.id).join(Task).where(Task.name == "t"))]
    claimed = queue.claim(store, "narrow", where=only_t)
    assert claimed is not None and claimed.lease.audit_id == wanted
    assert queue.claim(store, "narrow", where=only_t) is None
    assert repository.get_audit(store, left)["status"] == "pending"
    assert queue.claim(store, "anyone").lease.audit_id == left
