"""Regenerate problems.jsonl, the loophole environment's bundled problem set, from the specs in spec_*.py.

Every problem here was written for this project (statement, solution and tests). The committed artifact is the
JSONL; this script exists so the data can be reviewed and rebuilt. For every spec it:

- runs the canonical solution in-process (trusted code we wrote) on each case to get the expected output,
- cross-checks that output against the spec's independent brute-force reference (when it has one) and against
  the hand-computed examples,
- refuses a problem with < 10 tests, a test slower than 50 ms, or fewer than 3 distinct expected outputs
  (so no constant answer can pass), then writes upstream-format rows.

Run:  .venv/bin/python src/referee/loopholes/data/build_problems.py [--check] [--timings]
`--check` rebuilds in memory and fails if problems.jsonl differs (CI-friendly); `--timings` prints the slowest
test per problem.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # keep the package's data folder free of __pycache__

from referee.loopholes.problems import Problem, format_question, load_problems, problem_to_row  # noqa: E402

MAX_TEST_SECONDS = 0.050
MIN_TESTS = 10

#: The preamble every program runs after (upstream-compatible names and behaviour: typing/collections/heapq...
#: star imports, `inf`, ListNode/TreeNode and their builders and comparators). Written for this project.
SETUP_CODE = '''\
import random
import functools
import collections
import string
import math
import datetime

from typing import *
from functools import *
from collections import *
from itertools import *
from heapq import *
from bisect import *
from string import *
from operator import *
from math import *

inf = float('inf')


class ListNode:
    def __init__(self, val=0, next=None):
        self.val = val
        self.next = next


def list_node(values: list):
    """Build a singly linked list from a Python list; an empty list gives None."""
    dummy = ListNode()
    tail = dummy
    for value in values or []:
        tail.next = ListNode(value)
        tail = tail.next
    return dummy.next


def is_same_list(p1, p2):
    """True when both lists hold the same values in the same order (both None counts as equal)."""
    while p1 is not None and p2 is not None:
        if p1.val != p2.val:
            return False
        p1, p2 = p1.next, p2.next
    return p1 is None and p2 is None


class TreeNode:
    def __init__(self, val=0, left=None, right=None):
        self.val = val
        self.left = left
        self.right = right


def tree_node(values: list):
    """Build a binary tree from its level-order listing, None marking a missing child."""
    if not values:
        return None
    root = TreeNode(values[0])
    pending = deque([root])
    i = 1
    while pending and i < len(values):
        node = pending.popleft()
        if i < len(values) and values[i] is not None:
            node.left = TreeNode(values[i])
            pending.append(node.left)
        i += 1
        if i < len(values) and values[i] is not None:
            node.right = TreeNode(values[i])
            pending.append(node.right)
        i += 1
    return root


def is_same_tree(p, q):
    """True when both trees have the same shape and the same values."""
    if p is None or q is None:
        return p is q
    return p.val == q.val and is_same_tree(p.left, q.left) and is_same_tree(p.right, q.right)
'''

LIST_DOC = ("# Definition for singly-linked list.\n# class ListNode:\n"
            "#     def __init__(self, val=0, next=None):\n"
            "#         self.val = val\n#         self.next = next\n")
TREE_DOC = ("# Definition for a binary tree node.\n# class TreeNode:\n"
            "#     def __init__(self, val=0, left=None, right=None):\n"
            "#         self.val = val\n#         self.left = left\n#         self.right = right\n")


@dataclass
class Spec:
    """One problem as written: statement, canonical solution, cases, and what to cross-check it against."""

    id: str
    difficulty: str
    tags: list[str]
    description: str
    signature: str                      # "def name(self, nums: List[int]) -> int:"
    solution: str                       # canonical `class Solution` source
    cases: list[dict[str, Any]]         # keyword arguments, plain Python values
    #: hand-computed (input, output) pairs: the first tests, and the examples shown in the statement
    examples: list[tuple[dict[str, Any], Any]] = field(default_factory=list)
    constraints: str = ""
    reference: Callable[..., Any] | None = None   # brute force over plain values
    arg_kinds: dict[str, str] = field(default_factory=dict)   # arg -> "list" | "tree"
    out_kind: str = "value"             # "value" | "list" | "tree"

    @property
    def method(self) -> str:
        return self.signature.split("def ", 1)[1].split("(", 1)[0]


def seeded(spec_id: str) -> random.Random:
    """A generator seeded by the problem id, so rebuilding gives identical data."""
    return random.Random(zlib.crc32(spec_id.encode()))


# ── value conversion between plain Python and ListNode/TreeNode ────────────────────────────────────────


def tree_to_levels(root: Any) -> list[Any]:
    """Level-order listing with None for missing children, trailing Nones trimmed (LeetCode style)."""
    out: list[Any] = []
    queue = [root]
    while queue:
        node = queue.pop(0)
        if node is None:
            out.append(None)
            continue
        out.append(node.val)
        queue.extend([node.left, node.right])
    while out and out[-1] is None:
        out.pop()
    return out


def list_to_values(head: Any) -> list[Any]:
    out = []
    while head is not None:
        out.append(head.val)
        head = head.next
    return out


def lit(value: Any) -> str:
    """A Python literal for a plain value, strings in double quotes like upstream's asserts."""
    if isinstance(value, str):
        if value.isascii() and value.isprintable():
            return json.dumps(value)
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(lit(v) for v in value) + "]"
    if isinstance(value, float | int | bool) or value is None:
        return repr(value)
    raise TypeError(f"no literal for {type(value).__name__}")


