"""A job's directories: created under unpredictable names, emptied or removed whatever the job left in them.

Removal is iterative and never descends: it moves each subdirectory up to the top level before emptying it, so
neither the stack nor the path length grows with the depth (a recursive `rmtree` fails at about a thousand
nested directories, and a path-based walk at PATH_MAX). A server with a filesystem view reuses one pair of
directories for all its jobs: `empty` leaves them as `create` made them (no entry, mode 0700, the slot's
owner, no extended attribute).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass


@dataclass
class JobDir:
    top: str
    work: str
    tmp: str


def create(parent: str, uid: int | None) -> JobDir:
    """`top/w` (the work dir, the job's cwd) and `top/t` (its private /tmp), owned by the job's uid."""
    top = os.path.join(parent, "job-" + secrets.token_hex(12))
    os.mkdir(top, 0o711)
    work, tmp = os.path.join(top, "w"), os.path.join(top, "t")
    os.mkdir(work, 0o700)
    os.mkdir(tmp, 0o700)
    if uid is not None:
        for path in (top, work, tmp):
            os.chown(path, uid, uid)
    return JobDir(top, work, tmp)


def remove(job: JobDir) -> bool:
    """Remove everything; True when nothing is left."""
    try:
        remove_tree(job.top)
    except OSError:
        return False
    return not os.path.lexists(job.top)


def empty(job: JobDir, uid: int | None) -> bool:
    """Reset the reused directories for the next job; True when they are as new."""
    try:
        for folder in (job.work, job.tmp):
            with os.scandir(folder) as entries:
                children = list(entries)
            for entry in children:
                if entry.is_dir(follow_symlinks=False):
                    remove_tree(entry.path)
                else:
                    os.unlink(entry.path)
            for name in os.listxattr(folder, follow_symlinks=False):
                os.removexattr(folder, name, follow_symlinks=False)
            os.chmod(folder, 0o700)
            if uid is not None:
                os.chown(folder, uid, uid)
            if os.listdir(folder):
                return False
    except OSError:
        return False
    return True


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
