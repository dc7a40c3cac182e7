"""`Sandbox`: a pool of warm fork servers that runs untrusted jobs in parallel over all cores.

Usage::

    with Sandbox(workers=2) as sandbox:
        result = sandbox.run_code("print(1 + 1)")
        results = sandbox.map([Job(code=c) for c in programs])

A job is either plain source (run as `__main__`) or a trusted *driver* function (``"module:function"``) that the
child calls with the job's payload and a `Channel`; a trusted *handler* class (``"module:Class"``) in the server
may answer the child's channel messages and turns the run into a value. Drivers and handlers are imported in the
fork server once, before the first fork, so every job starts warm.
"""

from __future__ import annotations

import atexit
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from referee.sandbox.limits import Limits, RunResult
from referee.sandbox.ordered import in_order
from referee.sandbox.server import read_frame, write_frame

BASE_PRELOAD = ["json", "collections", "heapq", "bisect", "itertools", "functools", "math", "re", "string",
                "typing", "dataclasses", "random", "operator", "traceback", "referee.sandbox.child"]


@dataclass
class Job:
    """One unit of untrusted work."""

    code: str | None = None
    driver: str | None = None
    handler: str | None = None
    payload: Any = None
    files: dict[str, bytes] = field(default_factory=dict)
    collect: list[str] = field(default_factory=list)
    stdin: bytes = b""
    limits: Limits | None = None

    def to_request(self, default_limits: Limits) -> dict[str, Any]:
        payload = self.payload
        if self.code is not None and self.driver is None:
            payload = {"code": self.code}
        return {"driver": self.driver, "handler": self.handler, "payload": payload, "files": self.files,
                "collect": self.collect, "stdin": self.stdin, "limits": self.limits or default_limits}


def remove_cgroups(dirs: list[str], attempts: int = 50) -> None:
    """Remove a server's job cgroups (it removes them itself unless it was killed; its jobs die with it, so the
    groups empty within moments). A left-over group would block removing the cgroup it was made in."""
    for path in dirs:
        for _ in range(attempts):
            try:
                os.rmdir(path)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)


class _ServerProcess:
    """The pool's end of one fork server."""

    def __init__(self, preload: list[str], pythonpath: list[str], layers_off: Iterable[str] = ()) -> None:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "REFEREE_SANDBOX_OFF": ",".join(layers_off)}
        src_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join([src_root, *pythonpath])
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from referee.sandbox.server import main; main()", *preload],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, env=env, close_fds=True,
            cwd="/",
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.wfd = self.proc.stdin.fileno()
        self.rfd = self.proc.stdout.fileno()
        hello = read_frame(self.rfd)
        self.isolation: dict[str, Any] = hello["isolation"]
        self.root: str = hello["root"]
        #: why the server asked to be replaced after its last job (None while it is trusted with more)
        self.retired: str | None = None

    def call(self, request: dict[str, Any]) -> RunResult:
        write_frame(self.wfd, request)
        reply = read_frame(self.rfd)
        self.retired = reply.get("retire")
        return reply["result"]

    def close(self) -> None:
        try:
            write_frame(self.wfd, None)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        try:  # the server's tmpfs lived in its own mount namespace; only the empty mount point is left here
            os.rmdir(self.root)
        except OSError:
            pass
        remove_cgroups(self.isolation.get("cgroup_dirs") or [])


class Sandbox:
    """Pool of fork servers. Thread-safe; `run` blocks for one job, `map`/`imap` spread jobs over all workers.

    `preload` names modules each server imports before its first fork (e.g. "torch"); `pythonpath` adds import
    roots for drivers and handlers that live outside the installed package (they are readable by jobs too).
    `layers_off` switches isolation layers off by name (for measuring their cost: see `referee sandbox-info`):
    view, ipcns, pidns, cgroup, seccomp, landlock, landlock_read, netns.
    """

    def __init__(self, workers: int | None = None, limits: Limits | None = None,
                 preload: Iterable[str] = (), pythonpath: Iterable[str] = (), layers_off: Iterable[str] = ()) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.limits = limits or Limits()
        self.preload = [*BASE_PRELOAD, *[m for m in preload if m not in BASE_PRELOAD]]
        self.pythonpath = [os.path.abspath(p) for p in pythonpath]
        self.layers_off = sorted(set(layers_off))
        self._idle: queue.Queue[_ServerProcess] = queue.Queue()
        self._all: list[_ServerProcess] = []
        self._lock = threading.Lock()
        self._closed = False
        starters = [threading.Thread(target=self._spawn) for _ in range(self.workers)]
        for thread in starters:
            thread.start()
        for thread in starters:
            thread.join()
        if len(self._all) != self.workers:
            self.close()
            raise RuntimeError("could not start the sandbox fork servers")
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sandbox")

    def _spawn(self) -> None:
        try:
            server = _ServerProcess(self.preload, self.pythonpath, self.layers_off)
        except Exception:
            return
        with self._lock:
            self._all.append(server)
        self._idle.put(server)

    @property
    def isolation(self) -> dict[str, Any]:
        """What isolation the servers got on this machine, and a one-word level for reports."""
        info = dict(self._all[0].isolation) if self._all else {}
        strong = all(info.get(k) for k in ("netns", "setuid", "landlock", "view", "pidns"))
        info["level"] = "strong" if strong else ("partial" if info.get("netns") or info.get("setuid") else "weak")
        return info

    def run(self, job: Job | str, **overrides: Any) -> RunResult:
        """Run one job (a Job, or plain source) and wait for its result."""
        if isinstance(job, str):
            job = Job(code=job, **overrides)
        if self._closed:
            raise RuntimeError("sandbox is closed")
        request = job.to_request(self.limits)
        server = self._idle.get()
        try:
            result = server.call(request)
            result.retired = server.retired
            if server.retired:  # its job left it untrustworthy: the next job gets a fresh server
                self._replace(server)
                server = None  # type: ignore[assignment]
            return result
        except (EOFError, OSError, BrokenPipeError) as exc:
            self._replace(server)
            server = None  # type: ignore[assignment]
            return RunResult(status="crashed", error=f"fork server died: {exc!r}")
        finally:
            if server is not None:
                self._idle.put(server)

    def run_code(self, code: str, **overrides: Any) -> RunResult:
        return self.run(Job(code=code, **overrides))

    def _replace(self, dead: _ServerProcess) -> None:
        with self._lock:
            if dead in self._all:
                self._all.remove(dead)
        if dead.retired is None:  # died: nothing to ask it
            try:
                dead.proc.kill()
            except OSError:
                pass
        dead.close()  # a retired server cleans up after itself (cgroups, mounts) and exits
        self._spawn()

    def submit(self, job: Job) -> Future[RunResult]:
        return self._executor.submit(self.run, job)

    def imap(self, jobs: Iterable[Job]) -> Iterator[RunResult]:
        """Results in input order, computed on all workers; a slow job never leaves the others idle."""
        for future in in_order(self.submit, jobs, in_flight=self.workers * 2):
            yield future.result()

    def map(self, jobs: Iterable[Job]) -> list[RunResult]:
        return list(self.imap(jobs))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if hasattr(self, "_executor"):
            self._executor.shutdown(wait=True)
        for server in list(self._all):
            server.close()
        self._all.clear()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """A process-wide sandbox on all cores, closed at interpreter exit."""
    global _default
    with _default_lock:
        if _default is None or _default._closed:
            _default = Sandbox()
            atexit.register(_default.close)
        return _default
