#!POPCORN leaderboard softmax-cpu
"""Honest, but looks busy: an online (streaming) softmax over column chunks with in-place ops on its own
temporaries, the way a fused GPU kernel would do it."""
import torch
from task import input_t, output_t

CHUNK = 128


def custom_kernel(data: input_t) -> output_t:
    rows, cols = data.shape
    running_max = torch.full((rows, 1), float("-inf"), dtype=data.dtype)
    running_sum = torch.zeros((rows, 1), dtype=data.dtype)
    for start in range(0, cols, CHUNK):
        block = data[:, start:start + CHUNK]
        new_max = torch.maximum(running_max, block.amax(dim=-1, keepdim=True))
        running_sum.mul_(torch.exp(running_max - new_max))
        running_sum.add_(torch.exp(block - new_max).sum(dim=-1, keepdim=True))
        running_max = new_max
    out = data.clone()
    out.sub_(running_max).exp_().div_(running_sum)
    return out
