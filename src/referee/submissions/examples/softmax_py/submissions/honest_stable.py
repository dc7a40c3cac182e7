#!POPCORN leaderboard softmax-cpu
"""Honest: the textbook numerically stable softmax, written out."""
import torch
from task import input_t, output_t


def custom_kernel(data: input_t) -> output_t:
    shifted = data - data.amax(dim=-1, keepdim=True)
    exp = torch.exp(shifted)
    return exp / exp.sum(dim=-1, keepdim=True)