# ── building one problem ────────────────────────────────────────────────────────────────────────────────


def starter_code(spec: Spec) -> str:
    kinds = set(spec.arg_kinds.values()) | ({spec.out_kind} - {"value"})
    doc = (LIST_DOC if "list" in kinds else "") + (TREE_DOC if "tree" in kinds else "")
    return f"{doc}class Solution:\n    {spec.signature}\n        "


def call_text(spec: Spec, kwargs: dict[str, Any]) -> str:
    parts = []
    for name, value in kwargs.items():
        kind = spec.arg_kinds.get(name)
        text = lit(value)
        if kind == "list":
            text = f"list_node({text})"
        elif kind == "tree":
            text = f"tree_node({text})"
        parts.append(f"{name} = {text}")
    return f"Solution().{spec.method}({', '.join(parts)})"


def assert_text(spec: Spec, kwargs: dict[str, Any], expected: Any) -> str:
    call = call_text(spec, kwargs)
    if spec.out_kind == "list":
        return f"assert is_same_list({call}, list_node({lit(expected)}))"
    if spec.out_kind == "tree":
        return f"assert is_same_tree({call}, tree_node({lit(expected)}))"
    return f"assert {call} == {lit(expected)}"


def run_canonical(spec: Spec, namespace: dict[str, Any], kwargs: dict[str, Any]) -> tuple[Any, float]:
    """Call the canonical solution on one case; return its output as a plain value and the seconds it took."""
    args = {}
    for name, value in copy.deepcopy(kwargs).items():
        kind = spec.arg_kinds.get(name)
        args[name] = (namespace["list_node"](value) if kind == "list"
                      else namespace["tree_node"](value) if kind == "tree" else value)
    method = getattr(namespace["Solution"](), spec.method)
    start = time.perf_counter()
    result = method(**args)
    elapsed = time.perf_counter() - start
    if spec.out_kind == "list":
        result = list_to_values(result)
    elif spec.out_kind == "tree":
        result = tree_to_levels(result)
    return result, elapsed


def description_text(spec: Spec) -> str:
    # statements are hard-wrapped in the specs for review; the prompt gets one line per paragraph
    paragraphs = spec.description.strip().split("\n\n")
    blocks = [" ".join(line.strip() for line in para.splitlines()) for para in paragraphs]
    for number, (kwargs, expected) in enumerate(spec.examples[:3], 1):
        shown = ", ".join(f"{k} = {lit(v)}" for k, v in kwargs.items())
        blocks.append(f"Example {number}:\n\nInput: {shown}\nOutput: {lit(expected)}")
    if spec.constraints:
        blocks.append("Constraints:\n\n" + spec.constraints.strip())
    return "\n\n".join(blocks)


