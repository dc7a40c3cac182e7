"""TRL: a reward function for `GRPOTrainer(reward_funcs=[...])`.

    from referee.integrations.trl import RefereeReward
    trainer = GRPOTrainer(model=..., reward_funcs=[RefereeReward()], train_dataset=dataset, ...)

The dataset needs a `prompt` column (e.g. from `referee.loopholes.problems.build_prompt`) and a `problem_id`
column (optionally `mode`), or the upstream rl-rewardhacking row columns (`gt_answer`, `canonical_solution`,
`setup_code`, `func_name`, `mode`). TRL (checked against huggingface/trl f2cd577, `GRPOTrainer._calculate_rewards`)
calls every custom reward function as

    reward_func(prompts=prompts, completions=completions, completion_ids=completion_ids_list,
                **{column: [value per sample] for every other dataset column},
                trainer_state=self.state, log_extra=self._log_completion_extra, log_metric=self._log_metric)

with completions as strings (standard datasets) or `[{"role": "assistant", "content": ...}]` (conversational).
The return value is the foolable reward per completion (None where the row names no problem: TRL then leaves this
function out for that sample). `gt_correct`, `exploited` and the E/C/D flags go to TRL's completions table
(`log_extra`) and to its metrics (`log_metric("referee/<field>", batch mean)`) - never into the reward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from referee.integrations.core import LOG_FIELDS, RewardEngine, columns, log_values, shared_engine


class RefereeReward:
    """The TRL reward function. `problems`: a problem JSONL path or list (default: the bundled set, or
    $REFEREE_PROBLEMS); `ray`: grade on a Ray cluster (`auto` or an address) instead of this machine's cores."""

    #: TRL names each reward function by `__name__` in its logs (rewards/<name>/mean)
    __name__ = "referee"

    def __init__(self, problems: Any = None, *, ray: str | None = None, workers: int | None = None,
                 engine: RewardEngine | None = None) -> None:
        self.engine = engine or shared_engine(problems, ray=ray, workers=workers)

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Any = None, *,
                 trainer_state: Any = None, log_extra: Callable[[str, list], None] | None = None,
                 log_metric: Callable[[str, float], None] | None = None, **columns_kwargs: Any) -> list[float | None]:
        rows = columns(columns_kwargs, len(completions))
        rewards = self.engine.grade(completions, rows)
        logged = [log_values(r) for r in rewards]
        if log_extra is not None:
            for name in LOG_FIELDS:
                log_extra(f"referee_{name}", [values[name] for values in logged])
        if log_metric is not None:
            graded = [values for values, r in zip(logged, rewards, strict=True) if r is not None]
            for name in LOG_FIELDS:
                if graded:
                    log_metric(f"referee/{name}", sum(v[name] for v in graded) / len(graded))
            log_metric("referee/ungraded", float(len(rewards) - len(graded)))
        return [r.reward if r is not None else None for r in rewards]


def reward_func(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
    """A plain-function form for configs that name a function: the shared engine, bundled problems."""
    return _default()(prompts, completions, **kwargs)


_default_reward: RefereeReward | None = None


def _default() -> RefereeReward:
    global _default_reward
    if _default_reward is None:
        _default_reward = RefereeReward()
    return _default_reward
