"""Per-job memory, process and CPU limits with cgroups (v1 controllers or a v2 hierarchy, whichever is writable).

rlimits are per process: three processes hold three times RLIMIT_AS, and 64 processes burn 64 times
RLIMIT_CPU. A fork server runs one job at a time, so one cgroup per server (per slot) *is* a per-job group: the
server sets its limits before each fork, the child joins it before it runs anything, and the supervisor reads
the job's total CPU time, peak memory and OOM kills from it. The group is made beneath the server's own cgroup
(never beside it), so an outer limit the host put on referee still holds.
"""

from __future__ import annotations

import os
from typing import Any

V1_ROOT = "/sys/fs/cgroup"
CONTROLLERS = ("memory", "pids", "cpuacct")


def _own_paths() -> dict[str, str]:
    """The calling process's cgroup path per v1 controller, and under "" its v2 path."""
    paths: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                _, names, path = line.rstrip("\n").split(":", 2)
                for name in names.split(",") if names else [""]:
                    paths[name] = path
    except OSError:
        pass
    return paths


def _v2_mount() -> str | None:
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                left, _, right = line.partition(" - ")
                if right.startswith("cgroup2 "):
                    return left.split()[4]
    except OSError:
        pass
    return None


def _write(path: str, value: str) -> bool:
    try:
        with open(path, "w") as handle:
            handle.write(value)
        return True
    except OSError:
        return False


def _read_int(path: str, key: str | None = None) -> int | None:
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError:
        return None
    if key is None:
        text = text.strip()
        return int(text) if text.isdigit() else None
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return None


def remove_stale(prefix: str, slot_is_free: Any) -> int:
    """Remove empty job groups of slots no live server holds (left by servers that were SIGKILLed before they
    could clean up); `slot_is_free(name)` says whether the slot's lock can be taken. Returns how many went."""
    import glob

    removed = 0
    patterns = [os.path.join(V1_ROOT, "*", *(["*"] * depth), prefix + "*") for depth in range(3)]
    mount = _v2_mount()
    if mount:
        patterns += [os.path.join(mount, *(["*"] * depth), prefix + "*") for depth in range(3)]
    for path in sorted({p for pattern in patterns for p in glob.glob(pattern)}):
        if os.path.isdir(path) and slot_is_free(os.path.basename(path)):
            try:
                os.rmdir(path)
                removed += 1
            except OSError:
                pass
    return removed


class JobCgroup:
    """The slot's cgroup: `prepare(limits)` before each fork, `attach_fds` for the child, `usage()` after."""

    def __init__(self, name: str) -> None:
        self.version = 0
        self.dirs: dict[str, str] = {}
        self.why_off: str | None = None
        own = _own_paths()
        v1 = {c: os.path.join(V1_ROOT, c) for c in CONTROLLERS}
        if all(os.path.isfile(os.path.join(p, "cgroup.procs")) for p in v1.values()):
            for controller, mount in v1.items():
                target = os.path.join(mount, own.get(controller, "/").lstrip("/"), name)
                if not self._make(target):
                    break
                self.dirs[controller] = target
            else:
                self.version = 1
        if not self.version:
            self._close_dirs()
            self._try_v2(name, own.get("", "/"))
        if not self.version and self.why_off is None:
            self.why_off = "no writable cgroup with memory, pids and cpu accounting (v1 or v2)"
        self._cpu_start = self._oom_start = self._oom_next = 0
        self._cpu_next: int | None = None
        self._memory_mb: int | None = None
        self._pids: int | None = None

    def _try_v2(self, name: str, own: str) -> None:
        mount = _v2_mount()
        if mount is None:
            return
        try:
            with open(os.path.join(mount, "cgroup.controllers")) as handle:
                available = set(handle.read().split())
        except OSError:
            return
        if not {"memory", "pids", "cpu"} <= available:
            self.why_off = f"cgroup v2 at {mount} offers only {sorted(available) or 'no controllers'}"
            return
        parent = os.path.join(mount, own.lstrip("/"))
        _write(os.path.join(parent, "cgroup.subtree_control"), "+memory +pids +cpu")
        target = os.path.join(parent, name)
        if self._make(target):
            self.dirs = {c: target for c in CONTROLLERS}
            self.version = 2

    @staticmethod
    def _make(path: str) -> bool:
        try:
            if os.path.isdir(path):
                os.rmdir(path)  # a stale group of a killed server of this slot: empty by now
            os.mkdir(path)
            return True
        except OSError:
            return False

    @property
    def on(self) -> bool:
        return self.version > 0

    def prepare(self, memory_mb: int, max_processes: int) -> None:
        """Set this job's limits (written only when they changed) and remember where its CPU count starts."""
        if not self.on:
            return
        if memory_mb != self._memory_mb:
            if self.version == 1:
                _write(os.path.join(self.dirs["memory"], "memory.limit_in_bytes"), str(memory_mb << 20))
            else:
                _write(os.path.join(self.dirs["memory"], "memory.max"), str(memory_mb << 20))
                _write(os.path.join(self.dirs["memory"], "memory.swap.max"), "0")
            self._memory_mb = memory_mb
        if max_processes != self._pids:
            _write(os.path.join(self.dirs["pids"], "pids.max"), str(max(1, max_processes)))
            self._pids = max_processes
        if self.version == 1:
            _write(os.path.join(self.dirs["memory"], "memory.max_usage_in_bytes"), "0")
        if self._cpu_next is None:  # the counters only move while a job runs: the last job's end is this start
            self._oom_next, self._cpu_next = self._oom_count(), self._cpu_ns()
        self._oom_start, self._cpu_start = self._oom_next, self._cpu_next
        self._cpu_next = None

    def attach_fds(self) -> list[int]:
        """Descriptors of `cgroup.procs`, opened by the server; the child writes "0" to each to join."""
        if not self.on:
            return []
        return [os.open(os.path.join(d, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC)
                for d in sorted(set(self.dirs.values()))]

    def _cpu_ns(self) -> int:
        if self.version == 1:
            return _read_int(os.path.join(self.dirs["cpuacct"], "cpuacct.usage")) or 0
        usec = _read_int(os.path.join(self.dirs["cpuacct"], "cpu.stat"), "usage_usec")
        return (usec or 0) * 1000

    def _oom_count(self) -> int:
        if self.version == 1:
            kills = _read_int(os.path.join(self.dirs["memory"], "memory.oom_control"), "oom_kill")
            return kills if kills is not None else _read_int(os.path.join(self.dirs["memory"], "memory.failcnt")) or 0
        return _read_int(os.path.join(self.dirs["memory"], "memory.events"), "oom_kill") or 0

    def cpu_seconds(self) -> float:
        """CPU time the current job's processes used together so far."""
        return max(0, self._cpu_ns() - self._cpu_start) / 1e9 if self.on else 0.0

    def usage(self) -> dict[str, Any]:
        """After the job (all its processes are dead): its CPU time, peak memory and whether it hit the limit."""
        if not self.on:
            return {}
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        peak = _read_int(os.path.join(self.dirs["memory"], name))
        self._cpu_next, self._oom_next = self._cpu_ns(), self._oom_count()
        return {"cpu_s": max(0, self._cpu_next - self._cpu_start) / 1e9, "memory_peak_mb": (peak or 0) >> 20,
                "memory_limit_hit": self._oom_next > self._oom_start}

    def _close_dirs(self) -> None:
        for path in set(self.dirs.values()):
            try:
                os.rmdir(path)
            except OSError:
                pass
        self.dirs = {}

    def close(self) -> None:
        self._close_dirs()
        self.version = 0
