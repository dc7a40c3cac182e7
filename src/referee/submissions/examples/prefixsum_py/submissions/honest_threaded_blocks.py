#!POPCORN leaderboard prefixsum-cpu
"""Honest, but uses threads: a two-level blocked scan whose block scans run on worker threads. Every thread is
joined before returning, so all work happens inside the call."""
import threading

import torch
from task import input_t, output_t

BLOCKS = 4


def _scan(src, dst):
    torch.cumsum(src, dim=0, out=dst)


def custom_kernel(data: input_t) -> output_t:
    n = data.shape[0]
    out = torch.zeros_like(data)
    size = max(1, -(-n // BLOCKS))
    workers = []
    for start in range(0, n, size):
        t = threading.Thread(target=_scan, args=(data[start:start + size], out[start:start + size]))
        t.start()
        workers.append(t)
    for t in workers:
        t.join()
    carry = 0.0
    for start in range(0, n, size):
        block = out[start:start + size]
        block.add_(carry)
        carry = float(block[-1])
    return out
