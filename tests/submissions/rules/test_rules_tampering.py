"""Global torch tampering (TAM): process-wide precision and default switches, replaced torch functions,
and the compiler configuration that is fine."""

from __future__ import annotations

import pytest
from submission_rule_helpers import assert_fires, assert_silent, case_id

CHEATS = [
    ("TAM001", """
        # TF32 matmuls for the whole process
        import torch
        torch.backends.cuda.matmul.allow_tf32 = True
        def custom_kernel(data):
            a, b = data
            return a @ b
    """),
    ("TAM001", """
        # matmul precision lowered
        import torch
        torch.set_float32_matmul_precision("medium")
        def custom_kernel(data):
            a, b = data
            return a @ b
    """),
    ("TAM002", """
        # default dtype changed
        import torch
        torch.set_default_dtype(torch.float16)
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("TAM002", """
        # flush denormals for everyone
        import torch as t
        t.set_flush_denormal(True)
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("TAM003", """
        # torch.matmul replaced with a half-precision version
        import torch
        _mm = torch.matmul
        torch.matmul = lambda a, b: _mm(a.half(), b.half()).float()
        def custom_kernel(data):
            a, b = data
            return torch.matmul(a, b)
    """),
    ("TAM003", """
        # functional softmax replaced through an alias module
        import torch.nn.functional as F
        setattr(F, "softmax", lambda x, dim=-1: x)
        def custom_kernel(data):
            return data
    """),
    ("TAM003", """
        # Tensor method replaced
        import torch
        torch.Tensor.__matmul__ = lambda a, b: a
        def custom_kernel(data):
            a, b = data
            return a @ b
    """),
]

HONEST = [
    ("TAM001", """
        # cudnn benchmark flag and highest matmul precision
        import torch
        torch.backends.cudnn.benchmark = True
        torch.set_float32_matmul_precision("highest")
        def custom_kernel(data):
            a, b = data
            return a @ b
    """),
    ("TAM001", """
        # explicitly disables TF32
        import torch
        torch.backends.cuda.matmul.allow_tf32 = False
        def custom_kernel(data):
            a, b = data
            return a @ b
    """),
    ("TAM002", """
        # explicit dtypes on own tensors
        import torch
        def custom_kernel(data):
            acc = torch.zeros(data.shape[1:], dtype=torch.float32, device=data.device)
            return torch.cumsum(data, 0, dtype=torch.float32).to(data.dtype) + acc
    """),
    ("TAM002", """
        # reads the default dtype
        import torch
        DT = torch.get_default_dtype()
        def custom_kernel(data):
            return data.to(DT).cumsum(0)
    """),
    ("TAM003", """
        # compiler configuration
        import torch
        torch._inductor.config.max_autotune = True
        torch._dynamo.config.cache_size_limit = 64
        matmul = torch.compile(torch.matmul)
        def custom_kernel(data):
            a, b = data
            return matmul(a, b)
    """),
    ("TAM003", """
        # attribute on an own tensor-like config object
        import torch
        from types import SimpleNamespace
        opts = SimpleNamespace()
        opts.matmul = torch.matmul
        def custom_kernel(data):
            a, b = data
            return opts.matmul(a, b)
    """),
]


@pytest.mark.parametrize("case", CHEATS, ids=case_id)
def test_cheat_is_reported(case):
    assert_fires(*case)


@pytest.mark.parametrize("case", HONEST, ids=case_id)
def test_honest_lookalike_is_not(case):
    assert_silent(*case)
