import torch
from task import input_t, output_t
from utils import make_match_reference, set_seed


def ref_kernel(data: input_t) -> output_t:
    a, b = data
    return (a.double() @ b.double()).to(torch.float32)


def generate_input(m: int, n: int, k: int, seed: int) -> input_t:
    gen = set_seed(seed)
    a = torch.rand(m, k, generator=gen, dtype=torch.float32) * 2 - 1
    b = torch.rand(k, n, generator=gen, dtype=torch.float32) * 2 - 1
    return a.contiguous(), b.contiguous()


check_implementation = make_match_reference(ref_kernel, rtol=1e-4, atol=1e-4)
