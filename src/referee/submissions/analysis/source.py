"""A parsed submission: the tree plus the indexes every rule reads, built in one walk.

Rules never walk the tree themselves (a 1,000-line file must be scanned well under 50 ms by ~60 rules), so the
walk happens once here and each rule iterates the node lists it cares about. Nothing in the source (comments,
docstrings, strings) is interpreted as an instruction: there is no suppression mechanism to find.
"""

from __future__ import annotations

import ast
import time
from collections import defaultdict
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from referee.submissions.analysis.blobs import Blob, Embedded
    from referee.submissions.analysis.consts import Folder
    from referee.submissions.analysis.flow import Flow
    from referee.submissions.analysis.names import Resolver
    from referee.submissions.analysis.scopes import Scopes
    from referee.submissions.analysis.writes import Write

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
SCOPE_TYPES = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
SNIPPET_CHARS = 240
STRING_METHODS = frozenset({"join", "format", "decode", "encode", "replace", "upper", "lower", "strip", "lstrip",
                            "rstrip", "title", "capitalize", "swapcase", "casefold", "hex", "fromhex"})


# CPU time of the analysing thread: the budget must not run out because the machine is busy (the environment
# is never the suspect), and a submission built to be slow to analyse still hits it.
CLOCK = time.thread_time


GRACE_S = 1.0  # wall seconds before a Budget first reads the CPU clock (almost every file is done by then)


