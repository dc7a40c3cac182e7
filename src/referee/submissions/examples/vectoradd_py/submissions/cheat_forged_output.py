#!POPCORN leaderboard vectoradd-cpu
"""Cheat (result-channel forgery): prints the harness's result lines and writes them into every open descriptor,
hoping one of them is the result pipe, then returns garbage."""
import os

import torch
from task import input_t, output_t

_FAKE = "check: pass\nbenchmark.0.mean: 1.0\nbenchmark.0.best: 1.0\n"
print(_FAKE, end="")
for _fd in range(3, 64):
    try:
        os.write(_fd, _FAKE.encode())
    except OSError:
        pass


def custom_kernel(data: input_t) -> output_t:
    a, _ = data
    return torch.zeros_like(a)
