"""The warm fork server: one long-lived process per worker slot that forks a sandboxed child per job.

Started by `referee.sandbox.pool.Sandbox` with a scrubbed environment. At start it enters its own network
namespace (no interfaces up, so no network), claims an unprivileged uid for its slot and becomes a child
subreaper, then pre-imports the modules its jobs need so a job costs one fork instead of an interpreter start.
Requests and replies travel as length-prefixed pickles over its stdin/stdout (only the trusted pool writes
there); job output never touches those descriptors.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import glob
import importlib
import json
import os
import pickle
import selectors
import shutil
import signal
import socket
import struct
import sys
import tempfile
import time
from typing import Any

from referee.sandbox import child as child_mod
from referee.sandbox.landlock import abi_version, build_ruleset
from referee.sandbox.limits import Limits, RunResult

CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_CHILD_SUBREAPER = 36
UID_BASE = 61000
UID_SLOTS = 512
LOCK_DIR = "/run/referee-sandbox" if os.path.isdir("/run") and os.access("/run", os.W_OK) else tempfile.gettempdir()
_libc = ctypes.CDLL(None, use_errno=True)


def _run_child(workdir: str, limits: Limits, uid: int | None, ruleset_fd: int | None, in_r: int, out_w: int,
               err_w: int, channel_fd: int, driver: Any, payload: Any, *, _exit: Any = os._exit,
               _kill: Any = os.kill, _getpid: Any = os.getpid, _sigkill: int = signal.SIGKILL,
               _exit_status: Any = child_mod.exit_status, _finish: Any = child_mod.finish,
               _int: type = int, _type: type = type) -> None:
    """Body of the forked job.

    Everything used after the job's code ran is a local bound when the call started: the job can rebind any
    module attribute (`os._exit`, referee's own functions, builtins) without changing how this frame ends.
    """
    code: Any = 125
    try:
        child_mod.isolate(workdir, limits, uid, ruleset_fd, in_r, out_w, err_w, channel_fd)
        channel = child_mod.Channel(child_mod.CHANNEL_FD)
        code = 1  # from here on a failure is the job's, not the sandbox's
        try:
            result = driver(payload, channel)
            code = result if _type(result) is _int else 0
        except BaseException as exc:  # mirror the interpreter's exit status
            try:
                code = _exit_status(exc)
            except BaseException:
                code = 1
        _finish(code if _type(code) is _int else 1)
    except BaseException:  # any escape ends the child, never the server
        pass
    finally:
        try:
            _exit(code if _type(code) is _int else 1)
        finally:
            _kill(_getpid(), _sigkill)


def _read_exact(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> Any:
    (size,) = struct.unpack(">I", _read_exact(fd, 4))
    return pickle.loads(_read_exact(fd, size))


def write_frame(fd: int, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _claim_uid() -> tuple[int | None, Any]:
    """Lock a free uid for this server's lifetime, so RLIMIT_NPROC and the kill sweep touch only our jobs."""
    if os.geteuid() != 0:
        return None, None
    os.makedirs(LOCK_DIR, exist_ok=True)
    start = (os.getpid() * 7) % UID_SLOTS
    for i in range(UID_SLOTS):
        uid = UID_BASE + (start + i) % UID_SLOTS
        handle = open(os.path.join(LOCK_DIR, f"uid-{uid}.lock"), "w")  # noqa: SIM115 - held for the lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return uid, handle
    return None, None


class Server:
    def __init__(self, preload: list[str]) -> None:
        self.isolation: dict[str, Any] = {"netns": False, "setuid": False, "landlock_abi": 0, "nproc": False}
        if _libc.unshare(CLONE_NEWNET) == 0 or (os.geteuid() != 0 and _libc.unshare(CLONE_NEWNET | 0x10000000) == 0):
            self.isolation["netns"] = True
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        self.uid, self._uid_lock = _claim_uid()
        self.isolation["setuid"] = self.uid is not None
        self.isolation["nproc"] = self.uid is not None
        self.isolation["uid"] = self.uid
        self.isolation["landlock_abi"] = abi_version()
        self.root = tempfile.mkdtemp(prefix="referee-sbx-")
        os.chmod(self.root, 0o711)
        self.isolation["mountns"] = self.uid is not None and self._private_mounts()
        # One job at a time per server, in a private tmpfs: allowing writes beneath the server's root is the same
        # as allowing the job's own directory, and lets every child reuse one prepared ruleset.
        gpu_nodes = tuple(sorted(glob.glob("/dev/nvidia*") + glob.glob("/dev/dri/*")))
        self.ruleset_fd = build_ruleset([self.root], self.isolation["landlock_abi"], ("/dev/null", *gpu_nodes))
        self.isolation["gpu_device_nodes"] = len(gpu_nodes)
        self.isolation["landlock"] = self.ruleset_fd is not None
        for name in preload:
            try:
                importlib.import_module(name)
            except Exception as exc:  # reported; the jobs that need the module fail clearly
                self.isolation.setdefault("preload_errors", {})[name] = repr(exc)
        gc.collect()
        gc.freeze()  # keep the preloaded heap out of the collector so children don't copy-on-write it

    def _private_mounts(self) -> bool:
        """Own mount namespace: a size-capped tmpfs for work dirs, and the interpreter reachable by the job uid.

        When Python lives under a folder the job uid cannot enter (pyenv under root's 0700 home), that folder is
        replaced, in this namespace only, by an empty tmpfs holding read-only binds of just the paths the
        interpreter needs, so the job can import the stdlib but sees nothing else of that home.
        """
        if _libc.unshare(CLONE_NEWNS) != 0:
            return False
        if _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            return False
        _libc.mount(b"tmpfs", self.root.encode(), b"tmpfs", 0, b"mode=0711,size=1g")
        needed = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, os.path.dirname(sys.executable),
                                                os.path.dirname(os.path.dirname(os.path.abspath(__file__))))}
        blocked: dict[str, list[str]] = {}
        for path in sorted(needed):
            parts = path.split("/")
            for depth in range(2, len(parts)):
                ancestor = "/".join(parts[:depth])
                if not os.stat(ancestor).st_mode & 0o001:
                    blocked.setdefault(ancestor, []).append(path)
                    break
        for ancestor, paths in blocked.items():
            stages = []
            for path in paths:
                stage = tempfile.mkdtemp(prefix="stage-", dir=self.root)
                if _libc.mount(path.encode(), stage.encode(), None, MS_BIND | MS_REC, None) != 0:
                    return False
                stages.append((stage, path))
            if _libc.mount(b"tmpfs", ancestor.encode(), b"tmpfs", 0, b"mode=0711,size=1m") != 0:
                return False
            for stage, path in stages:
                os.makedirs(path, exist_ok=True)
                _libc.mount(stage.encode(), path.encode(), None, MS_BIND | MS_REC, None)
                _libc.mount(None, path.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
                _libc.umount2(stage.encode(), MNT_DETACH)
                os.rmdir(stage)
        return True

    @staticmethod
    def _resolve(path: str) -> Any:
        module, _, attr = path.partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj

    def run_job(self, job: dict[str, Any]) -> RunResult:
        limits: Limits = job.get("limits") or Limits()
        driver = self._resolve(job.get("driver") or "referee.sandbox.child:run_source")
        handler_cls = self._resolve(job["handler"]) if job.get("handler") else None
        payload = job.get("payload") or {}
        workdir = tempfile.mkdtemp(prefix="job-", dir=self.root)
        try:
            for name, data in (job.get("files") or {}).items():
                target = os.path.join(workdir, os.path.basename(name))
                with open(target, "wb") as handle:
                    handle.write(data)
            if self.uid is not None:
                for entry in [workdir, *[os.path.join(workdir, n) for n in os.listdir(workdir)]]:
                    os.chown(entry, self.uid, self.uid)
            return self._fork_and_supervise(workdir, limits, driver, payload, handler_cls, job)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _fork_and_supervise(self, workdir: str, limits: Limits, driver: Any, payload: Any, handler_cls: Any,
                            job: dict[str, Any]) -> RunResult:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, in_w = os.pipe()
        parent_sock, child_sock = socket.socketpair()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the job: never returns into the server loop, whatever the job patched
            exit_now, kill, getpid, sigkill = os._exit, os.kill, os.getpid, signal.SIGKILL
            try:
                _run_child(workdir, limits, self.uid, self.ruleset_fd, in_r, out_w, err_w,
                           child_sock.fileno(), driver, payload)
            finally:
                try:
                    exit_now(1)
                finally:
                    kill(getpid(), sigkill)
        for fd in (out_w, err_w, in_r):
            os.close(fd)
        child_sock.close()
        stdin_data = job.get("stdin") or b""
        if stdin_data:
            try:
                os.set_blocking(in_w, False)
                os.write(in_w, stdin_data[: 1 << 16])
            except OSError:
                pass
        os.close(in_w)
        handler = None
        handler_error = None
        if handler_cls is not None:  # built after the fork: nothing it holds is ever in the child's memory
            try:
                handler = handler_cls(payload)
            except Exception as exc:  # a handler bug is reported in the result, not raised into the pool
                handler_error = f"handler failed to start: {exc!r}"
                self._kill_group(pid)
        result = self._supervise(pid, start, out_r, err_r, parent_sock, limits, handler, workdir, job)
        if handler_error:
            result.status = "crashed"
            result.error = handler_error
        return result

    def _supervise(self, pid: int, start: float, out_r: int, err_r: int, sock: socket.socket, limits: Limits,
                   handler: Any, workdir: str, job: dict[str, Any]) -> RunResult:
        result = RunResult(status="ok")
        buffers = {out_r: bytearray(), err_r: bytearray()}
        totals = {out_r: 0, err_r: 0}
        chan_buf = bytearray()
        pidfd = os.pidfd_open(pid)
        sel = selectors.DefaultSelector()
        for fd in (out_r, err_r):
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
        sel.register(pidfd, selectors.EVENT_READ)
        deadline = start + limits.wall_seconds
        timed_out = False
        exited_at: float | None = None
        status = 0
        usage = None
        can_reply = True  # False once a reply could not be delivered: a child that does not read gets no more

        def read_ready(target: Any) -> None:
            """Consume what one ready descriptor holds; unregister it at EOF."""
            nonlocal can_reply
            if target is sock:
                try:
                    data = sock.recv(1 << 16)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(sock)
                    return
                chan_buf.extend(data)
                if len(chan_buf) > limits.max_message_bytes:
                    result.error = "channel message over the size limit"
                    sel.unregister(sock)
                    self._kill_group(pid)
                    return
                can_reply = self._drain_frames(chan_buf, result, handler, sock, deadline, can_reply)
                return
            fd = int(target)
            try:
                data = os.read(fd, 1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                sel.unregister(fd)
                return
            totals[fd] += len(data)
            room = limits.max_output_bytes - len(buffers[fd])
            if room > 0:
                buffers[fd] += data[:room]

        while True:
            now = time.monotonic()
            if exited_at is None and now >= deadline:
                timed_out = True
                self._kill_group(pid)
            if exited_at is not None and (now - exited_at > 0.2 or not sel.get_map()):
                break
            timeout = max(0.0, (deadline if exited_at is None else exited_at + 0.2) - now)
            for key, _ in sel.select(timeout):
                if key.fileobj == pidfd:
                    _, status, usage = os.wait4(pid, 0)
                    exited_at = time.monotonic()
                    sel.unregister(pidfd)
                    self._kill_group(pid)
                else:
                    read_ready(key.fileobj)
        # The job is dead and its group killed: whatever it wrote is already buffered in the kernel. Drain it all,
        # however late this process got the CPU back (a loaded machine must not cost a job its last frames).
        for _ in range(4096):
            ready = [key.fileobj for key, _ in sel.select(0) if key.fileobj != pidfd]
            if not ready:
                break
            for target in ready:
                read_ready(target)
        sel.close()
        if exited_at is None:
            _, status, usage = os.wait4(pid, 0)
        os.close(pidfd)
        self._kill_group(pid)
        self._sweep_uid(limits.max_processes > 1)
        for fd in (out_r, err_r):
            os.close(fd)
        sock.close()
        result.duration_s = time.monotonic() - start
        result.stdout = bytes(buffers[out_r])
        result.stderr = bytes(buffers[err_r])
        result.stdout_truncated = totals[out_r] > limits.max_output_bytes
        result.stderr_truncated = totals[err_r] > limits.max_output_bytes
        result.files = self._collect(workdir, job.get("collect") or [], limits)
        if usage is not None:
            result.cpu_s = usage.ru_utime + usage.ru_stime
        self._classify(result, status, timed_out, limits)
        if handler is not None:
            try:
                result.value = handler.finish(result)
            except Exception as exc:
                result.error = f"handler failed: {exc!r}"
        return result

    @staticmethod
    def _drain_frames(buf: bytearray, result: RunResult, handler: Any, sock: socket.socket, deadline: float,
                      can_reply: bool) -> bool:
        """Decode every complete frame in `buf`; returns whether replies can still be delivered."""
        while len(buf) >= 4:
            (size,) = struct.unpack(">I", buf[:4])
            if len(buf) < 4 + size:
                return can_reply
            raw = bytes(buf[4:4 + size])
            del buf[:4 + size]
            try:
                message = json.loads(raw)
            except ValueError:
                message = {"__invalid__": raw[:200].decode("utf-8", "replace")}
            if handler is None:
                result.messages.append(message)
                continue
            reply = handler.on_message(message)
            if reply is not None and can_reply:
                data = json.dumps(reply, separators=(",", ":")).encode()
                try:  # bounded by the job's wall clock: a child that never reads cannot stall the server
                    sock.settimeout(max(0.01, deadline - time.monotonic()))
                    sock.sendall(struct.pack(">I", len(data)) + data)
                except OSError:
                    can_reply = False
                finally:
                    sock.setblocking(False)
        return can_reply

    @staticmethod
    def _classify(result: RunResult, status: int, timed_out: bool, limits: Limits) -> None:
        if os.WIFEXITED(status):
            result.exit_code = os.WEXITSTATUS(status)
        elif os.WIFSIGNALED(status):
            result.signal = os.WTERMSIG(status)
        if timed_out:
            result.status = "timeout"
            result.error = f"wall-clock limit of {limits.wall_seconds:g}s exceeded"
        elif result.signal == signal.SIGXCPU or (result.signal == signal.SIGKILL
                                                  and result.cpu_s >= max(1.0, limits.cpu_seconds) * 0.95):
            result.status = "cpu_limit"
            result.error = f"CPU limit of {limits.cpu_seconds:g}s exceeded"
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

    @staticmethod
    def _collect(workdir: str, names: list[str], limits: Limits) -> dict[str, bytes]:
        """Read result files without following links planted by the job (a link to /etc/shadow stays unread)."""
        files: dict[str, bytes] = {}
        for name in names:
            path = os.path.join(workdir, os.path.basename(name))
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                import stat

                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
                files[name] = os.read(fd, limits.max_output_bytes)
            finally:
                os.close(fd)
        return files

    @staticmethod
    def _kill_group(pid: int) -> None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass

    def _sweep_uid(self, needed: bool) -> None:
        """Kill whatever the job left behind under its uid (double-forked daemons escape the process group)."""
        if self.uid is not None and needed:
            sweeper = os.fork()
            if sweeper == 0:
                try:
                    os.setresuid(self.uid, self.uid, self.uid)
                    os.kill(-1, signal.SIGKILL)
                finally:
                    os._exit(0)
            try:
                os.waitpid(sweeper, 0)
            except ChildProcessError:
                pass
        deadline = time.monotonic() + (2.0 if needed else 0.0)
        while True:  # reap whatever was reparented to us as subreaper, waiting briefly for killed stragglers
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.002)

    def serve(self, rfd: int, wfd: int) -> None:
        write_frame(wfd, {"ready": True, "isolation": self.isolation, "pid": os.getpid(), "root": self.root})
        while True:
            try:
                job = read_frame(rfd)
            except EOFError:
                break
            if job is None:
                break
            try:
                reply = self.run_job(job)
            except Exception as exc:  # the server survives any single job
                reply = RunResult(status="crashed", error=f"sandbox server error: {exc!r}")
            try:
                write_frame(wfd, reply)
            except BrokenPipeError:  # the pool's process left (Ctrl-C): nobody to answer, the job is finished
                break
        shutil.rmtree(self.root, ignore_errors=True)


def main() -> None:
    rfd = os.dup(0)
    wfd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    preload = [m for m in sys.argv[1:] if m]
    Server(preload).serve(rfd, wfd)


if __name__ == "__main__":
    main()
