"""The warm fork server: one long-lived process per worker slot that forks a sandboxed child per job.

Started by `referee.sandbox.pool.Sandbox` with a scrubbed environment. At start it enters its own network
namespace (no interfaces up, so no network), claims an unprivileged uid for its slot and becomes a child
subreaper, then pre-imports the modules its jobs need so a job costs one fork instead of an interpreter start.
Requests and replies travel as length-prefixed pickles over its stdin/stdout (only the trusted pool writes
there); job output never touches those descriptors.
"""

from __future__ import annotations

import ctypes
import gc
import glob
import importlib
import os
import pickle
import secrets
import signal
import socket
import struct
import sys
import tempfile
import time
from typing import Any

from referee.sandbox import child as child_mod
from referee.sandbox import jobdir
from referee.sandbox import view as view_mod
from referee.sandbox.cgroups import JobCgroup, remove_stale
from referee.sandbox.landlock import abi_version, build_ruleset
from referee.sandbox.limits import Limits, RunResult
from referee.sandbox.pidns import JobNamespace
from referee.sandbox.seccomp import Filter
from referee.sandbox.seccomp import supported as seccomp_supported
from referee.sandbox.slots import CGROUP_PREFIX, claim_uid, slot_is_free
from referee.sandbox.supervise import Watch, collect
from referee.sandbox.view import (
    DEV_NODES,
    SYSTEM_PATHS,
    View,
    mount_proc,
    package_read_paths,
    private_mounts,
    python_paths,
)

CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def _run_child(plan: child_mod.Plan, in_r: int, out_w: int, err_w: int, channel_fd: int, driver: Any,
               payload: Any, *, _exit: Any = os._exit, _kill: Any = os.kill, _getpid: Any = os.getpid,
               _sigkill: int = signal.SIGKILL, _exit_status: Any = child_mod.exit_status,
               _finish: Any = child_mod.finish, _int: type = int, _type: type = type) -> None:
    """Body of the forked job.

    Everything used after the job's code ran is a local bound when the call started: the job can rebind any
    module attribute (`os._exit`, referee's own functions, builtins) without changing how this frame ends.
    """
    code: Any = 125
    try:
        child_mod.isolate(plan, in_r, out_w, err_w, channel_fd)
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
        if code == 125:
            _report_setup_failure(err_w)
    finally:
        try:
            _exit(code if _type(code) is _int else 1)
        finally:
            _kill(_getpid(), _sigkill)


def _report_setup_failure(err_w: int) -> None:
    """Say on the job's stderr pipe which isolation step failed (its end may already be fd 2 only)."""
    message = ("sandbox setup failed: " + repr(sys.exc_info()[1]))[:500].encode() + b"\n"
    for fd in (err_w, 2):
        try:
            os.write(fd, message)
            return
        except BaseException:
            continue


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


SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def _loopback_up() -> bool:
    """Bring `lo` up in the server's own network namespace (best effort).

    The ranks of one distributed probe job (torch.distributed's gloo backend) talk over 127.0.0.1 when the server
    leaves TCP to the namespace (`landlock_tcp` off). Nothing outside the namespace becomes reachable, and a job's
    sockets end with its processes (swept after every job).
    """
    import fcntl

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, struct.pack("16sH22x", b"lo", 0)))[1]
            fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))
        return True
    except OSError:
        return False


