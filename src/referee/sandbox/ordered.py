"""In-order results over a pool without head-of-line blocking.

A window of the next N submissions, drained from its oldest, stalls the pool whenever the oldest item is slow:
the rest of the window finishes and nothing new is submitted until that one is done. On a real problem file (a
few canonical solutions take 2.6 s among 0.1 s ones) that left one of two cores idle for a quarter of the run.
Here the bound is on work *in flight* (submitted, not finished), so the pool always has the next items, and
finished results wait, in order, behind a slow one; a second, larger bound caps how many wait.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: finished results held behind a slow one before the producer waits for it (memory bound, not a speed knob)
MAX_HELD = 4096


def in_order(submit: Callable[[T], Future[R]], items: Iterable[T], in_flight: int,
             max_held: int = MAX_HELD) -> Iterator[Future[R]]:
    """Submit `items` keeping at most `in_flight` unfinished; yield their futures in input order, each once it is
    done (or, past `max_held` waiting, the oldest one to wait on)."""
    slots = threading.Semaphore(max(1, in_flight))
    pending: deque[Future[R]] = deque()
    for item in items:
        slots.acquire()
        future = submit(item)
        future.add_done_callback(lambda _: slots.release())
        pending.append(future)
        while pending and (pending[0].done() or len(pending) > max_held):
            yield pending.popleft()
    while pending:
        yield pending.popleft()
