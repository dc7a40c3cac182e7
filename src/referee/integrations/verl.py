"""verl: `compute_score` for its reward managers (checked against volcengine/verl b178a3c).

    # NaiveRewardManager (one call per sample):
    custom_reward_function.path=pkg://referee.integrations.verl custom_reward_function.name=compute_score
    # BatchRewardManager (one call per batch, graded in parallel):
    reward_model.reward_manager=batch
    custom_reward_function.path=pkg://referee.integrations.verl custom_reward_function.name=compute_score_batch

verl calls `compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=...)` (naive.py) and
`compute_score(data_sources=..., solution_strs=..., ground_truths=..., extra_infos=..., **reward_kwargs)`
(batch.py), with `custom_reward_function.reward_kwargs` merged into every call. `ground_truth` comes from the
parquet's `reward_model.ground_truth`: a problem id, or a dict with `problem_id` and optional `mode`, or a full
upstream problem row; `extra_info` may carry `problem_id`/`mode` instead.

Each call returns a dict: `score` is the foolable reward verl trains on; the other keys are the Reward's logged
fields (`gt_correct`, `exploited`, ...) which verl collects into `reward_extra_info` and its validation metrics.
Every dict has the same keys and only numbers (verl turns them into arrays; a row that could not be graded gets
-1.0), so a batch with one bad row still logs cleanly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from referee.integrations.core import log_values, shared_engine


def _row(data_source: Any, ground_truth: Any, extra_info: Any, mode: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {}
    if isinstance(extra_info, Mapping):
        row.update({k: v for k, v in extra_info.items() if k in {"problem_id", "id", "mode", "env_mode"}})
    truth = ground_truth
    if isinstance(truth, str) and truth.lstrip().startswith("{"):
        try:
            truth = json.loads(truth)
        except json.JSONDecodeError:
            pass
    if isinstance(truth, Mapping):
        row.update(truth)
    elif truth is not None and not (isinstance(truth, Sequence) and not isinstance(truth, str)):
        row.setdefault("problem_id", truth)
    if mode and "mode" not in row:
        row["mode"] = mode
    row.setdefault("data_source", data_source)
    return row


def _score(reward: Any) -> dict[str, float]:
    return {"score": float(reward.reward) if reward is not None else 0.0, **log_values(reward),
            "graded": float(reward is not None)}


def compute_score(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None, *,
                  problems: str | None = None, mode: str | None = None, ray: str | None = None,
                  **_: Any) -> dict[str, float]:
    """One sample (verl's NaiveRewardManager and most custom managers)."""
    engine = shared_engine(problems, ray=ray)
    reward = engine.grade([solution_str], [_row(data_source, ground_truth, extra_info, mode)])[0]
    return _score(reward)


def compute_score_batch(data_sources: Sequence[Any], solution_strs: Sequence[str], ground_truths: Sequence[Any],
                        extra_infos: Sequence[Any] | None = None, *, problems: str | None = None,
                        mode: str | None = None, ray: str | None = None, **_: Any) -> list[dict[str, float]]:
    """A whole batch at once (verl's BatchRewardManager): graded in parallel on the warm sandbox or on Ray."""
    extras = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
    rows = [_row(src, truth, extra, mode)
            for src, truth, extra in zip(data_sources, ground_truths, extras, strict=True)]
    rewards = shared_engine(problems, ray=ray).grade(list(solution_strs), rows)
    return [_score(r) for r in rewards]
