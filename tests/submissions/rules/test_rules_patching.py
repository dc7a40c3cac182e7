"""Reference use (REF) and harness/timer/checker patching (PAT): cheats reached through aliases and
obfuscation, and honest code that touches the same modules without changing them."""

from __future__ import annotations

import pytest
from submission_rule_helpers import assert_fires, assert_silent, case_id

CHEATS = [
    ("REF001", """
        # plain import of the reference
        import reference
        def custom_kernel(data):
            return data.clone()
    """),
    ("REF001", """
        # relative from-import
        from .reference import generate_input as gi
        def custom_kernel(data):
            return data.clone()
    """),
    ("REF001", """
        # importlib with a constant name
        import importlib
        ref = importlib.import_module("reference")
        def custom_kernel(data):
            return data.clone()
    """),
    ("REF002", """
        # returns ref_kernel's answer
        from reference import ref_kernel
        def custom_kernel(data):
            return ref_kernel(data)
    """),
    ("REF002", """
        # aliased from-import
        from reference import ref_kernel as fast
        def custom_kernel(data):
            return fast(data)
    """),
    ("REF002", """
        # reached through sys.modules and getattr
        import sys
        def custom_kernel(data):
            ref = sys.modules["reference"]
            return getattr(ref, "ref_" + "kernel")(data)
    """),
    ("REF002", """
        # precomputes the public cases with generate_input
        import reference
        _pre = [reference.generate_input(size=n, seed=s) for n, s in ((1024, 1), (2048, 2))]
        def custom_kernel(data):
            return data.clone()
    """),
    ("REF003", """
        # falls back to torch.matmul on any error
        import torch
        def custom_kernel(data):
            a, b = data
            try:
                return my_kernel(a, b)
            except Exception:
                return torch.matmul(a, b)
    """),
    ("REF003", """
        # bare except returning the library op
        import torch.nn.functional as F
        def custom_kernel(data):
            try:
                return fused_softmax(data)
            except:
                return F.softmax(data, -1)
    """),
    ("PAT001", """
        # aliased Event class, setattr with a concatenated name
        import torch as T
        E = T.cuda.Event
        _orig = E.elapsed_time
        setattr(E, "elapsed" + "_time", lambda s, e: _orig(s, e) / 100)
        def custom_kernel(data):
            return data.clone()
    """),
    ("PAT001", """
        # time.perf_counter replaced via from-import of the module
        import time as _t
        _real = _t.perf_counter
        _t.perf_counter = lambda: _real() * 0.01
        def custom_kernel(data):
            return data
    """),
    ("PAT001", """
        # __import__ with a computed name and type() of an instance
        t = __import__("tor" + "ch")
        ev = t.cuda.Event(enable_timing=True)
        type(ev).elapsed_time = lambda self, other: 0.001
        def custom_kernel(data):
            return data
    """),
    ("PAT001", """
        # mock.patch started at import
        from unittest import mock
        mock.patch("torch.cuda.synchronize", lambda: None).start()
        def custom_kernel(data):
            return data
    """),
    ("PAT002", """
        # allclose always true
        import torch
        torch.allclose = lambda *a, **k: True
        def custom_kernel(data):
            return torch.zeros_like(data)
    """),
    ("PAT002", """
        # Tensor.__eq__ replaced through getattr on the module
        import torch
        Tensor = getattr(torch, "Ten" + "sor")
        Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
        def custom_kernel(data):
            return data
    """),
    ("PAT002", """
        # testing.assert_close deleted
        import torch.testing
        del torch.testing.assert_close
        def custom_kernel(data):
            return data
    """),
    ("PAT003", """
        # checker replaced on __main__ via sys.modules
        import sys
        _main = sys.modules["__main__"]
        _main.check_implementation = lambda data, out: (True, "")
        def custom_kernel(data):
            return data
    """),
    ("PAT003", """
        # stats function replaced on an object found by walking gc
        import gc
        for obj in gc.get_objects():
            if hasattr(obj, "calculate_stats"):
                obj.calculate_stats = lambda durations: None
        def custom_kernel(data):
            return data
    """),
    ("PAT003", """
        # import __main__ and setattr
        import __main__
        setattr(__main__, "clear_l2_cache", lambda: None)
        def custom_kernel(data):
            return data
    """),
    ("PAT004", """
        # print replaced in builtins
        import builtins
        _print = builtins.print
        builtins.print = lambda *a, **k: _print("benchmark.0.mean: 1.0")
        def custom_kernel(data):
            return data.clone()
    """),
    ("PAT004", """
        # __builtins__ dictionary write
        __builtins__["isinstance"] = lambda obj, cls: True
        def custom_kernel(data):
            return data
    """),
    ("PAT005", """
        # fake time module installed
        import sys, types
        fake = types.ModuleType("time")
        fake.perf_counter = lambda: 0.0
        sys.modules["time"] = fake
        def custom_kernel(data):
            return data.clone()
    """),
    ("PAT005", """
        # sys.modules.update and a meta path hook
        import sys
        sys.modules.update({"torch.testing": object()})
        sys.meta_path.insert(0, object())
        def custom_kernel(data):
            return data
    """),
    ("PAT006", """
        # code object swap
        import torch
        def _always(*args, **kwargs):
            return None
        torch.testing.assert_close.__code__ = _always.__code__
        def custom_kernel(data):
            return data
    """),
    ("PAT006", """
        # globals of a harness function rewritten
        import sys
        fn = sys.modules["__main__"].check_implementation
        fn.__globals__["verbose_allclose"] = lambda *a, **k: []
        def custom_kernel(data):
            return data
    """),
]