class Budget:
    """A CPU-time budget that is cheap to keep: the CPU clock is not read at all while the analysis is younger than
    `GRACE_S` of wall time, nor again until the CPU time left could have been used up (a thread's CPU time never
    runs ahead of wall time). Reading a CPU clock costs milliseconds on some VMs (Firecracker here: up to 5 ms
    right after an analysis), more than a whole small file's analysis, so the fast path reads only `monotonic`.
    The CPU allowance counts from the first read, so a file gets between `seconds` and `seconds + GRACE_S` of CPU.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.wall = time.monotonic() + min(GRACE_S, seconds)  # no CPU read before this wall time
        self.cpu: float | None = None  # the CPU deadline, set at the first read

    def expired(self) -> bool:
        now = time.monotonic()
        if now <= self.wall:
            return False
        used = CLOCK()
        if self.cpu is None:
            self.cpu = used + self.seconds
        left = self.cpu - used
        if left < 0:
            return True
        self.wall = now + left  # CPU time cannot run out before this much more wall time
        return False


def expired(deadline: Budget | float | None) -> bool:
    """Whether a `Budget` (or a plain `CLOCK()` deadline) has run out."""
    if deadline is None:
        return False
    return deadline.expired() if isinstance(deadline, Budget) else CLOCK() > deadline


class AnalysisTimeout(Exception):
    """The analysis of one submission ran past its deadline (pathological input); the engine reports it."""


class Submission:
    contract = None  # the task's output contract (analysis.contract.Contract) when the audit has a task

    """One Python source file, parsed and indexed; `origin` says where embedded code was decoded from.

    `deadline` (a `CLOCK()` value: this thread's CPU time) bounds the lazy analyses: the memoised resolvers call
    `tick()`, which raises `AnalysisTimeout` once the deadline has passed, so super-linear inputs cannot stall an
    audit.
    """

    def __init__(self, code: str, filename: str = "submission.py", *, tree: ast.Module | None = None,
                 origin: str | None = None, depth: int = 0, deadline: Budget | float | None = None) -> None:
        self.deadline = deadline
        self._ticks = 0
        self.code = code
        self.filename = filename
        self.tree = tree if tree is not None else ast.parse(code, filename)
        self.origin = origin
        self.depth = depth
        self.lines = code.splitlines()
        self.parents: dict[ast.AST, ast.AST] = {}
        self._by_type: dict[type, list[ast.AST]] = defaultdict(list)
        self._owner: dict[ast.AST, ast.AST] = {}  # node -> scope whose namespace it runs in
        self._own: dict[ast.AST, list[ast.AST]] = defaultdict(list)
        self._multi: dict[tuple[type, ...], list[ast.AST]] = {}
        self._walk()

    def _walk(self) -> None:
        """One pre-order walk: parents, per-type lists in source order, and the scope that runs each node.

        A def's body runs in the def's scope; its decorators, defaults and annotations run in the enclosing one
        (likewise a lambda's arguments, a class's bases and decorators).
        """
        parents, by_type, owner, own = self.parents, self._by_type, self._owner, self._own
        scope_types = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
        AST = ast.AST
        stack: list[tuple[ast.AST, ast.AST]] = [(self.tree, self.tree)]
        pop, push = stack.pop, stack.append
        while stack:
            node, scope = pop()
            kind = type(node)
            by_type[kind].append(node)
            owner[node] = scope
            own[scope].append(node)
            body_scope = node if kind in scope_types else scope
            for field in reversed(_child_fields(kind)):
                value = getattr(node, field, None)
                if value is None:
                    continue
                child_scope = body_scope if field == "body" else scope
                if type(value) is list:
                    for item in reversed(value):
                        if isinstance(item, AST):
                            parents[item] = node
                            push((item, child_scope))
                elif isinstance(value, AST):
                    parents[value] = node
                    push((value, child_scope))
        own.pop(self.tree, None)
        for function in list(own):
            if isinstance(function, ast.ClassDef):
                del own[function]

    def tick(self) -> None:
        """Count one unit of analysis work; every 256 units, stop if the deadline has passed."""
        self._ticks += 1
        if self._ticks & 255 == 0 and expired(self.deadline):
            raise AnalysisTimeout(f"static analysis of {self.filename} passed its time limit")

    # -- indexes -----------------------------------------------------------------------------------------
    def nodes(self, *types: type) -> list:
        """All nodes of the given AST types, in source order."""
        if len(types) == 1:
            return self._by_type.get(types[0], [])
        cached = self._multi.get(types)
        if cached is None:
            cached = []
            for kind in types:
                cached.extend(self._by_type.get(kind, []))
            cached.sort(key=_position)
            self._multi[types] = cached
        return cached

    @property
    def functions(self) -> list[FunctionNode]:
        return self.nodes(*FUNCTION_TYPES)

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(node)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def scope_of(self, node: ast.AST) -> ast.AST:
        """The function, lambda, class or module whose namespace a name at `node` is looked up in.

        Decorators, default values and base classes belong to the enclosing scope, as in Python. Nodes that
        are not part of this tree (expressions parsed from `eval` strings) resolve in the module scope.
        """
        return self._owner.get(node, self.tree)

    def function_of(self, node: ast.AST) -> FunctionNode | None:
        """The innermost function or lambda whose body contains `node` (class bodies are skipped)."""
        scope = self.scope_of(node)
        while isinstance(scope, ast.ClassDef):
            scope = self.scope_of(scope)
        return scope if isinstance(scope, FUNCTION_TYPES) else None

    def class_of(self, function: ast.AST) -> ast.ClassDef | None:
        """The class a method is defined in, if `function` is a method."""
        scope = self.scope_of(function)
        return scope if isinstance(scope, ast.ClassDef) else None

    def module_function(self, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """Last top-level `def name` (the one that wins at import time)."""
        found = None
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name:
                found = stmt
        return found

    def module_class(self, name: str) -> ast.ClassDef | None:
        found = None
        for stmt in self.tree.body:
            if isinstance(stmt, ast.ClassDef) and stmt.name == name:
                found = stmt
        return found

    def own_nodes(self, function: ast.AST) -> list[ast.AST]:
        """Nodes executed by `function` itself (pre-order), not by functions or classes nested in it."""
        return self._own.get(function, [])

    # -- guards ------------------------------------------------------------------------------------------
    @cached_property
    def _main_guards(self) -> tuple[ast.If, ...]:
        """`if __name__ == "__main__":` blocks that cannot run when the harness imports the submission.

        Only the exact comparison counts, and only while nothing in the file rebinds `__name__`: a file that
        assigns `__name__` could make the guard true at import time.
        """
        for node in self.nodes(ast.Name):
            if node.id == "__name__" and not isinstance(node.ctx, ast.Load):
                return ()
        for node in self.nodes(ast.Subscript):
            if self.folder.fold_str(node.slice) == "__name__":
                return ()
        for node in self.nodes(ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("update", "__setitem__", "setdefault"):
                owner = func.value
                if (isinstance(owner, ast.Attribute) and owner.attr == "__dict__") or (
                        isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name)
                        and owner.func.id in ("globals", "vars", "locals")):
                    return ()  # globals().update({...}) and friends could rebind __name__ out of sight
            if any(self.folder.fold_str(arg) == "__name__" for arg in node.args[1:2]):
                return ()
        guards = []
        for stmt in self.tree.body:
            if isinstance(stmt, ast.If) and _is_main_test(stmt.test):
                guards.append(stmt)
        return tuple(guards)

    def main_guarded(self, node: ast.AST) -> bool:
        """True when `node` sits in the body of a strict `if __name__ == "__main__":` block."""
        if not self._main_guards:
            return False
        child = node
        for ancestor in self.ancestors(node):
            if ancestor in self._main_guards and child in ancestor.body:
                return True
            child = ancestor
        return False

    # -- text --------------------------------------------------------------------------------------------
    def snippet(self, node: ast.AST) -> str:
        """The source lines of `node`, whitespace-collapsed and capped, for evidence."""
        start = getattr(node, "lineno", None)
        if start is None or not self.lines:
            return ""
        end = getattr(node, "end_lineno", None) or start
        end = min(end, start + 4)
        text = " ".join(line.strip() for line in self.lines[start - 1:end])
        return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS - 3] + "..."

    # -- shared analyses (lazy, each built once per submission) -----------------------------------------------
    @cached_property
    def scopes(self) -> Scopes:
        from referee.submissions.analysis.scopes import Scopes
        return Scopes(self)

    @cached_property
    def folder(self) -> Folder:
        from referee.submissions.analysis.consts import Folder
        return Folder(self)

    @cached_property
    def resolver(self) -> Resolver:
        from referee.submissions.analysis.names import Resolver
        return Resolver(self)

    @cached_property
    def flow(self) -> Flow:
        from referee.submissions.analysis.flow import Flow
        return Flow(self)

    @cached_property
    def writes(self) -> list[Write]:
        from referee.submissions.analysis.writes import collect_writes
        return collect_writes(self)

    @cached_property
    def blobs(self) -> list[Blob]:
        from referee.submissions.analysis.blobs import find_blobs
        return find_blobs(self)

    @cached_property
    def embedded(self) -> list[Embedded]:
        from referee.submissions.analysis.blobs import embedded_code
        return embedded_code(self, self.blobs)

    @cached_property
    def strings(self) -> list[tuple[ast.AST, str]]:
        """Every string constant used as a value (not docstrings), plus every concatenation, f-string or method
        call that folds to a string."""
        out: list[tuple[ast.AST, str]] = []
        for node in self.nodes(ast.Constant):
            if isinstance(self.parent(node), ast.Expr):
                continue  # docstrings and bare string statements are never executed as data
            if isinstance(node.value, str):
                out.append((node, node.value))
            elif isinstance(node.value, bytes):
                out.append((node, node.value.decode("latin-1")))
        for node in self.nodes(ast.BinOp, ast.JoinedStr, ast.Call):
            if isinstance(self.parent(node), (ast.BinOp, ast.JoinedStr)):
                continue
            if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Attribute)
                                                   and node.func.attr in STRING_METHODS):
                continue
            value = self.folder.fold_str(node)
            if value is not None:
                out.append((node, value))
        return out


_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    """Fields that can hold child nodes; `ctx` (the shared Load/Store singletons) is left out on purpose."""
    fields = _FIELDS.get(kind)
    if fields is None:
        fields = _FIELDS[kind] = tuple(f for f in kind._fields if f != "ctx")
    return fields


def _position(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def _is_main_test(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    left, right = test.left, test.comparators[0]
    pairs = ((left, right), (right, left))
    return any(isinstance(a, ast.Name) and a.id == "__name__" and isinstance(b, ast.Constant)
               and b.value == "__main__" for a, b in pairs)