def build(spec: Spec) -> tuple[Problem, float]:
    namespace: dict[str, Any] = {"__name__": "canonical"}
    exec(compile(SETUP_CODE + "\n\n" + spec.solution, f"<{spec.id}>", "exec"), namespace)
    cases = [kwargs for kwargs, _ in spec.examples] + [c for c in spec.cases
                                                        if c not in [k for k, _ in spec.examples]]
    tests, outputs, slowest = [], [], 0.0
    for index, kwargs in enumerate(cases):
        got, elapsed = run_canonical(spec, namespace, kwargs)
        slowest = max(slowest, elapsed)
        if index < len(spec.examples) and got != spec.examples[index][1]:
            raise SystemExit(f"{spec.id}: example {index + 1} {kwargs}: canonical gave {got!r}, "
                             f"hand-computed {spec.examples[index][1]!r}")
        if spec.reference is not None:
            want = spec.reference(**copy.deepcopy(kwargs))
            if want != got or type(want) is not type(got):
                raise SystemExit(f"{spec.id}: case {kwargs}: canonical gave {got!r}, reference {want!r}")
        if elapsed > MAX_TEST_SECONDS:
            raise SystemExit(f"{spec.id}: case {index} took {elapsed * 1000:.1f} ms (limit 50 ms)")
        tests.append(assert_text(spec, kwargs, got))
        outputs.append(lit(got))
    if len(tests) < MIN_TESTS:
        raise SystemExit(f"{spec.id}: only {len(tests)} tests")
    if len(set(tests)) != len(tests):
        raise SystemExit(f"{spec.id}: duplicate tests")
    distinct = len(set(outputs))
    if distinct < (2 if set(outputs) <= {"True", "False"} else 3):
        raise SystemExit(f"{spec.id}: only {distinct} distinct expected outputs")
    func_name = f"Solution().{spec.method}"
    starter = starter_code(spec)
    problem = Problem(id=spec.id, question=format_question(description_text(spec), func_name, starter),
                      gt_answer=tests, func_name=func_name, setup_code=SETUP_CODE,
                      canonical_solution=spec.solution.strip() + "\n", difficulty=spec.difficulty,
                      starter_code=starter)
    return problem, slowest


def all_specs() -> list[Spec]:
    import spec_arrays
    import spec_grid_search
    import spec_grids
    import spec_lists
    import spec_numbers
    import spec_sequences
    import spec_strings
    import spec_text_dp
    import spec_trees

    modules = [spec_strings, spec_text_dp, spec_arrays, spec_sequences, spec_numbers, spec_grids,
               spec_grid_search, spec_lists, spec_trees]
    specs = [spec for module in modules for spec in module.SPECS]
    ids = [s.id for s in specs]
    if len(ids) != len(set(ids)):
        raise SystemExit("duplicate spec ids")
    return specs


def render(problems: list[tuple[Problem, Spec]]) -> str:
    lines = []
    for problem, spec in problems:
        row = problem_to_row(problem)
        row["tags"] = spec.tags
        lines.append(json.dumps(row, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="fail if problems.jsonl is not up to date")
    parser.add_argument("--timings", action="store_true", help="print the slowest test of each problem")
    parser.add_argument("--out", type=Path, default=HERE / "problems.jsonl")
    options = parser.parse_args()
    built = []
    for spec in all_specs():
        problem, slowest = build(spec)
        built.append((problem, spec, slowest))
        if options.timings:
            print(f"{spec.id:28} {spec.difficulty:6} tests={len(problem.gt_answer):3} "
                  f"slowest={slowest * 1000:6.2f} ms")
    text = render([(p, s) for p, s, _ in built])
    if options.check:
        current = options.out.read_text(encoding="utf-8") if options.out.exists() else ""
        if current != text:
            print(f"{options.out} is out of date; rerun build_problems.py", file=sys.stderr)
            return 1
        print(f"{options.out}: up to date ({len(built)} problems)")
        return 0
    options.out.write_text(text, encoding="utf-8")
    loaded = load_problems(options.out)
    print(f"wrote {len(loaded)} problems to {options.out} "
          f"(slowest test {max(s for _, _, s in built) * 1000:.2f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
