"""Small helpers shared by rule modules: name matching over calls and references, entry points, guards."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from referee.submissions.analysis import Submission


def matches(names: Iterable[str], wanted: Iterable[str], prefixes: Iterable[str] = ()) -> str | None:
    """The first (sorted) of `names` equal to one of `wanted` or starting with one of `prefixes` (+ '.')."""
    wanted_set = wanted if isinstance(wanted, (set, frozenset)) else set(wanted)
    prefix_tuple = tuple(p + "." for p in prefixes)
    found = [n for n in names if n in wanted_set or (prefix_tuple and n.startswith(prefix_tuple))]
    return min(found) if found else None


class _NameIndex:
    """Dotted name -> nodes resolving to it, and every dotted prefix -> those nodes, built once per submission
    so that ~60 rules asking "which calls go to X?" do not each walk every call."""

    def __init__(self, pairs: Iterable[tuple[ast.AST, frozenset[str]]]) -> None:
        self.exact: dict[str, list[ast.AST]] = {}
        self.prefix: dict[str, list[ast.AST]] = {}
        self.names: dict[ast.AST, frozenset[str]] = {}
        for node, names in pairs:
            if not names:
                continue
            self.names[node] = names
            seen: set[str] = set()
            for name in names:
                self.exact.setdefault(name, []).append(node)
                head = name
                while "." in head:
                    head = head.rsplit(".", 1)[0]
                    if head not in seen:
                        seen.add(head)
                        self.prefix.setdefault(head, []).append(node)

    def lookup(self, wanted: frozenset[str], prefixes: tuple[str, ...]) -> list[tuple[ast.AST, str]]:
        hits: dict[ast.AST, None] = {}
        exact = self.exact
        # walk the smaller side: rules ask for sets of up to ~40 names, small files resolve only a few
        names = wanted if len(wanted) <= len(exact) else [n for n in exact if n in wanted]
        for name in names:
            for node in exact.get(name, ()):
                hits[node] = None
        for prefix in prefixes:
            for node in self.prefix.get(prefix, ()):
                hits[node] = None
        if not hits:
            return []
        out = []
        for node in hits:
            found = matches(self.names[node], wanted, prefixes)
            if found:
                out.append((node, found))
        out.sort(key=lambda item: (getattr(item[0], "lineno", 0), getattr(item[0], "col_offset", 0)))
        return out


def _index(sub: Submission, key: str, nodes, resolve) -> _NameIndex:
    cached = sub.__dict__.get(key)
    if cached is None:
        cached = _NameIndex((node, resolve(node)) for node in nodes())
        sub.__dict__[key] = cached
    return cached


def calls(sub: Submission, wanted: Iterable[str], prefixes: Iterable[str] = ()) -> Iterator[tuple[ast.Call, str]]:
    """Calls whose callee resolves to one of `wanted` (or under one of `prefixes`), in source order."""
    index = _index(sub, "_call_index", lambda: sub.nodes(ast.Call), lambda c: sub.resolver.qualnames(c.func))
    yield from index.lookup(frozenset(wanted), tuple(prefixes))


def references(sub: Submission, wanted: Iterable[str], prefixes: Iterable[str] = ()) -> Iterator[tuple[ast.AST, str]]:
    """Names, attributes, getattr calls and subscripts that resolve to one of `wanted` (outermost match only)."""
    wanted = frozenset(wanted)
    prefixes = tuple(prefixes)
    index = _index(sub, "_ref_index", lambda: [
        n for n in sub.nodes(ast.Name, ast.Attribute, ast.Call, ast.Subscript)
        if not (isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load))], sub.resolver.qualnames)
    for node, found in index.lookup(wanted, prefixes):
        parent = sub.parent(node)
        if isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is node and matches(
                index.names.get(parent, ()), wanted, prefixes):
            continue
        yield node, found


def attribute_uses(sub: Submission, attrs: Iterable[str]) -> Iterator[tuple[ast.AST, str]]:
    """`x.attr` and `getattr(x, "attr")` for attribute names in `attrs`, whatever `x` is."""
    attrs = frozenset(attrs)
    for node in sub.nodes(ast.Attribute):
        if node.attr in attrs:
            yield node, node.attr
    for call in sub.nodes(ast.Call):
        if len(call.args) >= 2 and sub.resolver.matches(call.func, "builtins.getattr", "builtins.hasattr"):
            name = sub.folder.fold_str(call.args[1])
            if name in attrs:
                yield call, name


def entry_label(sub: Submission, function: ast.AST) -> str:
    return getattr(function, "name", "<lambda>")


def code(node: ast.AST, limit: int = 60) -> str:
    """Short source text of a node for messages."""
    try:
        text = ast.unparse(node)
    except Exception:  # unparse of exotic trees is best effort
        return "?"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def in_condition(sub: Submission, node: ast.AST) -> bool:
    """True when `node` is part of an if/while/assert/match test, a ternary's test or a comparison."""
    child = node
    for ancestor in sub.ancestors(node):
        if isinstance(ancestor, (ast.If, ast.While, ast.IfExp, ast.Assert)) and child is ancestor.test:
            return True
        if isinstance(ancestor, ast.Match) and child is ancestor.subject:
            return True
        if isinstance(ancestor, (ast.Compare, ast.BoolOp)) or (
                isinstance(ancestor, ast.UnaryOp) and isinstance(ancestor.op, ast.Not)):
            return True
        if isinstance(ancestor, ast.comprehension) and child in ancestor.ifs:
            return True
        if isinstance(ancestor, ast.stmt):
            return False
        child = ancestor
    return False


def loop_values(sub: Submission, node: ast.AST, name: str) -> list | None:
    """The constants `name` takes inside `node` when it is the variable of an enclosing `for` or comprehension
    over a constant sequence (`for k in ["AITER_USE_NT", ...]`); None when it is not, or the sequence is not
    constant."""
    for ancestor in sub.ancestors(node):
        loops = [ancestor] if isinstance(ancestor, ast.For) else ancestor.generators if isinstance(
            ancestor, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) else []
        for loop in loops:
            if isinstance(loop.target, ast.Name) and loop.target.id == name:
                values = sub.folder.fold(loop.iter)
                return list(values) if isinstance(values, (list, tuple)) and values else None
    return None
