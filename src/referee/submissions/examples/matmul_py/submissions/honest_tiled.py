#!POPCORN leaderboard matmul-cpu
"""Honest: a blocked matmul accumulating tile products into a fresh output."""
import torch
from task import input_t, output_t

TILE = 64


def custom_kernel(data: input_t) -> output_t:
    a, b = data
    m, k = a.shape
    n = b.shape[1]
    out = torch.zeros(m, n, dtype=a.dtype)
    for k0 in range(0, k, TILE):
        out.addmm_(a[:, k0:k0 + TILE], b[k0:k0 + TILE, :])
    return out
