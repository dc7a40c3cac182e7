"""Alias resolution: what dotted name (`torch.cuda.Event.elapsed_time`) an expression can refer to.

Handles `import torch as T`, from-imports, star imports, names assigned from modules or functions
(`E = T.cuda.Event`), `getattr(mod, "a" + "b")`, `__import__`/`importlib.import_module`, `sys.modules[...]`,
`vars(mod)[...]` / `mod.__dict__[...]`, `globals()[...]`, `type(obj)` / `obj.__class__`, `eval("torch.cuda")`
and `operator.attrgetter`. A name can resolve to several dotted names (it is assigned in several places):
rules see all of them.

Conventions: builtins resolve as `builtins.<name>`; the submission's own top-level functions and classes as
`__submission__.<name>`; the result of calling something as `<name>()` so that `type(torch.cuda.Event())`
comes back as `torch.cuda.Event`.
"""

from __future__ import annotations

import ast
import builtins
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from referee.submissions.analysis.scopes import Scope
    from referee.submissions.analysis.source import Submission

SELF = "__submission__"
GLOBALS = "<globals>"
BUILTIN_NAMES = frozenset(dir(builtins))
EMPTY: frozenset[str] = frozenset()
MAX_NAMES = 16  # per expression; a name assigned from 50 modules is not worth tracking precisely

# Spellings of the same object that the harness-facing rules want to see as one name.
CANONICAL = {
    "torch.cuda.streams.Event": "torch.cuda.Event",
    "torch.cuda.streams.Stream": "torch.cuda.Stream",
    "torch.cuda.streams.ExternalStream": "torch.cuda.ExternalStream",
    "torch._C._TensorBase": "torch.Tensor",
    "torch._C.TensorBase": "torch.Tensor",
    "torch._tensor.Tensor": "torch.Tensor",
    "torch.functional": "torch",
    "torch.testing._comparison": "torch.testing",
    "torch._C._cuda_synchronize": "torch.cuda.synchronize",
    "np": "numpy",
    "__builtin__": "builtins",
    "__builtins__": "builtins",
}


def canonical(name: str) -> str:
    """Map alternative spellings (`torch.cuda.streams.Event`) to the public one, by longest prefix."""
    head = name
    while True:
        if head in CANONICAL:
            return CANONICAL[head] + name[len(head):]
        cut = head.rfind(".")
        if cut <= 0:
            return name
        head = head[:cut]


