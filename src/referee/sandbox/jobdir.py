"""A job's directories: created under unpredictable names, removed whatever the job left in them.

As root each job gets a tmpfs of its own (size-capped): removing it is one lazy unmount, however many files or
however deep a tree the job made (a recursive `rmtree` fails at about a thousand nested directories). Without
mounts the removal is iterative and never descends: it moves each subdirectory up to the top level before
emptying it, so neither the stack nor the path length grows with the depth.
"""

from __future__ import annotations

import ctypes
import os
import secrets
from dataclasses import dataclass

MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class JobDir:
    top: str
    work: str
    tmp: str
    mounted: bool


def create(parent: str, uid: int | None, size_mb: int, use_tmpfs: bool) -> JobDir:
    """`top/w` (the work dir, the job's cwd) and `top/t` (its private /tmp), owned by the job's uid."""
    top = os.path.join(parent, "job-" + secrets.token_hex(12))
    os.mkdir(top, 0o700)
    mounted = False
    if use_tmpfs:
        options = f"mode=0700,size={max(1, size_mb)}m"
        mounted = _libc.mount(b"tmpfs", top.encode(), b"tmpfs", 2 | 4, options.encode()) == 0  # nosuid, nodev
    work, tmp = os.path.join(top, "w"), os.path.join(top, "t")
    os.mkdir(work, 0o700)
    os.mkdir(tmp, 0o700)
    if uid is not None:
        for path in (top, work, tmp):
            os.chown(path, uid, uid)
    return JobDir(top, work, tmp, mounted)


def remove(job: JobDir) -> bool:
    """Remove everything; True when nothing is left."""
    if job.mounted and _libc.umount2(job.top.encode(), MNT_DETACH) == 0:
        job.mounted = False
    try:
        remove_tree(job.top)
    except OSError:
        return False
    return not os.path.lexists(job.top)


def remove_tree(top: str) -> None:
    """Iterative removal that never follows links and never builds a deep path."""
    if not os.path.lexists(top):
        return
    pending = [top]
    emptied: list[str] = []
    counter = 0
    while pending:
        folder = pending.pop()
        emptied.append(folder)
        os.chmod(folder, 0o700)
        with os.scandir(folder) as entries:
            children = list(entries)
        for entry in children:
            if entry.is_dir(follow_symlinks=False):
                counter += 1
                flat = os.path.join(top, f".rm-{counter}-{secrets.token_hex(4)}")
                if folder != top:
                    os.rename(entry.path, flat)  # one level below the top, whatever its depth was
                pending.append(flat if folder != top else entry.path)
            else:
                os.unlink(entry.path)
    for folder in reversed(emptied):
        try:
            os.rmdir(folder)
        except FileNotFoundError:
            pass
