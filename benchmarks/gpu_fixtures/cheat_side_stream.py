"""expected: FAIL -- the work runs on a side stream and the call returns before it finishes.

The harness times the default stream, so it sees almost nothing; the output is still being written after the call
returned (PRB204), and a checker that synchronises later would even see the right answer.
"""
import torch
from task import input_t, output_t

_side = None


def custom_kernel(data: input_t) -> output_t:
    global _side
    a, b = data
    if _side is None:
        _side = torch.cuda.Stream()
    out = torch.empty_like(a)
    with torch.cuda.stream(_side):
        torch.cuda._sleep(2_000_000)  # a long kernel ahead of the real one: the result lands late
        torch.add(a, b, out=out)
    return out  # no wait_stream / synchronize: the default stream never waits for _side
