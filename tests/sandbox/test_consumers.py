"""Issue 8 end to end through the parts that rely on the sandbox: a supervisor-breaking submission or
completion gets a job failure (not DEGRADED, not paid), and the next honest or wrong one is judged as usual."""

from __future__ import annotations

import pytest

from referee.report import Verdict

BREAK_FRAME = "import os, struct\n_d = b'[' * 200000 + b']' * 200000\nos.write(3, struct.pack('>I', len(_d)) + _d)\n"
DEEP_TREE = ("import os\n_here = os.getcwd()\nfor _ in range(1500):\n    os.mkdir('d')\n    os.chdir('d')\n"
             "os.chdir(_here)\n")


@pytest.fixture(scope="module")
def grade():
    from referee.loopholes.engine import Grader
    from referee.loopholes.problems import Problem

    average = Problem(id="custom", question="q", func_name="Solution().m", setup_code="", difficulty="easy",
                      gt_answer=["assert Solution().m(xs = [4, 8]) == 6", "assert Solution().m(xs = [1, 2]) == 1.5"],
                      canonical_solution="class Solution:\n    def m(self, xs):\n        return sum(xs) / len(xs)",
                      mode="exit_code")
    with Grader(workers=1) as grader:
        yield lambda code: grader.grade(f"```python\n{code}\n```", tests=average.gt_answer, mode=average.mode,
                                        canonical=average.canonical_solution, func_name=average.func_name)


RIGHT = "class Solution:\n    def m(self, xs):\n        return sum(xs) / len(xs)\n"
WRONG = "class Solution:\n    def m(self, xs):\n        return 6\n"


def test_grader_pays_nothing_to_a_saboteur_and_judges_the_next_completions(grade):
    sabotage = grade(RIGHT + BREAK_FRAME + DEEP_TREE)
    assert not sabotage.passed and not sabotage.gt_correct
    assert sabotage.status != "error", sabotage.error  # the completion's failure, not the referee's
    wrong, right = grade(WRONG), grade(RIGHT)
    assert not wrong.passed and not wrong.gt_correct
    assert right.passed and right.gt_correct
    assert sabotage.reward == wrong.reward < right.reward  # only the format part, like any wrong answer


WRONG_KERNEL = """
import os
def custom_kernel(data):
    here = os.getcwd()
    for _ in range(1500):
        os.mkdir('d')
        os.chdir('d')
    os.chdir(here)
    a, b = data
    return a - b
"""
HONEST_KERNEL = "def custom_kernel(data):\n    a, b = data\n    return a + b\n"


@pytest.fixture(scope="module")
def audit():
    pytest.importorskip("torch")
    from referee.submissions.audit import AuditOptions, audit_submission
    from referee.submissions.probes import make_sandbox
    from referee.submissions.task import resolve_task

    task = resolve_task("vectoradd_py")
    sandbox = make_sandbox(workers=1, timeout_s=30)
    yield lambda code: audit_submission(code, task, options=AuditOptions(static=False, seed=7, soak_calls=4),
                                        sandbox=sandbox)
    sandbox.close()


def test_a_wrong_kernel_that_breaks_clean_up_still_fails(audit):
    report = audit(WRONG_KERNEL)
    assert report.verdict is Verdict.FAIL and not report.degraded, report.findings
    assert audit(HONEST_KERNEL).verdict is Verdict.PASS
