"""`referee worker`: claim pending audits, run them, store the result; forever, crash-safe.

Each worker process keeps ONE sandbox alive (a warm fork server per concurrent slot) and runs `concurrency` claim
loops in threads. A running audit is heartbeated from a side thread, so a worker that dies (SIGKILL, OOM, power)
simply stops renewing and its audit goes back to the queue when the lease runs out. An auditor that raises is
retried with exponential backoff up to the audit's `max_attempts`, then recorded as `error` with the reason. A
database outage pauses the loops (with a log line) instead of killing the process. SIGTERM/SIGINT finish the
audits in hand, then exit.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from referee.service.auditing import Auditor, report_to_result, run_audit, scrub
from referee.store import queue
from referee.store.db import Store
from referee.store.models import Audit

log = logging.getLogger("referee.worker")


@dataclass
class WorkerStats:
    done: int = 0
    failed: int = 0
    lost: int = 0
    errors: list[str] = field(default_factory=list)


class Worker:
    """Claim loops over one store. `run()` blocks until `stop()` (or, with `drain`, until the queue is empty)."""

    def __init__(self, store: Store, *, concurrency: int = 1, lease_s: float = queue.DEFAULT_LEASE_S,
                 poll_s: float = 1.0, auditor: Auditor = run_audit,
                 sandbox_factory: Callable[[int], Any] | None = None, name: str | None = None,
                 max_audits: int | None = None, drain: bool = False, max_audit_s: float = 1800.0,
                 retry_base_s: float = 5.0, default_options: dict[str, Any] | None = None,
                 secrets: list[str] | None = None,
                 claim_where: Callable[[], Sequence[Any]] | None = None) -> None:
        self.store = store
        self.concurrency = max(1, concurrency)
        self.lease_s = max(1.0, lease_s)
        self.poll_s = max(0.05, poll_s)
        self.auditor = auditor
        self.sandbox_factory = sandbox_factory
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.max_audits = max_audits
        self.drain = drain
        self.max_audit_s = max_audit_s
        self.retry_base_s = retry_base_s
        self.default_options = dict(default_options or {})
        self.secrets = list(secrets or [])  # scrubbed from every stored text (report, error)
        #: extra claim conditions (`--requires cuda|cpu`), asked for before each claim so they can refresh
        self.claim_where = claim_where
        self.stats = WorkerStats()
        self.sandbox: Any = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._claimed = 0
        self._idle = [False] * self.concurrency
        self._last_reclaim = 0.0
        self._db_down_since: float | None = None

    # --- lifecycle ---------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> WorkerStats:
        if self.sandbox_factory is not None and self.sandbox is None:
            self.sandbox = self.sandbox_factory(self.concurrency)
        log.info("worker %s: %d slot(s), lease %.0fs, database %s", self.name, self.concurrency, self.lease_s,
                 self.store)
        threads = [threading.Thread(target=self._loop, args=(slot,), name=f"referee-worker-{slot}", daemon=True)
                   for slot in range(self.concurrency)]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads):
                for thread in threads:
                    thread.join(timeout=0.2)
        except KeyboardInterrupt:
            self.stop()
            for thread in threads:
                thread.join()
        finally:
            if self.sandbox is not None and hasattr(self.sandbox, "close"):
                self.sandbox.close()
                self.sandbox = None
        log.info("worker %s: stopped (done %d, failed %d, lost leases %d)", self.name, self.stats.done,
                 self.stats.failed, self.stats.lost)
        return self.stats

    # --- the claim loop ----------------------------------------------------------------------------------

    def _take_budget(self) -> bool:
        with self._lock:
            if self.max_audits is not None and self._claimed >= self.max_audits:
                return False
            self._claimed += 1
            return True

    def _give_back_budget(self) -> None:
        with self._lock:
            self._claimed -= 1

    def _loop(self, slot: int) -> None:
        while not self._stop.is_set():
            if not self._take_budget():
                return
            try:
                self._maybe_reclaim()
                claimed = queue.claim(self.store, self.name, self.lease_s,
                                      where=self.claim_where() if self.claim_where else ())
                self._db_ok()
            except SQLAlchemyError as exc:
                self._give_back_budget()
                self._db_error(exc)
                continue
            if claimed is None:
                self._give_back_budget()
                if self.drain and self._all_idle(slot):
                    return
                self._stop.wait(self.poll_s * random.uniform(0.5, 1.5))
                continue
            self._idle[slot] = False
            self._process(claimed)

    def _all_idle(self, slot: int) -> bool:
        """Drain mode ends when every slot saw an empty queue and nothing is running anywhere."""
        self._idle[slot] = True
        if not all(self._idle):
            return False
        try:
            counts = queue.queue_counts(self.store)
        except SQLAlchemyError:
            return False
        return counts["running"] == 0 and not self._pending_due()

    def _pending_due(self) -> bool:
        with self.store.read() as session:
            query = select(Audit.id).where(Audit.status == "pending")
            if self.claim_where is not None:  # a device worker drains only the audits it could ever claim
                query = query.where(*self.claim_where())
            return session.execute(query.limit(1)).first() is not None

    def _maybe_reclaim(self) -> None:
        now = time.monotonic()
        if now - self._last_reclaim < max(1.0, self.lease_s / 4):
            return
        self._last_reclaim = now
        count = queue.reclaim_expired(self.store)
        if count:
            log.warning("worker %s: %d audit(s) had an expired lease (a worker died or hung); requeued or "
                        "given up", self.name, count)

    def _db_ok(self) -> None:
        if self._db_down_since is not None:
            log.warning("worker %s: database reachable again after %.0fs", self.name,
                        time.monotonic() - self._db_down_since)
            self._db_down_since = None

    def _db_error(self, exc: Exception) -> None:
        if self._db_down_since is None:
            self._db_down_since = time.monotonic()
            log.error("worker %s: database unavailable (%s); retrying", self.name, str(exc).splitlines()[0])
        down_for = time.monotonic() - self._db_down_since
        self._stop.wait(min(30.0, 1.0 + down_for / 2))

    # --- one audit ---------------------------------------------------------------------------------------

    def _process(self, claimed: queue.ClaimedAudit) -> None:
        lease = claimed.lease
        lost = threading.Event()
        finished = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(lease, lost, finished), daemon=True,
                                name=f"referee-heartbeat-{lease.audit_id}")
        beat.start()
        log.info("audit %d: attempt %d, task %s", lease.audit_id, lease.attempt, claimed.task_name)
        try:
            options = {"filename": claimed.submission.get("file_name") or "submission.py", **self.default_options,
                       **claimed.options}
            report = self.auditor(claimed.code, claimed.task_name, claimed.task_files, options, sandbox=self.sandbox)
            result = report_to_result(report, self.secrets)
        except Exception as exc:
            finished.set()
            beat.join()
            detail = scrub(f"{type(exc).__name__}: {exc}", self.secrets)
            log.warning("audit %d: attempt %d failed: %s", lease.audit_id, lease.attempt, detail)
            log.debug("%s", traceback.format_exc())
            trace = scrub(traceback.format_exc(), self.secrets)
            status = self._retrying(lambda: queue.fail(self.store, lease, detail + "\n" + trace,
                                                       backoff_base_s=self.retry_base_s))
            with self._lock:
                self.stats.failed += 1
                self.stats.errors.append(detail)
            if status is None:
                self._note_lost(lease)
            return
        finished.set()
        beat.join()
        stored = self._retrying(lambda: queue.complete(self.store, lease, result))
        if stored:
            with self._lock:
                self.stats.done += 1
            log.info("audit %d: %s", lease.audit_id, result["verdict"])
        else:
            self._note_lost(lease)

    def _note_lost(self, lease: queue.Lease) -> None:
        with self._lock:
            self.stats.lost += 1
        log.warning("audit %d: lease lost (expired and taken over); this worker's result was discarded",
                    lease.audit_id)

    def _retrying(self, write: Callable[[], Any]) -> Any:
        """Store a result through a short database outage instead of dropping finished work."""
        delay = 0.5
        deadline = time.monotonic() + max(5.0, self.lease_s)
        while True:
            try:
                return write()
            except SQLAlchemyError as exc:
                if time.monotonic() > deadline:
                    log.error("could not store an audit result (%s); its lease will expire and it will be redone",
                              str(exc).splitlines()[0])
                    return None
                time.sleep(delay)
                delay = min(5.0, delay * 2)

    def _heartbeat(self, lease: queue.Lease, lost: threading.Event, finished: threading.Event) -> None:
        started = time.monotonic()
        interval = max(0.2, self.lease_s / 3)
        while not finished.wait(interval):
            if time.monotonic() - started > self.max_audit_s:
                log.error("audit %d: running for over %.0fs; no longer renewing its lease so another worker can "
                          "take over", lease.audit_id, self.max_audit_s)
                return
            try:
                if not queue.heartbeat(self.store, lease, self.lease_s):
                    lost.set()
                    return
            except SQLAlchemyError as exc:
                log.warning("audit %d: heartbeat failed (%s)", lease.audit_id, str(exc).splitlines()[0])
