"""Client for a leaderboard backend: hand submissions to a referee audit service without ever waiting on it.

    client = AuditClient("http://referee:8000", token=os.environ.get("REFEREE_SUBMIT_TOKEN"))
    client.submit(task="vectoradd_py", code=source, user_id=user, leaderboard="vectoradd", file_name="sub.py")
    ...
    client.close()          # at shutdown: deliver what is queued (bounded wait)

`submit` only appends to a bounded in-memory queue and returns at once (True when queued); it never raises and
never blocks the caller's thread or event loop. Delivery happens on the client's own thread and event loop, whose
sender tasks it keeps strong references to (a bare `asyncio.create_task` can be garbage-collected mid-flight,
the bug of the proof of concept this replaces). When the service is down, the client logs ONE clear warning, keeps
the submissions and retries with backoff, and logs again when the service is back. Every submission carries an
Idempotency-Key, so a retry after a lost response cannot create a second audit. A full queue drops the newest
submission with a warning: the leaderboard must never slow down because auditing is behind.

With `spool=PATH` every submission is first written to a small SQLite outbox and removed once the service has
settled it; a client opened later on the same file re-sends what is left with the same Idempotency-Keys, so a
restart or a crash of the leaderboard loses nothing and duplicates nothing (`referee.integrations.spool`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("referee.client")

RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}


@dataclass
class _Item:
    payload: dict[str, Any]
    key: str
    queued_at: float = field(default_factory=time.monotonic)
    tries: int = 0


@dataclass
class ClientStats:
    queued: int = 0
    sent: int = 0
    dropped: int = 0
    rejected: int = 0
    expired: int = 0


class AuditClient:
    """Non-blocking, thread-safe submitter. One per process is plenty."""

    def __init__(self, base_url: str, *, token: str | None = None, max_queue: int = 1000, senders: int = 2,
                 timeout_s: float = 10.0, max_retry_delay_s: float = 60.0, max_age_s: float = 24 * 3600,
                 on_accepted: Callable[[dict[str, Any], int], None] | None = None,
                 spool: str | os.PathLike[str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.max_queue = max(1, max_queue)
        self.senders = max(1, senders)
        self.timeout_s = timeout_s
        self.max_retry_delay_s = max_retry_delay_s
        self.max_age_s = max_age_s
        self.on_accepted = on_accepted
        self.stats = ClientStats()
        self._lock = threading.Lock()
        self._waiting = 0  # queued or in flight
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Item] | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready = threading.Event()
        self._closed = False
        self._down_since: float | None = None
        self._drop_logged = 0
        self._spool: Any = None
        if spool is not None:
            from referee.integrations.spool import Spool

            self._spool = Spool(spool)
            self._resume()

    # --- caller side (any thread, any event loop) ----------------------------------------------------------

    def submit(self, task: str, code: str, *, user_id: str | None = None, leaderboard: str | None = None,
               file_name: str | None = None, key: str | None = None) -> bool:
        """Queue one submission for auditing. True when queued; False (logged) when it had to be dropped."""
        try:
            if self._closed:
                log.warning("referee client is closed; submission for task %s not sent", task)
                return False
            if not isinstance(task, str) or not isinstance(code, str):
                log.error("referee client: task and code must be strings; submission dropped")
                return False
            with self._lock:
                if self._waiting >= self.max_queue:
                    self.stats.dropped += 1
                    self._log_drop(task)
                    return False
                self._waiting += 1
                self.stats.queued += 1
            payload = {"task": task, "code": code}
            payload.update({k: str(v) for k, v in (("user_id", user_id), ("leaderboard", leaderboard),
                                                     ("file_name", file_name)) if v is not None})
            item = _Item(payload=payload, key=str(key) if key else uuid.uuid4().hex)
            self._spool_add(item)
            loop = self._ensure_started()
            loop.call_soon_threadsafe(self._put, item)
            return True
        except Exception:  # never into the caller
            log.exception("referee client: could not queue a submission")
            with self._lock:
                self._waiting = max(0, self._waiting - 1)
            return False

    @property
    def pending(self) -> int:
        """Submissions queued or in flight."""
        with self._lock:
            return self._waiting

    def close(self, timeout_s: float = 5.0) -> int:
        """Deliver what is queued for up to `timeout_s`, then stop. Returns how many were left undelivered."""
        if self._closed:
            return self.pending
        self._closed = True
        deadline = time.monotonic() + max(0.0, timeout_s)
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.02)
        left = self.pending
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._cancel_all)
            thread.join(timeout=5)
        if left:
            log.warning("referee client closed with %d submission(s) undelivered%s", left,
                        f"; they stay in {self._spool.path} for the next start" if self._spool else "")
        if self._spool is not None:
            self._spool.close()
        return left

    def __enter__(self) -> AuditClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> AuditClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.close)

    # --- the durable outbox (spool=...) --------------------------------------------------------------------

    def _resume(self) -> None:
        """Queue what an earlier process left in the spool, keeping each submission's key and age."""
        waiting = self._spool.pending()
        if not waiting:
            return
        log.warning("referee client: re-sending %d submission(s) left in %s", len(waiting), self._spool.path)
        loop = self._ensure_started()
        for key, payload, age in waiting:
            with self._lock:
                self._waiting += 1
                self.stats.queued += 1
            loop.call_soon_threadsafe(self._put, _Item(payload=payload, key=key, queued_at=time.monotonic() - age))

    def _spool_add(self, item: _Item) -> None:
        if self._spool is not None:
            try:
                self._spool.add(item.key, item.payload)
            except Exception:  # a full disk must not stop the leaderboard: deliver from memory only
                log.exception("referee client: could not write the spool; this submission is kept in memory only")

    def _spool_remove(self, item: _Item) -> None:
        if self._spool is not None:
            try:
                self._spool.remove(item.key)
            except Exception:
                log.exception("referee client: could not update the spool (the service dedupes a re-send)")

    # --- the client's own thread and loop ------------------------------------------------------------------

    def _log_drop(self, task: str) -> None:
        if self._drop_logged == 0 or self.stats.dropped % 100 == 0:
            log.warning("referee client queue is full (%d waiting); dropping submission for task %s (%d dropped "
                        "so far)", self.max_queue, task, self.stats.dropped)
        self._drop_logged += 1

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="referee-client", daemon=True)
                self._thread.start()
                atexit.register(self.close, 2.0)
        if not self._ready.wait(timeout=10) or self._loop is None or self._loop.is_closed():
            raise RuntimeError("the referee client's delivery thread did not start")
        return self._loop

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._queue = asyncio.Queue()
        try:
            loop.run_until_complete(self._main())
        except Exception:
            log.exception("referee client: the delivery loop stopped; submissions are no longer sent")
        finally:
            self._ready.set()  # never leave submit() waiting, even when the loop could not start
            loop.close()

    def _put(self, item: _Item) -> None:
        assert self._queue is not None
        self._queue.put_nowait(item)

    def _cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def _main(self) -> None:
        import httpx

        headers = {"User-Agent": "referee-client"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        async with httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=self.timeout_s) as http:
            for index in range(self.senders):
                task = asyncio.get_running_loop().create_task(self._sender(http), name=f"referee-sender-{index}")
                self._tasks.add(task)  # strong reference for the task's whole life
                task.add_done_callback(self._tasks.discard)
            self._ready.set()
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _sender(self, http: Any) -> None:
        assert self._queue is not None
        while True:
            item = await self._queue.get()
            try:
                await self._deliver(http, item)
                self._spool_remove(item)  # settled: accepted, refused for good, or expired
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("referee client: unexpected error delivering a submission; dropped")
            finally:
                with self._lock:
                    self._waiting = max(0, self._waiting - 1)

    async def _deliver(self, http: Any, item: _Item) -> None:
        delay = 1.0
        while True:
            if time.monotonic() - item.queued_at > self.max_age_s:
                self.stats.expired += 1
                log.error("referee client: submission for task %s waited over %.0fs; dropped",
                          item.payload["task"], self.max_age_s)
                return
            item.tries += 1
            problem: str
            try:
                response = await http.post("/submissions", json=item.payload, headers={"Idempotency-Key": item.key})
            except Exception as exc:  # connection refused, DNS, timeout, TLS...
                problem = f"{type(exc).__name__}: {exc}".strip()
            else:
                if response.status_code == 202:
                    self._service_up()
                    self.stats.sent += 1
                    self._accepted(item, response)
                    return
                if response.status_code not in RETRY_STATUSES:
                    self._service_up()
                    self.stats.rejected += 1
                    log.error("referee service rejected a submission for task %s: HTTP %d %s",
                              item.payload["task"], response.status_code, response.text[:300])
                    return
                problem = f"HTTP {response.status_code}"
            self._service_down(problem)
            await asyncio.sleep(delay)
            delay = min(self.max_retry_delay_s, delay * 2)

    def _accepted(self, item: _Item, response: Any) -> None:
        if self.on_accepted is None:
            return
        try:
            self.on_accepted(item.payload, int(response.json()["audit_id"]))
        except Exception:
            log.exception("referee client: on_accepted callback failed")

    def _service_down(self, problem: str) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("referee audit service at %s is unreachable (%s); keeping %d submission(s) and retrying "
                        "with backoff", self.base_url, problem, self.pending)

    def _service_up(self) -> None:
        if self._down_since is not None:
            log.warning("referee audit service at %s is reachable again after %.0fs; delivering %d waiting "
                        "submission(s)", self.base_url, time.monotonic() - self._down_since, self.pending)
            self._down_since = None


def wait_until_healthy(url: str, *, timeout: float = 60.0, alive: Callable[[], bool] | None = None,
                       interval: float = 0.1) -> bool:
    """Poll `GET {url}/healthz` until it answers 200; False on timeout or once `alive()` says the server died.

    For scripts that start `referee serve` themselves (the demo, the load benchmark) and must not race it.
    """
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url.rstrip("/") + "/healthz", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        if (alive is not None and not alive()) or time.monotonic() > deadline:
            return False
        time.sleep(interval)
