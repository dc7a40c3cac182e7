"""Input mutation (INP), uninitialised outputs (UNI) and lazy outputs (LAZ)."""

from __future__ import annotations

import pytest
from submission_rule_helpers import assert_fires, assert_silent, case_id

CHEATS = [
    ("INP001", """
        # scales an input in place and does not return it
        def custom_kernel(data):
            a, b = data
            a.mul_(0.5)
            return a @ b * 2
    """),
    ("INP001", """
        # item assignment into a view of the input
        def custom_kernel(data):
            x = data.view(-1)
            x[0] = x[1]
            return data.cumsum(0)
    """),
    ("INP001", """
        # out= pointing at an input
        import torch
        def custom_kernel(data):
            a, b = data
            torch.add(a, b, out=b)
            return a * 1.0
    """),
    ("INP002", """
        # kernelbot cheat-input: zero the input, return zeros
        import torch
        def custom_kernel(data):
            data.zero_()
            return torch.zeros_like(data)
    """),
    ("INP002", """
        # fill inputs with a constant and return a constant tensor
        import torch
        def custom_kernel(data):
            a, b = data
            a.fill_(1.0)
            b.fill_(1.0)
            return torch.full((a.shape[0], b.shape[1]), float(a.shape[1]), device=a.device)
    """),
    ("INP002", """
        # overwrite through slicing with a constant
        import torch
        def custom_kernel(data):
            data[:] = 0
            return data.new_zeros(data.shape)
    """),
    ("INP003", """
        # adds into A and returns A
        def custom_kernel(data):
            a, b = data
            a.add_(b)
            return a
    """),
    ("INP003", """
        # augmented assignment on an unpacked input, returned through a view
        def custom_kernel(data):
            x = data[0]
            x += data[1]
            return x.view(-1)
    """),
    ("INP003", """
        # out= aliasing an operand
        import torch
        def custom_kernel(data):
            a, b = data
            torch.add(a, b, out=a)
            return a
    """),
    ("UNI002", """
        # reference-kernels pmpp_v2/*/solutions/wrong/empty.py: the nop kernel
        def custom_kernel(data):
            _, output = data
            return output
    """),
    ("UNI002", """
        # every member ignored, the last one (the output slot) handed back
        def custom_kernel(data):
            a, b, c = data
            return c
    """),
    ("UNI001", """
        # reference-kernels wrong/empty.py
        import torch
        def custom_kernel(data):
            return torch.empty(size=data.shape, device=data.device, dtype=data.dtype)
    """),
    ("UNI001", """
        # empty_like bound to a name, viewed, never written
        import torch
        def custom_kernel(data):
            out = torch.empty_like(data)
            flat = out.view(-1)
            print(out.shape)
            return flat
    """),
    ("UNI001", """
        # new_empty from a helper
        def _alloc(x):
            return x.new_empty(x.shape)
        def custom_kernel(data):
            return _alloc(data)
    """),
    ("LAZ001", """
        # tensor subclass defined
        import torch
        class Deferred(torch.Tensor):
            pass
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("LAZ001", """
        # torch function mode
        from torch.overrides import TorchFunctionMode
        class Spy(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                return func(*args, **(kwargs or {}))
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("LAZ002", """
        # _make_subclass placeholder returned
        import torch
        class Lazy(torch.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return func(*args, **(kwargs or {}))
        def custom_kernel(data):
            return torch.Tensor._make_subclass(Lazy, torch.empty_like(data))
    """),
    ("LAZ002", """
        # proxy object with __torch_function__
        class Proxy:
            def __init__(self, x):
                self.x = x
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return func(*[a.x.cumsum(0) if isinstance(a, Proxy) else a for a in args])
        def custom_kernel(data):
            return Proxy(data)
    """),
    ("LAZ002", """
        # as_subclass on the way out
        import torch
        class Later(torch.Tensor):
            pass
        def custom_kernel(data):
            out = data.clone()
            return out.as_subclass(Later)
    """),
    ("LAZ003", """
        # instance method override on the output
        import torch
        def custom_kernel(data):
            out = torch.empty_like(data)
            out.double = lambda: data.double().cumsum(0)
            return out
    """),
    ("LAZ003", """
        # __class__ swapped on the returned tensor
        import torch
        class Fake(torch.Tensor):
            pass
        def custom_kernel(data):
            out = data.clone()
            out.__class__ = Fake
            return out
    """),
    ("LAZ003", """
        # object.__setattr__ on an input-derived tensor
        def custom_kernel(data):
            out = data * 1
            object.__setattr__(out, "cpu", lambda: data.cumsum(0).cpu())
            return out
    """),
]

HONEST = [
    ("INP001", """
        # writes into the output buffer passed in data and returns it
        def custom_kernel(data):
            a, b, out = data
            out.copy_(a @ b)
            return out
    """),
    ("INP001", """
        # in-place on a fresh copy
        def custom_kernel(data):
            x = data.clone()
            x.mul_(2)
            x[0] = 0
            return x
    """),
    ("INP001", """
        # matmul into the returned output slot with out=
        import torch
        def custom_kernel(data):
            a, b, c = data
            torch.matmul(a, b, out=c)
            return c
    """),
    ("INP002", """
        # zeroes the output buffer then accumulates into it
        def custom_kernel(data):
            x, out = data
            out.zero_()
            out += x.relu()
            return out
    """),
    ("INP002", """
        # zeroes a local workspace
        import torch
        def custom_kernel(data):
            ws = torch.empty_like(data)
            ws.zero_()
            ws += data
            return ws.cumsum(0)
    """),
    ("INP003", """
        # clears the output slot before accumulating
        def custom_kernel(data):
            a, b, out = data
            out.zero_()
            out.add_(a)
            out.add_(b)
            return out
    """),
    ("INP003", """
        # accumulates into a private copy
        def custom_kernel(data):
            a, b = data
            acc = a.clone()
            acc.add_(b)
            return acc
    """),
    ("INP003", """
        # out= into the output slot without reading it
        import torch
        def custom_kernel(data):
            a, b, c = data
            torch.add(a, b, out=c)
            return c
    """),
    ("UNI002", """
        # the identity task's answer: the input itself
        def custom_kernel(data):
            input, output = data
            return input
    """),
    ("UNI002", """
        # the output slot filled by a launch
        def custom_kernel(data):
            x, output = data
            _launch_prefix_sum(x, output, x.numel())
            return output
    """),
    ("UNI001", """
        # empty buffer filled by a launch
        import torch
        def custom_kernel(data):
            out = torch.empty_like(data)
            _launch_prefix_sum(data, out, data.numel())
            return out
    """),
    ("UNI001", """
        # filled in both branches of an if
        import torch
        def custom_kernel(data):
            out = torch.empty_like(data)
            if data.numel() > 4096:
                torch.cumsum(data, 0, out=out)
            else:
                out.copy_(data.cumsum(0))
            return out
    """),
    ("UNI001", """
        # empty input edge case
        import torch
        def custom_kernel(data):
            if data.numel() == 0:
                return torch.empty_like(data)
            return data.cumsum(0)
    """),
    ("UNI001", """
        # item assignment fills the buffer
        import torch
        def custom_kernel(data):
            out = torch.empty(data.shape[0], device=data.device)
            for i in range(data.shape[0]):
                out[i] = data[i].sum()
            return out
    """),
    ("UNI001", """
        # module-level output buffer filled by the kernel on every call
        import torch
        _OUT = torch.empty(1 << 20)
        def custom_kernel(data):
            torch.cumsum(data, 0, out=_OUT[: data.numel()])
            return _OUT[: data.numel()]
    """),
    ("UNI001", """
        # placeholder allocation replaced by the result
        import torch
        def custom_kernel(data):
            result = torch.empty(0, device=data.device)
            for chunk in data.split(1024):
                result = torch.cat((result, chunk.cumsum(0)))
            return result
    """),
    ("LAZ001", """
        # plain config class
        class Config:
            block = 128
        def custom_kernel(data):
            return data.view(-1, Config.block).sum(1)
    """),
    ("LAZ001", """
        # nn.Module subclass is not a tensor subclass
        import torch
        class Net(torch.nn.Module):
            def forward(self, x):
                return x.relu()
        _net = Net()
        def custom_kernel(data):
            return _net(data)
    """),
    ("LAZ002", """
        # returns a plain tensor written with out=
        import torch
        def custom_kernel(data):
            out = torch.empty_like(data)
            torch.cumsum(data, 0, out=out)
            return out
    """),
    ("LAZ002", """
        # returns a tuple of plain tensors built by its own class
        class Pair:
            def __init__(self, a, b):
                self.a, self.b = a, b
        def custom_kernel(data):
            p = Pair(data.cumsum(0), data.sum())
            return p.a, p.b
    """),
    ("LAZ003", """
        # attributes on a config namespace
        from types import SimpleNamespace
        cfg = SimpleNamespace()
        cfg.float = True
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("LAZ003", """
        # self attributes inside a class
        class K:
            def __init__(self):
                self.to = "cuda"
                self.clone = False
            def __call__(self, data):
                return data.cumsum(0)
        custom_kernel = K()
    """),
]


@pytest.mark.parametrize("case", CHEATS, ids=case_id)
def test_cheat_is_reported(case):
    assert_fires(*case)


@pytest.mark.parametrize("case", HONEST, ids=case_id)
def test_honest_lookalike_is_not(case):
    assert_silent(*case)
