"""Which names each scope binds, and how: the ground truth for alias resolution and persistent state.

Python's own rules, simplified where it does not matter for cheat detection: comprehension variables are
treated as bound in the enclosing scope, and bindings are collected flow-insensitively (every assignment to a
name in a scope counts), which over-approximates what a name can refer to. Over-approximation is the safe side
for an auditor: an alias that *might* point at `torch.cuda.Event` is treated as if it does.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from referee.submissions.analysis.source import Submission


@dataclass(frozen=True)
class Binding:
    """One way a name gets a value: `kind` is assign, unpack, import, def, class, for, with, aug, except, ..."""

    kind: str
    node: ast.AST
    value: ast.AST | None = None
    qualname: str | None = None


@dataclass
class Scope:
    """Names bound in one module, function, lambda or class body."""

    node: ast.AST
    parent: Scope | None
    kind: str
    params: dict[str, ast.arg] = field(default_factory=dict)
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    star_imports: list[str] = field(default_factory=list)

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    def binds(self, name: str) -> bool:
        return name in self.bindings or name in self.params


_BINDING_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Global, ast.Nonlocal, ast.Import,
                  ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr, ast.For, ast.AsyncFor,
                  ast.comprehension, ast.With, ast.AsyncWith, ast.ExceptHandler, ast.MatchAs, ast.MatchStar,
                  ast.MatchMapping, ast.Delete)


class Scopes:
    """All scopes of a submission, built in one pass over the tree."""

    def __init__(self, sub: Submission) -> None:
        self.sub = sub
        self.by_node: dict[ast.AST, Scope] = {}
        self.module = self._build()

    # -- lookup -------------------------------------------------------------------------------------------
    def scope(self, node: ast.AST) -> Scope:
        """The scope a name used at `node` is looked up in."""
        return self.by_node.get(self.sub.scope_of(node), self.module)

    def defining_scope(self, name: str, scope: Scope) -> Scope | None:
        """Where `name`, used in `scope`, is bound (LEGB, class bodies skipped from nested functions)."""
        current: Scope | None = scope
        first = True
        while current is not None:
            if current.kind == "class" and not first:
                current = current.parent
                continue
            if name in current.globals and current is not self.module:
                return self.module if self.module.binds(name) else None
            if name in current.nonlocals:
                current = current.parent
                first = False
                continue
            if current.binds(name):
                return current
            current = current.parent
            first = False
        return None

    def bindings(self, name: str, node: ast.AST) -> tuple[Scope | None, list[Binding]]:
        """The scope that binds `name` as seen from `node`, and the bindings there."""
        owner = self.defining_scope(name, self.scope(node))
        if owner is None:
            return None, []
        return owner, owner.bindings.get(name, [])

    # -- construction ---------------------------------------------------------------------------------------
    def _build(self) -> Scope:
        """Create every scope, then file each binding under the scope it belongs to, from the node index
        (no second walk of the tree)."""
        sub = self.sub
        module = Scope(node=sub.tree, parent=None, kind="module")
        self.by_node[sub.tree] = module
        scope_nodes = sub.nodes(ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
        for node in scope_nodes:
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            scope = Scope(node=node, parent=None, kind=kind)
            if kind == "function":
                args = node.args
                for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                    if arg is not None:
                        scope.params[arg.arg] = arg
            self.by_node[node] = scope
        for node in scope_nodes:
            self.by_node[node].parent = self.by_node.get(sub.scope_of(node), module)
        for node in sub.nodes(*_BINDING_TYPES):
            scope = self.by_node.get(sub.scope_of(node), module)
            self._visit(node, scope)
        for scope in self.by_node.values():
            for bindings in scope.bindings.values():
                if len(bindings) > 1:
                    bindings.sort(key=lambda b: (getattr(b.node, "lineno", 0), getattr(b.node, "col_offset", 0)))
        return module

    def _visit(self, node: ast.AST, scope: Scope) -> None:
        """Record what `node` binds in `scope`."""
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            scope.bind(node.name, Binding("def", node))
        elif isinstance(node, ast.ClassDef):
            scope.bind(node.name, Binding("class", node))
        elif isinstance(node, ast.Global):
            scope.globals.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            scope.nonlocals.update(node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    scope.bind(alias.asname, Binding("import", node, qualname=alias.name))
                else:
                    top = alias.name.split(".")[0]
                    scope.bind(top, Binding("import", node, qualname=top))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                if alias.name == "*":
                    scope.star_imports.append(module)
                    continue
                qual = f"{module}.{alias.name}" if module else alias.name
                scope.bind(alias.asname or alias.name, Binding("import", node, qualname=qual))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind_target(target, node.value, node, scope, "assign")
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self._bind_target(node.target, node.value, node, scope, "assign")
        elif isinstance(node, ast.AugAssign):
            self._bind_target(node.target, node.value, node, scope, "aug")
        elif isinstance(node, ast.NamedExpr):
            self._bind_target(node.target, node.value, node, scope, "assign")
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            self._bind_target(node.target, node.iter, node, scope, "for")
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    self._bind_target(item.optional_vars, item.context_expr, node, scope, "with")
        elif isinstance(node, ast.ExceptHandler):
            if node.name:
                scope.bind(node.name, Binding("except", node))
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)):
            if node.name:
                scope.bind(node.name, Binding("match", node))
        elif isinstance(node, ast.MatchMapping):
            if node.rest:
                scope.bind(node.rest, Binding("match", node))
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    scope.bind(target.id, Binding("del", node))

    def _bind_target(self, target: ast.AST, value: ast.AST, node: ast.AST, scope: Scope, kind: str) -> None:
        if isinstance(target, ast.Name):
            scope.bind(target.id, Binding(kind, node, value))
        elif isinstance(target, (ast.Tuple, ast.List)):
            elements = value.elts if isinstance(value, (ast.Tuple, ast.List)) and kind == "assign" else None
            if elements is not None and len(elements) == len(target.elts) and not any(
                    isinstance(e, ast.Starred) for e in target.elts):
                for sub_target, sub_value in zip(target.elts, elements, strict=True):
                    self._bind_target(sub_target, sub_value, node, scope, kind)
            else:
                for sub_target in target.elts:
                    self._bind_target(sub_target, value, node, scope, "unpack" if kind == "assign" else kind)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, value, node, scope, "unpack" if kind == "assign" else kind)
