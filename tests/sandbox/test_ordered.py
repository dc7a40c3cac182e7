"""`in_order`: results in input order, and a slow item never stops the next ones from being submitted."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from referee.sandbox.ordered import in_order


def _run(count: int, in_flight: int, max_held: int, wait_s: float = 5.0) -> tuple[list[int], list[int]]:
    """Item 0 blocks until released; returns what started while it blocked, and the results after release."""
    release, started, results = threading.Event(), [], []

    def work(i: int) -> int:
        started.append(i)
        if i == 0:
            release.wait(10)
        return i

    pool = ThreadPoolExecutor(max_workers=in_flight)
    consumer = threading.Thread(target=lambda: results.extend(
        f.result() for f in in_order(lambda i: pool.submit(work, i), range(count), in_flight, max_held)))
    consumer.start()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and len(started) < count:
        time.sleep(0.01)
    during = sorted(started)
    release.set()
    consumer.join(10)
    pool.shutdown()
    return during, results


def test_a_slow_first_item_does_not_stall_the_rest() -> None:
    during, results = _run(count=40, in_flight=2, max_held=4096)
    assert during == list(range(40))  # all submitted and run while item 0 was still blocked
    assert results == list(range(40))  # and yielded in input order


def test_results_held_behind_a_slow_item_are_bounded() -> None:
    during, results = _run(count=40, in_flight=2, max_held=5, wait_s=0.5)
    assert len(during) <= 7  # the producer waits once 5 finished results are held behind item 0
    assert results == list(range(40))
