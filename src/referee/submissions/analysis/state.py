"""State that outlives one call of the entry point, and where it is written at run time.

An output replay needs somewhere to keep the output between timed calls: a global, a closure variable, a
mutable default argument, a function or class attribute, an instance attribute of a callable object, or an
`lru_cache`. This module names those places (`Container`) and finds the statements that store into them
while the submission runs (not at import time, which is how honest code builds its constant tables).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from referee.submissions.analysis.source import Submission

MUTABLE_FACTORIES = frozenset({
    "builtins.dict", "builtins.list", "builtins.set", "builtins.bytearray", "collections.defaultdict",
    "collections.OrderedDict", "collections.deque", "collections.Counter", "weakref.WeakValueDictionary",
    "weakref.WeakKeyDictionary", "types.SimpleNamespace",
})
MUTATORS = frozenset({"append", "extend", "insert", "add", "update", "setdefault", "__setitem__", "put",
                      "appendleft", "set", "put_nowait", "push", "store", "save"})
MEMO_DECORATORS = frozenset({"functools.lru_cache", "functools.cache", "functools.lru_cache()",
                             "functools.cache()", "functools.cached_property", "cachetools.cached",
                             "cachetools.cached()", "methodtools.lru_cache", "methodtools.lru_cache()"})


@dataclass(frozen=True)
class Container:
    """A place that keeps values across calls. `kind`: global, closure, param, attr or memo."""

    kind: str
    owner: str
    name: str

    def label(self) -> str:
        if self.kind == "global":
            return f"global `{self.name}`"
        if self.kind == "closure":
            return f"closure variable `{self.name}` of `{self.owner}`"
        if self.kind == "param":
            return f"mutable default argument `{self.name}` of `{self.owner}`"
        if self.kind == "memo":
            return f"memoised function `{self.owner}`"
        return f"attribute `{self.owner}.{self.name}`"


def function_label(node: ast.AST) -> str:
    return getattr(node, "name", "<lambda>")


def first_param(function: ast.AST) -> str | None:
    args = getattr(function, "args", None)
    if args is None:
        return None
    params = [*args.posonlyargs, *args.args]
    return params[0].arg if params else None


class State:
    """Persistent containers of one submission and their run-time stores."""

    def __init__(self, sub: Submission) -> None:
        self.sub = sub
        self._busy: set[ast.AST] = set()

    # -- naming containers --------------------------------------------------------------------------------
    def container_of(self, expr: ast.AST, function: ast.AST | None) -> Container | None:
        """The persistent container `expr` reads or writes, seen from inside `function`."""
        if function is None:
            return None
        if isinstance(expr, ast.Subscript):
            return self.container_of(expr.value, function)
        if isinstance(expr, ast.Name):
            return self._name_container(expr, function)
        if isinstance(expr, ast.Attribute):
            return self._attr_container(expr, function)
        if isinstance(expr, ast.Call) and len(expr.args) >= 2 and "builtins.getattr" in self.sub.resolver.qualnames(
                expr.func):
            attr = self.sub.folder.fold_str(expr.args[1])
            if attr is not None:
                return self._attr_container(ast.Attribute(value=expr.args[0], attr=attr, ctx=ast.Load()), function)
        return None

    def _name_container(self, expr: ast.Name, function: ast.AST) -> Container | None:
        scopes = self.sub.scopes
        scope = scopes.by_node.get(function)
        if scope is None:
            return None
        name = expr.id
        if name in scope.params and name not in scope.globals and name not in scope.nonlocals:
            default = self._param_default(function, name)
            if (default is not None and self._is_mutable(default)) or name in self.partial_bound.get(function, ()):
                return Container("param", function_label(function), name)
            return None
        owner = scopes.defining_scope(name, scope)
        if owner is None:
            return None
        bindings = owner.bindings.get(name, [])
        if bindings and all(b.kind in ("import", "def", "class") for b in bindings):
            return None
        if owner is scope:
            # a local alias of a container: `c = _cache` or `c = self._cache`
            if expr in self._busy:
                return None
            self._busy.add(expr)
            try:
                found = None
                for binding in bindings:
                    if binding.kind != "assign" or not isinstance(binding.value, (ast.Name, ast.Attribute)):
                        return None
                    found = self.container_of(binding.value, function)
                    if found is None:
                        return None
                return found
            finally:
                self._busy.discard(expr)
        if owner.kind == "module":
            return Container("global", "", name)
        if owner.kind == "function":
            return Container("closure", function_label(owner.node), name)
        return None

    def _attr_container(self, expr: ast.Attribute, function: ast.AST) -> Container | None:
        base = expr.value
        if isinstance(base, ast.Name):
            cls = self.sub.class_of(function)
            if cls is not None and base.id == first_param(function):
                return Container("attr", cls.name, expr.attr)
            names = self.sub.resolver.qualnames(base)
            for name in names:
                if name.startswith("__submission__.") and name.count(".") == 1:
                    return Container("attr", name.split(".", 1)[1], expr.attr)
        if isinstance(base, ast.Name):
            _, bindings = self.sub.scopes.bindings(base.id, base)
            if bindings and all(b.kind in ("def", "class") for b in bindings):
                return Container("attr", base.id, expr.attr)  # attribute of a (nested) function or class
        inner = self.container_of(base, function)
        if inner is not None:
            return Container("attr", inner.name if inner.kind != "attr" else f"{inner.owner}.{inner.name}",
                             expr.attr)
        return None

    def _param_default(self, function: ast.AST, name: str) -> ast.AST | None:
        args = function.args
        positional = [*args.posonlyargs, *args.args]
        defaults = args.defaults
        offset = len(positional) - len(defaults)
        for index, arg in enumerate(positional):
            if arg.arg == name and index >= offset:
                return defaults[index - offset]
        for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            if arg.arg == name:
                return default
        return None

    def _is_mutable(self, node: ast.AST) -> bool:
        if isinstance(node, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)):
            return True
        if isinstance(node, ast.Call):
            return bool(self.sub.resolver.qualnames(node.func) & MUTABLE_FACTORIES)
        return False

    @cached_property
    def partial_bound(self) -> dict[ast.AST, set[str]]:
        """Parameters pre-bound to a mutable object by `functools.partial(f, cache={})`: state across calls."""
        out: dict[ast.AST, set[str]] = {}
        for call in self.sub.nodes(ast.Call):
            if not call.args or "functools.partial" not in self.sub.resolver.qualnames(call.func):
                continue
            target = call.args[0]
            if not isinstance(target, ast.Name):
                continue
            _, bindings = self.sub.scopes.bindings(target.id, target)
            for binding in bindings:
                if binding.kind != "def":
                    continue
                for keyword in call.keywords:
                    if keyword.arg and self._is_mutable(keyword.value):
                        out.setdefault(binding.node, set()).add(keyword.arg)
        return out

    # -- run-time stores ----------------------------------------------------------------------------------------
    @cached_property
    def stores(self) -> dict[Container, list[ast.AST]]:
        """Statements inside functions that put a value into a container (not module-level initialisation)."""
        out: dict[Container, list[ast.AST]] = {}
        for node in self.sub.nodes(ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Call):
            function = self.sub.function_of(node)
            if function is None or self.sub.main_guarded(function):
                continue
            scope = self.sub.scopes.by_node.get(function)
            in_init = getattr(function, "name", "") in ("__init__", "__new__", "__post_init__")
            for container in self._stored(node, function, scope, in_init):
                out.setdefault(container, []).append(node)
        return out

    def _stored(self, node: ast.AST, function: ast.AST, scope, in_init: bool) -> list[Container]:
        found: list[Container] = []
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for leaf in _leaves(target):
                if isinstance(leaf, ast.Name):
                    if scope is not None and (leaf.id in scope.globals or leaf.id in scope.nonlocals):
                        found.append(self._declared(leaf.id, function, scope))
                elif isinstance(leaf, ast.Subscript):
                    container = self.container_of(leaf.value, function)
                    if container is not None:
                        found.append(container)
                elif isinstance(leaf, ast.Attribute) and not in_init:
                    container = self.container_of(leaf, function)
                    if container is not None:
                        found.append(container)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in MUTATORS:
                container = self.container_of(func.value, function)
                if container is not None:
                    found.append(container)
            elif (len(node.args) == 3 and not in_init
                  and "builtins.setattr" in self.sub.resolver.qualnames(func)):
                attr = self.sub.folder.fold_str(node.args[1])
                if attr is not None:
                    probe = ast.Attribute(value=node.args[0], attr=attr, ctx=ast.Load())
                    container = self._attr_container(probe, function)
                    if container is not None:
                        found.append(container)
        return found

    def _declared(self, name: str, function: ast.AST, scope) -> Container:
        if name in scope.globals:
            return Container("global", "", name)
        owner = self.sub.scopes.defining_scope(name, scope)
        label = function_label(owner.node) if owner is not None else "?"
        return Container("closure", label, name)

    @cached_property
    def import_stores(self) -> dict[str, list[ast.AST]]:
        """Values put into module-level containers while the module is imported (`_answers[k] = a @ b`,
        `_bank.append(x)` at top level or in a top-level loop): data prepared before any call."""
        out: dict[str, list[ast.AST]] = {}
        module = self.sub.tree
        for node in self.sub.nodes(ast.Assign):
            if self.sub.scope_of(node) is not module:
                continue
            for target in node.targets:
                for leaf in _leaves(target):
                    if isinstance(leaf, ast.Subscript) and isinstance(_root(leaf), ast.Name):
                        out.setdefault(_root(leaf).id, []).append(node.value)
        for call in self.sub.nodes(ast.Call):
            func = call.func
            if (self.sub.scope_of(call) is module and isinstance(func, ast.Attribute) and func.attr in MUTATORS
                    and isinstance(func.value, ast.Name)):
                values = [v for k in call.keywords for v in [k.value]] + list(call.args[-1:])
                for value in values:
                    if isinstance(value, ast.Dict):
                        out.setdefault(func.value.id, []).extend(v for v in value.values if v is not None)
                    else:
                        out.setdefault(func.value.id, []).append(value)
        return out

    def is_stored(self, container: Container) -> bool:
        return container.kind == "memo" or container in self.stores

    @cached_property
    def counters(self) -> set[Container]:
        """Containers incremented at run time (`calls += 1`, `n = n + 1`): call counters."""
        out: set[Container] = set()
        for node in self.sub.nodes(ast.AugAssign, ast.Assign):
            function = self.sub.function_of(node)
            if function is None:
                continue
            scope = self.sub.scopes.by_node.get(function)
            target = None
            if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub)):
                target = node.target
            elif (isinstance(node, ast.Assign) and len(node.targets) == 1
                  and isinstance(node.value, ast.BinOp) and isinstance(node.value.op, (ast.Add, ast.Sub))):
                candidate = node.targets[0]
                mine = self.container_of(candidate, function) if not isinstance(candidate, ast.Name) else None
                if _same_name(node.value.left, candidate) or (
                        mine is not None and mine in (self.container_of(node.value.left, function),
                                                      self.container_of(node.value.right, function))):
                    target = candidate
            if target is None:
                continue
            if isinstance(target, ast.Name):
                if scope is not None and (target.id in scope.globals or target.id in scope.nonlocals):
                    out.add(self._declared(target.id, function, scope))
            elif isinstance(target, (ast.Attribute, ast.Subscript)):
                container = self.container_of(target, function)
                if container is not None:
                    out.add(container)
        return out

    # -- memoisation ---------------------------------------------------------------------------------------------
    def is_memo_decorated(self, function: ast.AST) -> bool:
        for decorator in getattr(function, "decorator_list", []):
            names = self.sub.resolver.qualnames(decorator)
            if isinstance(decorator, ast.Call):
                names = names | {n[:-2] for n in self.sub.resolver.qualnames(decorator) if n.endswith("()")}
                names = names | self.sub.resolver.qualnames(decorator.func)
            if names & MEMO_DECORATORS:
                return True
        return False

    def memo_wrapped(self, value: ast.AST) -> ast.AST | None:
        """For `f = lru_cache(maxsize=None)(g)` or `f = functools.cache(g)`, the expression `g`."""
        if not isinstance(value, ast.Call) or not value.args:
            return None
        func = value.func
        names = self.sub.resolver.qualnames(func)
        if isinstance(func, ast.Call):
            names = names | self.sub.resolver.qualnames(func.func)
        if names & MEMO_DECORATORS:
            return value.args[0]
        return None


def _leaves(target: ast.AST) -> list[ast.AST]:
    if isinstance(target, (ast.Tuple, ast.List)):
        out: list[ast.AST] = []
        for element in target.elts:
            out.extend(_leaves(element))
        return out
    if isinstance(target, ast.Starred):
        return _leaves(target.value)
    return [target]


def _root(expr: ast.AST) -> ast.AST:
    while isinstance(expr, (ast.Subscript, ast.Attribute)):
        expr = expr.value
    return expr


def _same_name(a: ast.AST, b: ast.AST) -> bool:
    """`n` and `n`, or `self.n` and `self.n`: the same simple reference on both sides of `x = x + 1`."""
    if isinstance(a, ast.Name) and isinstance(b, ast.Name):
        return a.id == b.id
    if isinstance(a, ast.Attribute) and isinstance(b, ast.Attribute):
        return a.attr == b.attr and _same_name(a.value, b.value)
    return False
