"""`referee.client.AuditClient` against a real server that is down, comes up, and rejects bad input."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time

from referee_testdb import sqlite_url
from service_helpers import free_port, start_server, stop_server, wait_for
from test_api import _register

from referee.client import AuditClient


def test_service_down_then_up_nothing_lost(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="referee.client")
    port = free_port()
    accepted: list[int] = []
    client = AuditClient(f"http://127.0.0.1:{port}", max_queue=50, max_retry_delay_s=0.5,
                         on_accepted=lambda payload, audit_id: accepted.append(audit_id))
    queued = [client.submit("vectoradd_py", f"def custom_kernel(d):\n    return d  # {i}\n", user_id=f"u{i}",
                            leaderboard="vectoradd", file_name="sub.py") for i in range(20)]
    assert all(queued)
    wait_for(lambda: "is unreachable" in caplog.text, 10, what="the service-down log line")
    assert client.pending == 20 and client.stats.sent == 0
    down_lines = [r for r in caplog.records if "is unreachable" in r.getMessage()]
    assert len(down_lines) == 1, "one clear line per outage, not one per retry"
    assert f"127.0.0.1:{port}" in down_lines[0].getMessage()

    srv = start_server(sqlite_url(tmp_path), tmp_path / "serve.log", port=port)
    try:
        wait_for(lambda: client.pending == 0, 30, what="queued submissions to be delivered")
        assert client.stats.sent == 20 and len(set(accepted)) == 20
        assert any("reachable again" in r.getMessage() for r in caplog.records)
        with srv.client(admin=True) as admin:
            audits = admin.get("/admin/audits", params={"task": "vectoradd_py", "limit": 100}).json()["audits"]
        assert sorted(a["id"] for a in audits) == sorted(accepted)
        assert {a["user_id"] for a in audits} == {f"u{i}" for i in range(20)}
        assert client.close(timeout_s=5) == 0
    finally:
        stop_server(srv)


def test_bounded_queue_drops_instead_of_blocking_and_never_raises(caplog):
    caplog.set_level(logging.WARNING, logger="referee.client")
    client = AuditClient(f"http://127.0.0.1:{free_port()}", max_queue=3, max_retry_delay_s=0.2)
    results = [client.submit("t", "x = 1\n") for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert client.stats.dropped == 2 and "queue is full" in caplog.text
    assert client.submit(None, "x") is False  # type: ignore[arg-type]
    assert client.submit("t", b"bytes") is False  # type: ignore[arg-type]
    assert client.close(timeout_s=0.2) == 3  # undelivered, reported, not raised
    assert client.submit("t", "x") is False  # closed: refused quietly


def test_rejections_are_logged_and_not_retried(server, caplog):
    caplog.set_level(logging.WARNING, logger="referee.client")
    with AuditClient(server.url) as client:
        assert client.submit("no_such_task", "x = 1\n")
        wait_for(lambda: client.pending == 0, 20, what="the rejection")
        assert client.stats.rejected == 1 and client.stats.sent == 0
    assert "rejected a submission for task no_such_task: HTTP 422" in caplog.text


def test_a_hung_service_never_blocks_the_caller():
    """A service that accepts connections and never answers: every submit() still returns at once.

    Were submit() waiting on the network, 50 calls would take 50 x 30 s (the client's timeout); the bound below is
    two orders of magnitude under that, so it holds on a loaded machine too.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def swallow() -> None:  # accept and hold connections, never read or answer
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    client = AuditClient(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout_s=30, senders=2)

    async def leaderboard_backend() -> list[bool]:
        results = []
        for i in range(50):
            results.append(client.submit("t", f"v = {i}\n"))
            await asyncio.sleep(0)
        return results

    started = time.monotonic()
    assert all(asyncio.run(leaderboard_backend()))
    assert time.monotonic() - started < 10
    wait_for(lambda: len(accepted) >= 2, 10, what="the senders to connect")
    assert client.stats.sent == 0 and client.pending == 50
    assert client.close(timeout_s=0.1) == 50
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_event_loop_callers_and_strong_task_references(server):
    with server.client(admin=True) as admin:
        task = _register(admin)
    client = AuditClient(server.url, senders=3)

    async def leaderboard_backend() -> None:
        for i in range(200):
            assert client.submit(task, f"v = {i}\n", key=f"lb-{i}")
            await asyncio.sleep(0)

    asyncio.run(leaderboard_backend())
    assert len(client._tasks) == 3 and all(not t.done() for t in client._tasks)  # strong refs, alive
    wait_for(lambda: client.pending == 0, 60, what="200 deliveries")
    assert client.stats.sent == 200
    # the same keys again: the service answers with the first audits, no duplicates are stored
    for i in range(5):
        client.submit(task, f"v = {i}\n", key=f"lb-{i}")
    wait_for(lambda: client.pending == 0, 20, what="the retries")
    client.close()
    with server.client(admin=True) as admin:
        audits = admin.get("/admin/audits", params={"task": task, "limit": 500}).json()["audits"]
    assert len(audits) == 200


def test_context_manager_in_async_code(server):
    async def main() -> int:
        async with AuditClient(server.url) as client:
            client.submit("vectoradd_py", "def custom_kernel(d):\n    return d\n")
        return client.stats.sent

    assert asyncio.run(main()) == 1
