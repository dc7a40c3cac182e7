"""Upstream assert strings, taken apart in the parent: what to call, and what must come back.

A test such as ``assert Solution().m(nums = [1, 2]) == 3`` becomes a `TestCase` holding the call's argument
source (rebuilt and evaluated in the sandboxed child, before the solution loads) and the expected value (kept
here: the child never sees it). Three shapes are understood, in either operand order:

- ``assert Solution().m(...) == <literal>``                        -> kind "eq"
- ``assert is_same_list(Solution().m(...), list_node([...]))``     -> kind "list"
- ``assert is_same_tree(Solution().m(...), tree_node([...]))``     -> kind "tree"

Expected values are read with a literal-only evaluator (constants, containers, unary minus, `inf`, `nan`,
`float('inf')`, small arithmetic on numbers), never `eval`. Anything else is a `TestParseError`, so a problem
whose tests we cannot check strictly is refused up front instead of being graded loosely.
"""

from __future__ import annotations

import ast
import hashlib
import math
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from referee.loopholes.values import encode, is_plain, tree_preorder

TestKind = Literal["eq", "list", "tree"]
_FUNC_NAME = re.compile(r"^\s*([A-Za-z_]\w*)\(\)\.([A-Za-z_]\w*)\s*$")
_NAMES = {"inf": math.inf, "nan": math.nan, "None": None, "True": True, "False": False}
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_HELPERS: dict[str, tuple[str, TestKind]] = {"is_same_list": ("list_node", "list"),
                                             "is_same_tree": ("tree_node", "tree")}


class TestParseError(ValueError):
    """An assert string this grader cannot check strictly (says which one and why)."""

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class TestCase:
    """One assert: the call to make in the child and the value the parent expects."""

    __test__ = False

    index: int
    source: str
    #: Python source of the call's arguments, e.g. ``nums = [1, 2], k = 3`` (evaluated in the child)
    args: str
    kind: TestKind
    #: plain value (eq), list of node values (list) or level-order listing (tree)
    expected: Any

    def expected_compare(self) -> Any:
        """The value the child's report of this test is compared with (tree: pre-order listing)."""
        if self.kind == "tree":
            return tree_preorder(self.expected)
        return self.expected


@dataclass(frozen=True)
class TestPlan:
    """Everything needed to grade completions against one problem's tests (built once per problem)."""

    class_name: str
    method: str
    setup_code: str
    tests: tuple[TestCase, ...]
    #: identifies the argument sources (compiled once per fork server) and, separately, the setup code
    key: str = field(default="")
    setup_key: str = field(default="")

    @property
    def args_sources(self) -> list[str]:
        return [t.args for t in self.tests]

    @property
    def kinds(self) -> list[str]:
        return [t.kind for t in self.tests]

    def expected_encoded(self, index: int) -> Any:
        """The tagged encoding of test `index`'s expected value (sent to the child only after its commit)."""
        return encode(self.tests[index].expected)


def split_func_name(func_name: str) -> tuple[str, str]:
    """`Solution().twoSum` -> ("Solution", "twoSum")."""
    match = _FUNC_NAME.match(func_name or "")
    if not match:
        raise TestParseError(f"func_name must look like 'Solution().method', got {func_name!r}")
    return match.group(1), match.group(2)


def infer_func_name(tests: Sequence[str]) -> str:
    """Guess `Solution().m` from the first assert that calls one (for callers that pass no func_name)."""
    for text in tests:
        match = re.search(r"([A-Za-z_]\w*)\(\)\.([A-Za-z_]\w*)\(", text)
        if match:
            return f"{match.group(1)}().{match.group(2)}"
    raise TestParseError("cannot infer the method under test: no assert calls `Solution().<method>(...)`")


