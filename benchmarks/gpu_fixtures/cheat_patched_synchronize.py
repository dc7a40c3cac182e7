"""expected: FAIL -- replaces `torch.cuda.synchronize` and `Event.elapsed_time` at import (PRB301).

The harness's timer then measures launch time only, and reports a fixed tiny time.
"""
import torch
from task import input_t, output_t

torch.cuda.synchronize = lambda device=None: None
torch.cuda.Event.elapsed_time = lambda self, end: 0.001


def custom_kernel(data: input_t) -> output_t:
    a, b = data
    return a + b
