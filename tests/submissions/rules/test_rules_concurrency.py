"""Side streams and background threads (STR): unsynchronised streams, threads left running, and the
joined or synchronised versions that are fine."""

from __future__ import annotations

import pytest
from submission_rule_helpers import assert_fires, assert_silent, case_id

CHEATS = [
    ("STR001", """
        # matmul on a side stream, never joined
        import torch
        _s = torch.cuda.Stream()
        def custom_kernel(data):
            a, b = data
            out = torch.empty(a.shape[0], b.shape[1], device=a.device)
            with torch.cuda.stream(_s):
                torch.matmul(a, b, out=out)
            return out
    """),
    ("STR001", """
        # stream created in an inline C++ source, no synchronisation
        SRC = '''
        cudaStream_t s; cudaStreamCreate(&s);
        kernel<<<grid, block, 0, s>>>(x, y);
        '''
        def custom_kernel(data):
            return data.clone()
    """),
    ("STR002", """
        # daemon thread started at import
        import threading
        def _warm():
            pass
        threading.Thread(target=_warm, daemon=True).start()
        def custom_kernel(data):
            return data.clone()
    """),
    ("STR002", """
        # thread pool kept around
        from concurrent.futures import ThreadPoolExecutor
        POOL = ThreadPoolExecutor(4)
        def custom_kernel(data):
            return POOL.submit(lambda: data.cumsum(0)).result()
    """),
    ("STR003", """
        # background thread fills the output after return
        import threading, torch
        def custom_kernel(data):
            out = torch.empty_like(data)
            threading.Thread(target=torch.cumsum, args=(data, 0), kwargs={"out": out}).start()
            return out
    """),
    ("STR003", """
        # executor future never waited for
        import torch
        from concurrent.futures import ThreadPoolExecutor
        POOL = ThreadPoolExecutor(1)
        def custom_kernel(data):
            out = torch.empty_like(data)
            POOL.submit(torch.cumsum, data, 0, out=out)
            return out
    """),
]

HONEST = [
    ("STR001", """
        # side stream joined back
        import torch
        _s = torch.cuda.Stream()
        def custom_kernel(data):
            a, b = data
            with torch.cuda.stream(_s):
                out = a @ b
            torch.cuda.current_stream().wait_stream(_s)
            return out
    """),
    ("STR001", """
        # current stream only, no side stream
        import torch
        def custom_kernel(data):
            s = torch.cuda.current_stream()
            return data.clone()
    """),
    ("STR002", """
        # sets torch's intra-op threads
        import torch
        torch.set_num_threads(4)
        def custom_kernel(data):
            return data.clone()
    """),
    ("STR002", """
        # a lock, not a thread
        import threading
        LOCK = threading.Lock()
        def custom_kernel(data):
            with LOCK:
                return data.clone()
    """),
    ("STR003", """
        # thread joined before returning
        import threading, torch
        def custom_kernel(data):
            out = torch.empty_like(data)
            worker = threading.Thread(target=torch.cumsum, args=(data, 0), kwargs={"out": out})
            worker.start()
            worker.join()
            return out
    """),
    ("STR003", """
        # executor used as a context manager
        from concurrent.futures import ThreadPoolExecutor
        def custom_kernel(data):
            with ThreadPoolExecutor(2) as pool:
                parts = list(pool.map(lambda t: t.cumsum(0), data.chunk(2)))
            return parts
    """),
]


@pytest.mark.parametrize("case", CHEATS, ids=case_id)
def test_cheat_is_reported(case):
    assert_fires(*case)


@pytest.mark.parametrize("case", HONEST, ids=case_id)
def test_honest_lookalike_is_not(case):
    assert_silent(*case)
