"""Data flow from the entry point's inputs to what it returns.

The question that separates an output cache from a benign cache is not "is there a dict keyed by shape?" but
"is the value handed back to the harness a stored object that was not recomputed from this call's inputs?".
`Flow.origins` answers where a value comes from (an input, a persistent container, an uninitialised
allocation, a random generator, a literal, a tensor subclass, or a fresh computation), following local
assignments and, up to a small depth, helper functions. `Flow.covered` says whether a statement that runs on
every path to a `return` rewrites the stored object from the inputs first (a reused output buffer), which
makes it honest again.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from referee.submissions.analysis.cover import Coverage
from referee.submissions.analysis.entry import Entry, EntryPoints
from referee.submissions.analysis.state import Container, State, first_param
from referee.submissions.analysis.taint import Taint
from referee.submissions.analysis.vocab import (
    ALLOC_FUNCS,
    CONTAINER_READS,
    LAZY_HOOKS,
    LEGACY_CONSTRUCTORS,
    LITERAL_FUNCS,
    PASSTHROUGH_ATTRS,
    PASSTHROUGH_FUNCS,
    PASSTHROUGH_METHODS,
    RNG_FUNCS,
    RNG_METHODS,
    SUBCLASS_FACTORIES,
    TENSOR_BASES,
)

if TYPE_CHECKING:
    from referee.submissions.analysis.source import Submission


@dataclass(frozen=True)
class Origin:
    """Where (part of) a value comes from. `kind`: input, read, alloc, rng, literal, subclass or fresh."""

    kind: str
    node: ast.AST | None = None
    container: Container | None = None
    key: ast.AST | None = None
    function: ast.AST | None = None
    size: int = 0


FRESH = Origin("fresh")


class Flow:
    """Data-flow facts of one submission, built lazily and memoised."""

    def __init__(self, sub: Submission) -> None:
        self.sub = sub
        self.state = State(sub)
        self._origin_memo: dict[tuple[ast.AST, ast.AST | None], frozenset[Origin]] = {}
        self._busy: set[object] = set()
        self._return_memo: dict[ast.AST, list[tuple[ast.AST, frozenset[Origin]]]] = {}
        self.entry_points = EntryPoints(sub, self.state)
        self.taint = Taint(sub, self.entry_points)
        self.coverage = Coverage(self)

    # -- entry points -----------------------------------------------------------------------------------------
    @property
    def entries(self) -> list[Entry]:
        """Functions the harness calls; when `custom_kernel` cannot be resolved, every top-level function."""
        return self.entry_points.entries

    def inputs(self, function: ast.AST) -> tuple[str, ...]:
        return self.entry_points.inputs(function)

    def callee(self, call: ast.Call, function: ast.AST | None) -> ast.AST | None:
        return self.entry_points.callee(call, function)

    # -- taint ------------------------------------------------------------------------------------------------
    def tainted(self, function: ast.AST, values_only: bool = False) -> set[str]:
        """Local names computed from the function's inputs (`values_only`: from their values, not shapes)."""
        return self.taint.tainted(function, values_only)

    def is_tainted(self, expr: ast.AST | None, function: ast.AST | None, values_only: bool = False) -> bool:
        return self.taint.is_tainted(expr, function, values_only)

    # -- origins ---------------------------------------------------------------------------------------------
    def origins(self, expr: ast.AST | None, function: ast.AST | None, depth: int = 0) -> frozenset[Origin]:
        """Where the value of `expr`, evaluated inside `function`, can come from."""
        if expr is None:
            return frozenset({FRESH})
        key = (expr, function)
        cached = self._origin_memo.get(key)
        if cached is not None:
            return cached
        if key in self._busy or depth > 40:
            return frozenset({FRESH})
        self.sub.tick()
        self._busy.add(key)
        try:
            result = frozenset(self._origins(expr, function, depth))
        finally:
            self._busy.discard(key)
        self._origin_memo[key] = result
        return result

    def _origins(self, expr: ast.AST, fn: ast.AST | None, depth: int) -> set[Origin]:
        state = self.state
        if isinstance(expr, ast.Name):
            return self._name_origins(expr, fn, depth)
        if isinstance(expr, ast.Attribute):
            container = state.container_of(expr, fn)
            if container is not None and state.is_stored(container):
                return {Origin("read", expr, container, None, fn)}
            if expr.attr in PASSTHROUGH_ATTRS:
                return set(self.origins(expr.value, fn, depth + 1))
            return {FRESH}
        if isinstance(expr, ast.Subscript):
            container = state.container_of(expr.value, fn)
            if container is not None and state.is_stored(container):
                return {Origin("read", expr, container, expr.slice, fn)}
            if self.is_tainted(expr.slice, fn, values_only=True):
                return {FRESH}  # a lookup table indexed by the input's values computes something
            return {_keyed(o, expr.slice) for o in self.origins(expr.value, fn, depth + 1)}
        if isinstance(expr, ast.Call):
            return self._call_origins(expr, fn, depth)
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            out: set[Origin] = set()
            for element in expr.elts:
                out |= self.origins(element.value if isinstance(element, ast.Starred) else element, fn, depth + 1)
            literal = literal_size(expr)
            if literal:
                out.add(Origin("literal", expr, size=literal))
            return out or {FRESH}
        if isinstance(expr, ast.Dict):
            out = set()
            for value in expr.values:
                out |= self.origins(value, fn, depth + 1)
            return out or {FRESH}
        if isinstance(expr, ast.IfExp):
            return set(self.origins(expr.body, fn, depth + 1) | self.origins(expr.orelse, fn, depth + 1))
        if isinstance(expr, ast.BoolOp):
            out = set()
            for value in expr.values:
                out |= self.origins(value, fn, depth + 1)
            return out
        if isinstance(expr, (ast.NamedExpr, ast.Await, ast.Starred)):
            return set(self.origins(expr.value, fn, depth + 1))
        if isinstance(expr, ast.BinOp):
            out = {FRESH}
            for side, other in ((expr.left, expr.right), (expr.right, expr.left)):
                if not self.is_tainted(other, fn):
                    out |= {o for o in self.origins(side, fn, depth + 1) if o.kind in ("read", "literal", "rng",
                                                                                         "alloc")}
            return out
        if isinstance(expr, ast.UnaryOp):
            return {FRESH} | {o for o in self.origins(expr.operand, fn, depth + 1) if o.kind != "input"}
        return {FRESH}

    def _name_origins(self, expr: ast.Name, fn: ast.AST | None, depth: int) -> set[Origin]:
        scopes, state = self.sub.scopes, self.state
        scope = scopes.by_node.get(fn) if fn is not None else scopes.module
        if scope is None:
            return {FRESH}
        if fn is not None and expr.id in scope.params and expr.id not in scope.globals:
            container = state.container_of(expr, fn)
            if container is not None:
                return {Origin("read", expr, container, None, fn)}
            if expr.id == first_param(fn) and self.sub.class_of(fn) is not None:
                return {FRESH}
            return {Origin("input", expr)}
        owner = scopes.defining_scope(expr.id, scope)
        if owner is None:
            return {FRESH}
        if owner is not scope:
            container = state.container_of(expr, fn)
            if container is not None and state.is_stored(container):
                return {Origin("read", expr, container, None, fn)}
        owner_fn = owner.node if owner.kind == "function" else None
        out: set[Origin] = set()
        for binding in owner.bindings.get(expr.id, []):
            if binding.value is not None and binding.kind in ("assign", "unpack", "for", "with", "aug"):
                found = self.origins(binding.value, owner_fn, depth + 1)
                if binding.kind == "aug":
                    found = frozenset({FRESH})
                out |= found
            else:
                out.add(FRESH)
        if owner.kind == "module":
            for value in state.import_stores.get(expr.id, ()):
                out |= self.origins(value, None, depth + 1)  # filled at import time: `_answers[k] = a @ b`
        return out or {FRESH}

    def _call_origins(self, call: ast.Call, fn: ast.AST | None, depth: int) -> set[Origin]:
        sub, state = self.sub, self.state
        func = call.func
        names = sub.resolver.qualnames(func)
        if isinstance(func, ast.Attribute):
            method, receiver = func.attr, func.value
            if method in CONTAINER_READS:
                container = state.container_of(receiver, fn)
                if container is not None and state.is_stored(container):
                    return {Origin("read", call, container, call.args[0] if call.args else None, fn)}
            if method in RNG_METHODS:
                return {Origin("rng", call)}
            if method == "new_empty":
                return {Origin("alloc", call)}
            if method == "as_subclass":
                return {Origin("subclass", call)}
            if method in PASSTHROUGH_METHODS or method in CONTAINER_READS:
                base = self.origins(receiver, fn, depth + 1)
                if method in CONTAINER_READS and call.args:
                    base = frozenset(_keyed(o, call.args[0]) for o in base)
                return set(base)
        if names & ALLOC_FUNCS or (names & LEGACY_CONSTRUCTORS and call.args and all(
                (isinstance(a, ast.Constant) and isinstance(a.value, int)) or isinstance(a, ast.Name)
                for a in call.args)):
            return {Origin("alloc", call)}
        if names & RNG_FUNCS or any(n.startswith("numpy.random.") for n in names):
            return {Origin("rng", call)}
        if names & SUBCLASS_FACTORIES or self._is_subclass_ctor(names):
            return {Origin("subclass", call)}
        if names & LITERAL_FUNCS and call.args:
            found = set(self.origins(call.args[0], fn, depth + 1))
            return found
        if names & PASSTHROUGH_FUNCS and call.args:
            return set(self.origins(call.args[0], fn, depth + 1))
        if self._is_memo_call(call, fn):
            label = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "?")
            return {Origin("read", call, Container("memo", label, label), call, fn)}
        callee = self.callee(call, fn)
        if callee is not None and depth < 12 and not isinstance(callee, ast.Lambda):
            return self._substitute(callee, call, fn, depth)
        return {FRESH}

    def _substitute(self, callee: ast.AST, call: ast.Call, fn: ast.AST | None, depth: int) -> set[Origin]:
        params = list(self.inputs(callee))
        out: set[Origin] = set()
        for _, found in self.return_origins(callee):
            for origin in found:
                if origin.kind == "input" and isinstance(origin.node, ast.Name):
                    arg = _argument_for(call, params, origin.node.id)
                    out |= self.origins(arg, fn, depth + 1) if arg is not None else {FRESH}
                else:
                    out.add(origin)
        return out or {FRESH}

    def _is_memo_call(self, call: ast.Call, fn: ast.AST | None) -> bool:
        func = call.func
        if isinstance(func, ast.Name):
            _, bindings = self.sub.scopes.bindings(func.id, func)
            for binding in bindings:
                if binding.kind == "def" and self.state.is_memo_decorated(binding.node):
                    return True
                if binding.kind == "assign" and binding.value is not None and self.state.memo_wrapped(binding.value):
                    return True
            return False
        callee = self.callee(call, fn)
        return callee is not None and self.state.is_memo_decorated(callee)

    def _is_subclass_ctor(self, names: frozenset[str]) -> bool:
        return any(n.startswith("__submission__.") and n.count(".") == 1 and n.split(".")[1] in self.lazy_classes
                   for n in names)

    @cached_property
    def lazy_classes(self) -> set[str]:
        """Tensor subclasses plus classes that intercept torch calls (`__torch_function__`/`__torch_dispatch__`)."""
        out = set(self.tensor_subclasses)
        for cls in self.sub.nodes(ast.ClassDef):
            if any(isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in LAZY_HOOKS
                   for item in cls.body):
                out.add(cls.name)
        return out

    @cached_property
    def tensor_subclasses(self) -> set[str]:
        """Names of classes in the submission that derive (directly or not) from torch.Tensor."""
        out: set[str] = set()
        classes = self.sub.nodes(ast.ClassDef)
        for _ in range(4):
            for cls in classes:
                for base in cls.bases:
                    names = self.sub.resolver.qualnames(base)
                    if names & TENSOR_BASES or any(n.split(".")[-1] in out for n in names
                                                   if n.startswith("__submission__.")):
                        out.add(cls.name)
        return out

    # -- returns and covering writes ------------------------------------------------------------------------------
    def returns(self, function: ast.AST) -> list[ast.AST]:
        """Return statements of `function` itself (a lambda's body counts as one)."""
        if isinstance(function, ast.Lambda):
            return [function.body]
        found = [n for n in self.sub.own_nodes(function) if isinstance(n, ast.Return) and n.value is not None]
        return sorted(found, key=lambda n: (n.lineno, n.col_offset))

    def return_origins(self, function: ast.AST) -> list[tuple[ast.AST, frozenset[Origin]]]:
        """Each return and the origins of its value, minus stored objects rewritten before the return."""
        cached = self._return_memo.get(function)
        if cached is not None:
            return cached
        if function in self._busy:
            return []
        self._busy.add(function)
        try:
            out = []
            for ret in self.returns(function):
                value = ret.value if isinstance(ret, ast.Return) else ret
                found = self.origins(value, function)
                kept = frozenset(o for o in found if not (
                    (o.kind == "read" and self.covered(ret, function, o))
                    or (o.kind == "alloc" and self.alloc_written(o, function))))
                out.append((ret, kept))
        finally:
            self._busy.discard(function)
        self._return_memo[function] = out
        return out

    def reads_container(self, expr: ast.AST, function: ast.AST, container: Container) -> bool:
        return self.coverage.reads_container(expr, function, container)

    def covered(self, ret: ast.AST, function: ast.AST, origin: Origin) -> bool:
        """True when, on every path to `ret`, a statement rewrites the stored object from the inputs."""
        return self.coverage.covered(ret, function, origin)

    def alloc_written(self, origin: Origin, function: ast.AST) -> bool:
        """True when an uninitialised allocation is written anywhere in `function`."""
        return self.coverage.alloc_written(origin, function)

    def guards(self, node: ast.AST, function: ast.AST) -> list[ast.AST]:
        """Conditions that must hold for `node` to run inside `function` (enclosing if/while tests)."""
        tests: list[ast.AST] = []
        child = node
        for ancestor in self.sub.ancestors(node):
            if ancestor is function:
                break
            if isinstance(ancestor, (ast.If, ast.While, ast.IfExp)) and child is not ancestor.test:
                tests.append(ancestor.test)
            child = ancestor
        return tests

    def local_values(self, name: str, function: ast.AST) -> list[ast.AST]:
        """Expressions assigned to a local name of `function`."""
        scope = self.sub.scopes.by_node.get(function)
        if scope is None:
            return []
        return [b.value for b in scope.bindings.get(name, []) if b.value is not None]


def _keyed(origin: Origin, key: ast.AST) -> Origin:
    if origin.kind == "read" and origin.key is None:
        return Origin("read", origin.node, origin.container, key, origin.function)
    return origin


def _argument_for(call: ast.Call, params: list[str], name: str) -> ast.AST | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if name in params:
        index = params.index(name)
        if index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[:index + 1]):
            return call.args[index]
    return None


def literal_size(expr: ast.AST) -> int:
    """Number of numeric constants in a (nested) list/tuple literal; 0 when it holds anything else."""
    count = 0
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            stack.extend(node.elts)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex)) and not isinstance(
                node.value, bool)) or (isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant)):
            count += 1
        else:
            return 0
        if count > 1_000_000:
            break
    return count
