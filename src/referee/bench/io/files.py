"""Safe file access for untrusted leg folders: regular files only, bounded reads, bounded lines.

A leg folder is producer-controlled. `server.log` could be a symlink to /dev/zero or a FIFO, a claim could be a
multi-gigabyte file, a log could hold one endless line; none of that may hang or exhaust the auditor.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path


def is_regular(path: Path) -> bool:
    """True only for a regular file (after following links): no devices, FIFOs, sockets or directories."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def bounded_lines(path: Path, max_line: int) -> Iterator[bytes]:
    """Lines of a regular file, each cut to `max_line` bytes (the rest of an overlong line is skipped), reading
    no more than the size the file had when opened."""
    with open(path, "rb") as handle:
        budget = os.fstat(handle.fileno()).st_size
        while budget > 0:
            line = handle.readline(min(max_line, budget))
            if not line:
                return
            budget -= len(line)
            if not line.endswith(b"\n") and len(line) >= max_line:
                while budget > 0:
                    rest = handle.readline(min(1 << 20, budget))
                    if not rest:
                        break
                    budget -= len(rest)
                    if rest.endswith(b"\n"):
                        break
            yield line
