"""Isolated execution of untrusted Python, shared by every part of referee.

Each job runs in its own forked process from a warm fork server: fresh empty work directory, scrubbed
environment, rlimits (CPU, memory, file size, open files, processes), Landlock write confinement, an
unprivileged uid, its own network namespace, and a wall-clock kill of its whole process group.
"""

from referee.sandbox.child import Channel
from referee.sandbox.limits import Limits, RunResult
from referee.sandbox.pool import Job, Sandbox, default_sandbox

__all__ = ["Channel", "Job", "Limits", "RunResult", "Sandbox", "default_sandbox"]
