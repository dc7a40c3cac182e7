"""Code that runs inside a freshly forked job process, before and around the untrusted code.

Order matters: the child first detaches (own session and process group), joins the job's cgroup, enters its own
IPC namespace (when it may fork) and the filesystem view (`chroot`; it is already in the jobs' PID namespace),
applies Landlock, rewires its standard streams, closes every inherited descriptor, moves into its empty work directory
and scrubs its environment; then it sets rlimits while still root, drops to the slot's unprivileged uid so that
the limits can no longer be raised and RLIMIT_NPROC is enforced, and loads the seccomp filter last (it refuses
the mount and namespace calls made above). It reseeds the random state it inherited from the server. Only after
all of that does the job's driver run.
"""

from __future__ import annotations

import atexit
import builtins
import json
import os
import resource
import signal
import struct
import sys
import traceback
from dataclasses import dataclass
from typing import Any

from referee.sandbox import view
from referee.sandbox.landlock import apply_ruleset
from referee.sandbox.limits import Limits

CHANNEL_FD = 3
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


class Channel:
    """Length-prefixed JSON frames between the job and its supervisor.

    The encoder and writer are bound when the channel is built, before any untrusted code loads, so patching
    `json.dumps` or `os.write` later does not change what the driver sends. The supervisor must still treat frames
    as untrusted: untrusted code in the same process can write to the same descriptor.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._dumps = json.dumps
        self._loads = json.loads
        self._write = os.write
        self._read = os.read
        self._pack = struct.pack
        self._unpack = struct.unpack

    def send(self, obj: Any) -> None:
        data = self._dumps(obj, separators=(",", ":")).encode()
        view = memoryview(self._pack(">I", len(data)) + data)
        while view:
            written = self._write(self._fd, view)
            view = view[written:]

    def recv(self) -> Any:
        header = self._read_exact(4)
        (size,) = self._unpack(">I", header)
        return self._loads(self._read_exact(size))

    def _read_exact(self, size: int) -> bytes:
        chunks = []
        while size:
            chunk = self._read(self._fd, min(size, 1 << 20))
            if not chunk:
                raise EOFError("supervisor closed the channel")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)


def _set_limit(which: int, value: int) -> None:
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass


@dataclass
class Plan:
    """What the fork server prepared for one child: where it works and which layers it enters."""

    workdir: str
    tmpdir: str
    limits: Limits
    uid: int | None = None
    ruleset_fd: int | None = None
    view_root: str | None = None
    ipc_ns: bool = False
    seccomp: Any = None
    cgroup_fds: tuple[int, ...] = ()
    reseed: tuple[str, ...] = ()
    view_aliased: bool = False


def _env(home: str, tmp: str) -> dict[str, str]:
    """A scrubbed environment whose every cache and temp location is the job's private tmp."""
    cache = os.path.join(tmp, ".cache")
    return {"PATH": SAFE_PATH, "HOME": home, "TMPDIR": tmp, "TMP": tmp, "TEMP": tmp, "LANG": "C.UTF-8",
            "XDG_CACHE_HOME": cache, "TORCHINDUCTOR_CACHE_DIR": os.path.join(cache, "torchinductor"),
            "TRITON_CACHE_DIR": os.path.join(cache, "triton"),
            "TORCH_EXTENSIONS_DIR": os.path.join(cache, "torch_extensions"),
            "CUDA_CACHE_PATH": os.path.join(cache, "nv"), "MPLCONFIGDIR": os.path.join(cache, "matplotlib"),
            "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _reseed(modules: tuple[str, ...]) -> None:
    """Fresh random state: what the server's generators would produce next must not predict the child's."""
    if "random" in sys.modules:
        sys.modules["random"].seed()
    if "tempfile" in sys.modules:
        tempfile_mod = sys.modules["tempfile"]
        tempfile_mod.tempdir = None  # cached in the server as its own temp dir, unwritable here
        tempfile_mod._name_sequence = None
    for name in modules:
        numpy_random = sys.modules.get(name)
        if numpy_random is not None and hasattr(numpy_random, "seed"):
            numpy_random.seed()


def isolate(plan: Plan, stdin_fd: int, stdout_fd: int, stderr_fd: int, channel_fd: int) -> None:
    """Turn the forked process into a sandboxed job. Any failure here ends the child (exit 125)."""
    limits = plan.limits
    os.setsid()
    for fd in plan.cgroup_fds:  # join the job's cgroup before anything can fork
        os.write(fd, b"0")
    workdir, tmpdir = plan.workdir, plan.tmpdir
    if plan.view_root is not None:
        view.enter(plan.view_root, ipc=plan.ipc_ns)
        if plan.view_aliased:
            view.re_point_imports()
        workdir, tmpdir = view.JOB_DIR, "/tmp"
    # reads only in the view; writes only beneath the view (read-only but for this job's own directories) or,
    # without a view, beneath the server's job directories (which hold only this job's)
    apply_ruleset(plan.ruleset_fd)
    os.dup2(stdin_fd, 0)
    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)
    os.dup2(channel_fd, CHANNEL_FD)
    os.closerange(CHANNEL_FD + 1, 65536)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update(_env(tmpdir, tmpdir))
    cpu = max(1, int(limits.cpu_seconds + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    _set_limit(resource.RLIMIT_AS, limits.memory_mb << 20)
    _set_limit(resource.RLIMIT_FSIZE, limits.file_size_mb << 20)
    _set_limit(resource.RLIMIT_NOFILE, limits.open_files)
    _set_limit(resource.RLIMIT_CORE, 0)
    if plan.uid is not None:
        _set_limit(resource.RLIMIT_NPROC, max(1, limits.max_processes))
        os.setgroups([])
        os.setresgid(plan.uid, plan.uid, plan.uid)
        os.setresuid(plan.uid, plan.uid, plan.uid)
    if plan.seccomp is not None and not plan.seccomp.load():
        raise OSError("seccomp filter refused")
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)  # noqa: SIM115
    sys.stdin = open(0, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.argv = ["main.py"]
    _reseed(plan.reseed)
    atexit._clear()


def finish(code: int, _exit: Any = os._exit) -> None:
    """End the job the way an interpreter would: atexit handlers, flushed streams, then the exit status."""
    try:
        atexit._run_exitfuncs()
    except BaseException:  # hostile atexit handlers must not change how we exit
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    _exit(code)


def exit_status(exc: BaseException) -> int:
    """Exit status Python would use for an uncaught exception (SystemExit semantics included)."""
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        try:
            print(code, file=sys.stderr)
        except BaseException:
            pass
        return 1
    try:
        traceback.print_exception(exc)
    except BaseException:
        pass
    return 1


def run_source(payload: dict[str, Any], channel: Channel) -> int:
    """Default driver: execute `payload["code"]` as the `__main__` script `main.py`."""
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins, "__file__": "main.py"}
    code = compile(payload["code"], payload.get("filename", "main.py"), "exec")
    exec(code, namespace)
    return 0
