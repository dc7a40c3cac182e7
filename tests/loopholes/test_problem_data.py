"""The bundled problem set: every canonical solution passes its tests in the sandbox, and the tests bite.

One Sandbox serves the whole module; each (problem, solution) pair is one sandboxed program built the way the
upstream grader builds it: setup_code, then the solution, then the assert strings.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from referee.loopholes.modes import HINT_TARGET
from referee.loopholes.problems import (
    bundled_problems_path,
    load_problems,
    problem_from_row,
    problem_to_row,
)
from referee.sandbox import Job, Limits, Sandbox

PROBLEMS = load_problems(modes=None)
BY_ID = {p.id: p for p in PROBLEMS}

#: Wrong solutions every problem's tests must reject: constant stubs and one that echoes its first argument.
STUBS = {
    "return-0": "return 0",
    "return-none": "return None",
    "echo-first-arg": "return (list(kwargs.values()) + list(args) + [None])[0]",
}


def program(problem, solution: str) -> tuple[str, int]:
    """The upstream-style program, and the 1-based line where the asserts start."""
    head = f"{problem.setup_code.rstrip()}\n\n{solution.rstrip()}\n\n"
    return head + "\n".join(problem.gt_answer) + "\n", head.count("\n") + 1


def stub(problem, body: str) -> str:
    return f"class Solution:\n    def {problem.method_name}(self, *args, **kwargs):\n        {body}\n"


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2, limits=Limits(cpu_seconds=5, wall_seconds=10, memory_mb=512)) as sb:
        yield sb


@pytest.fixture(scope="module")
def runs(sandbox):
    """Every problem run with its canonical solution and with each stub, in one parallel batch."""
    keys, jobs = [], []
    for problem in PROBLEMS:
        for name, solution in [("canonical", problem.canonical_solution),
                               *((s, stub(problem, body)) for s, body in STUBS.items())]:
            keys.append((problem.id, name))
            jobs.append(Job(code=program(problem, solution)[0]))
    return dict(zip(keys, sandbox.map(jobs), strict=True))


# ── the set as a whole ─────────────────────────────────────────────────────────────────────────────────


def test_set_size_ids_and_difficulty_mix():
    assert len(PROBLEMS) >= 40
    assert not PROBLEMS.skipped
    raw_ids = [json.loads(line)["id"] for line in bundled_problems_path().read_text().splitlines() if line.strip()]
    assert len(raw_ids) == len(set(raw_ids)) == len(PROBLEMS)
    difficulty = Counter(p.difficulty for p in PROBLEMS)
    assert set(difficulty) == {"easy", "medium", "hard"}
    assert min(difficulty.values()) >= 5


def test_set_covers_the_required_kinds_of_problem():
    def signature(problem):
        return next(line.strip() for line in problem.starter_code.splitlines()
                    if f"def {problem.method_name}(" in line)

    uses_nodes = [p for p in PROBLEMS if any("list_node(" in t or "tree_node(" in t for t in p.gt_answer)]
    node_outputs = [p for p in PROBLEMS if p.gt_answer[0].startswith(("assert is_same_list(", "assert is_same_tree("))]
    assert len(uses_nodes) >= 6
    assert {"is_same_list", "is_same_tree"} <= {p.gt_answer[0][7:19] for p in node_outputs}
    assert sum(signature(p).endswith("-> bool:") for p in PROBLEMS) >= 2
    assert sum(signature(p).endswith("-> str:") for p in PROBLEMS) >= 2
    assert sum("float" in signature(p).rsplit("->", 1)[1] for p in PROBLEMS) >= 2
    assert sum("List[List[" in signature(p) for p in PROBLEMS) >= 4


def test_generator_output_is_up_to_date():
    script = Path(bundled_problems_path()).with_name("build_problems.py")
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# ── each problem, statically ───────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.id)
def test_problem_is_well_formed(problem):
    assert len(problem.gt_answer) >= 10
    assert len(set(problem.gt_answer)) == len(problem.gt_answer)
    assert problem.question.count(HINT_TARGET) == 1
    assert f"called {problem.method_name} {HINT_TARGET}" in problem.question
    assert f"def {problem.method_name}(self" in problem.starter_code
    assert f"def {problem.method_name}(self" in problem.canonical_solution
    assert problem.starter_code.strip() in problem.question
    for test in problem.gt_answer:
        assert f"{problem.func_name}(" in test
    assert problem_from_row(problem_to_row(problem)) == problem


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.id)
def test_expected_outputs_are_diverse(problem):
    """No single constant answer can pass: at least 3 distinct expectations (True and False for predicates)."""
    expected = []
    for test in problem.gt_answer:
        check = ast.parse(test).body[0].test
        node = check.comparators[0] if isinstance(check, ast.Compare) else check.args[1]
        expected.append(ast.unparse(node))
    distinct = set(expected)
    assert distinct == {"True", "False"} or len(distinct) >= 3, distinct


# ── each problem, run in the sandbox ───────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.id)
def test_canonical_solution_passes_every_test(problem, runs):
    result = runs[(problem.id, "canonical")]
    assert result.ok and result.exit_code == 0, f"{result.summary()}\n{result.stderr_text[-1500:]}"


@pytest.mark.parametrize("stub_name", sorted(STUBS))
@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.id)
def test_wrong_solution_fails_a_test(problem, stub_name, runs):
    """The stub must fail, and fail inside an assert line, not while loading the program."""
    result = runs[(problem.id, stub_name)]
    assert result.status == "error" and result.exit_code == 1, result.summary()
    module_frames = re.findall(r'File "main.py", line (\d+), in <module>', result.stderr_text)
    assert module_frames, result.stderr_text[-800:]
    first_test_line = program(problem, stub(problem, STUBS[stub_name]))[1]
    assert int(module_frames[-1]) >= first_test_line, result.stderr_text[-800:]
