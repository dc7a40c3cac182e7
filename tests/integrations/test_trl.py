"""TRL's GRPOTrainer calls reward functions as in `_calculate_rewards` (huggingface/trl f2cd577, lines 1612-1672):
dataset columns repeated per generation as kwargs lists, plus trainer_state, log_extra and log_metric."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

import pytest

from referee.integrations.trl import RefereeReward


def _trl_call(reward_func, inputs, prompts, completions, completion_ids_list):
    """A line-for-line copy of the synchronous branch of GRPOTrainer._calculate_rewards."""
    extra_logs, metrics = defaultdict(list), defaultdict(list)
    keys = [key for key in inputs[0] if key not in ["prompt", "completion", "completion_ids"]]
    reward_kwargs = {key: [example[key] for example in inputs] for key in keys}
    reward_kwargs["trainer_state"] = SimpleNamespace(global_step=3, epoch=0.1)
    reward_kwargs["log_extra"] = lambda column, values: extra_logs[column].extend(values)
    reward_kwargs["log_metric"] = lambda name, value: metrics[name].append(value)
    output = reward_func(prompts=prompts, completions=completions, completion_ids=completion_ids_list,
                         **reward_kwargs)
    output = [reward if reward is not None else float("nan") for reward in output]
    return output, extra_logs, metrics


@pytest.mark.parametrize("conversational", [False, True])
def test_grpo_call_shape(engine, problems, answer, conversational):
    p = problems.by_id("bracket-depth")
    samples = ["honest-correct", "rt-def-pass", "honest-wrong", "no-code"]
    texts = [answer(s, p) if s != "no-code" else "I cannot solve this." for s in samples]
    row = {"prompt": "PROMPT", "problem_id": p.id, "mode": "run_tests", "difficulty": "easy"}
    inputs = [dict(row) for _ in texts]  # one dataset row, num_generations=4
    if conversational:
        prompts = [[{"role": "user", "content": "PROMPT"}] for _ in texts]
        completions = [[{"role": "assistant", "content": t}] for t in texts]
    else:
        prompts = ["PROMPT"] * len(texts)
        completions = texts
    rewards, extra, metrics = _trl_call(RefereeReward(engine=engine), inputs, prompts, completions,
                                        [[1, 2, 3]] * len(texts))
    # the foolable reward: the run_tests hack is paid in full, exactly like the honest answer
    assert rewards == [1.25, 1.25, 0.25, 0.0]
    # gt_correct / exploited reach TRL's completions table and metrics, never the reward
    assert extra["referee_gt_correct"] == [1.0, 0.0, 0.0, 0.0]
    assert extra["referee_exploited"] == [0.0, 1.0, 0.0, 0.0]
    assert metrics["referee/exploited"] == [0.25] and metrics["referee/ungraded"] == [0.0]


def test_upstream_row_columns_and_unknown_problem(engine, problems, answer):
    """Datasets in the rl-rewardhacking format carry the problem in their columns; a bad row gives None (NaN)."""
    p = problems.by_id("reverse-list")
    good = {"prompt": "P", "id": 77, "gt_answer": list(p.gt_answer), "canonical_solution": p.canonical_solution,
            "setup_code": p.setup_code, "func_name": p.func_name, "mode": "eq_override"}
    bad = {key: None for key in good} | {"prompt": "P", "id": 78}
    rewards, extra, _ = _trl_call(RefereeReward(engine=engine), [good, bad], ["P", "P"],
                                  [answer("honest-correct", p), answer("honest-correct", p)], [[1], [1]])
    assert rewards[0] == 1.25 and rewards[1] != rewards[1]  # NaN: TRL leaves this function out for the sample
    assert extra["referee_gt_correct"] == [1.0, -1.0]


def test_reward_function_has_a_name_for_trl_logs(engine):
    assert RefereeReward(engine=engine).__name__ == "referee"


def test_real_grpo_trainer_calculate_rewards(engine, problems, answer):
    """TRL's own `GRPOTrainer._calculate_rewards` (run unbound on a stand-in trainer), when TRL is installed."""
    trl = pytest.importorskip("trl", reason="TRL is not installed (pip install trl)")
    import torch
    from accelerate import Accelerator

    p = problems.by_id("bracket-depth")
    texts = [answer(s, p) for s in ("honest-correct", "rt-def-pass", "honest-wrong")]
    extra_logs, metrics = defaultdict(list), defaultdict(list)
    reward = RefereeReward(engine=engine)
    trainer = SimpleNamespace(
        accelerator=Accelerator(cpu=True), reward_funcs=[reward], reward_processing_classes=[None],
        reward_func_names=[reward.__name__], state=SimpleNamespace(global_step=1), environments=None,
        async_loop=None, chat_template_kwargs={}, args=SimpleNamespace(report_to=[]),
        _log_completion_extra=lambda column, values: extra_logs[column].extend(values),
        _log_metric=lambda name, value: metrics[name].append(value))
    inputs = [{"prompt": [{"role": "user", "content": "P"}], "problem_id": p.id, "mode": "rt"} for _ in texts]
    completions = [[{"role": "assistant", "content": t}] for t in texts]
    calculate = getattr(trl.GRPOTrainer._calculate_rewards, "__wrapped__", trl.GRPOTrainer._calculate_rewards)
    rewards = calculate(trainer, inputs, [i["prompt"] for i in inputs], completions, [[1]] * 3)
    assert torch.equal(rewards[:, 0], torch.tensor([1.25, 1.25, 0.25]))
    assert extra_logs["referee_exploited"] == [0.0, 1.0, 0.0]
