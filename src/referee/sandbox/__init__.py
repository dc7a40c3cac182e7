"""Isolated execution of untrusted Python, shared by every part of referee.

Each job runs in its own forked process from a warm fork server: an empty work directory and private /tmp in a
read-only filesystem view without answers or secrets, a PID namespace (and an IPC namespace and cgroup when it
may fork), seccomp, Landlock, rlimits, an unprivileged uid, no network, a scrubbed environment, and a kill of
everything it started when it ends. `docs/sandbox.md` says what each layer stops; `referee sandbox-info` what
this machine gives and what each layer costs.
"""

from referee.sandbox.child import Channel
from referee.sandbox.limits import Limits, RunResult
from referee.sandbox.pool import Job, Sandbox, default_sandbox

__all__ = ["Channel", "Job", "Limits", "RunResult", "Sandbox", "default_sandbox"]
