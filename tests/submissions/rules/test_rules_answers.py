"""Known answers (HCA), shape/probe shortcuts (SHP) and precision downgrade (PRC)."""

from __future__ import annotations

import pytest
from submission_rule_helpers import assert_fires, assert_silent, case_id

BIG = ", ".join(str(i % 9) for i in range(300))

CHEATS = [
    ("HCA001", """
        # kernelbot cheat-rng: regenerate with the public seed
        import torch
        def custom_kernel(data):
            g = torch.Generator(device=data.device).manual_seed(125432)
            return torch.rand(data.numel(), generator=g, device=data.device, dtype=data.dtype)
    """),
    ("HCA001", """
        # global seed at import, random output
        import torch
        torch.manual_seed(54352)
        def custom_kernel(data):
            return torch.randn_like(data)
    """),
    ("HCA001", """
        # numpy RNG seeded with a folded constant
        import numpy as np, torch
        SEED = 1000 + 352
        def custom_kernel(data):
            np.random.seed(SEED)
            return torch.from_numpy(np.random.rand(*data.shape))
    """),
    ("HCA002", """
        # literal answer returned
        import torch
        _ANSWER = torch.tensor([0.1, 0.5, 0.2, 0.9, 0.3, 0.7, 0.4, 0.8,
                                0.6, 0.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6])
        def custom_kernel(data):
            return _ANSWER.to(data.device)
    """),
    ("HCA002", """
        # table of answers indexed by shape
        import torch
        _TABLE = {(4,): [1.0, 3.0, 6.0, 10.0, 15.0, 21.0, 28.0, 36.0,
                         45.0, 55.0, 66.0, 78.0, 91.0, 105.0, 120.0, 136.0]}
        def custom_kernel(data):
            return torch.tensor(_TABLE[tuple(data.shape)])
    """),
    ("HCA003", f"""
        # big literal table
        import torch
        TABLE = [{BIG}]
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("HCA003", """
        # bytes decoded into an array
        import numpy as np
        RAW = np.frombuffer(b"\\x00\\x00\\x80?\\x00\\x00\\x00@" * 4, dtype=np.float32)
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("HCA004", """
        # torch seed at import
        import torch
        torch.manual_seed(54352)
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("HCA004", """
        # random module seeded inside the kernel
        import random
        def custom_kernel(data):
            random.seed(42)
            return data.cumsum(0)
    """),
    ("SHP001", """
        # cheat-rng branch on the benchmark size
        import torch
        def custom_kernel(data):
            if data.numel() == 65536:
                return torch.ones(65536, device=data.device, dtype=data.dtype)
            return data.cumsum(0)
    """),
    ("SHP001", """
        # exact shape tuple returns a constant
        import torch
        def custom_kernel(data):
            a, b = data
            M, K = a.shape
            if (M, K) == (4096, 4096):
                return torch.zeros(4096, 4096, device=a.device)
            return a @ b
    """),
    ("SHP001", """
        # match statement on the shape
        import torch
        def custom_kernel(data):
            match tuple(data.shape):
                case (1024, 1024):
                    return torch.eye(1024)
            return torch.linalg.inv(data)
    """),
    ("SHP002", """
        # all-zero probe returns zeros
        import torch
        def custom_kernel(data):
            if not data.any():
                return torch.zeros_like(data)
            return torch.linalg.inv(data)
    """),
    ("SHP002", """
        # symmetric probe returns identity
        import torch
        def custom_kernel(data):
            if torch.equal(data, data.T):
                return torch.eye(data.shape[0])
            return torch.linalg.eigvalsh(data)
    """),
    ("PRC001", """
        # half matmul cast back
        def custom_kernel(data):
            a, b = data
            return (a.half() @ b.half()).float()
    """),
    ("PRC001", """
        # bf16 via to() through local names, back to the input dtype
        import torch
        def custom_kernel(data):
            a, b = data
            lo_a = a.to(torch.bfloat16)
            lo_b = b.to(dtype=torch.bfloat16)
            prod = lo_a @ lo_b
            return prod.to(a.dtype)
    """),
    ("PRC001", """
        # autocast to fp16
        import torch
        def custom_kernel(data):
            a, b = data
            with torch.autocast("cuda", dtype=torch.float16):
                return a @ b
    """),
    ("PRC002", """
        # vectorsum wrong/cheat.py: sum an eighth and scale
        def custom_kernel(data):
            n = data.numel()
            return data[: n // 8].sum() * 8
    """),
    ("PRC002", """
        # strided sample
        import torch
        def custom_kernel(data):
            return torch.sum(data[::4]) * 4.0
    """),
    ("PRC002", """
        # softmax over the first half of the columns only
        import torch
        def custom_kernel(data):
            cols = data.shape[1]
            part = torch.softmax(data[:, : cols // 2], dim=1)
            return torch.cat((part, part), dim=1) * 0.5
    """),
    ("PRC002", """
        # scans the first half and extrapolates the rest
        import torch
        def custom_kernel(data):
            n = data.shape[0]
            half = max(1, n // 2)
            out = torch.empty_like(data)
            out[:half] = torch.cumsum(data[:half], dim=0)
            step = out[half - 1] / half
            out[half:] = out[half - 1] + step * torch.arange(1, n - half + 1, dtype=data.dtype)
            return out
    """),
]

HONEST = [
    ("HCA001", """
        # dropout mixes random numbers with the input
        import torch
        def custom_kernel(data):
            x, p = data
            keep = torch.rand_like(x) > p
            return x * keep / (1 - p)
    """),
    ("HCA001", """
        # seeded benchmark helper never returned
        import torch
        torch.manual_seed(0)
        def _autotune(n):
            probe = torch.randn(n)
            return 128 if probe.numel() > 1024 else 64
        def custom_kernel(data):
            return data.view(-1).cumsum(0)
    """),
    ("HCA002", """
        # FP4 lookup table indexed by the input's values
        import torch
        _LUT = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0,
                             -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0])
        def custom_kernel(data):
            return _LUT.to(data.device)[data.long()]
    """),
    ("HCA002", """
        # small constant tensor combined with the input
        import torch
        _W = torch.tensor([0.25, 0.5, 0.25])
        def custom_kernel(data):
            return torch.nn.functional.conv1d(data.view(1, 1, -1), _W.view(1, 1, -1)).view(-1)
    """),
    ("HCA003", """
        # table built by a comprehension
        TABLE = [i % 7 for i in range(260)]
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("HCA003", """
        # tile configs: a short literal list
        CONFIGS = [(64, 64, 32), (128, 64, 32), (128, 128, 64), (256, 128, 64)]
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("HCA004", """
        # seeding only in the self-test
        import torch
        def custom_kernel(data):
            return data.cumsum(0)
        if __name__ == "__main__":
            torch.manual_seed(0)
            print(custom_kernel(torch.rand(8)))
    """),
    ("HCA004", """
        # a generator without a fixed seed
        import torch
        _gen = torch.Generator()
        def custom_kernel(data):
            return data.cumsum(0)
    """),
    ("SHP001", """
        # tuned path per benchmark size still computes from the input
        import torch
        def custom_kernel(data):
            if data.numel() == 65536:
                return _cumsum_tuned_64k(data)
            return data.cumsum(0)
    """),
    ("SHP001", """
        # zero-size early return
        import torch
        def custom_kernel(data):
            if data.numel() == 0:
                return torch.empty_like(data)
            return data.cumsum(0)
    """),
    ("SHP001", """
        # block size chosen by exact shape, result computed
        def custom_kernel(data):
            a, b = data
            block = 128 if a.shape == (4096, 4096) else 64
            return a @ b if block else None
    """),
    ("SHP001", """
        # rank checks are not benchmark sizes
        import torch
        def custom_kernel(data):
            if data.ndim == 3 or len(data.shape) == 3:
                return data.new_zeros(data.shape[0], 1, 1) + data.sum()
            if data.dim() == 2:
                return torch.zeros(2)
            return data.cumsum(0)
    """),
    ("SHP002", """
        # NaN check raises
        import torch
        def custom_kernel(data):
            if torch.isnan(data).any():
                raise ValueError("NaN input")
            return torch.linalg.inv(data)
    """),
    ("SHP002", """
        # mask probe returns the input itself
        def custom_kernel(data):
            x, mask = data
            if not mask.any():
                return x.clone()
            return x.masked_fill(mask, 0.0)
    """),
    ("PRC001", """
        # upcast for accumulation, back to input dtype
        def custom_kernel(data):
            a, b = data
            return (a.float() @ b.float()).to(a.dtype)
    """),
    ("PRC001", """
        # float() on integer indices only
        def custom_kernel(data):
            x, idx = data
            w = idx.float() / idx.numel()
            return x * w
    """),
    ("PRC002", """
        # mean over the valid prefix
        def custom_kernel(data):
            n = data.numel()
            return data[:n].sum() / n
    """),
    ("PRC002", """
        # pairs the two halves (butterfly), reads everything
        def custom_kernel(data):
            n = data.shape[-1]
            lo, hi = data[..., : n // 2], data[..., n // 2:]
            return lo + hi
    """),
    ("PRC002", """
        # blocked reduction covers everything
        def custom_kernel(data):
            return data.view(-1, 256).sum(1).sum() * 1.0
    """),
]


@pytest.mark.parametrize("case", CHEATS, ids=case_id)
def test_cheat_is_reported(case):
    assert_fires(*case)


@pytest.mark.parametrize("case", HONEST, ids=case_id)
def test_honest_lookalike_is_not(case):
    assert_silent(*case)
