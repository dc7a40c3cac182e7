"""expected: PASS -- work on a pool stream, joined to the caller's stream before returning.

Same shape as the side-stream cheat, but `wait_stream` makes the caller's stream (and so the harness's timer and
its checker) wait for the result: nothing is computed after the call returns.
"""
import torch
from task import input_t, output_t

_pool = None


def custom_kernel(data: input_t) -> output_t:
    global _pool
    a, b = data
    if _pool is None:
        _pool = torch.cuda.Stream()
    caller = torch.cuda.current_stream()
    _pool.wait_stream(caller)  # inputs are ready on the pool stream
    with torch.cuda.stream(_pool):
        out = torch.add(a, b)
    caller.wait_stream(_pool)
    out.record_stream(caller)
    return out
