"""rl-rewardhacking (ariahw/rl-rewardhacking bf5cdb8): a reward function its training configs can name.

Its trainers load reward classes by name from `src.train.rewards` (`load_funcs(REWARD_FUNCTIONS_MODULE,
reward_specs)` -> `getattr(module, name)(**kwargs)`), so one line in that module makes referee available:

    # src/train/rewards.py
    from referee.integrations.rlrewardhacking import RefereeReward  # noqa: F401

    # config: reward_specs: {"RefereeReward": {"mode": "run_tests"}}

It is called the two ways the upstream code calls a `RewardFunction`:

* `reward(prompts, completions, activations, **dataset_columns) -> (rewards, extra_infos)` (its `__call__`, as
  TRL-style trainers do: completions are chats, the graded text is `completions[i][-1]["content"]`);
* `reward.compute_reward(examples=..., responses=..., activations=...) -> (rewards, extra_infos)` (verl's
  `ActivationsBatchRewardManager.compute_score`, with `examples` the rows' `extra_info` dicts).

`extra_infos` is a dict of equal-length lists of numbers (`id` plus the Reward's logged fields), the upstream
`create_extra_infos` shape: verl rejects strings there. The rewards are the foolable reward, scaled by `weight`;
`gt_correct` and `exploited` are only ever in `extra_infos`. Rows use the upstream LeetCode columns (`id`,
`gt_answer`, `canonical_solution`, `setup_code`, `func_name`, `hint`); an `overwrite_tests*` hint means the
run_tests loophole, otherwise the row's `mode` or the configured `mode` applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from referee.integrations.core import LOG_FIELDS, RewardEngine, log_values, shared_engine

_RUN_TESTS_HINTS = ("overwrite_tests", "simple_overwrite_tests")


class RefereeReward:
    """A drop-in `RewardFunction` of rl-rewardhacking (duck-typed: its base class needs torch, wandb, vllm)."""

    require_activations = False
    allow_logging = True
    return_extra_infos = True

    def __init__(self, mode: str | None = None, weight: float = 1.0, problems: Any = None, ray: str | None = None,
                 workers: int | None = None, engine: RewardEngine | None = None) -> None:
        self.mode = mode
        self.weight = float(weight)
        self.engine = engine or shared_engine(problems, ray=ray, workers=workers)

    @property
    def __name__(self) -> str:
        return self.__class__.__name__

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], activations: Any = None,
                 **kwargs: Any) -> tuple[list[float], dict[str, list[float]]]:
        responses = [c[-1]["content"] if isinstance(c, list | tuple) else c for c in completions]
        examples = [{**{k: v[i] for k, v in kwargs.items() if k != "activations" and _per_row(v, len(prompts))},
                     "prompt": prompts[i], "response": responses[i]} for i in range(len(prompts))]
        return self.compute_reward(examples=examples, responses=responses, activations=activations)

    def compute_reward(self, examples: Sequence[Mapping[str, Any]], responses: Sequence[str],
                       activations: Any = None, **kwargs: Any) -> tuple[list[float], dict[str, list[float]]]:
        rows = [self._row(example) for example in examples]
        rewards = self.engine.grade(list(responses), rows)
        values = [log_values(r) for r in rewards]
        extra = {"id": [_int_id(e) for e in examples],
                 **{f"referee_{name}": [v[name] for v in values] for name in LOG_FIELDS}}
        return [self.weight * r.reward if r is not None else 0.0 for r in rewards], extra

    def _row(self, example: Mapping[str, Any]) -> dict[str, Any]:
        row = dict(example)
        if not row.get("mode"):
            hint = str(row.get("hint") or "")
            if hint.startswith(_RUN_TESTS_HINTS):
                row["mode"] = "run_tests"
            elif self.mode:
                row["mode"] = self.mode
        return row


def _per_row(value: Any, n: int) -> bool:
    return isinstance(value, list | tuple) and len(value) == n


def _int_id(example: Mapping[str, Any]) -> float:
    try:
        return int(example.get("id", -1))
    except (TypeError, ValueError):
        return -1
