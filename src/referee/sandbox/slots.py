"""Worker slots: each fork server locks an unprivileged uid of its own for its lifetime (a lock file per uid), so
RLIMIT_NPROC, the leftover sweep and the job cgroup (named after the uid) touch only its jobs."""

from __future__ import annotations

import fcntl
import os
import tempfile
from typing import Any

UID_BASE = 61000
UID_SLOTS = 512
CGROUP_PREFIX = "referee-sbx-"
LOCK_DIR = "/run/referee-sandbox" if os.path.isdir("/run") and os.access("/run", os.W_OK) else tempfile.gettempdir()


def slot_is_free(group: str) -> bool:
    """Whether no live server holds the uid slot a job group `referee-sbx-<uid>` belongs to."""
    uid = group.rpartition("-")[2]
    if not uid.isdigit():
        return False
    try:
        with open(os.path.join(LOCK_DIR, f"uid-{uid}.lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True  # closing the file releases the lock
    except OSError:
        return False


def claim_uid() -> tuple[int | None, Any]:
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
