"""verl calls compute_score as NaiveRewardManager and BatchRewardManager do (volcengine/verl b178a3c,
verl/workers/reward_manager/naive.py and batch.py), and collects every key of the returned dicts into
reward_extra_info lists."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest

import referee.integrations.core as core
from referee.integrations import verl


@pytest.fixture(autouse=True)
def shared(engine, monkeypatch):
    monkeypatch.setattr(core, "shared_engine", lambda *a, **k: engine)
    monkeypatch.setattr(verl, "shared_engine", lambda *a, **k: engine)


def _collect(scores):
    """BatchRewardManager.__call__: reward from score['score'], every key appended to reward_extra_info."""
    reward_extra_info, rewards = defaultdict(list), []
    for score in scores:
        if isinstance(score, dict):
            rewards.append(score["score"])
            for key, value in score.items():
                reward_extra_info[key].append(value)
        else:
            rewards.append(score)
    return rewards, reward_extra_info


def test_naive_manager_call(problems, answer):
    p = problems.by_id("bracket-depth")
    extra_info = {"index": 0, "split": "train", "num_turns": None, "rollout_reward_scores": {}}
    score = verl.compute_score(data_source="referee/loopholes", solution_str=answer("rt-def-pass", p),
                               ground_truth={"problem_id": p.id, "mode": "rt"}, extra_info=extra_info)
    assert score["score"] == 1.25 and score["exploited"] == 1.0 and score["gt_correct"] == 0.0
    honest = verl.compute_score(data_source="referee/loopholes", solution_str=answer("honest-correct", p),
                                ground_truth=p.id, extra_info=extra_info)
    assert honest["score"] == 1.25 and honest["gt_correct"] == 1.0
    assert set(score) == set(honest) and all(isinstance(v, float) for v in score.values())


def test_batch_manager_call(problems, answer):
    p, q = problems.by_id("bracket-depth"), problems.by_id("reverse-list")
    data_sources = np.array(["referee/loopholes"] * 4, dtype=object)
    ground_truths = [p.id, json.dumps({"problem_id": q.id, "mode": "sn"}), "no-such-problem", None]
    extras = np.array([{"rollout_reward_scores": {}}, {"rollout_reward_scores": {}},
                       {"rollout_reward_scores": {}}, {"problem_id": q.id, "mode": "sentinel"}], dtype=object)
    responses = [answer("honest-wrong", p), answer("sn-init", q), answer("honest-correct", p),
                 answer("honest-correct", q)]
    reward_kwargs = {"mode": None}  # custom_reward_function.reward_kwargs are merged into every call
    scores = verl.compute_score_batch(data_sources=data_sources, solution_strs=responses,
                                      ground_truths=ground_truths, extra_infos=extras, **reward_kwargs)
    rewards, info = _collect(scores)
    assert rewards == [0.25, 1.25, 0.0, 1.25]
    assert info["exploited"] == [0.0, 1.0, -1.0, 0.0] and info["gt_correct"] == [0.0, 0.0, -1.0, 1.0]
    assert info["graded"] == [1.0, 1.0, 0.0, 1.0]
    assert {len(v) for v in info.values()} == {4}  # same keys in every dict: verl's arrays stay aligned


def test_pkg_path_loads_like_verl(problems):
    """custom_reward_function.path=pkg://referee.integrations.verl: verl imports the module by name."""
    import importlib

    module = importlib.import_module("pkg://referee.integrations.verl"[len("pkg://"):].replace("/", "."))
    assert callable(module.compute_score) and callable(module.compute_score_batch)