class Resolver:
    """Resolves expressions of one submission to dotted names, memoised per node."""

    def __init__(self, sub: Submission) -> None:
        self.sub = sub
        self._memo: dict[ast.AST, frozenset[str]] = {}
        self._name_memo: dict[tuple[int, str], frozenset[str]] = {}
        self._busy: set[object] = set()

    def qualnames(self, node: ast.AST | None) -> frozenset[str]:
        """Every dotted name `node` may evaluate to (empty when unknown)."""
        if node is None:
            return EMPTY
        cached = self._memo.get(node)
        if cached is not None:
            return cached
        if node in self._busy:
            return EMPTY
        self.sub.tick()
        self._busy.add(node)
        try:
            names = self._resolve(node)
        finally:
            self._busy.discard(node)
        if len(names) > MAX_NAMES:
            names = frozenset(sorted(names)[:MAX_NAMES])
        self._memo[node] = names
        return names

    def call_names(self, call: ast.Call) -> frozenset[str]:
        return self.qualnames(call.func)

    def matches(self, node: ast.AST | None, *names: str) -> bool:
        """True when `node` may be any of `names` (exact dotted names)."""
        found = self.qualnames(node)
        return any(n in found for n in names)

    # -- resolution -------------------------------------------------------------------------------------------
    def _resolve(self, node: ast.AST) -> frozenset[str]:
        if isinstance(node, ast.Name):
            return self._resolve_name(node.id, node)
        if isinstance(node, ast.Attribute):
            return self._resolve_attribute(node)
        if isinstance(node, ast.Call):
            return self._resolve_call(node)
        if isinstance(node, ast.Subscript):
            return self._resolve_subscript(node)
        if isinstance(node, ast.NamedExpr):
            return self.qualnames(node.value)
        if isinstance(node, (ast.IfExp,)):
            return self.qualnames(node.body) | self.qualnames(node.orelse)
        if isinstance(node, ast.BoolOp):
            out: set[str] = set()
            for value in node.values:
                out |= self.qualnames(value)
            return frozenset(out)
        return EMPTY

    def _resolve_name(self, name: str, node: ast.AST) -> frozenset[str]:
        scopes = self.sub.scopes
        owner = scopes.defining_scope(name, scopes.scope(node))
        if owner is None:
            if name in ("__builtins__", "__builtin__"):
                return frozenset({"builtins"})
            if name in BUILTIN_NAMES:
                return frozenset({f"builtins.{name}"})
            stars = scopes.module.star_imports
            return frozenset(canonical(f"{m}.{name}") for m in stars if m)
        return self._binding_names(owner, name)

    def _binding_names(self, owner: Scope, name: str) -> frozenset[str]:
        key = (id(owner.node), name)
        cached = self._name_memo.get(key)
        if cached is not None:
            return cached
        if key in self._busy:
            return EMPTY
        self._busy.add(key)
        out: set[str] = set()
        try:
            for binding in owner.bindings.get(name, []):
                if binding.kind == "import" and binding.qualname:
                    out.add(canonical(binding.qualname))
                elif binding.kind in ("def", "class") and owner.kind == "module":
                    out.add(f"{SELF}.{name}")
                elif binding.kind in ("assign", "with") and binding.value is not None:
                    out |= self.qualnames(binding.value)
        finally:
            self._busy.discard(key)
        names = frozenset(out)
        self._name_memo[key] = names
        return names

    def _resolve_attribute(self, node: ast.Attribute) -> frozenset[str]:
        base = self.qualnames(node.value)
        out = set()
        for name in base:
            if node.attr == "__class__" and name.endswith("()"):
                out.add(name[:-2])
            elif node.attr == "__class__" or name == GLOBALS:
                continue
            else:
                out.add(canonical(f"{name}.{node.attr}"))
        return frozenset(out)

    def _resolve_call(self, node: ast.Call) -> frozenset[str]:
        funcs = self.qualnames(node.func)
        fold = self.sub.folder.fold_str
        args = node.args
        out: set[str] = set()
        for func in funcs:
            if func == "builtins.getattr" and len(args) >= 2:
                attr = fold(args[1])
                if attr is not None:
                    out |= {canonical(f"{base}.{attr}") for base in self.qualnames(args[0]) if base != GLOBALS}
            elif func in ("builtins.__import__", "importlib.__import__") and args:
                module = fold(args[0])
                if module:
                    fromlist = args[3] if len(args) > 3 else next(
                        (k.value for k in node.keywords if k.arg == "fromlist"), None)
                    has_from = fromlist is not None and not (
                        isinstance(fromlist, (ast.List, ast.Tuple)) and not fromlist.elts)
                    out.add(canonical(module if has_from else module.split(".")[0]))
            elif func in ("importlib.import_module", "sys.modules.get", "sys.modules.__getitem__",
                          "sys.modules.setdefault", "sys.modules.pop") and args:
                module = fold(args[0])
                if module:
                    out.add(canonical(module.lstrip(".")))
            elif func == "builtins.eval" and args:
                out |= self._resolve_eval(args[0])
            elif func == "builtins.type" and len(args) == 1:
                out |= {n[:-2] for n in self.qualnames(args[0]) if n.endswith("()")}
            elif func == "builtins.vars" and len(args) == 1:
                out |= {f"{n}.__dict__" for n in self.qualnames(args[0])}
            elif func == "builtins.globals" and not args:
                out.add(GLOBALS)
            elif func.endswith("()") and func[:-2] == "operator.attrgetter":
                continue
            else:
                out.add(f"{func}()")
        # operator.attrgetter("cuda.Event")(torch)
        if isinstance(node.func, ast.Call) and args and self.matches(node.func.func, "operator.attrgetter"):
            path = fold(node.func.args[0]) if node.func.args else None
            if path:
                out |= {canonical(f"{base}.{path}") for base in self.qualnames(args[0])}
        return frozenset(out)

    def _resolve_eval(self, arg: ast.AST) -> frozenset[str]:
        text = self.sub.folder.fold_str(arg)
        if not text or len(text) > 200:
            return EMPTY
        try:
            expr = ast.parse(text.strip(), mode="eval").body
        except (SyntaxError, ValueError, RecursionError):
            return EMPTY
        return self.qualnames(expr)

    def _resolve_subscript(self, node: ast.Subscript) -> frozenset[str]:
        key = self.sub.folder.fold_str(node.slice)
        if key is None:
            return EMPTY
        out: set[str] = set()
        for base in self.qualnames(node.value):
            if base == "sys.modules":
                out.add(canonical(key))
            elif base == "builtins" or base == "builtins.__dict__":
                out.add(f"builtins.{key}")
            elif base.endswith(".__dict__"):
                out.add(canonical(f"{base[:-9]}.{key}"))
            elif base == GLOBALS:
                if key in ("__builtins__", "__builtin__"):
                    out.add("builtins")
                    continue
                out |= self._binding_names(self.sub.scopes.module, key) or (
                    frozenset({f"builtins.{key}"}) if key in BUILTIN_NAMES else EMPTY)
        return frozenset(out)
