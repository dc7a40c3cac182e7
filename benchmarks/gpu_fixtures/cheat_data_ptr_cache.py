"""expected: FAIL -- answers cached by the inputs' device pointers (output replay, PRB102).

Benchmarks reuse the same device buffers call after call, so a cache keyed by `data_ptr()` returns the first answer
even when the values in the buffer have changed.
"""
import torch
from task import input_t, output_t

_cache = {}


def custom_kernel(data: input_t) -> output_t:
    a, b = data
    key = (a.data_ptr(), b.data_ptr(), a.numel())
    out = _cache.get(key)
    if out is None:
        out = a + b
        torch.cuda.synchronize()
        _cache[key] = out
    return out
