"""Every write the submission makes to an object it does not own: `torch.cuda.Event.elapsed_time = f`,
`setattr(T.cuda, "synchronize", f)`, `sys.modules["time"] = fake`, `vars(builtins)["print"] = f`,
`mock.patch("time.perf_counter", f)`, `del torch.allclose`.

Targets come back as dotted names after alias resolution, with a few bracketed forms: `sys.modules[<key>]`,
`<function>.__globals__[<key>]`. An attribute name that cannot be folded to a constant shows as `?`, which the
rules treat as "could be anything" on that object.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from referee.submissions.analysis.names import GLOBALS, SELF, canonical

if TYPE_CHECKING:
    from referee.submissions.analysis.source import Submission

SETATTR_FUNCS = frozenset({"builtins.setattr", "builtins.delattr", "builtins.object.__setattr__",
                           "builtins.type.__setattr__", "builtins.object.__delattr__", "builtins.type.__delattr__"})
MOCK_PATCH = ("mock.patch", "mock.patch.object", "mock.patch.multiple", "mock.patch.dict")
DICT_WRITERS = frozenset({"update", "__setitem__", "setdefault", "pop", "__delitem__", "clear", "popitem"})
LIST_WRITERS = frozenset({"insert", "append", "extend", "__setitem__", "remove", "pop", "clear"})


@dataclass(frozen=True)
class Write:
    """One write: the statement or call, what it targets (dotted names), the attribute name and the value."""

    node: ast.AST
    targets: frozenset[str]
    attr: str
    kind: str
    value: ast.AST | None = None
    receiver: ast.AST | None = None


def collect_writes(sub: Submission) -> list[Write]:
    resolver, fold = sub.resolver, sub.folder.fold_str
    writes: list[Write] = []

    def attr_targets(base: ast.AST, attr: str) -> frozenset[str]:
        return frozenset(canonical(f"{q}.{attr}") for q in resolver.qualnames(base) if q != GLOBALS)

    def subscript_targets(base: ast.AST, key: str) -> frozenset[str]:
        out = set()
        for q in resolver.qualnames(base):
            if q == "sys.modules":
                out.add(f"sys.modules[{key}]")
            elif q in ("builtins", "builtins.__dict__"):
                out.add(f"builtins.{key}")
            elif q.endswith(".__dict__"):
                out.add(canonical(f"{q[:-9]}.{key}"))
            elif q.endswith(".__globals__"):
                out.add(f"{q}[{key}]")
            elif q == GLOBALS:
                out.add(f"{SELF}.{key}")
        if isinstance(base, ast.Attribute) and base.attr == "__globals__":
            out.add(f"?.__globals__[{key}]")
        return frozenset(out)

    def target_write(target: ast.AST, stmt: ast.AST, value: ast.AST | None, kind: str) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                target_write(element, stmt, value, kind)
        elif isinstance(target, ast.Starred):
            target_write(target.value, stmt, value, kind)
        elif isinstance(target, ast.Attribute):
            writes.append(Write(stmt, attr_targets(target.value, target.attr), target.attr, kind, value,
                                target.value))
        elif isinstance(target, ast.Subscript):
            key = fold(target.slice) or "?"
            found = subscript_targets(target.value, key)
            if found:
                writes.append(Write(stmt, found, key, kind, value, target.value))

    for stmt in sub.nodes(ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete):
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                target_write(target, stmt, stmt.value, "assign")
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                target_write(target, stmt, None, "delete")
        elif stmt.value is not None:
            target_write(stmt.target, stmt, stmt.value, "assign")

    for call in sub.nodes(ast.Call):
        func, args = call.func, call.args
        names = resolver.qualnames(func)
        if names & SETATTR_FUNCS and len(args) >= 2:
            attr = fold(args[1]) or "?"
            writes.append(Write(call, attr_targets(args[0], attr), attr, "setattr",
                                args[2] if len(args) > 2 else None, args[0]))
            continue
        if any(n.endswith(MOCK_PATCH) or n.endswith(tuple(m + "()" for m in MOCK_PATCH)) for n in names) and args:
            dotted = fold(args[0])
            if dotted and "." in dotted and not (len(args) > 1 and fold(args[1])):
                writes.append(Write(call, frozenset({canonical(dotted)}), dotted.rsplit(".", 1)[1], "mock",
                                    args[1] if len(args) > 1 else None))
            elif len(args) >= 2:
                attr = fold(args[1]) or "?"
                writes.append(Write(call, attr_targets(args[0], attr), attr, "mock",
                                    args[2] if len(args) > 2 else None, args[0]))
            continue
        if not isinstance(func, ast.Attribute):
            continue
        receiver = func.value
        if func.attr == "setattr" and len(args) >= 2 and not names & SETATTR_FUNCS:
            dotted = fold(args[0])  # pytest's monkeypatch.setattr("torch.allclose", f) or (obj, "name", f)
            if dotted and "." in dotted:
                writes.append(Write(call, frozenset({canonical(dotted)}), dotted.rsplit(".", 1)[1], "setattr",
                                    args[1], None))
            else:
                attr = fold(args[1]) or "?"
                writes.append(Write(call, attr_targets(args[0], attr), attr, "setattr",
                                    args[2] if len(args) > 2 else None, args[0]))
            continue
        if func.attr in ("__setattr__", "__delattr__") and args:
            attr = fold(args[0]) or "?"
            writes.append(Write(call, attr_targets(receiver, attr), attr, "setattr",
                                args[1] if len(args) > 1 else None, receiver))
            continue
        bases = resolver.qualnames(receiver)
        if func.attr in DICT_WRITERS and bases:
            keys = _dict_keys(call, fold)
            found: set[str] = set()
            for key in keys:
                found |= subscript_targets(receiver, key)
            if found:
                writes.append(Write(call, frozenset(found), keys[0], "dict", None, receiver))
                continue
        if func.attr in LIST_WRITERS and bases & {"sys.meta_path", "sys.path_hooks", "sys.path_importer_cache"}:
            writes.append(Write(call, frozenset(b for b in bases if b.startswith("sys.")), func.attr, "list",
                                None, receiver))
    return writes


def _dict_keys(call: ast.Call, fold) -> list[str]:
    args = call.args
    if call.func.attr == "update":
        keys: list[str] = []
        for arg in args:
            if isinstance(arg, ast.Dict):
                keys.extend((fold(k) or "?") if k is not None else "?" for k in arg.keys)
            else:
                keys.append("?")
        keys.extend(k.arg or "?" for k in call.keywords)
        return keys or ["?"]
    if call.func.attr in ("clear", "popitem"):
        return ["?"]
    return [fold(args[0]) or "?"] if args else ["?"]
