"""Plain values across the sandbox boundary: a tagged JSON encoding that only exact built-in types survive.

The oracle never asks a returned object whether it is equal to anything. The child turns each output into this
encoding (or reports it as *opaque*), and the parent decodes it and compares it with the expected value there.
Only exact built-in types are encodable (`type(x) is int`, never `isinstance`), so an int/str/list subclass with
a lying `__eq__`, `unittest.mock.ANY` or any other object cannot become a "correct" output.

Encoding: None, bool, int, float and str are JSON scalars (ints too large for decimal JSON become
`{"$I": hex}`); lists are JSON arrays; tuples `{"$t": [...]}`, dicts `{"$d": [[k, v], ...]}`, sets `{"$s": [...]}`,
frozensets `{"$f": [...]}`. A JSON object is therefore always a tag, so decoding is unambiguous.

Linked-list and tree outputs are walked into plain values (`walk_list`, `walk_tree`) by reading `val`/`next`/
`left`/`right` attributes; no method of the node class is called, so redefining or patching `ListNode` cannot
change what is reported. This module is imported by the fork server before any job runs and uses only the
standard library.
"""

from __future__ import annotations

from typing import Any

#: Deepest nesting and most elements one output may have; beyond that it is reported as opaque.
MAX_DEPTH = 64
MAX_ITEMS = 2_000_000
#: Longest linked list / largest tree walked.
MAX_NODES = 200_000
#: Ints beyond this magnitude are sent as hex (decimal conversion of huge ints is limited in CPython).
_BIG = 1 << 4000

_NoneType = type(None)
_SCALARS = (bool, int, float, str, _NoneType)


class Opaque(Exception):  # a signal, not an error condition of the referee
    """The value is not made of exact built-in types (or is too big / too deep); carries the reason."""


def encode(value: Any, _type: Any = type, _budget: list[int] | None = None, _depth: int = 0,
           _self: Any = None, _int: Any = int, _str: Any = str, _bool: Any = bool, _float: Any = float,
           _none: Any = _NoneType, _list: Any = list, _tuple: Any = tuple, _dict: Any = dict, _set: Any = set,
           _frozenset: Any = frozenset, _list_iter: Any = list.__iter__, _tuple_iter: Any = tuple.__iter__,
           _dict_items: Any = dict.items, _set_iter: Any = set.__iter__, _fset_iter: Any = frozenset.__iter__,
           _hex: Any = int.__format__, _lt: Any = int.__lt__, _big: int = _BIG, _neg_big: int = -_BIG) -> Any:
    """Encode an exact-built-in value; raise `Opaque` for anything else.

    Every builtin it touches (the types it compares with, their iterators, the recursion through `_self`) is
    bound at definition time, in the fork server, before any completion exists: rebinding `builtins.int` to a
    lying subclass, the builtin `type`, or this module's globals later changes nothing here, so such a subclass
    is never a plain value. `_budget` is a one-item list: items left for this output.
    """
    encode = _self
    budget = _budget if _budget is not None else [MAX_ITEMS]
    budget[0] -= 1
    if budget[0] < 0:
        raise Opaque("output too large")
    if _depth > MAX_DEPTH:
        raise Opaque("output nested too deeply")
    kind = _type(value)
    if kind is _str or kind is _bool or kind is _none or kind is _float:
        return value
    if kind is _int:
        if _lt(_neg_big, value) and _lt(value, _big):
            return value
        return {"$I": _hex(value, "x")}
    depth = _depth + 1
    if kind is _list:
        return [encode(item, _type, budget, depth) for item in _list_iter(value)]
    if kind is _tuple:
        return {"$t": [encode(item, _type, budget, depth) for item in _tuple_iter(value)]}
    if kind is _dict:
        return {"$d": [[encode(k, _type, budget, depth), encode(v, _type, budget, depth)]
                       for k, v in _dict_items(value)]}
    if kind is _set:
        return {"$s": [encode(item, _type, budget, depth) for item in _set_iter(value)]}
    if kind is _frozenset:
        return {"$f": [encode(item, _type, budget, depth) for item in _fset_iter(value)]}
    raise Opaque(f"returned a {_type_name(value, _type)}, not a plain built-in value")


_ENCODE_DEFAULTS = list(encode.__defaults__ or ())
_ENCODE_DEFAULTS[3] = encode  # _self: the recursion does not go through this module's (patchable) globals
encode.__defaults__ = tuple(_ENCODE_DEFAULTS)


def _type_name(value: Any, _type: Any = type) -> str:
    try:
        name = type.__getattribute__(_type(value), "__qualname__")
        return name if _type(name) is str else "object"
    except BaseException:  # a hostile metaclass must not break reporting
        return "object"


