"""The job's filesystem view: what a job can see at all, built once per fork server.

In the server's private mount namespace a read-only tmpfs becomes the job's `/`. It holds read-only binds of
the system directories (`/usr`, `/etc`, merged-usr links), the interpreter and the site-packages directories
on the server's `sys.path`, a *copy* of referee's Python modules (no data folders, no examples, no checkout
around them), a minimal `/dev` (null, zero, full, random, urandom, the GPU nodes), and empty mount points for
`/proc` (mounted once by the jobs' PID namespace), `/tmp`, `/dev/shm` and the work directory `/job`, onto which
the server binds, once, the directories its jobs use one after the other (emptied after each job); the child
`chroot`s into the view (and takes an IPC namespace of its own when it may fork). It cannot see the checkout,
databases, other jobs, other `/tmp` content or unix sockets outside, and every path outside its job is
read-only (it needs no mount namespace of its own: it cannot mount, and seccomp refuses `mount` anyway).

Landlock read rights back this up (and stand alone when there is no mount namespace, i.e. not root): the job
may read and execute only beneath the view (or the same host paths), and write only in its job directories.
"""

from __future__ import annotations

import ctypes
import glob
import os
import secrets
import shutil
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 8, 32, 4096, 16384
MS_PRIVATE, MNT_DETACH = 1 << 18, 2
#: system directories every job may read (merged-usr links are recreated as links)
SYSTEM_PATHS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/sys")
DEV_NODES = ("null", "zero", "full", "random", "urandom")
#: folders of referee's package that hold data (expected values, example submissions), never copied
DATA_DIRS = frozenset({"data", "examples", "fixtures", "templates", "static", "migrations", "__pycache__"})
MOUNT_POINTS = ("proc", "tmp", "job", "dev/shm")
JOB_DIR = "/job"
#: host folders the job's own mounts cover (its private /tmp and /dev/shm): a Python path beneath one of them (a
#: checkout or virtual environment under /tmp, as CI runners make) is shown at HOST_ALIAS + its path instead
COVERED = ("/tmp", "/dev/shm")
HOST_ALIAS = "/.host"

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> bool:
    return _libc.mount(source.encode() if source else None, target.encode(), fstype.encode() if fstype else None,
                       flags, data.encode() if data else None) == 0


def _bind_ro(source: str, target: str) -> bool:
    if not _mount(source, target, None, MS_BIND | MS_REC):
        return False
    return _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)


def in_view(path: str) -> str:
    """Where a host path appears inside the view: the same path, unless a job mount covers it."""
    for covered in COVERED:
        if path == covered or path.startswith(covered + "/"):
            return HOST_ALIAS + path
    return path


def python_paths(extra: list[str]) -> list[str]:
    """Directories the job's interpreter must import from: prefixes, sys.path entries, caller's extras."""
    paths = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, os.path.dirname(sys.executable))}
    paths |= {os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)}
    paths |= {os.path.realpath(p) for p in extra if os.path.isdir(p)}
    return sorted(paths)


def package_files(package_dir: str) -> list[str]:
    """referee's modules the harnesses import (relative paths); data folders and non-Python files are left out."""
    found = []
    for folder, dirs, files in os.walk(package_dir):
        dirs[:] = [d for d in dirs if d not in DATA_DIRS]
        found += [os.path.relpath(os.path.join(folder, f), package_dir) for f in files if f.endswith(".py")]
    return sorted(found)


def _copy_package(package_dir: str, target: str) -> None:
    for rel in package_files(package_dir):
        dest = os.path.join(target, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(os.path.join(package_dir, rel), dest)
        cached = glob.glob(os.path.join(package_dir, os.path.dirname(rel), "__pycache__",
                                        os.path.basename(rel)[:-3] + ".*.pyc"))
        for pyc in cached:  # compiled copies make lazy imports as fast as outside the view
            os.makedirs(os.path.join(os.path.dirname(dest), "__pycache__"), exist_ok=True)
            shutil.copyfile(pyc, os.path.join(os.path.dirname(dest), "__pycache__", os.path.basename(pyc)))


class View:
    """The prepared view. `root` is None when it could not be built (the job then sees the host, Landlock-read
    restricted); `why_off` says why."""

    def __init__(self, mount_at: str, package_dir: str, extra_paths: list[str], gpu_nodes: tuple[str, ...]) -> None:
        self.package_dir = os.path.realpath(package_dir)
        # everything else in the package's parent is visible read-only; the package itself is replaced by a copy
        self.python = python_paths(extra_paths)
        self.gpu_nodes = gpu_nodes
        self.root: str | None = None
        self.why_off: str | None = None
        #: some import path lives under a covered folder: the job's import state must be re-pointed (`re_point`)
        self.aliased = any(in_view(p) != p for p in [*self.python, self.package_dir])
        try:
            self._build(mount_at)
            self.root = mount_at
        except OSError as exc:
            self.why_off = f"could not build the view: {exc}"

    def _build(self, root: str) -> None:
        os.makedirs(root, exist_ok=True)
        if not _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64m"):
            raise OSError(ctypes.get_errno(), "tmpfs for the view")
        for path in SYSTEM_PATHS:
            if os.path.islink(path):
                os.symlink(os.readlink(path), root + path)
            elif os.path.isdir(path):
                os.makedirs(root + path, exist_ok=True)
                if not _bind_ro(path, root + path):
                    raise OSError(ctypes.get_errno(), f"bind {path}")
        for path in self.python:
            target = root + in_view(path)
            if os.path.isdir(target) and os.listdir(target):
                continue  # already visible through an enclosing bind
            os.makedirs(target, exist_ok=True)
            if not _bind_ro(path, target):
                raise OSError(ctypes.get_errno(), f"bind {path}")
        self._package(root)
        self._dev(root)
        for point in MOUNT_POINTS:
            os.makedirs(os.path.join(root, point), exist_ok=True)
        os.chmod(os.path.join(root, "tmp"), 0o1777)
        if not _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV):
            raise OSError(ctypes.get_errno(), "read-only view")

    def _package(self, root: str) -> None:
        """A fresh tmpfs at the package's own path holds the copy, hiding any data folder a bind brought along."""
        target = root + in_view(self.package_dir)
        os.makedirs(target, exist_ok=True)
        if not _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64m"):
            raise OSError(ctypes.get_errno(), "tmpfs for the package")
        _copy_package(self.package_dir, target)
        if not _mount(None, target, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV):
            raise OSError(ctypes.get_errno(), "read-only package copy")

    def _dev(self, root: str) -> None:
        dev = os.path.join(root, "dev")
        os.makedirs(dev, exist_ok=True)
        for node in [f"/dev/{n}" for n in DEV_NODES] + list(self.gpu_nodes):
            if not os.path.exists(node):
                continue
            target = root + node
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.isdir(node):
                os.makedirs(target, exist_ok=True)
            else:
                open(target, "w").close()  # an empty file as the bind's mount point
            if not _mount(node, target, None, MS_BIND | MS_REC):
                raise OSError(ctypes.get_errno(), f"bind {node}")
        for name, dest in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                           ("stderr", "/proc/self/fd/2")):
            os.symlink(dest, os.path.join(dev, name))

    def read_paths(self) -> list[str]:
        """Host paths the job may read and execute beneath (Landlock), in or out of the view."""
        system = [p for p in SYSTEM_PATHS if os.path.isdir(p) and not os.path.islink(p)]
        nodes = [f"/dev/{n}" for n in DEV_NODES] + list(self.gpu_nodes)
        return [*system, *self.python, "/proc", *nodes, *([self.root] if self.root else [])]

    def close(self) -> None:
        if self.root:
            _libc.umount2(self.root.encode(), 2)


