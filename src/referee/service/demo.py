"""`referee service-demo`: the whole service on the embedded default, end to end, in one command.

Starts `referee serve` on a free loopback port, sends every bundled example submission through
`referee.client.AuditClient` exactly as a leaderboard would, runs one `referee worker --drain`, and prints the audits
the admin API returns. The database is a fresh SQLite file in a temporary folder, removed at the end, unless
REFEREE_DATABASE_URL (or REFEREE_DATABASE_URL_FILE) names one. Either way the table shows only this run's audits:
each run's idempotency keys carry a run id, so an older run's stored verdicts are never shown as this run's.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from referee.client import wait_until_healthy

REFEREE = str(Path(sys.executable).with_name("referee"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def example_submissions() -> list[tuple[str, str, str]]:
    """(task, file name, code) of every bundled example submission."""
    from referee.submissions.task import bundled_task_names, bundled_tasks_dir

    found = []
    for task in bundled_task_names():
        folder = bundled_tasks_dir() / task / "submissions"
        for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
            found.append((task, path.name, path.read_text(encoding="utf-8")))
    return found


def told_database() -> bool:
    """Whether the environment names a database (then the demo uses it instead of a temporary one)."""
    return any(os.environ.get(name, "").strip() for name in ("REFEREE_DATABASE_URL", "REFEREE_DATABASE_URL_FILE"))


def run_demo(*, keep: bool = False, echo: Any = print) -> int:
    """Run the demo; returns a process exit code (0 when every audit finished)."""
    if told_database():
        return _run(dict(os.environ), keep=keep, echo=echo, where="the configured database")
    with tempfile.TemporaryDirectory(prefix="referee-demo-") as folder:
        env = {**os.environ, "REFEREE_DATABASE_URL": f"sqlite:///{Path(folder) / 'referee.sqlite3'}"}
        return _run(env, keep=keep, echo=echo, where="a temporary SQLite file, removed at the end")


def _run(env: dict[str, str], *, keep: bool, echo: Any, where: str) -> int:
    from referee.client import AuditClient

    token = env.get("REFEREE_ADMIN_TOKEN") or secrets.token_urlsafe(24)
    env["REFEREE_ADMIN_TOKEN"] = token
    run_id = secrets.token_hex(6)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    echo(f"== audit service: referee serve on {url}, database: {where}")
    server = subprocess.Popen([REFEREE, "serve", "--port", str(port), "--log-level", "warning"], env=env,
                              start_new_session=True)
    try:
        if not wait_until_healthy(url, timeout=60, alive=lambda: server.poll() is None, interval=0.2):
            echo("referee serve did not start")
            return 3
        examples = example_submissions()
        echo(f"== submitting {len(examples)} bundled example submissions through referee.client")
        ids: dict[tuple[str, str], int] = {}
        client = AuditClient(url, on_accepted=lambda payload, audit_id: ids.__setitem__(
            (payload["task"], payload["file_name"]), audit_id))
        for task, name, code in examples:
            key = f"demo-{run_id}-" + hashlib.sha256(f"{task}/{name}\0{code}".encode()).hexdigest()[:24]
            client.submit(task, code, user_id="demo", leaderboard=task, file_name=name, key=key)
        client.close(timeout_s=60)
        echo("== running one worker until the queue is empty (dynamic probes in the sandbox)")
        worker = subprocess.run([REFEREE, "worker", "--drain", "--concurrency", str(max(1, os.cpu_count() or 1)),
                                 "--poll-seconds", "0.2", "--log-level", "warning"], env=env, check=False)
        if worker.returncode != 0:
            echo(f"referee worker exited with {worker.returncode}")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as admin:
            audits = {i: admin.get(f"/admin/audits/{i}").json()["audit"] for i in ids.values()}
        _print_table(examples, ids, audits, echo)
        unfinished = [i for i in ids.values() if audits.get(i, {}).get("status") not in ("done", "error")]
        if keep:
            echo(f"\nreview page: {url}/admin/ui  (admin token: {token})  API docs: {url}/docs  Ctrl-C to stop")
            try:
                server.wait()
            except KeyboardInterrupt:
                pass
        return 0 if not unfinished and len(ids) == len(examples) else 1
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def _print_table(examples: list[tuple[str, str, str]], ids: dict[tuple[str, str], int],
                 audits: dict[int, dict[str, Any]], echo: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="audits stored by the service")
    for column in ("audit", "task", "submission", "verdict"):
        table.add_column(column, no_wrap=True)
    table.add_column("rules", min_width=16)
    style = {"PASS": "green", "FLAG": "yellow", "FAIL": "red", "DEGRADED": "magenta"}
    for task, name, _ in examples:
        audit_id = ids.get((task, name))
        audit = audits.get(audit_id or -1, {})
        verdict = audit.get("verdict") or audit.get("status", "not sent")
        rules = " ".join(sorted({f["rule"] for f in audit.get("findings", [])}))
        table.add_row(str(audit_id or "-"), task, name, f"[{style.get(verdict, 'white')}]{verdict}[/]", rules)
    Console().print(table)