def walk_list(node: Any, _type: Any = type, _getattr: Any = getattr, _encode: Any = encode) -> list[Any]:
    """Values of a singly linked list (`val`/`next`), each encoded; None is the empty list."""
    values: list[Any] = []
    budget = [MAX_ITEMS]
    while node is not None:
        if len(values) >= MAX_NODES:
            raise Opaque("linked list too long (or cyclic)")
        try:
            val = _getattr(node, "val")
            nxt = _getattr(node, "next")
        except Exception as exc:  # not a list node
            raise Opaque(f"returned a {_type_name(node, _type)}, not a linked list") from exc
        values.append(_encode(val, _type, budget))
        node = nxt
    return values


def walk_tree(root: Any, _type: Any = type, _getattr: Any = getattr, _encode: Any = encode) -> list[Any]:
    """Pre-order listing of a binary tree (`val`/`left`/`right`) with None for every missing child."""
    out: list[Any] = []
    stack = [root]
    budget = [MAX_ITEMS]
    nodes = 0
    while stack:
        node = stack.pop()
        if node is None:
            out.append(None)
            continue
        nodes += 1
        if nodes > MAX_NODES:
            raise Opaque("tree too large (or cyclic)")
        try:
            val = _getattr(node, "val")
            left = _getattr(node, "left")
            right = _getattr(node, "right")
        except Exception as exc:  # not a tree node
            raise Opaque(f"returned a {_type_name(node, _type)}, not a tree node") from exc
        out.append(_encode(val, _type, budget))
        stack.append(right)
        stack.append(left)
    return out


def decode(data: Any, _depth: int = 0, _type: Any = type, _list: Any = list, _dict: Any = dict,
           _tuple: Any = tuple, _set: Any = set, _frozenset: Any = frozenset, _int: Any = int, _str: Any = str,
           _len: Any = len, _scalars: Any = _SCALARS, _self: Any = None) -> Any:
    """Inverse of `encode`. Raises ValueError on anything `encode` cannot produce (frames are untrusted).

    The builtins it uses are bound at definition, because the harness also decodes in the child after the
    completion has run (eq_override's expected values), where the completion may have rebound them.
    """
    if _depth > MAX_DEPTH + 2:
        raise ValueError("nested too deeply")
    kind = _type(data)
    if kind in _scalars:
        return data
    decode = _self  # bound below: the recursion does not go through this module's (patchable) globals
    depth = _depth + 1
    if kind is _list:
        return [decode(item, depth) for item in data]
    if kind is _dict and _len(data) == 1:
        ((tag, body),) = _dict.items(data)
        if tag == "$I" and _type(body) is _str:
            return _int(body, 16)
        if _type(body) is not _list:
            raise ValueError(f"bad tag body for {tag!r}")
        if tag == "$t":
            return _tuple([decode(item, depth) for item in body])
        if tag == "$d":
            pairs = []
            for pair in body:
                if _type(pair) is not _list or _len(pair) != 2:
                    raise ValueError("bad dict entry")
                pairs.append((decode(pair[0], depth), decode(pair[1], depth)))
            try:
                return _dict(pairs)
            except TypeError as exc:
                raise ValueError(f"unhashable dict key: {exc}") from None
        if tag in ("$s", "$f"):
            try:
                items = [decode(item, depth) for item in body]
                return _set(items) if tag == "$s" else _frozenset(items)
            except TypeError as exc:
                raise ValueError(f"unhashable set member: {exc}") from None
    raise ValueError(f"not an encoded value: {_type(data).__name__}")


decode.__defaults__ = (*decode.__defaults__[:-1], decode)


def is_plain(value: Any, _depth: int = 0) -> bool:
    """True when `value` is made only of the exact built-in types `encode` accepts (used on expected values)."""
    if _depth > MAX_DEPTH:
        return False
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind in (list, tuple, set, frozenset):
        return all(is_plain(item, _depth + 1) for item in value)
    if kind is dict:
        return all(is_plain(k, _depth + 1) and is_plain(v, _depth + 1) for k, v in value.items())
    return False


def plain_equal(left: Any, right: Any) -> bool:
    """`left == right` on decoded plain values (6 == 6.0 holds, as in the assert); never raises."""
    try:
        return bool(left == right)
    except (RecursionError, MemoryError, TypeError, ValueError):
        return False


def tree_preorder(level_order: list[Any] | None) -> list[Any]:
    """The pre-order listing `walk_tree` gives for the tree that upstream's `tree_node(level_order)` builds.

    LeetCode level order: the first value is the root; each following pair is the left and right child of the
    next present node, None marking a missing child (children of missing nodes are not listed).
    """
    if not level_order:
        return [None]
    nodes: list[list[Any]] = [[level_order[0], None, None]]
    pending = [nodes[0]]
    head, i = 0, 1
    while head < len(pending) and i < len(level_order):
        node = pending[head]
        head += 1
        for side in (1, 2):
            if i < len(level_order) and level_order[i] is not None:
                child = [level_order[i], None, None]
                node[side] = child
                pending.append(child)
            i += 1
    out: list[Any] = []
    stack: list[Any] = [nodes[0]]
    while stack:
        item = stack.pop()
        if item is None:
            out.append(None)
            continue
        out.append(item[0])
        stack.append(item[2])
        stack.append(item[1])
    return out
