"""The fork server's watch over one running job: output capture, channel frames, limits, classification.

Everything the job sends is untrusted: a frame that cannot be decoded or that makes the handler raise (deeply
nested JSON raises RecursionError, not ValueError) ends *that job* with the reason in its result; it never
escapes into the server. The caller runs this under try/finally so the kill, the reap and the clean-up happen
whatever goes wrong here.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import stat
import struct
import time
from typing import Any

from referee.sandbox.limits import Limits, RunResult

#: how long the supervisor keeps reading after the job exited (its pipes may still hold output)
EXIT_GRACE_S = 0.2
READ_CHUNK = 1 << 16


class Watch:
    """State of one supervised run."""

    def __init__(self, pid: int, start: float, out_r: int, err_r: int, sock: socket.socket, limits: Limits,
                 handler: Any, cgroup: Any) -> None:
        self.pid, self.start, self.limits, self.handler, self.cgroup = pid, start, limits, handler, cgroup
        self.out_r, self.err_r, self.sock = out_r, err_r, sock
        self.result = RunResult(status="ok")
        self.buffers = {out_r: bytearray(), err_r: bytearray()}
        self.totals = {out_r: 0, err_r: 0}
        self.chan_buf = bytearray()
        self.deadline = start + limits.wall_seconds
        self.timed_out = False
        self.cpu_killed = False
        self.killed_for: str | None = None
        self.can_reply = True  # False once a reply could not be delivered: a child that does not read gets no more
        self.status = 0
        self.usage: Any = None
        self.exited_at: float | None = None

    def kill(self, why: str | None = None) -> None:
        if why and self.killed_for is None:
            self.killed_for = why
        for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                target()
            except OSError:
                pass

    def run(self) -> None:
        pidfd = os.pidfd_open(self.pid)
        sel = selectors.DefaultSelector()
        try:
            for fd in (self.out_r, self.err_r):
                os.set_blocking(fd, False)
                sel.register(fd, selectors.EVENT_READ)
            self.sock.setblocking(False)
            sel.register(self.sock, selectors.EVENT_READ)
            sel.register(pidfd, selectors.EVENT_READ)
            self._loop(sel, pidfd)
            # The job is dead and its group killed: what it wrote is buffered in the kernel. Drain it all, however
            # late this process got the CPU back (a loaded machine must not cost a job its last frames).
            for _ in range(4096):
                ready = [key.fileobj for key, _ in sel.select(0) if key.fileobj != pidfd]
                if not ready:
                    break
                for target in ready:
                    self._read(sel, target)
        finally:
            sel.close()
            os.close(pidfd)

    def _cpu_poll(self) -> float | None:
        """Seconds between checks of the job's total CPU time (all its processes), or None without a cgroup."""
        if self.cgroup is None or not self.cgroup.on:
            return None
        return min(0.25, max(0.02, self.limits.cpu_seconds / 20))

    def _loop(self, sel: selectors.BaseSelector, pidfd: int) -> None:
        poll = self._cpu_poll()
        while True:
            now = time.monotonic()
            if self.exited_at is None and now >= self.deadline:
                self.timed_out = True
                self.kill()
            if self.exited_at is not None and (now - self.exited_at > EXIT_GRACE_S or not sel.get_map()):
                break
            if poll is not None and self.exited_at is None and self.cgroup.cpu_seconds() > self.limits.cpu_seconds:
                self.cpu_killed = True
                self.kill()
            until = self.deadline if self.exited_at is None else self.exited_at + EXIT_GRACE_S
            timeout = max(0.0, until - now)
            if poll is not None:
                timeout = min(timeout, poll)
            for key, _ in sel.select(timeout):
                if key.fileobj == pidfd:
                    _, self.status, self.usage = os.wait4(self.pid, 0)
                    self.exited_at = time.monotonic()
                    sel.unregister(pidfd)
                    self.kill()
                else:
                    self._read(sel, key.fileobj)

    def _read(self, sel: selectors.BaseSelector, target: Any) -> None:
        """Consume what one ready descriptor holds; unregister it at EOF."""
        if target is self.sock:
            try:
                data = self.sock.recv(READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                sel.unregister(self.sock)
                return
            self.chan_buf.extend(data)
            if len(self.chan_buf) > self.limits.max_message_bytes:
                self.result.error = "channel message over the size limit"
                sel.unregister(self.sock)
                self.kill()
                return
            self._frames()
            return
        fd = int(target)
        try:
            data = os.read(fd, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        if not data:
            sel.unregister(fd)
            return
        self.totals[fd] += len(data)
        room = self.limits.max_output_bytes - len(self.buffers[fd])
        if room > 0:
            self.buffers[fd] += data[:room]

    def _frames(self) -> None:
        """Decode and hand on every complete frame; any failure ends the job, never the server."""
        buf = self.chan_buf
        while len(buf) >= 4 and self.killed_for is None:
            (size,) = struct.unpack(">I", buf[:4])
            if len(buf) < 4 + size:
                return
            raw = bytes(buf[4:4 + size])
            del buf[:4 + size]
            try:
                message = json.loads(raw)
            except ValueError:
                message = {"__invalid__": raw[:200].decode("utf-8", "replace")}
            except Exception as exc:  # RecursionError, MemoryError: built to break the decoder
                self.kill(f"killed: the job sent a channel frame that cannot be decoded ({type(exc).__name__})")
                message = {"__invalid__": raw[:200].decode("utf-8", "replace"), "__error__": type(exc).__name__}
            if self.handler is None:
                self.result.messages.append(message)
                continue
            try:
                reply = self.handler.on_message(message)
                if reply is not None and self.can_reply:
                    data = json.dumps(reply, separators=(",", ":")).encode()
            except Exception as exc:
                self.kill(f"killed: a channel frame of the job made the handler fail ({type(exc).__name__})")
                return
            if reply is not None and self.can_reply:
                self._reply(data)

    def _reply(self, data: bytes) -> None:
        try:  # bounded by the job's wall clock: a child that never reads cannot stall the server
            self.sock.settimeout(max(0.01, self.deadline - time.monotonic()))
            self.sock.sendall(struct.pack(">I", len(data)) + data)
        except OSError:
            self.can_reply = False
        finally:
            self.sock.setblocking(False)

    def finish(self) -> RunResult:
        """The result once the job is reaped: outputs, CPU, classification."""
        result = self.result
        result.duration_s = time.monotonic() - self.start
        result.stdout = bytes(self.buffers[self.out_r])
        result.stderr = bytes(self.buffers[self.err_r])
        result.stdout_truncated = self.totals[self.out_r] > self.limits.max_output_bytes
        result.stderr_truncated = self.totals[self.err_r] > self.limits.max_output_bytes
        if self.usage is not None:
            result.cpu_s = self.usage.ru_utime + self.usage.ru_stime
        usage = self.cgroup.usage() if self.cgroup is not None and self.cgroup.on else {}
        if usage:
            result.cpu_s = max(result.cpu_s, usage["cpu_s"])
        classify(result, self.status, self, usage.get("memory_limit_hit", False))
        return result


def classify(result: RunResult, status: int, watch: Watch, memory_hit: bool) -> None:
    limits = watch.limits
    if os.WIFEXITED(status):
        result.exit_code = os.WEXITSTATUS(status)
    elif os.WIFSIGNALED(status):
        result.signal = os.WTERMSIG(status)
    if watch.killed_for is not None:
        result.status = "signal"
        result.signal = result.signal or signal.SIGKILL
        result.error = watch.killed_for
    elif watch.timed_out:
        result.status = "timeout"
        result.error = f"wall-clock limit of {limits.wall_seconds:g}s exceeded"
    elif watch.cpu_killed or result.signal == signal.SIGXCPU or (
            result.signal == signal.SIGKILL and result.cpu_s >= max(1.0, limits.cpu_seconds) * 0.95):
        result.status = "cpu_limit"
        result.error = f"CPU limit of {limits.cpu_seconds:g}s exceeded"
    elif result.signal == signal.SIGKILL and memory_hit:
        result.status = "memory"
        result.error = f"memory limit of {limits.cgroup_memory_mb} MB exceeded (killed)"
    elif result.signal is not None:
        result.status = "signal"
    elif result.exit_code == 0:
        result.status = "ok"
    elif b"MemoryError" in result.stderr[-4096:]:
        result.status = "memory"
        result.error = f"memory limit of {limits.memory_mb} MB exceeded"
    else:
        result.status = "error"
    if result.exit_code == 125 and not result.stderr:
        result.error = "sandbox setup failed in the child"


def collect(workdir: str, names: list[str], limits: Limits) -> dict[str, bytes]:
    """Read result files without following links planted by the job (a link to /etc/shadow stays unread)."""
    files: dict[str, bytes] = {}
    for name in names:
        path = os.path.join(workdir, os.path.basename(name))
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                files[name] = os.read(fd, limits.max_output_bytes)
        finally:
            os.close(fd)
    return files