class Server:
    def __init__(self, preload: list[str], off: frozenset[str] = frozenset(),
                 extra_paths: tuple[str, ...] = ()) -> None:
        self.retire: str | None = None
        self._disk_mb: int | None = None
        self.layers: dict[str, dict[str, Any]] = {}
        netns = "netns" not in off and (_libc.unshare(CLONE_NEWNET) == 0 or (
            os.geteuid() != 0 and _libc.unshare(CLONE_NEWNET | 0x10000000) == 0))
        self._layer("netns", netns, "off by request" if "netns" in off else "unshare(CLONE_NEWNET) refused")
        if netns:
            _loopback_up()
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        self.uid, self._uid_lock = claim_uid()
        self._layer("setuid", self.uid is not None, "not root: jobs keep the caller's uid, RLIMIT_NPROC unused")
        self.root = os.path.join(tempfile.gettempdir(), "referee-sbx-" + secrets.token_hex(12))
        os.mkdir(self.root, 0o711)
        mountns = self.uid is not None and private_mounts(self.root)
        self._layer("mountns", mountns, "needs root (mount namespace and per-job tmpfs)")
        self.jobs_dir = os.path.join(self.root, "jobs")
        os.mkdir(self.jobs_dir, 0o711)
        gpu_nodes = tuple(sorted(glob.glob("/dev/nvidia*") + glob.glob("/dev/dri/*") + glob.glob("/dev/kfd")))
        package_dir = os.path.dirname(os.path.dirname(os.path.abspath(child_mod.__file__)))
        self.view: View | None = None
        if mountns and "view" not in off:
            self.view = View(os.path.join(self.root, "view"), package_dir, list(extra_paths), gpu_nodes)
        view_on = self.view is not None and self.view.root is not None
        self._layer("view", view_on, "off by request" if "view" in off else (
            self.view.why_off if self.view is not None else "needs the mount namespace"))
        self.view_root = self.view.root if view_on and self.view is not None else None
        # With the view, every job of this server uses the same two directories, bound into the view once and
        # emptied (contents, mode, owner, xattrs) after each job: no mount or unmount per job (each unmount
        # waits for an RCU grace period, which under load costs milliseconds of latency per job).
        self.fixed_dir: jobdir.JobDir | None = None
        if self.view_root:
            self.fixed_dir = jobdir.create(self.jobs_dir, self.uid)
            view_mod.bind_job(self.view_root, self.fixed_dir.work, self.fixed_dir.tmp)
        self.ipc_ns = view_on and "ipcns" not in off
        self._layer("ipcns", self.ipc_ns, "needs the view (entered together)" if "ipcns" not in off else "off")
        self.pidns = JobNamespace(os.path.join(self.view_root, "proc") if self.view_root else None) \
            if self.uid is not None and "pidns" not in off else None
        pidns_on = self.pidns is not None and self.pidns.on
        if self.view_root and not pidns_on:
            mount_proc(self.view_root)
        self._layer("pidns", self.pidns is not None and self.pidns.on,
                    "needs root" if "pidns" not in off else "off by request")
        if self.uid is not None and "cgroup" not in off:
            remove_stale(CGROUP_PREFIX, slot_is_free)
        self.cgroup = JobCgroup(f"{CGROUP_PREFIX}{self.uid}") if self.uid is not None and "cgroup" not in off else None
        self._layer("cgroup", self.cgroup is not None and self.cgroup.on, "off by request" if "cgroup" in off else (
            self.cgroup.why_off if self.cgroup is not None else "needs root"),
            version=self.cgroup.version if self.cgroup else 0)
        self.cgroup_fds = tuple(self.cgroup.attach_fds()) if self.cgroup is not None and self.cgroup.on else ()
        kill_zero = pidns_on  # getppid() is 0 in the jobs' namespace: see seccomp.build_program
        self.seccomp = Filter(not self.ipc_ns, kill_zero) if seccomp_supported() and "seccomp" not in off else None
        # a job that cannot fork has no use for SysV IPC: refused, it needs no IPC namespace of its own
        self.seccomp_single = Filter(True, kill_zero) if self.seccomp is not None else None
        self._layer("seccomp", self.seccomp is not None, "off by request" if "seccomp" in off else "not x86_64")
        abi = abi_version()
        self.listable: list[str] = []
        readable = None if "landlock_read" in off else self._readable(package_dir, list(extra_paths), gpu_nodes)
        # the view is mounted read-only but for the job's own directories, bound onto it per job
        self.writable_files = ("/dev/null", *gpu_nodes)
        writable = [self.jobs_dir, *([self.fixed_dir.work, self.fixed_dir.tmp] if self.fixed_dir else [])]
        self.ruleset_fd = build_ruleset(writable, abi, self.writable_files, readable, self.listable,
                                        tcp="landlock_tcp" not in off) if "landlock" not in off else None
        self._layer("landlock", self.ruleset_fd is not None, "kernel has no Landlock" if abi == 0 else "off",
                    abi=abi, reads=readable is not None and self.ruleset_fd is not None)
        self.isolation: dict[str, Any] = {
            "netns": netns, "setuid": self.uid is not None, "nproc": self.uid is not None, "uid": self.uid,
            "landlock_abi": abi, "landlock": self.ruleset_fd is not None, "mountns": mountns, "view": view_on,
            "pidns": pidns_on, "ipcns": self.ipc_ns, "seccomp": self.seccomp is not None,
            "cgroup": self.cgroup.version if self.cgroup is not None else 0, "gpu_device_nodes": len(gpu_nodes),
            "cgroup_dirs": sorted(set(self.cgroup.dirs.values())) if self.cgroup is not None else [],
            "layers": self.layers}
        self.reseed = tuple(m for m in ("numpy.random",) if m in preload or "numpy" in preload)
        for name in preload:
            try:
                importlib.import_module(name)
            except Exception as exc:  # reported; the jobs that need the module fail clearly
                self.isolation.setdefault("preload_errors", {})[name] = repr(exc)
        gc.collect()
        gc.freeze()  # keep the preloaded heap out of the collector so children don't copy-on-write it

    def _layer(self, name: str, on: bool, why_off: str | None, **extra: Any) -> None:
        self.layers[name] = {"on": bool(on), "why": None if on else why_off, **extra}

    def _readable(self, package_dir: str, extra: list[str], gpu_nodes: tuple[str, ...]) -> list[str]:
        """Host paths a job may read. With the view, the view itself decides; without it, the package's data
        folders are left out file by file (Landlock rules cannot subtract)."""
        if self.view is not None and self.view.root is not None:
            return [*self.view.read_paths(), self.jobs_dir]
        system = [p for p in SYSTEM_PATHS if os.path.isdir(p) and not os.path.islink(p)]
        paths = [*system, "/proc", *[f"/dev/{n}" for n in DEV_NODES], *gpu_nodes, self.jobs_dir]
        parent = os.path.dirname(os.path.realpath(package_dir))
        for path in python_paths(extra):
            if parent == path or parent.startswith(path + "/"):  # holds the package: add its other entries
                paths += [os.path.join(path, n) for n in os.listdir(path)
                          if not os.path.realpath(package_dir).startswith(os.path.join(path, n))]
            else:
                paths.append(path)
        folders, files = package_read_paths(package_dir)
        self.listable = folders
        return paths + files

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
        if self.isolation["mountns"] and limits.disk_mb != self._disk_mb:  # the tmpfs all of this server's jobs use
            self._disk_mb = limits.disk_mb
            _libc.mount(None, self.root.encode(), None, MS_REMOUNT, f"size={max(1, limits.disk_mb)}m".encode())
        directory = self.fixed_dir or jobdir.create(self.jobs_dir, self.uid)
        try:
            for name, data in (job.get("files") or {}).items():
                target = os.path.join(directory.work, os.path.basename(name))
                with open(target, "wb") as handle:
                    handle.write(data)
                if self.uid is not None:
                    os.chown(target, self.uid, self.uid)
            return self._fork_and_supervise(directory, limits, driver, payload, handler_cls, job)
        finally:
            try:
                removed = jobdir.empty(directory, self.uid) if self.fixed_dir else jobdir.remove(directory)
            except Exception as exc:  # the verdict is kept; this server is not trusted with another job
                removed, self.retire = False, f"job directory removal failed: {exc!r}"
            if not removed and self.retire is None:
                self.retire = "a job directory could not be removed"

    @staticmethod
    def _fork(plan: child_mod.Plan, fds: tuple[int, int, int, int], driver: Any, payload: Any) -> int:
        """Fork the job (into the jobs' PID namespace, which the server entered for its children at start)."""
        pid = os.fork()
        if pid == 0:  # the job: never returns into the server loop, whatever the job patched
            exit_now, kill, getpid, sigkill = os._exit, os.kill, os.getpid, signal.SIGKILL
            try:
                _run_child(plan, *fds, driver, payload)
            finally:
                try:
                    exit_now(1)
                finally:
                    kill(getpid(), sigkill)
        return pid

    def _fork_and_supervise(self, directory: jobdir.JobDir, limits: Limits, driver: Any, payload: Any,
                            handler_cls: Any, job: dict[str, Any]) -> RunResult:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, in_w = os.pipe()
        if self.uid is not None:  # so the job can open /dev/stdout, /dev/stderr (/proc/self/fd/N) itself
            for fd in (out_w, err_w, in_r):
                os.fchown(fd, self.uid, self.uid)
        parent_sock, child_sock = socket.socketpair()
        # One process (RLIMIT_NPROC = 1 under the slot's uid: no fork, no thread) is bounded by its rlimits alone:
        # the cgroup and the IPC namespace (with their kernel work per job) serve jobs that may fork.
        single = limits.max_processes <= 1 and self.uid is not None
        cgroup = None if single or self.cgroup is None or not self.cgroup.on else self.cgroup
        if cgroup is not None and not all(os.path.isdir(d) for d in cgroup.dirs.values()):
            cgroup, self.retire = None, "the job cgroup was removed from outside"  # rlimits only, then a fresh server
        if cgroup is not None:
            cgroup.prepare(limits.cgroup_memory_mb, limits.max_processes)
        plan = child_mod.Plan(directory.work, directory.tmp, limits, self.uid, self.ruleset_fd, self.view_root,
                              self.ipc_ns and not single, self.seccomp_single if single else self.seccomp,
                              self.cgroup_fds if cgroup is not None else (), self.reseed,
                              self.view is not None and self.view.aliased)
        start = time.monotonic()
        try:
            pid = self._fork(plan, (in_r, out_w, err_w, child_sock.fileno()), driver, payload)
        finally:
            for fd in (out_w, err_w, in_r):
                os.close(fd)
            child_sock.close()
        self._feed_stdin(in_w, job.get("stdin") or b"")
        watch = Watch(pid, start, out_r, err_r, parent_sock, limits, None, cgroup)
        handler_error = None
        try:
            if handler_cls is not None:  # built after the fork: nothing it holds is ever in the child's memory
                try:
                    watch.handler = handler_cls(payload)
                except Exception as exc:  # a handler bug is reported in the result, not raised into the pool
                    handler_error = f"handler failed to start: {exc!r}"
                    watch.kill()
            watch.run()
        except BaseException as exc:  # a supervisor bug: this job ends, this server retires after replying
            self.retire = f"supervisor error: {exc!r}"
            watch.kill(f"killed: the supervisor failed ({type(exc).__name__})")
        finally:
            watch.kill()
            if watch.exited_at is None:
                _, watch.status, watch.usage = os.wait4(pid, 0)
            self._sweep(limits.max_processes > 1)
            for fd in (out_r, err_r):
                os.close(fd)
            parent_sock.close()
        result = watch.finish()
        result.files = collect(directory.work, job.get("collect") or [], limits)
        if handler_error:
            result.status = "crashed"
            result.error = handler_error
        elif watch.handler is not None:
            try:
                result.value = watch.handler.finish(result)
            except Exception as exc:
                result.error = f"handler failed: {exc!r}"
        return result

    @staticmethod
    def _feed_stdin(in_w: int, data: bytes) -> None:
        try:
            if data:
                os.set_blocking(in_w, False)
                os.write(in_w, data[: 1 << 16])
        except OSError:
            pass
        finally:
            os.close(in_w)

    def _sweep(self, needed: bool) -> None:
        """Kill whatever the job left behind (double-forked daemons escape the process group): everything in the
        jobs' PID namespace, or else everything under the slot's uid."""
        if needed and self.pidns is not None and self.pidns.on:
            if not self.pidns.sweep():
                self.retire = "leftover processes of a job could not be killed"
            needed = False
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
        try:
            while self.retire is None:
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
                    write_frame(wfd, {"result": reply, "retire": self.retire})
                except BrokenPipeError:  # the pool's process left (Ctrl-C): nobody to answer, the job is finished
                    break
        finally:
            self.close()

    def close(self) -> None:
        if self.pidns is not None:
            self.pidns.close()
        if self.cgroup is not None:
            self.cgroup.close()
        if self.view is not None:
            self.view.close()
        try:
            jobdir.remove_tree(self.jobs_dir)
        except OSError:
            pass


def main() -> None:
    rfd = os.dup(0)
    wfd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    preload = [m for m in sys.argv[1:] if m]
    off = frozenset(n for n in os.environ.get("REFEREE_SANDBOX_OFF", "").split(",") if n)
    extra = tuple(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)[1:] if p)
    Server(preload, off, extra).serve(rfd, wfd)


if __name__ == "__main__":
    main()
