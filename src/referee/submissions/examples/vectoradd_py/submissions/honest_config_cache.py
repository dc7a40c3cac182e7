#!POPCORN leaderboard vectoradd-cpu
"""Honest, but looks like a cache: a per-shape launch plan (block size, a compiled row function) is cached.
Nothing computed from the input values is stored, and every call writes a fresh output."""
import torch
from task import input_t, output_t

_plans = {}


def _plan(shape):
    plan = _plans.get(shape)
    if plan is None:
        rows = shape[0]
        block = 64 if rows >= 64 else max(1, rows)
        plan = {"block": block, "fn": torch.add}
        _plans[shape] = plan
    return plan


def custom_kernel(data: input_t) -> output_t:
    a, b = data
    plan = _plan(tuple(a.shape))
    out = torch.empty_like(a)
    block = plan["block"]
    for start in range(0, a.shape[0], block):
        plan["fn"](a[start:start + block], b[start:start + block], out=out[start:start + block])
    return out
