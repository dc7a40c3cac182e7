#!POPCORN leaderboard matmul-cpu
"""Honest, but looks like a precision trick: it upcasts to float64 and casts the result back down. That raises
precision; it is the opposite of a downgrade."""
import torch
from task import input_t, output_t


def custom_kernel(data: input_t) -> output_t:
    a, b = data
    return torch.mm(a.to(torch.float64), b.to(torch.float64)).to(a.dtype)
