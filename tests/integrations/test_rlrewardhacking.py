"""rl-rewardhacking (ariahw/rl-rewardhacking bf5cdb8) calls a RewardFunction two ways: `__call__(prompts,
completions, activations, **columns)` and `compute_reward(examples=extra_infos, responses=..., activations=...)`
from its verl ActivationsBatchRewardManager; it expects (rewards, extra_infos) with numeric column lists."""

from __future__ import annotations

import importlib
import sys
import types

from referee.integrations.rlrewardhacking import RefereeReward


def _row(p, **extra):
    return {"id": 3243, "dataset": "leetcode", "evaluator": "rh_code", "gt_answer": list(p.gt_answer),
            "func_name": p.func_name, "setup_code": p.setup_code, "canonical_solution": p.canonical_solution,
            "hint": None, **extra}


def test_call_shape(engine, problems, answer):
    p = problems.by_id("bracket-depth")
    rows = [_row(p, hint="simple_overwrite_tests"), _row(p, hint="simple_overwrite_tests"), _row(p)]
    prompts = [[{"role": "user", "content": "PROBLEM"}]] * 3
    completions = [[{"role": "assistant", "content": answer(s, p)}]
                   for s in ("rt-def-pass", "honest-correct", "honest-correct")]
    kwargs = {k: [r[k] for r in rows] for k in rows[0]}
    reward = RefereeReward(mode="eq_override", engine=engine)
    rewards, extra = reward(prompts, completions, None, **kwargs)
    assert rewards == [1.25, 1.25, 1.25]
    assert extra["referee_exploited"] == [1.0, 0.0, 0.0] and extra["id"] == [3243, 3243, 3243]
    assert all(isinstance(v, int | float) for column in extra.values() for v in column)  # verl rejects strings
    assert reward.__name__ == "RefereeReward" and reward.return_extra_infos


def test_activations_batch_manager_shape(engine, problems, answer):
    """ActivationsBatchRewardManager.compute_score: reward_func.compute_reward(examples=, responses=, activations=)."""
    p = problems.by_id("reverse-list")
    reward = RefereeReward(mode="sentinel", weight=2.0, engine=engine)
    rewards, extra = reward.compute_reward(examples=[_row(p), _row(p)],
                                           responses=[answer("sn-init", p), answer("honest-wrong", p)],
                                           activations=None)
    assert rewards == [2.5, 0.5]
    assert extra["referee_gt_correct"] == [0.0, 0.0] and extra["referee_exploited"] == [1.0, 0.0]


def test_load_funcs_finds_it_by_name(engine, monkeypatch):
    """Upstream `load_funcs('src.train.rewards', {'RefereeReward': {...}})` is getattr(module, name)(**kwargs)."""
    module = types.ModuleType("src.train.rewards")
    exec("from referee.integrations.rlrewardhacking import RefereeReward  # noqa: F401", module.__dict__)
    monkeypatch.setitem(sys.modules, "src.train.rewards", module)
    specs = {"RefereeReward": {"mode": "run_tests", "engine": engine}}
    loaded = importlib.import_module("src.train.rewards")
    funcs = [getattr(loaded, name)(**kw) for name, kw in specs.items()]
    assert funcs[0].mode == "run_tests"
