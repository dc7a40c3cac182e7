"""expected: FAIL -- correct for the first calls (the correctness tests), then skips the work (PRB105).

After a few calls it returns a reused buffer without computing into it: the benchmark loop times almost nothing.
"""
from task import input_t, output_t

_calls = 0
_buffer = {}


def custom_kernel(data: input_t) -> output_t:
    global _calls
    a, b = data
    _calls += 1
    key = (a.shape, a.dtype)
    if _calls > 8 and key in _buffer:
        return _buffer[key]
    out = a + b
    _buffer[key] = out
    return out
