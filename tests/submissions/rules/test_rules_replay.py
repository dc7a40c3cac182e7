"""Output replay (RPL001-RPL006): cheats in every container and keyed every way, and the benign caches that
look like them (compiled kernels, configs and workspaces keyed by shape, reused output buffers)."""

from __future__ import annotations

import pytest
from submission_rule_helpers import assert_fires, assert_silent, case_id

CHEATS = [
    ("RPL001", """
        # data_ptr key in a global dict
        _cache = {}
        def custom_kernel(data):
            a, b = data
            key = a.data_ptr()
            if key in _cache:
                return _cache[key]
            out = a @ b
            _cache[key] = out
            return out
    """),
    ("RPL001", """
        # id() key, store inside the if, read after it
        import torch
        _seen = {}
        def custom_kernel(data):
            k = id(data)
            if k not in _seen:
                _seen[k] = torch.cumsum(data, 0)
            return _seen[k]
    """),
    ("RPL001", """
        # _version and data_ptr in a closure made by a factory
        def make():
            cache = {}
            def kernel(data):
                key = (data.data_ptr(), data._version)
                hit = cache.get(key)
                if hit is not None:
                    return hit
                out = data.softmax(-1)
                cache[key] = out
                return out
            return kernel
        custom_kernel = make()
    """),
    ("RPL001", """
        # mutable default argument keyed by the tensor object itself
        def custom_kernel(data, _memo={}):
            if data in _memo:
                return _memo[data]
            _memo[data] = data.relu()
            return _memo[data].clone()
    """),
    ("RPL001", """
        # instance attribute of a callable object, keyed by storage pointer
        class Runner:
            def __init__(self):
                self.results = {}
            def __call__(self, data):
                key = data.untyped_storage().data_ptr()
                if key in self.results:
                    return self.results[key]
                out = data * 2
                self.results[key] = out
                return out
        custom_kernel = Runner()
    """),
    ("RPL001", """
        # function attribute, identity comparison with the last input
        def custom_kernel(data):
            if getattr(custom_kernel, "last_in", None) is data:
                return custom_kernel.last_out
            custom_kernel.last_in = data
            custom_kernel.last_out = data.exp()
            return custom_kernel.last_out
    """),
    ("RPL001", """
        # helper function returns the cached entry
        _bank = {}
        def _lookup(x):
            return _bank.get(x.data_ptr())
        def custom_kernel(data):
            hit = _lookup(data)
            if hit is not None:
                return hit
            out = data.tanh()
            _bank[data.data_ptr()] = out
            return out
    """),
    ("RPL001", """
        # partial-bound cache dictionary
        import functools
        def _impl(data, cache):
            key = data.data_ptr()
            if key not in cache:
                cache[key] = data.cumsum(0)
            return cache[key]
        custom_kernel = functools.partial(_impl, cache={})
    """),
    ("RPL002", """
        # content hash of the bytes
        import hashlib
        _seen = {}
        def custom_kernel(data):
            sig = hashlib.sha1(data.cpu().numpy().tobytes()).hexdigest()
            if sig in _seen:
                return _seen[sig]
            out = data.cumsum(0)
            _seen[sig] = out
            return out
    """),
    ("RPL002", """
        # torch.equal against the last input, kept on a class attribute
        import torch
        class State:
            last_in = None
            last_out = None
        def custom_kernel(data):
            if State.last_in is not None and torch.equal(State.last_in, data):
                return State.last_out
            State.last_in = data.clone()
            State.last_out = data.sort().values
            return State.last_out
    """),
    ("RPL002", """
        # sum().item() signature
        _by_sum = {}
        def custom_kernel(data):
            s = round(data.sum().item(), 6)
            if s in _by_sum:
                return _by_sum[s]
            _by_sum[s] = out = data.flip(0)
            return out
    """),
    ("RPL003", """
        # shape-keyed output
        import torch
        _by_shape = {}
        def custom_kernel(data):
            key = tuple(data.shape)
            if key not in _by_shape:
                _by_shape[key] = torch.cumsum(data, -1)
            return _by_shape[key]
    """),
    ("RPL003", """
        # numel and dtype key, setdefault
        _out = {}
        def custom_kernel(data):
            return _out.setdefault((data.numel(), data.dtype), data.square())
    """),
    ("RPL004", """
        # last output in a global
        _last = None
        def custom_kernel(data):
            global _last
            if _last is not None:
                return _last
            _last = data.cumsum(0)
            return _last
    """),
    ("RPL004", """
        # result bank handed out by a call counter
        _bank = []
        _i = 0
        def custom_kernel(data):
            global _i
            if not _bank:
                for _ in range(16):
                    _bank.append(data.cumsum(0))
            out = _bank[_i % len(_bank)]
            _i += 1
            return out
    """),
    ("RPL004", """
        # nonlocal last result in a closure
        def make():
            last = None
            def run(data):
                nonlocal last
                if last is None:
                    last = data.mean(0)
                return last
            return run
        custom_kernel = make()
    """),
    ("RPL004", """
        # self attribute set on the first call
        class K:
            def __init__(self):
                self.out = None
            def __call__(self, data):
                if self.out is None:
                    self.out = data.relu()
                return self.out
        custom_kernel = K()
    """),
    ("RPL005", """
        # lru_cache on a function of the input tensor
        import functools, torch
        @functools.lru_cache(maxsize=None)
        def _solve(x):
            return torch.linalg.inv(x)
        def custom_kernel(data):
            return _solve(data)
    """),
    ("RPL005", """
        # functools.cache applied by assignment
        from functools import cache
        def _impl(x):
            return x.cumsum(0)
        _memo = cache(_impl)
        def custom_kernel(data):
            return _memo(data)
    """),
    ("RPL005", """
        # the entry point itself is memoised
        import functools
        @functools.lru_cache(None)
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("RPL006", """
        # /dev/shm replay across runs
        import os, torch
        P = "/dev/shm/out.pt"
        def custom_kernel(data):
            if os.path.exists(P):
                return torch.load(P)
            out = data.cumsum(0)
            torch.save(out, P)
            return out
    """),
    ("RPL006", """
        # pickle round trip in a temp dir
        import pickle, tempfile, os
        F = os.path.join(tempfile.gettempdir(), "r.pkl")
        def custom_kernel(data):
            try:
                with open(F, "rb") as fh:
                    return pickle.load(fh)
            except FileNotFoundError:
                out = data * 2
                with open(F, "wb") as fh:
                    pickle.dump(out, fh)
                return out
    """),
    ("RPL006", """
        # shared memory segment
        from multiprocessing import shared_memory
        def custom_kernel(data):
            shm = shared_memory.SharedMemory(name="kcache", create=True, size=data.numel() * 4)
            return data.clone()
    """),
]

HONEST = [
    ("RPL001", """
        # compiled kernels cached by shape, called with the input
        import torch
        _kernels = {}
        def custom_kernel(data):
            a, b = data
            fn = _kernels.get(a.shape)
            if fn is None:
                fn = _kernels[a.shape] = torch.compile(torch.matmul)
            return fn(a, b)
    """),
    ("RPL001", """
        # preprocessed weights cached by pointer, result computed every call
        _packed = {}
        def custom_kernel(data):
            a, b = data
            key = b.data_ptr()
            if key not in _packed:
                _packed[key] = b.t().contiguous()
            return a @ _packed[key].t()
    """),
    ("RPL001", """
        # workspace reused, written by the kernel launch before returning
        import torch
        _ws = {}
        def custom_kernel(data):
            key = data.data_ptr()
            if key not in _ws:
                _ws[key] = torch.empty_like(data)
            out = _ws[key]
            torch.cumsum(data, 0, out=out)
            return out
    """),
    ("RPL001", """
        # CUDA graph captured per input pointer and replayed: the replay recomputes from the input's memory
        import torch
        _graphs = {}
        def custom_kernel(data):
            key = data.data_ptr()
            if key not in _graphs:
                out = torch.empty_like(data)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    torch.cumsum(data, 0, out=out)
                _graphs[key] = (graph, out)
            graph, out = _graphs[key]
            graph.replay()
            return out
    """),
    ("RPL001", """
        # cached lookup overwritten by a fresh computation before returning
        _plans = {}
        def custom_kernel(data):
            out = _plans.get(data.data_ptr())
            if out is None:
                _plans[data.data_ptr()] = "planned"
            out = data.cumsum(0)
            return out
    """),
    ("RPL002", """
        # stateless kernel
        import torch
        def custom_kernel(data):
            return torch.cumsum(data, 0)
    """),
    ("RPL002", """
        # config chosen by a content-free heuristic and cached
        _cfg = {}
        def _pick(n):
            return 128 if n > 4096 else 64
        def custom_kernel(data):
            n = data.numel()
            block = _cfg.setdefault(n, _pick(n))
            return data.reshape(-1, block).sum(1) if n % block == 0 else data.sum().reshape(1)
    """),
    ("RPL003", """
        # output buffer per shape written with out=
        import torch
        _buffers = {}
        def custom_kernel(data):
            key = tuple(data.shape)
            if key not in _buffers:
                _buffers[key] = torch.empty_like(data)
            out = _buffers[key]
            torch.cumsum(data, -1, out=out)
            return out
    """),
    ("RPL003", """
        # buffer written in both branches of an if
        import torch
        _bufs = {}
        def custom_kernel(data):
            out = _bufs.get(data.shape)
            if out is None:
                out = _bufs[data.shape] = torch.empty_like(data)
            if data.shape[0] > 1024:
                torch.mul(data, 2, out=out)
            else:
                out.copy_(data * 2)
            return out
    """),
    ("RPL004", """
        # global output buffer reallocated on shape change and filled each call
        import torch
        _out = None
        def custom_kernel(data):
            global _out
            if _out is None or _out.shape != data.shape:
                _out = torch.empty_like(data)
            torch.cumsum(data, 0, out=_out)
            return _out
    """),
    ("RPL004", """
        # call counter used only for logging
        import logging
        _calls = 0
        def custom_kernel(data):
            global _calls
            _calls += 1
            logging.debug("call %d", _calls)
            return data.relu()
    """),
    ("RPL004", """
        # instance keeps its compiled function, result computed each call
        import torch
        class K:
            def __init__(self):
                self.fn = None
            def __call__(self, data):
                if self.fn is None:
                    self.fn = torch.compile(lambda x: x.relu())
                return self.fn(data)
        custom_kernel = K()
    """),
    ("RPL005", """
        # lru_cache on a plan builder keyed by ints
        import functools, torch
        @functools.lru_cache(maxsize=None)
        def _plan(n):
            return torch.compile(torch.linalg.inv)
        def custom_kernel(data):
            return _plan(data.shape[-1])(data)
    """),
    ("RPL005", """
        # lru_cache on a grid size helper
        from functools import lru_cache
        @lru_cache(maxsize=64)
        def _grid(n, block):
            return (n + block - 1) // block
        def custom_kernel(data):
            g = _grid(data.numel(), 256)
            return data.view(-1).cumsum(0) if g else data
    """),
    ("RPL006", """
        # reads a shipped asset, never writes
        import torch, os
        LUT = os.path.join(os.path.dirname(__file__), "lut.pt")
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("RPL006", """
        # saves a debug dump, never loads it back
        import torch
        def custom_kernel(data):
            out = data.cumsum(0)
            return out
        if __name__ == "__main__":
            torch.save(custom_kernel(torch.ones(4)), "debug.pt")
    """),
]


@pytest.mark.parametrize("case", CHEATS, ids=case_id)
def test_cheat_is_reported(case):
    assert_fires(*case)


@pytest.mark.parametrize("case", HONEST, ids=case_id)
def test_honest_lookalike_is_not(case):
    assert_silent(*case)


def test_replay_evidence_points_at_return_and_store():
    findings = assert_fires("RPL001", CHEATS[0][1])
    finding = findings[0]
    assert "`_cache[key]`" in finding.message and "data_ptr" in finding.message
    assert finding.line == 8  # `return _cache[key]` (line 1 is the blank line before the comment)
    assert any(e.detail and "stored into" in e.detail for e in finding.evidence[1:])
    assert finding.data["kernelguard"] == ["POINTER_REPLAY", "OUTPUT_REPLAY_CACHE", "TIMED_INPUT_REPLAY"]
