"""Which runs may hold threads: the sandbox's cheap single-process mode for every run that cannot need them.

A run with `max_processes=1` gets RLIMIT_NPROC = 1 under its slot's uid (no fork, no thread), rlimits only
and a seccomp filter that refuses SysV IPC. A run allowed threads gets a cgroup, an IPC namespace and a sweep
of its PID namespace after it ends: about 0.5 ms of CPU per run more, a sixth of a small grade (measured in
docs/loopholes.md, "Speed"). Honest code that uses threads must still be paid (issue 9: thread pools), so the
allowance is decided from the code, before it runs:

- single-process when every module the completion (and the problem's setup code) imports by name is one known
  never to start a thread, and it names none of `__import__`, `exec`, `eval`, `compile`;
- `MAX_THREADS` otherwise (any other import, a relative import, dynamic code, code too deep to scan).

Nothing here can weaken isolation: the single-process mode is the stricter one. Code that hides a thread
behind an import the scan cannot see (`sys.modules["threading"]`) only gets "can't start new thread".
"""

from __future__ import annotations

from referee.loopholes.detectors import StaticScan

#: threads and processes a run may hold when it may start threads (the guard refuses new processes)
MAX_THREADS = 8

#: modules (full dotted names) that start no thread whatever their caller does with them
THREADLESS = frozenset({
    "__future__", "abc", "array", "base64", "binascii", "bisect", "builtins", "calendar", "cmath", "collections",
    "collections.abc", "contextlib", "copy", "ctypes", "dataclasses", "datetime", "decimal", "difflib", "enum",
    "fnmatch", "fractions", "functools", "gc", "graphlib", "hashlib", "heapq", "hmac", "inspect", "io",
    "itertools", "json", "keyword", "logging", "math", "numbers", "operator", "os", "os.path", "pathlib",
    "pprint", "random", "re", "reprlib", "secrets", "signal", "sortedcontainers", "statistics", "string",
    "struct", "sys", "tempfile", "textwrap", "time", "traceback", "types", "typing", "typing_extensions",
    "unicodedata", "warnings", "weakref", "zlib",
})


def may_start_threads(*scans: StaticScan) -> bool:
    """True when any of the scanned sources could start a thread (see the module docstring)."""
    return any(scan.dynamic or not scan.imports <= THREADLESS for scan in scans)


def processes_for(*scans: StaticScan) -> int:
    """The `max_processes` limit of a run of this code."""
    return MAX_THREADS if may_start_threads(*scans) else 1
