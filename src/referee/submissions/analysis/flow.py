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

from referee.submissions.analysis.state import Container, State, first_param, function_label

if TYPE_CHECKING:
    from referee.submissions.analysis.source import Submission

ENTRY_NAMES = ("custom_kernel",)
MAX_DEPTH = 3

PASSTHROUGH_METHODS = frozenset({
    "clone", "detach", "contiguous", "view", "view_as", "reshape", "reshape_as", "to", "float", "half", "double",
    "bfloat16", "cpu", "cuda", "squeeze", "unsqueeze", "t", "permute", "transpose", "expand", "expand_as",
    "flatten", "type", "type_as", "narrow", "requires_grad_", "copy", "__getitem__", "values", "items", "keys",
    "numpy", "flip", "unflatten", "movedim", "as_strided", "select", "long", "int", "bool", "__copy__",
    "__deepcopy__", "result",
})
CONTAINER_READS = frozenset({"get", "setdefault", "pop", "popitem", "__getitem__", "popleft"})
PASSTHROUGH_ATTRS = frozenset({"T", "mT", "H", "mH", "data", "real", "imag"})
PASSTHROUGH_FUNCS = frozenset({
    "torch.clone", "copy.copy", "copy.deepcopy", "builtins.list", "builtins.tuple", "builtins.next",
    "builtins.iter", "builtins.reversed", "torch.Tensor.clone", "torch.Tensor.contiguous", "torch.Tensor.detach",
    "torch.reshape", "torch.squeeze", "torch.unsqueeze", "torch.t", "torch.permute", "torch.flatten",
    "torch.narrow", "torch.transpose", "torch.as_strided", "torch.detach", "numpy.asarray", "numpy.ascontiguousarray",
    "torch.Tensor.to", "torch.Tensor.view", "torch.Tensor.reshape", "torch.Tensor.float", "torch.Tensor.half",
})
LITERAL_FUNCS = frozenset({"torch.tensor", "torch.as_tensor", "numpy.array", "numpy.asarray", "torch.from_numpy",
                           "torch.Tensor", "torch.FloatTensor", "torch.cuda.FloatTensor", "torch.HalfTensor",
                           "torch.frombuffer", "numpy.frombuffer", "torch.DoubleTensor", "torch.LongTensor"})
ALLOC_FUNCS = frozenset({"torch.empty", "torch.empty_like", "torch.empty_strided", "torch.empty_permuted",
                         "numpy.empty", "numpy.empty_like", "torch.Tensor.new_empty", "torch.Tensor.new",
                         "torch.UntypedStorage", "torch.TypedStorage"})
LEGACY_CONSTRUCTORS = frozenset({"torch.Tensor", "torch.FloatTensor", "torch.cuda.FloatTensor", "torch.HalfTensor",
                                 "torch.cuda.HalfTensor", "torch.DoubleTensor", "torch.BFloat16Tensor"})
RNG_FUNCS = frozenset({
    "torch.rand", "torch.randn", "torch.randint", "torch.rand_like", "torch.randn_like", "torch.randint_like",
    "torch.randperm", "torch.normal", "torch.bernoulli", "torch.multinomial", "torch.poisson",
    "numpy.random.rand", "numpy.random.randn", "numpy.random.randint", "numpy.random.random",
    "numpy.random.normal", "numpy.random.uniform", "random.random", "random.gauss", "random.uniform",
})
RNG_METHODS = frozenset({"normal_", "uniform_", "random_", "bernoulli_", "exponential_", "geometric_",
                         "cauchy_", "log_normal_", "standard_normal", "normal", "uniform", "random", "integers"})
SUBCLASS_FACTORIES = frozenset({"torch.Tensor._make_subclass", "torch.Tensor._make_wrapper_subclass",
                                "torch._C._TensorBase._make_subclass"})
TENSOR_BASES = frozenset({"torch.Tensor", "torch.nn.Parameter", "torch.nn.parameter.Parameter"})


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


@dataclass(frozen=True)
class Entry:
    """The function the harness calls (`custom_kernel`, a callable object's `__call__`, a factory's result)."""

    function: ast.AST
    inputs: tuple[str, ...]
    via: str
    resolved: bool


