"""The jobs' PID namespace: one per fork server, with a small reaper as its PID 1.

The server enters it once (`setns` for its children), so every job it forks lands in it at no cost per job
and stays the server's own child (exact wait status and rusage). A job sees only PID 1 and its own processes
in its `/proc`; orphans are reparented to the reaper, not to anything outside; after a job that could fork,
the reaper kills every process left in the namespace (`kill(-1)` from PID 1 reaches all of them, whatever uid,
session or process group they moved to) before the next job starts. The job is not PID 1 itself, so signals
it sends itself act as they do outside, and it cannot signal PID 1 (another uid; init ignores them anyway).
"""

from __future__ import annotations

import ctypes
import os
import select
import signal

from referee.sandbox.view import mount_proc

CLONE_NEWPID = 0x20000000
PR_SET_PDEATHSIG = 1
SWEEP_TIMEOUT_S = 10.0
_libc = ctypes.CDLL(None, use_errno=True)


def _reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _reaper(cmd_r: int, ack_w: int, proc_at: str | None) -> None:
    """PID 1: reap orphans as they die; on b"k" kill everything else in the namespace, reap it, answer b"d"."""
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        os.setsid()
        # the view's /proc shows the namespace of whoever mounts it: this one (first answer: mounted or not)
        os.write(ack_w, b"p" if proc_at is None or mount_proc(os.path.dirname(proc_at)) else b"n")
        wake_r, wake_w = os.pipe()
        for fd in range(0, 1024):
            if fd not in (cmd_r, ack_w, wake_r, wake_w):
                try:
                    os.close(fd)
                except OSError:
                    pass
        os.set_blocking(wake_w, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(wake_w)
        while True:
            ready, _, _ = select.select([cmd_r, wake_r], [], [], 5.0)
            if wake_r in ready:
                os.read(wake_r, 512)
            _reap_all()
            if cmd_r in ready:
                command = os.read(cmd_r, 1)
                if not command:
                    break
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:  # nothing was left
                    pass
                while True:  # every process left is our child now or will be; wait until none is left
                    try:
                        os.waitpid(-1, 0)
                    except ChildProcessError:
                        break
                os.write(ack_w, b"d")
    finally:
        os._exit(0)


class JobNamespace:
    """Created in the server before it preloads anything (the reaper is a copy of a small process)."""

    def __init__(self, proc_at: str | None = None) -> None:
        self.pid: int | None = None
        cmd_r, cmd_w = os.pipe()
        ack_r, ack_w = os.pipe()
        if _libc.unshare(CLONE_NEWPID) != 0:
            for fd in (cmd_r, cmd_w, ack_r, ack_w):
                os.close(fd)
            return
        pid = os.fork()
        if pid == 0:
            os.close(cmd_w)
            os.close(ack_r)
            _reaper(cmd_r, ack_w, proc_at)
        os.close(cmd_r)
        os.close(ack_w)
        self.pid, self._cmd_w, self._ack_r = pid, cmd_w, ack_r
        ready, _, _ = select.select([ack_r], [], [], SWEEP_TIMEOUT_S)
        if not ready or os.read(ack_r, 1) != b"p":
            self.close()

    @property
    def on(self) -> bool:
        return self.pid is not None

    def sweep(self) -> bool:
        """Kill whatever the last job left running; True once the namespace holds only PID 1 again."""
        if self.pid is None:
            return False
        try:
            os.write(self._cmd_w, b"k")
            ready, _, _ = select.select([self._ack_r], [], [], SWEEP_TIMEOUT_S)
            return bool(ready) and os.read(self._ack_r, 1) == b"d"
        except OSError:
            return False

    def close(self) -> None:
        if self.pid is None:
            return
        for fd in (self._cmd_w, self._ack_r):
            os.close(fd)
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (OSError, ChildProcessError):
            pass
        self.pid = None
