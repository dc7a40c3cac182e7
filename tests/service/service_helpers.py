"""Helpers for the service tests: real `referee serve` and `referee worker` processes on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ADMIN_TOKEN = "test-admin-token-0123456789"
REFEREE = str(Path(sys.executable).with_name("referee"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFEREE_")}
    env.update({"REFEREE_DATABASE_URL": db_url, "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
                "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


@dataclass
class Server:
    url: str
    db_url: str
    token: str | None
    proc: subprocess.Popen
    log: Path
    workers: list[subprocess.Popen] = field(default_factory=list)

    def client(self, admin: bool = False) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if admin and self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def start_worker(self, *args: str, env: dict[str, str] | None = None, log_name: str = "worker") -> subprocess.Popen:
        log = self.log.with_name(f"{log_name}-{len(self.workers)}.log")
        proc = subprocess.Popen([REFEREE, "worker", *args], env=base_env(self.db_url, **(env or {})),
                                stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(proc)
        return proc

    def stop(self) -> None:
        """Workers first, then the server (SIGTERM, then SIGKILL after 20 s)."""
        stop_server(self)

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.workers.clear()


def start_server(db_url: str, log: Path, *, token: str | None = ADMIN_TOKEN, port: int | None = None,
                 **env: str) -> Server:
    port = port or free_port()
    extra = {"REFEREE_ADMIN_TOKEN": token or "", **env}
    proc = subprocess.Popen([REFEREE, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            env=base_env(db_url, **extra), stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"referee serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return Server(url=url, db_url=db_url, token=token, proc=proc, log=log)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"referee serve did not come up:\n{log.read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    server.stop_workers()
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
