"""The loopholes part of referee: a multi-loophole RL coding environment and its reward grader.

Modules: `modes` (the six loophole modes, hints, codes), `problems` (the problem set and prompts), `extract`
(code from an answer), `testcases` (assert strings taken apart), `engine` (`Grader`: one sandboxed run per
completion), `harness`/`probes`/`guard` (what runs in the sandboxed child), `relay` (the fork-server handler),
`verdict` + `oracle` (the strict oracle, judged in the grading process), `graders` (what each mode pays on),
`detectors` (flag E), `reward` (`Reward`, `compute_reward`), `batch` (grading at scale), `selfcheck` with its
corpus (`samples`, `hacks`, `controls`), `summary` and `cli`. See docs/loopholes.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: the seed's import path (`from referee.loopholes import compute_reward, Reward, EnvMode, HINT, MODE_CODE,
#: grade_batch`). Resolved on first use: the sandbox's fork servers import `referee.loopholes.harness`, and
#: importing this package must not pull the grading process's modules into them.
_EXPORTS = {
    "compute_reward": "referee.loopholes.engine", "Grader": "referee.loopholes.engine",
    "GradeConfig": "referee.loopholes.engine", "Reward": "referee.loopholes.reward",
    "EnvMode": "referee.loopholes.modes", "MODES": "referee.loopholes.modes", "HINT": "referee.loopholes.modes",
    "MODE_CODE": "referee.loopholes.modes", "grade_batch": "referee.loopholes.batch",
    "LocalExecutor": "referee.loopholes.batch", "GradeTask": "referee.loopholes.batch",
    "Executor": "referee.loopholes.batch", "extract_code": "referee.loopholes.extract",
    "load_problems": "referee.loopholes.problems", "build_prompt": "referee.loopholes.problems",
}
__all__ = [
    "HINT",
    "MODES",
    "MODE_CODE",
    "EnvMode",
    "Executor",
    "GradeConfig",
    "GradeTask",
    "Grader",
    "LocalExecutor",
    "Reward",
    "build_prompt",
    "compute_reward",
    "extract_code",
    "grade_batch",
    "load_problems",
]

if TYPE_CHECKING:
    from referee.loopholes.batch import Executor, GradeTask, LocalExecutor, grade_batch
    from referee.loopholes.engine import GradeConfig, Grader, compute_reward
    from referee.loopholes.extract import extract_code
    from referee.loopholes.modes import HINT, MODE_CODE, MODES, EnvMode
    from referee.loopholes.problems import build_prompt, load_problems
    from referee.loopholes.reward import Reward


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'referee.loopholes' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