class Flow:
    """Data-flow facts of one submission, built lazily and memoised."""

    def __init__(self, sub: Submission) -> None:
        self.sub = sub
        self.state = State(sub)
        self._origin_memo: dict[tuple[ast.AST, ast.AST | None], frozenset[Origin]] = {}
        self._busy: set[object] = set()
        self._return_memo: dict[ast.AST, list[tuple[ast.AST, frozenset[Origin]]]] = {}
        self._taint_memo: dict[tuple[ast.AST, bool], set[str]] = {}

    # -- entry points -----------------------------------------------------------------------------------------
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

    # -- taint -----------------------------------------------------------------------------------------------
    def tainted(self, function: ast.AST, values_only: bool = False) -> set[str]:
        """Local names computed from the function's inputs (`values_only`: from their values, not shapes)."""
        key = (function, values_only)
        if key in self._taint_memo:
            return self._taint_memo[key]
        scope = self.sub.scopes.by_node.get(function)
        names = set(self.inputs(function)) if hasattr(function, "args") else set()
        if scope is not None:
            for _ in range(8):
                grew = False
                for name, bindings in scope.bindings.items():
                    if name in names:
                        continue
                    for binding in bindings:
                        value = binding.value
                        if value is not None and self._mentions(value, names, values_only):
                            names.add(name)
                            grew = True
                            break
                if not grew:
                    break
        self._taint_memo[key] = names
        return names

    def is_tainted(self, expr: ast.AST | None, function: ast.AST | None, values_only: bool = False) -> bool:
        if expr is None or function is None:
            return False
        return self._mentions(expr, self.tainted(function, values_only), values_only)

    def _mentions(self, expr: ast.AST, names: set[str], values_only: bool) -> bool:
        stack = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name) and node.id in names:
                return True
            if isinstance(node, (ast.Lambda, ast.FunctionDef)):
                continue
            if values_only and _shape_only(node):
                continue
            stack.extend(ast.iter_child_nodes(node))
        return False

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
            return {_keyed(o, expr.slice) for o in self.origins(expr.value, fn, depth + 1)}
        if isinstance(expr, ast.Call):
            return self._call_origins(expr, fn, depth)
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            out: set[Origin] = set()
            for element in expr.elts:
                out |= self.origins(element.value if isinstance(element, ast.Starred) else element, fn, depth + 1)
            literal = _literal_size(expr)
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
        return any(n.startswith("__submission__.") and n.count(".") == 1 and n.split(".")[1] in self.tensor_subclasses
                   for n in names)

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
                kept = frozenset(o for o in found if not (o.kind == "read" and self.covered(ret, function, o)))
                out.append((ret, kept))
        finally:
            self._busy.discard(function)
        self._return_memo[function] = out
        return out

    def reads_container(self, expr: ast.AST, function: ast.AST, container: Container) -> bool:
        if self.state.container_of(expr, function) == container:
            return True
        return any(o.kind == "read" and o.container == container for o in self.origins(expr, function))

    def covered(self, ret: ast.AST, function: ast.AST, origin: Origin) -> bool:
        """True when, on every path to `ret`, a statement rewrites the stored object from the inputs."""
        if isinstance(function, ast.Lambda) or origin.container is None:
            return False
        container = origin.container
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
        return any(self._stmt_covers(stmt, function, container) for stmt in block)

    def _simple_covers(self, stmt: ast.AST, function: ast.AST, container: Container) -> bool:
        targets: list[ast.AST] = []
        value = None
        if isinstance(stmt, ast.Assign):
            targets, value = list(stmt.targets), stmt.value
        elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
            targets, value = [stmt.target], stmt.value
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
            holders = [a for a in args if self.reads_container(a, function, container)]
            if holders and any(self.is_tainted(a, function) for a in args if a not in holders):
                return True
            if holders and isinstance(func, ast.Attribute) and self.is_tainted(func.value, function):
                return True
        return False

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


def _argument_for(call: ast.Call, params: list[str], name: str) -> ast.AST | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if name in params:
        index = params.index(name)
        if index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[:index + 1]):
            return call.args[index]
    return None


SHAPE_ATTRS = frozenset({"shape", "dtype", "device", "ndim", "layout", "is_cuda", "requires_grad", "is_sparse"})
SHAPE_METHODS = frozenset({"size", "numel", "dim", "stride", "is_contiguous", "element_size", "nelement",
                           "get_device", "data_ptr", "storage_offset", "new_zeros", "new_ones", "new_empty",
                           "new_full", "type"})
SHAPE_FUNCS = frozenset({"zeros_like", "ones_like", "empty_like", "full_like", "len", "isinstance", "type", "id"})


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


def _literal_size(expr: ast.AST) -> int:
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
