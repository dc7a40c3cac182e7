"""Entry points: which function the harness actually calls, and which of the submission's functions a call
runs.

`custom_kernel` may be a def, a lambda, `torch.compile(f)`, `functools.partial(f, ...)`, an instance of a
callable class, or what a factory returns; `self.helper(...)` and `helper(...)` calls are resolved to the
submission's own defs so data flow can follow them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from referee.submissions.analysis.state import State, first_param, function_label

if TYPE_CHECKING:
    from referee.submissions.analysis.source import Submission

ENTRY_NAMES = ("custom_kernel",)
MAX_DEPTH = 3


@dataclass(frozen=True)
class Entry:
    """The function the harness calls (`custom_kernel`, a callable object's `__call__`, a factory's result)."""

    function: ast.AST
    inputs: tuple[str, ...]
    via: str
    resolved: bool


class EntryPoints:
    """Entry points of one submission and call resolution to its own functions."""

    def __init__(self, sub: Submission, state: State) -> None:
        self.sub = sub
        self.state = state

    @cached_property
    def entries(self) -> list[Entry]:
        """Functions the harness calls; when `custom_kernel` cannot be resolved, every top-level function."""
        found: list[Entry] = []
        module = self.sub.scopes.module
        for name in ENTRY_NAMES:
            for binding in module.bindings.get(name, []):
                if binding.kind == "def":
                    found.append(self._entry(binding.node, name, True))
                elif binding.kind == "assign" and binding.value is not None:
                    for function in self.functions_from(binding.value, 0):
                        found.append(self._entry(function, f"{name} = {function_label(function)}", True))
            for write in self.sub.writes:  # globals()["custom_kernel"] = f, setattr(module, "custom_kernel", f)
                if write.value is not None and (f"__submission__.{name}" in write.targets or (
                        write.attr == name and write.kind in ("setattr", "assign") and not write.targets)):
                    for function in self.functions_from(write.value, 0):
                        found.append(self._entry(function, f"{name} set dynamically", True))
        if found:
            return _unique(found)
        for stmt in self.sub.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append(self._entry(stmt, stmt.name, False))
            elif isinstance(stmt, ast.ClassDef):
                for item in stmt.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in (
                            "__call__", "forward", "run"):
                        found.append(self._entry(item, f"{stmt.name}.{item.name}", False))
        return _unique(found)

    def _entry(self, function: ast.AST, via: str, resolved: bool) -> Entry:
        return Entry(function, self.inputs(function), via, resolved)

    def inputs(self, function: ast.AST) -> tuple[str, ...]:
        """Parameters that carry the harness's data (not `self`/`cls`)."""
        args = function.args
        names = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
        if args.vararg:
            names.append(args.vararg.arg)
        if self.sub.class_of(function) is not None and names and names[0] == first_param(function):
            names = names[1:]
        bound = self.state.partial_bound.get(function, set())
        return tuple(n for n in names if n not in bound)

    def functions_from(self, expr: ast.AST, depth: int) -> list[ast.AST]:
        """Functions an expression evaluates to: a def, a lambda, `torch.compile(f)`, `Runner()`, `make()`."""
        if depth > MAX_DEPTH:
            return []
        if isinstance(expr, ast.Lambda):
            return [expr]
        if isinstance(expr, ast.Name):
            return self._functions_of_name(expr, depth)
        if isinstance(expr, ast.Attribute):
            out = []
            for cls in self._classes_from(expr.value, depth):
                out.extend(_methods(cls, expr.attr))
            return out
        if isinstance(expr, ast.Call):
            out = []
            for cls in self._classes_from(expr.func, depth):
                for method in ("__call__", "forward", "run"):
                    out.extend(_methods(cls, method))
            if out:
                return out
            for factory in self.functions_from(expr.func, depth + 1):
                if isinstance(factory, ast.Lambda):
                    out.extend(self.functions_from(factory.body, depth + 1))
                    continue
                for node in self.sub.own_nodes(factory):
                    if isinstance(node, ast.Return) and node.value is not None:
                        out.extend(self.functions_from(node.value, depth + 1))
            if out:
                return out
            if expr.args:  # torch.compile(f), functools.partial(f, ...), jit(f), lru_cache()(f)
                return self.functions_from(expr.args[0], depth + 1)
        return []

    def _functions_of_name(self, expr: ast.Name, depth: int) -> list[ast.AST]:
        _, bindings = self.sub.scopes.bindings(expr.id, expr)
        out: list[ast.AST] = []
        for binding in bindings:
            if binding.kind == "def":
                out.append(binding.node)
            elif binding.kind == "class":
                out.extend(_methods(binding.node, "__call__"))
            elif binding.kind == "assign" and binding.value is not None:
                out.extend(self.functions_from(binding.value, depth + 1))
        return out

    def _classes_from(self, expr: ast.AST, depth: int) -> list[ast.ClassDef]:
        if depth > MAX_DEPTH:
            return []
        if isinstance(expr, ast.Name):
            _, bindings = self.sub.scopes.bindings(expr.id, expr)
            out = []
            for binding in bindings:
                if binding.kind == "class":
                    out.append(binding.node)
                elif binding.kind == "assign" and isinstance(binding.value, ast.Call):
                    out.extend(self._classes_from(binding.value.func, depth + 1))
            return out
        if isinstance(expr, ast.Call):
            return self._classes_from(expr.func, depth + 1)
        return []

    def callee(self, call: ast.Call, function: ast.AST | None) -> ast.AST | None:
        """The submission's own function a call runs, when it can be named statically."""
        func = call.func
        if isinstance(func, ast.Name):
            _, bindings = self.sub.scopes.bindings(func.id, func)
            defs = [b.node for b in bindings if b.kind == "def"]
            return defs[-1] if defs and len(defs) == len(bindings) else None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and function is not None:
            cls = self.sub.class_of(function)
            if cls is not None and func.value.id in (first_param(function), cls.name):
                methods = _methods(cls, func.attr)
                return methods[-1] if methods else None
        return None


def _methods(cls: ast.ClassDef, name: str) -> list[ast.AST]:
    return [item for item in cls.body
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == name]


def _unique(entries: list[Entry]) -> list[Entry]:
    seen: set[int] = set()
    out = []
    for entry in entries:
        if id(entry.function) not in seen:
            seen.add(id(entry.function))
            out.append(entry)
    return out
