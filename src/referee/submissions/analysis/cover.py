"""Covering writes: is a stored or freshly allocated buffer rewritten from this call's inputs before it is
returned?

For a value read from a persistent container (an output replay candidate) the write must happen on every path
to the `return` (a statement before it in an enclosing block, or in every branch of an `if`), and must use
input-derived values. For an uninitialised allocation any write anywhere in the function counts: honest code
fills buffers in either branch of an `if`, and the FAIL must not fire on it.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from referee.submissions.analysis.state import Container
from referee.submissions.analysis.vocab import PASSTHROUGH_METHODS, READ_ONLY_CALLS, SHAPE_METHODS

if TYPE_CHECKING:
    from referee.submissions.analysis.flow import Flow, Origin


RECOMPUTE_METHODS = frozenset({"replay"})


class Coverage:
    """Write checks over one submission's data flow."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.sub = flow.sub
        self.state = flow.state
        self._returned: set[str] = set()

    def is_tainted(self, expr, function, values_only: bool = False) -> bool:
        return self.flow.is_tainted(expr, function, values_only)

    def origins(self, expr, function):
        return self.flow.origins(expr, function)

    def reads_container(self, expr: ast.AST, function: ast.AST, container: Container) -> bool:
        if self.state.container_of(expr, function) == container:
            return True
        return any(o.kind == "read" and o.container == container for o in self.origins(expr, function))

    def covered(self, ret: ast.AST, function: ast.AST, origin: Origin) -> bool:
        """True when, on every path to `ret`, a statement rewrites the stored object from the inputs."""
        if isinstance(function, ast.Lambda) or origin.container is None:
            return False
        container = origin.container
        value = ret.value if isinstance(ret, ast.Return) else ret
        self._returned = _object_names(value) if value is not None else set()
        child = ret
        for ancestor in self.sub.ancestors(ret):
            for field in ("body", "orelse", "finalbody"):
                block = getattr(ancestor, field, None)
                if isinstance(block, list) and child in block:
                    for stmt in block[:block.index(child)]:
                        if self._stmt_covers(stmt, function, container):
                            return True
            if ancestor is function:
                break
            child = ancestor
        return False

    def _stmt_covers(self, stmt: ast.AST, function: ast.AST, container: Container) -> bool:
        if isinstance(stmt, ast.If):
            return (bool(stmt.orelse) and self._block_covers(stmt.body, function, container)
                    and self._block_covers(stmt.orelse, function, container))
        if isinstance(stmt, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)):
            return self._block_covers(stmt.body, function, container)
        if isinstance(stmt, ast.Try):
            return self._block_covers(stmt.body, function, container)
        if isinstance(stmt, ast.Match):
            return all(self._block_covers(case.body, function, container) for case in stmt.cases)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return False
        return self._simple_covers(stmt, function, container)

    def _block_covers(self, block: list[ast.stmt], function: ast.AST, container: Container) -> bool:
        # A branch that leaves the function (`return other`, `raise`) never reaches the later return, so it
        # cannot hand back the stale buffer there: `if k == 1536: return fresh() else: gemm(.., y=out)`.
        return (bool(block) and isinstance(block[-1], (ast.Return, ast.Raise))) or any(
            self._stmt_covers(stmt, function, container) for stmt in block)

    def _simple_covers(self, stmt: ast.AST, function: ast.AST, container: Container) -> bool:
        targets: list[ast.AST] = []
        value = None
        if isinstance(stmt, ast.Assign):
            targets, value = list(stmt.targets), stmt.value
        elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
            targets, value = [stmt.target], stmt.value
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id in self._returned for t in targets) \
                and not self.reads_container(value, function, container):
            return True  # the returned name is rebound to something else before the return
        if value is not None and self.is_tainted(value, function):
            for target in targets:
                if isinstance(target, ast.Subscript):
                    if self.reads_container(target.value, function, container):
                        return True
                elif self.state.container_of(target, function) == container:
                    return True
        for node in ast.walk(stmt):
            if not isinstance(node, ast.Call):
                continue
            args = [*node.args, *(k.value for k in node.keywords)]
            func = node.func
            in_place = isinstance(func, ast.Attribute) and (func.attr.endswith("_") or func.attr in (
                "update", "__setitem__"))
            if in_place and self.reads_container(func.value, function, container) and any(
                    self.is_tainted(a, function) for a in args):
                return True
            if isinstance(func, ast.Attribute) and func.attr in RECOMPUTE_METHODS and not node.args:
                # a captured CUDA graph recomputes its static outputs from the captured inputs; the graph and
                # its output buffer often sit in different caches (`g, a_in, y = _graphs[k]` / `_y[k]`), so
                # the graph's own container is not required to be the output's. A graph replayed on stale
                # placeholders is wrong output, which the dynamic probes catch.
                return True
            holders = [a for a in args if self.reads_container(a, function, container)]
            if holders and any(self.is_tainted(a, function) for a in args if a not in holders):
                return True
            if holders and isinstance(func, ast.Attribute) and self.is_tainted(func.value, function):
                return True
        return False

    def alloc_written(self, origin: Origin, function: ast.AST) -> bool:
        """True when an uninitialised allocation is written anywhere in `function` (flow-insensitive on
        purpose: a buffer filled in either branch of an `if` is filled)."""
        if isinstance(function, ast.Lambda):
            return False
        scope = self.sub.scopes.by_node.get(function)
        aliases: set[str] = set()
        if scope is not None:
            for name, bindings in scope.bindings.items():
                hits = [b for b in bindings if b.value is not None and origin in self.origins(b.value, function)]
                if hits and len(hits) < len(bindings):
                    return True  # rebound to something else as well: not provably left unwritten
                if hits:
                    aliases.add(name)
        for node in self.sub.own_nodes(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in aliases and (
                    scope is None or not scope.binds(node.id)) and origin in self.origins(node, function):
                aliases.add(node.id)  # a module-level buffer used by name
        if not aliases:
            return False
        for node in self.sub.own_nodes(function):
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and _is_alias(func.value, aliases) and (
                        func.attr.endswith("_") or func.attr not in PASSTHROUGH_METHODS | SHAPE_METHODS):
                    return True
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in READ_ONLY_CALLS:
                    continue
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    if any(isinstance(n, ast.Name) and n.id in aliases for n in ast.walk(arg)):
                        return True
            elif isinstance(node, (ast.Assign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, (ast.Subscript, ast.Attribute)) and _is_alias(target.value, aliases):
                        return True
                    if isinstance(node, ast.AugAssign) and isinstance(target, ast.Name) and target.id in aliases:
                        return True
        return False


def _is_alias(expr: ast.AST, aliases: set[str]) -> bool:
    """`out`, `out[0]`, `out.view(-1)`, `out.T`: an expression that refers to one of `aliases`."""
    while True:
        if isinstance(expr, ast.Name):
            return expr.id in aliases
        if isinstance(expr, (ast.Subscript, ast.Starred, ast.Attribute)):
            expr = expr.value
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and (
                expr.func.attr in PASSTHROUGH_METHODS):
            expr = expr.func.value
        else:
            return False


def _object_names(expr: ast.AST) -> set[str]:
    """Names whose objects are handed back by a return value (`out`, `(out, aux)`, `out.view(n)`), not the
    names used to index or compute it."""
    out: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            stack.extend(node.elts)
        elif isinstance(node, (ast.Subscript, ast.Starred, ast.Attribute)):
            stack.append(node.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                node.func.attr in PASSTHROUGH_METHODS):
            stack.append(node.func.value)
    return out
