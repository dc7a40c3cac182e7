"""The probe driver's isolated call tells *its* thread's end from any other thread's (issue 10: the environment —
here host load — is never called cheating).

Under load a call outlives the driver's poll interval while an earlier call's thread finishes exiting; counting
threads then cut the running call short as if it had raised SystemExit, and an honest kernel FAILed PRB101/PRB102.
"""

from __future__ import annotations

import threading
import time

from referee.submissions.probes.isolation import _POLL_S, make_isolated_call


def test_a_slow_call_survives_other_threads_ending_meanwhile():
    call = make_isolated_call()
    release = threading.Event()
    others = [threading.Thread(target=release.wait) for _ in range(3)]
    for thread in others:
        thread.start()

    def slow_kernel(x: int) -> int:
        release.set()  # the other threads end while this call is still running
        time.sleep(_POLL_S * 6)
        return x * 2

    result = call(slow_kernel, 21)
    for thread in others:
        thread.join()
    assert result.returned and result.value == 42 and result.error is None


def test_system_exit_and_exceptions_are_still_told_apart():
    call = make_isolated_call()

    def exits(_: int) -> None:
        time.sleep(_POLL_S * 3)
        raise SystemExit(0)

    def raises(_: int) -> None:
        raise ValueError("wrong shape")

    exited = call(exits, 1)
    assert not exited.returned and exited.error is None  # SystemExit leaves no report: the driver says so
    raised = call(raises, 1)
    assert not raised.returned and isinstance(raised.error, ValueError)
