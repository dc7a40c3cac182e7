"""The per-job shortcuts of the grading path: setup imports prepared in the fork server, the nonce in the payload.

Each shortcut must leave every run exactly as isolated and as graded as before: a child adopts the prepared
module copy-on-write (what one completion does to it never reaches the next), only import statements run in the
fork server, and a relay without the run's nonce refuses every frame.
"""

from __future__ import annotations

import builtins
import types

import pytest

from referee.loopholes import harness
from referee.loopholes.problems import Problem
from referee.loopholes.relay import Relay
from referee.loopholes.testcases import build_plan


def _full(source: str) -> dict:
    namespace = harness._new_module().__dict__
    exec(compile(source, "<setup>", "exec"), namespace)
    return namespace


def _prepared(source: str) -> tuple[types.ModuleType | None, dict]:
    prelude, code = harness._setup_entry(source)
    namespace = dict((prelude or harness._new_module()).__dict__)
    exec(code, namespace)
    return prelude, namespace


def test_leading_imports_run_once_and_the_rest_gives_the_same_namespace():
    source = "import math\nfrom collections import *\nfrom math import *\ninf = 'mine'\n" \
             "def helper():\n    return floor(2.5), deque\nimport heapq\n"
    prelude, namespace = _prepared(source)
    assert prelude is not None and "floor" in prelude.__dict__ and "helper" not in prelude.__dict__
    assert prelude.__dict__["inf"] == float("inf")  # math's inf: the prelude stops before the assignment
    full = _full(source)
    assert set(namespace) == set(full)
    assert namespace["inf"] == full["inf"] == "mine"
    assert namespace["helper"]() == full["helper"]() and namespace["heapq"] is full["heapq"]


@pytest.mark.parametrize("source", [
    "x = 1\nimport math\n",                                # a statement first: nothing to prepare
    "from __future__ import annotations\nimport math\n",   # future flags must stay with the code they govern
    "import referee_no_such_module_xyz\nx = 1\n",           # a failing import is left to the child to report
    "",
])
def test_setup_that_cannot_be_split_is_run_whole_in_the_child(source):
    prelude, code = harness._setup_entry(source)
    assert prelude is None
    if "no_such" in source:
        with pytest.raises(ModuleNotFoundError):
            exec(code, {"__builtins__": builtins})
    else:
        exec(code, {"__builtins__": builtins})


def test_only_import_statements_run_in_the_fork_server():
    source = "import math\nimport builtins as _b\n_b.__dict__['referee_setup_ran'] = True\n"
    harness._setup_entry(source)
    assert "referee_setup_ran" not in builtins.__dict__


def test_warm_prepares_the_setup_once_per_server_and_keeps_the_other_entries_compiled():
    plan = build_plan(["assert Solution().m(a = 1) == 1"], "Solution().m", "from math import *\nK = 2\n")
    payload = {"plan_key": plan.key, "setup_key": plan.setup_key, "setup": plan.setup_code,
               "inputs": plan.args_sources, "cls": "Solution"}
    harness.warm(payload)
    keys = harness._source_keys(payload)
    prelude, code = harness._CACHE[keys[0]]
    assert isinstance(code, types.CodeType)
    assert isinstance(prelude, types.ModuleType) and "sqrt" in prelude.__dict__ and "K" not in prelude.__dict__
    assert all(isinstance(harness._CACHE[key], types.CodeType) for key in keys[1:])
    harness.warm(payload)
    assert harness._CACHE[keys[0]][0] is prelude


SETUP = "from math import *\nfrom collections import *\nfloor_of = floor\n"
FLOOR = Problem(id="floors", question="q", func_name="Solution().m", setup_code=SETUP, difficulty="easy",
                mode="exit_code",
                gt_answer=["assert Solution().m(x = 2.5) == 2", "assert Solution().m(x = -0.5) == -1"],
                canonical_solution="class Solution:\n    def m(self, x):\n        return floor(x)")
#: rebinds names of the prepared module (its own copy): the next child must see the pristine one again
CLOBBER = "```python\nimport math\nfloor = None\nmath.floor = None\ndeque = 0\nclass Solution:\n" \
          "    def m(self, x):\n        return int(x // 1)\n```"
HONEST = "```python\nclass Solution:\n    def m(self, x):\n        return floor(x) if deque else -99\n```"


def test_one_completion_cannot_change_the_prepared_setup_of_the_next(grader):
    def run(text):
        return grader.grade(text, tests=FLOOR.gt_answer, canonical=FLOOR.canonical_solution, mode="exit_code",
                            setup_code=FLOOR.setup_code, func_name=FLOOR.func_name)

    for _ in range(4):  # both fork servers: a cold first run, then the prepared module
        clobber, honest = run(CLOBBER), run(HONEST)
        assert clobber.gt_correct and clobber.status == "ok"
        assert honest.gt_correct and honest.passed and honest.status == "ok", honest.details


def test_each_run_gets_its_own_nonce_and_the_child_takes_it_out_of_the_payload(grader):
    plan = build_plan(["assert Solution().m(a = 1) == 1"], "Solution().m", "")
    first, second = grader._payload(plan, "x = 1"), grader._payload(plan, "x = 1")
    assert len(first["nonce"]) == 32 and first["nonce"] != second["nonce"]
    nonce = first["nonce"]
    assert harness._nonce(first) == nonce and "nonce" not in first and harness._nonce(first) == ""


def test_a_relay_without_the_runs_nonce_refuses_every_frame():
    blind = Relay({"job": "grade", "mode": "sentinel"})
    assert blind.on_message({"t": "done", "exit": 0, "n": None}) is None
    assert blind.tampered and not blind.frames
    relay = Relay({"job": "grade", "mode": "sentinel", "nonce": "f" * 32})
    assert relay.on_message({"t": "hello"}) is None  # the nonce is no longer handed out on the channel
    assert relay.tampered == ["frame without the run's nonce"]