def package_read_paths(package_dir: str) -> tuple[list[str], list[str]]:
    """Without a view: the package's folders (to list) and its modules and their compiled copies (to read), one
    by one, so the files of its data folders stay unreadable (a Landlock rule on a folder covers all beneath)."""
    package_dir = os.path.realpath(package_dir)
    files = [os.path.join(package_dir, rel) for rel in package_files(package_dir)]
    folders = sorted({os.path.dirname(f) for f in files} | {package_dir})
    compiled = [c for f in folders for c in glob.glob(os.path.join(f, "__pycache__", "*.pyc"))
                if os.path.basename(c).split(".")[0] + ".py" in {os.path.basename(x) for x in files
                                                                 if os.path.dirname(x) == f}]
    return folders, files + compiled


def private_mounts(root: str) -> bool:
    """Own mount namespace: a tmpfs for this server's work, and the interpreter reachable by the job uid.

    When Python lives under a folder the job uid cannot enter (pyenv under root's 0700 home, a checkout in a
    0700 mktemp folder), that folder is replaced, in this namespace only, by an empty tmpfs holding read-only
    binds of just the paths the interpreter imports from, so the job can import but sees nothing else there.
    """
    if _libc.unshare(CLONE_NEWNS) != 0:
        return False
    if _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False
    _libc.mount(b"tmpfs", root.encode(), b"tmpfs", 0, b"mode=0711,size=1g")
    needed = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, os.path.dirname(sys.executable),
                                            os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                            *[p for p in sys.path if p and os.path.isdir(p)])}
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
            stage = os.path.join(root, "stage-" + secrets.token_hex(6))
            os.mkdir(stage)
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


JOB_POINTS = ("job", "tmp", "dev/shm")


def mount_proc(view_root: str) -> bool:
    """The view's /proc, mounted once by a process of the jobs' PID namespace (its reaper), so it shows only
    that namespace; without one, by the server (the host's processes stay visible: the layer is off)."""
    return _mount("proc", os.path.join(view_root, "proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def bind_job(view_root: str, job_dir: str, tmp_dir: str) -> None:
    """In the server, once: the jobs' directories onto the view's mount points (one job at a time per server,
    so binding in the server's namespace needs no mount namespace per job)."""
    for source, point in zip((job_dir, tmp_dir, tmp_dir), JOB_POINTS, strict=True):
        if not _mount(source, os.path.join(view_root, point), None, MS_BIND):
            raise OSError(ctypes.get_errno(), f"bind {point}")


def re_point_imports() -> None:
    """In the child, once inside the view: import paths under a covered folder are read at their alias.

    The forked interpreter's `sys.path`, the packages' `__path__` (used for lazy submodule imports) and the
    finder cache still name the host paths, which the job's /tmp now hides; without this a checkout under /tmp
    could import nothing new inside a job.
    """
    sys.path[:] = [in_view(p) if p else p for p in sys.path]
    sys.path_importer_cache.clear()
    for module in list(sys.modules.values()):
        search = getattr(module, "__path__", None)
        if isinstance(search, list):
            search[:] = [in_view(p) for p in search]
    sys.executable = in_view(sys.executable)


def enter(view_root: str, *, ipc: bool) -> None:
    """In the child (root, before dropping privileges): its own IPC namespace when it may fork, then the view."""
    if ipc and _libc.unshare(CLONE_NEWIPC) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWIPC) for the job")
    os.chroot(view_root)
    os.chdir(JOB_DIR)
