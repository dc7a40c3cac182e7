"""Resource limits and the structured result of one sandboxed run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["ok", "error", "timeout", "cpu_limit", "memory", "output_limit", "signal", "crashed"]


@dataclass(frozen=True)
class Limits:
    """What one untrusted run may use. Defaults suit a short pure-Python grading job."""

    cpu_seconds: float = 5.0
    wall_seconds: float = 10.0
    memory_mb: int = 1024
    file_size_mb: int = 16
    open_files: int = 256
    #: processes (and threads) the run's uid may hold at once; 1 = no fork, no thread
    max_processes: int = 1
    max_output_bytes: int = 1 << 20
    max_message_bytes: int = 16 << 20
    #: memory of the whole job (all its processes, tmpfs files included) where cgroups exist; None = memory_mb.
    #: Set it when memory_mb is raised only for address space (CUDA reserves terabytes of it).
    rss_mb: int | None = None
    #: size of the tmpfs holding the job's work dir and private /tmp (as root: the server's tmpfs is resized to it)
    disk_mb: int = 1024

    def replace(self, **changes: Any) -> Limits:
        return Limits(**{**asdict(self), **changes})

    @property
    def cgroup_memory_mb(self) -> int:
        return self.rss_mb if self.rss_mb is not None else self.memory_mb

    @classmethod
    def cpu_bound(cls, cpu_seconds: float, backstop_factor: float = 10.0, **changes: Any) -> Limits:
        """CPU time as the limit that decides, the wall clock only as a generous backstop.

        CPU time is what the job itself burns (all its processes, where cgroups exist), so a loaded host does
        not turn a correct answer into a timeout; the wall clock still ends a job that sleeps or blocks."""
        wall = max(cpu_seconds * backstop_factor, cpu_seconds + 30.0)
        return cls(cpu_seconds=cpu_seconds, wall_seconds=wall, **changes)


@dataclass
class RunResult:
    """What happened to one run. Never raised as an exception: hostile code gets a result, not a crash."""

    status: Status
    exit_code: int | None = None
    signal: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    duration_s: float = 0.0
    cpu_s: float = 0.0
    files: dict[str, bytes] = field(default_factory=dict)
    messages: list[Any] = field(default_factory=list)
    value: Any = None
    error: str | None = None
    #: why the fork server that ran this job is not trusted with another (clean-up or supervision failed); set
    #: by the pool, so a consumer can tell a job that broke the sandbox from one that merely failed
    retired: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    def summary(self) -> str:
        """One line for logs and findings."""
        bits = [self.status]
        if self.exit_code is not None:
            bits.append(f"exit={self.exit_code}")
        if self.signal is not None:
            bits.append(f"signal={self.signal}")
        if self.error:
            bits.append(self.error)
        return " ".join(bits)