HONEST = [
    ("REF001", """
        # imports only the task's types
        from task import input_t, output_t
        def custom_kernel(data: input_t) -> output_t:
            return data.clone()
    """),
    ("REF001", """
        # self-test under the main guard imports the reference
        def custom_kernel(data):
            return data.cumsum(0)
        if __name__ == "__main__":
            from reference import generate_input, check_implementation
            d = generate_input(size=16, seed=1)
            print(check_implementation(d, custom_kernel(d)))
    """),
    ("REF002", """
        # own function that happens to be called ref_kernel
        def ref_kernel(data):
            return data.cumsum(0)
        def custom_kernel(data):
            return ref_kernel(data)
    """),
    ("REF002", """
        # torch.utils import with a similar name
        import torch.utils.checkpoint as ckpt
        def custom_kernel(data):
            return data.relu()
    """),
    ("REF003", """
        # fallback on ImportError at import time only
        try:
            import triton
        except ImportError:
            triton = None
        def custom_kernel(data):
            return data.clone()
    """),
    ("REF003", """
        # errors re-raised with context
        def custom_kernel(data):
            try:
                return my_kernel(data)
            except Exception as exc:
                raise RuntimeError("kernel failed") from exc
    """),
    ("PAT001", """
        # creates and records its own events
        import torch
        def custom_kernel(data):
            start = torch.cuda.Event(enable_timing=True)
            start.record()
            return data.clone()
    """),
    ("PAT001", """
        # local variable named time, own timer attribute on own object
        import time
        class Timer:
            pass
        t = Timer()
        t.perf_counter = time.perf_counter
        def custom_kernel(data):
            begin = time.perf_counter()
            return data.clone()
    """),
    ("PAT002", """
        # uses allclose for a sanity check
        import torch
        def custom_kernel(data):
            out = data.cumsum(0)
            assert torch.allclose(out[-1], data.sum(0), atol=1e-3)
            return out
    """),
    ("PAT002", """
        # defines its own allclose helper
        import torch
        def allclose(a, b):
            return (a - b).abs().max() < 1e-3
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("PAT003", """
        # prints to stderr, reads nothing from the harness
        import sys
        def custom_kernel(data):
            print("running", file=sys.stderr)
            return data.clone()
    """),
    ("PAT003", """
        # defines functions named like harness helpers
        def clear_l2_cache():
            pass
        def calculate_stats(values):
            return sum(values) / len(values)
        def custom_kernel(data):
            return data.clone()
    """),
    ("PAT004", """
        # uses print normally
        def custom_kernel(data):
            print("shape", data.shape)
            return data.clone()
    """),
    ("PAT004", """
        # reads builtins without writing
        import builtins
        HAVE_PROFILE = hasattr(builtins, "profile")
        def custom_kernel(data):
            return data.clone()
    """),
    ("PAT005", """
        # checks whether triton is loaded
        import sys
        HAVE_TRITON = "triton" in sys.modules
        def custom_kernel(data):
            return data.clone()
    """),
    ("PAT005", """
        # sys.path insert for a vendored helper
        import os, sys
        sys.path.insert(0, os.path.dirname(__file__))
        def custom_kernel(data):
            return data.clone()
    """),
    ("PAT006", """
        # wraps its own function with functools.wraps
        import functools
        def _impl(data):
            return data.clone()
        @functools.wraps(_impl)
        def custom_kernel(data):
            return _impl(data)
    """),
    ("PAT006", """
        # sets a docstring on its own function
        def custom_kernel(data):
            return data.clone()
        custom_kernel.__doc__ = "prefix sum"
    """),
]


@pytest.mark.parametrize("case", CHEATS, ids=case_id)
def test_cheat_is_reported(case):
    assert_fires(*case)


@pytest.mark.parametrize("case", HONEST, ids=case_id)
def test_honest_lookalike_is_not(case):
    assert_silent(*case)


def test_write_message_names_the_resolved_target():
    hit = assert_fires("PAT001", CHEATS[9][1])[0]
    assert "`torch.cuda.Event.elapsed_time`" in hit.message