def build_plan(tests: Sequence[str], func_name: str | None = None, setup_code: str = "") -> TestPlan:
    """Parse every assert of a problem; raises TestParseError naming the first one that cannot be used."""
    if not tests:
        raise TestParseError("a problem needs at least one test")
    class_name, method = split_func_name(func_name or infer_func_name(tests))
    cases = tuple(parse_test(text, index, class_name, method) for index, text in enumerate(tests))
    digest = hashlib.sha256()
    for part in (class_name, method, setup_code, *(c.args for c in cases)):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    setup_key = hashlib.sha256(setup_code.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return TestPlan(class_name, method, setup_code, cases, key=digest.hexdigest()[:24], setup_key=setup_key)


def parse_test(text: str, index: int, class_name: str, method: str) -> TestCase:
    """One assert string -> TestCase (see the module docstring for the accepted shapes)."""
    try:
        tree = ast.parse(text.strip())
    except (SyntaxError, ValueError) as exc:
        raise TestParseError(f"test {index} does not parse: {exc}") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
        raise TestParseError(f"test {index} is not a single assert statement: {text[:80]!r}")
    test = tree.body[0].test
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        left, right = test.left, test.comparators[0]
        call, other = (left, right) if _is_target_call(left, class_name, method) else (right, left)
        if not _is_target_call(call, class_name, method):
            raise TestParseError(f"test {index} does not call {class_name}().{method}(...): {text[:80]!r}")
        expected = literal(other, f"test {index}")
        if not is_plain(expected):
            raise TestParseError(f"test {index}: expected value is not a plain literal")
        return TestCase(index, text, _args_source(call), "eq", expected)
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id in _HELPERS:
        builder, kind = _HELPERS[test.func.id]
        if len(test.args) != 2 or test.keywords:
            raise TestParseError(f"test {index}: {test.func.id} takes two arguments")
        first, second = test.args
        call, other = (first, second) if _is_target_call(first, class_name, method) else (second, first)
        if not _is_target_call(call, class_name, method):
            raise TestParseError(f"test {index} does not call {class_name}().{method}(...): {text[:80]!r}")
        if not (isinstance(other, ast.Call) and isinstance(other.func, ast.Name) and other.func.id == builder
                and len(other.args) == 1 and not other.keywords):
            raise TestParseError(f"test {index}: expected side must be {builder}([...])")
        values = literal(other.args[0], f"test {index}")
        if values is None:
            values = []
        if type(values) is not list or not is_plain(values):
            raise TestParseError(f"test {index}: {builder} needs a list literal")
        return TestCase(index, text, _args_source(call), kind, values)
    raise TestParseError(f"test {index}: unsupported assert shape (use ==, is_same_list or is_same_tree): "
                         f"{text[:80]!r}")


def _is_target_call(node: ast.AST, class_name: str, method: str) -> bool:
    """`Solution().m(...)` exactly (a fresh instance per call, as upstream writes its asserts)."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method
            and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == class_name and not node.func.value.args
            and not node.func.value.keywords)


def _args_source(call: ast.Call) -> str:
    parts = [ast.unparse(arg) for arg in call.args]
    for keyword in call.keywords:
        parts.append(f"**{ast.unparse(keyword.value)}" if keyword.arg is None
                     else f"{keyword.arg}={ast.unparse(keyword.value)}")
    return ", ".join(parts)


def literal(node: ast.AST, where: str = "value") -> Any:
    """Evaluate a literal expression without `eval`: constants, containers, unary +/-, inf/nan, number math."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bytes | complex) or node.value is Ellipsis:
            raise TestParseError(f"{where}: unsupported constant {node.value!r}")
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if isinstance(node, ast.List):
        return [literal(item, where) for item in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(literal(item, where) for item in node.elts)
    if isinstance(node, ast.Set):
        return {literal(item, where) for item in node.elts}
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise TestParseError(f"{where}: ** in a dict literal is not supported")
        return {literal(k, where): literal(v, where) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = literal(node.operand, where)
        if type(value) not in (int, float):
            raise TestParseError(f"{where}: unary sign on a non-number")
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = literal(node.left, where), literal(node.right, where)
        if type(left) not in (int, float) or type(right) not in (int, float):
            raise TestParseError(f"{where}: arithmetic on non-numbers")
        if isinstance(node.op, ast.Pow) and (abs(right) > 4096 or abs(left) > 1 << 64):
            raise TestParseError(f"{where}: power too large")
        try:
            return _BINOPS[type(node.op)](left, right)
        except (ArithmeticError, ValueError) as exc:
            raise TestParseError(f"{where}: {exc}") from None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float"
            and len(node.args) == 1 and not node.keywords and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)):
        try:
            return float(node.args[0].value)
        except ValueError:
            raise TestParseError(f"{where}: float({node.args[0].value!r})") from None
    raise TestParseError(f"{where}: expected value is not a literal ({ast.unparse(node)[:60]})")
