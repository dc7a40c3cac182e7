"""Taint: which local names are computed from the entry point's inputs, and whether from their values or
only from their metadata (shape, dtype, device). A branch on `x.shape` is a dispatch; a branch on `x.any()` is
a probe of the data."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from referee.submissions.analysis.vocab import SHAPE_ATTRS, SHAPE_FUNCS, SHAPE_METHODS

if TYPE_CHECKING:
    from referee.submissions.analysis.entry import EntryPoints
    from referee.submissions.analysis.source import Submission


class Taint:
    """Input taint per function, memoised."""

    def __init__(self, sub: Submission, entries: EntryPoints) -> None:
        self.sub = sub
        self.entry_points = entries
        self._taint_memo: dict[tuple[ast.AST, bool], set[str]] = {}
        self._names_memo: dict[tuple[ast.AST, bool], frozenset[str]] = {}

    def inputs(self, function: ast.AST) -> tuple[str, ...]:
        return self.entry_points.inputs(function)

    # -- taint -----------------------------------------------------------------------------------------------
    def tainted(self, function: ast.AST, values_only: bool = False) -> set[str]:
        """Local names computed from the function's inputs (`values_only`: from their values, not shapes)."""
        key = (function, values_only)
        if key in self._taint_memo:
            return self._taint_memo[key]
        scope = self.sub.scopes.by_node.get(function)
        names = set(self.inputs(function)) if hasattr(function, "args") else set()
        if scope is not None:
            # names read by each binding and call argument are memoised (`_names_in`), so the rounds after the
            # first only intersect sets; a call is looked at only while it can still taint something new
            filled = [fact for fact in (self._fills(n) for n in self.sub.own_nodes(function)
                                        if isinstance(n, ast.Call)) if fact[1]]
            for _ in range(8):
                grew = False
                for name, bindings in scope.bindings.items():
                    if name not in names and any(
                            b.value is not None and not self._names_in(b.value, values_only).isdisjoint(names)
                            for b in bindings):
                        names.add(name)
                        grew = True
                for args, writes in filled:
                    pending = [w for w in writes if w not in names]
                    if pending and any(not self._names_in(a, values_only).isdisjoint(names) for a in args):
                        for name in pending:
                            if scope.binds(name):
                                names.add(name)
                                grew = True
                if not grew:
                    break
        self._taint_memo[key] = names
        return names

    @staticmethod
    def _fills(call: ast.Call) -> tuple[list[ast.AST], tuple[str, ...]]:
        """A call's arguments and the names it fills when they are tainted: `res.append(c)`, `out.copy_(x)`, and
        out-parameters (`gemm(a, b, y=out)`, `launch(a.data_ptr(), out.data_ptr())`): a buffer written by a
        kernel holds input-derived values even though no assignment says so."""
        args = [*call.args, *(k.value for k in call.keywords)]
        writes = [holder for holder in map(_buffer_name, args) if holder is not None]
        func = call.func
        if args and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and (
                func.attr in FILL_METHODS or func.attr.endswith("_")):
            writes.append(func.value.id)
        return args, tuple(writes)

    def is_tainted(self, expr: ast.AST | None, function: ast.AST | None, values_only: bool = False) -> bool:
        if expr is None or function is None:
            return False
        return self._mentions(expr, self.tainted(function, values_only), values_only)

    def _mentions(self, expr: ast.AST, names: set[str], values_only: bool) -> bool:
        return not self._names_in(expr, values_only).isdisjoint(names)

    def _names_in(self, expr: ast.AST, values_only: bool) -> frozenset[str]:
        """Names `expr` reads (not inside a nested function; with `values_only`, not through shape-only reads),
        memoised: the taint fixpoint asks the same bindings and call arguments again on every round."""
        key = (expr, values_only)
        found = self._names_memo.get(key)
        if found is not None:
            return found
        out: set[str] = set()
        stack = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                out.add(node.id)
                continue
            if isinstance(node, (ast.Lambda, ast.FunctionDef)):
                continue
            if values_only and _shape_only(node):
                continue
            stack.extend(ast.iter_child_nodes(node))
        found = self._names_memo[key] = frozenset(out)
        return found


FILL_METHODS = frozenset({"append", "extend", "insert", "add", "update", "setdefault"})
POINTER_METHODS = frozenset({"data_ptr", "contiguous", "view", "reshape", "flatten", "t", "permute"})


def _buffer_name(arg: ast.AST) -> str | None:
    """The name of a buffer handed to a call to be written: `out`, `out.data_ptr()`, `out.view(-1)`."""
    while isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr in POINTER_METHODS:
        arg = arg.func.value
    return arg.id if isinstance(arg, ast.Name) else None


def _shape_only(node: ast.AST) -> bool:
    """Sub-expressions that read only an input's metadata (its shape, dtype, device), never its values."""
    if isinstance(node, ast.Attribute) and node.attr in SHAPE_ATTRS:
        return True
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in SHAPE_METHODS:
            return True
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in SHAPE_FUNCS:
            return not (name == "full_like" and len(node.args) > 1 and not isinstance(node.args[1], ast.Constant))
    return False
