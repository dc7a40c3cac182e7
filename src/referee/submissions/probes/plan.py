"""The probe plan: which inputs to generate and in which order to call custom_kernel on them.

The plan is built in the trusted parent and travels as plain JSON. Inputs are generated and their reference outputs
computed in the sandboxed child *before* the submission is imported, so nothing the submission does can influence
the inputs or the expected answers. Fresh seeds come from the parent's RNG (the child's RNG state is inherited from
the fork server and identical for every job), so a submission cannot predict them from its source or its process.

Call order follows the cheat catalogue: published inputs in fresh objects first (plain correctness), then the
harness's own weakness -- the same object reused across timed iterations -- with its values unchanged, replaced in
place, changed only at the tail, interleaved with another input; then unseen seeds, perturbed sizes, adversarial
values, every evaluation-mode label, a late-write check, a soak of many calls, and a final repeat of the first input.
"""

from __future__ import annotations

import random
from typing import Any

from referee.submissions.task import Task

MODES = ("test", "benchmark", "leaderboard")
ADVERSARIAL = ("outliers", "range")


def _size_args(spec: dict[str, Any], task: Task) -> list[str]:
    if task.settings.size_args is not None:
        return [a for a in task.settings.size_args if isinstance(spec.get(a), int)]
    return [k for k, v in spec.items() if k != "seed" and isinstance(v, int) and not isinstance(v, bool)]


def _volume(spec: dict[str, Any], task: Task) -> int:
    volume = 1
    for arg in _size_args(spec, task):
        volume *= max(1, int(spec[arg]))
    return volume


def _perturb(spec: dict[str, Any], task: Task) -> dict[str, Any] | None:
    """Halve even sizes (keeps power-of-two alignment), nudge odd ones; None when there is nothing to change."""
    changed = dict(spec)
    for arg in _size_args(spec, task):
        value = int(spec[arg])
        changed[arg] = value // 2 if value % 2 == 0 and value >= 4 else value + 1
    return changed if changed != spec else None


def _fresh_seed(rng: random.Random, public: set[int]) -> int:
    while True:
        seed = rng.randrange(1, 2**31 - 1)
        if seed not in public:
            return seed


def build_plan(task: Task, seed: int, soak_calls: int = 100) -> dict[str, Any]:
    """The JSON plan: `cases` (inputs to generate before import) and `steps` (calls, in order)."""
    rng = random.Random(seed)
    tests = task.tests[: task.settings.max_test_cases] or task.benchmarks[:1]
    benches = sorted(task.benchmarks, key=lambda s: _volume(s, task)) or [max(tests, key=lambda s: _volume(s, task))]
    public = {int(s["seed"]) for s in [*task.tests, *task.benchmarks] if isinstance(s.get("seed"), int)}
    cases: list[dict[str, Any]] = []

    def add(case_id: str, args: dict[str, Any], role: str, tweak: str | None = None) -> str:
        cases.append({"id": case_id, "args": args, "role": role, "tweak": tweak})
        return case_id

    def reseed(spec: dict[str, Any]) -> dict[str, Any]:
        return {**spec, "seed": _fresh_seed(rng, public)} if "seed" in spec else dict(spec)

    test_ids = [add(f"T{i}", dict(spec), "public") for i, spec in enumerate(tests)]
    bench = benches[0]
    b0 = add("B0", dict(bench), "public")
    b0f = add("B0f", reseed(bench), "fresh")
    b0t = add("B0t", dict(bench), "public-tweaked", tweak="tail")
    fresh_ids = [add(f"T{i}f", reseed(spec), "fresh") for i, spec in enumerate(tests)]
    perturbed_ids = []
    if task.settings.perturb:
        for source in (tests[-1], bench):
            changed = _perturb(source, task)
            if changed is not None:
                perturbed_ids.append(add(f"P{len(perturbed_ids)}", reseed(changed), "perturbed"))

    # same shapes and dtypes as a published test, values reshaped so approximations show (outliers, shifted range)
    adversarial_ids = [add(f"X{n}", reseed(tests[0]), "adversarial", tweak=kind)
                       for n, kind in enumerate(ADVERSARIAL)] if task.settings.adversarial else []

    steps: list[dict[str, Any]] = []

    def step(probe: str, case: str, mode: str = "test", obj: str = "fresh", refill: bool = False,
             late: bool = False) -> None:
        steps.append({"i": len(steps), "probe": probe, "case": case, "mode": mode, "obj": obj, "refill": refill,
                      "late": late})

    step("first_call", test_ids[0])
    for case in test_ids[1:]:
        step("public", case)
    step("replay", b0, "benchmark", obj="s", refill=True)
    step("replay", b0, "benchmark", obj="s")
    step("replay", b0, "benchmark", obj="s")
    step("mutated", b0f, "benchmark", obj="s", refill=True)
    step("tail", b0t, "benchmark", obj="s", refill=True)
    step("restored", b0, "benchmark", obj="s", refill=True)
    step("interleave", b0, "leaderboard", obj="a", refill=True)
    step("interleave", b0f, "leaderboard", obj="b", refill=True)
    step("interleave", b0, "leaderboard", obj="a")
    step("interleave", b0f, "leaderboard", obj="b")
    for case in fresh_ids:
        step("fresh_seed", case, "leaderboard")
    for case in perturbed_ids:
        step("perturbed", case, "leaderboard")
    for case in adversarial_ids:
        step("adversarial", case, "leaderboard")
    for mode in MODES[1:]:
        step("mode", test_ids[0], mode)
    step("late_write", b0f, "benchmark", late=True)
    for n in range(soak_calls):
        step("soak", b0 if n % 2 == 0 else b0f, "benchmark", obj="s", refill=True)
    step("last_call", test_ids[0])
    return {"seed": seed, "cases": cases, "steps": steps, "public_seeds": sorted(public)}
