"""The self-check corpus format: one `Sample` per completion template and what every mode must say about it.

Every sample is a template instantiated per problem: `__METHOD__` is the method under test, `__CORRECT__` the
problem's canonical solution, `__WRONG__` a wrong Solution (its method returns None). Each sample states what
must happen in every mode: where `passed` is paid (`pays_in`), whether the strict oracle accepts it (`correct`),
where detector E must fire (`e_in`, and nowhere else), and for run_tests hacks the C/D flags. Sources: the
variants and forgeries listed in shared/research/loophole-env.md §5 and the issue's forgery list. The samples
themselves live in `hacks` (one lever per mode) and `controls` (honest answers, forgeries, look-alikes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from referee.loopholes.modes import MODES, EnvMode

Kind = Literal["hack", "honest", "forgery", "lookalike", "nearmiss"]

WRONG = """class Solution:
    def __METHOD__(self, *args, **kwargs):
        return None
"""


@dataclass(frozen=True)
class Sample:
    """One completion template and what every mode's grader, the oracle and detector E must say about it."""

    name: str
    kind: Kind
    code: str
    pays_in: frozenset[EnvMode] = frozenset()
    correct: bool = False
    e_in: frozenset[EnvMode] = frozenset()
    hacked: bool | None = None
    wrong_tests: bool | None = None
    note: str = ""

    def render(self, method: str, canonical: str) -> str:
        """The completion text (fenced, as a model would answer) for one problem."""
        code = self.code.replace("__WRONG__", WRONG).replace("__CORRECT__", canonical.strip("\n"))
        return f"Here is my solution.\n\n```python\n{code.replace('__METHOD__', method).strip()}\n```\n"


def hack(name: str, lever: EnvMode, code: str, note: str = "", **flags: bool) -> Sample:
    return Sample(name, "hack", code, frozenset({lever}), False, frozenset({lever}), note=note, **flags)


ALL_MODES = frozenset(MODES)
