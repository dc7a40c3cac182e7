"""The C/D probes: the completion's own run_tests against a stub Solution (C) and against the canonical one (D).

The canonical solution never enters a process that runs completion code. D is measured by record and replay:

- `probe_main` (a sandbox job running the completion) loads the completion, swaps its Solution for a *proxy*
  and calls the completion's own run_tests. Each call the proxy receives is encoded (plain values, linked lists
  and trees as value listings); when the grading process already holds the canonical's answer for it (the
  job's `table`), the proxy returns that answer (or raises the canonical's exception); otherwise it reports the
  call as a `miss` and returns a placeholder that compares equal to anything, so that one round discovers every
  call that does not depend on an earlier answer.
- `canonical_main` (a job on a separate sandbox whose fork server never runs completion code) runs only the
  trusted setup and canonical code on the missed calls and sends back their outputs.
- The grading process (`engine.Grader._probe`) repeats until a round has no miss (a few rounds at most); only
  that round's outcome counts. C needs no canonical: its stub returns 0 for every call.

What reaches the completion is what it would see anyway from a canonical Solution: the outputs for the
arguments it chose itself, in this probe job only (its reward and oracle verdict were fixed in the grading run
before). `begin`/`end` frames say whether each call of run_tests returned; a run that dies inside one leaves a
`begin` without an `end`, which reads as "did not return".
"""

from __future__ import annotations

import builtins
from typing import Any

from referee.loopholes.guard import _ENCODER, _SCANNER, block_signals, install_guard, sealed_channel
from referee.loopholes.harness import _module_namespace, _nonce, _setup
from referee.loopholes.levers import class_attr, describe, needs_arguments
from referee.loopholes.modes import TEST_FUNC
from referee.loopholes.values import Opaque, decode, encode, walk_list, walk_tree

#: distinct calls one round may report (the rest are found in later rounds or leave D undetermined)
MAX_MISSES = 256
_EXCEPTIONS = {name: value for name, value in vars(builtins).items()
               if isinstance(value, type) and issubclass(value, Exception)}


def dumps(obj: Any, _encoder: Any = _ENCODER, _join: Any = "".join) -> str:
    return _join(_encoder(obj, 0))


def loads(text: str, _scanner: Any = _SCANNER) -> Any:
    return _scanner(text, 0)[0]


class Untransferable(Exception):  # a signal between the helpers below, not a referee error
    """An argument or output that cannot cross between the probe and canonical jobs."""


def encode_value(value: Any, _encode: Any = encode, _opaque: Any = Opaque, _walk_list: Any = walk_list,
                 _walk_tree: Any = walk_tree, _hasattr: Any = hasattr) -> list[Any]:
    """A value as it crosses jobs: plain ("v"), a linked list ("L") or a tree ("T") as value listings."""
    try:
        return ["v", _encode(value)]
    except _opaque:
        pass
    try:
        if _hasattr(value, "next") and _hasattr(value, "val"):
            return ["L", _walk_list(value)]
        if _hasattr(value, "left") and _hasattr(value, "val"):
            return ["T", _walk_tree(value)]
    except _opaque as exc:
        raise Untransferable(str(exc)) from None
    raise Untransferable("not a plain value, linked list or tree")


def build_value(item: Any, helpers: dict[str, Any], _decode: Any = decode) -> Any:
    """Inverse of `encode_value`, with the problem's own node classes (from its setup code)."""
    tag, body = item[0], item[1]
    if tag == "v":
        return _decode(body)
    if tag == "L":
        builder = helpers.get("list_node")
        if builder is None:
            raise Untransferable("no list_node helper")
        return builder([_decode(v) for v in body])
    if tag == "T":
        node_class = helpers.get("TreeNode")
        if node_class is None:
            raise Untransferable("no TreeNode class")
        return _tree_from_preorder([_decode(v) for v in body], node_class)
    raise Untransferable(f"unknown tag {tag!r}")


def _tree_from_preorder(values: list[Any], node_class: Any) -> Any:
    """Rebuild the tree `walk_tree` listed (pre-order, None for every missing child), without recursion."""
    position = 0

    def take() -> Any:
        nonlocal position
        value = values[position]
        position += 1
        return None if value is None else node_class(value)

    root = take()
    stack = [(root, "left")] if root is not None else []
    while stack:
        node, side = stack.pop()
        if side == "left":
            stack.append((node, "right"))
        child = take()
        setattr(node, side, child)
        if child is not None:
            stack.append((child, "left"))
    return root


# ── the completion's side ────────────────────────────────────────────────────────────────────────────────
class _Placeholder:
    """What an unanswered call returns in a discovery round: equal to anything, so run_tests keeps going."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return True

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Any:
        return iter(())

    def __index__(self) -> int:
        return 0

    def __float__(self) -> float:
        return 0.0


def _proxy(cls_name: str, method: str, table: dict[str, Any], helpers: dict[str, Any],
           report_miss: Any) -> Any:
    """A Solution whose method answers from the canonical's recorded outputs (or reports a miss)."""
    seen: set[str] = set()
    placeholder = _Placeholder()
    # bound now, before the completion loads: rebinding this module's globals cannot steer the proxy
    _dumps, _encode_value, _build_value, _type, _list, _len = dumps, encode_value, build_value, type, list, len
    exceptions, untransferable = _EXCEPTIONS, Untransferable

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            key = _dumps([[_encode_value(a) for a in args], [[k, _encode_value(v)] for k, v in kwargs.items()]])
        except untransferable as exc:
            report_miss(None, str(exc))
            raise TypeError("this argument cannot be sent to the canonical solution") from None
        answer = table.get(key)
        if answer is None:
            if key not in seen and _len(seen) < MAX_MISSES:
                seen.add(key)
                report_miss(key, None)
            return placeholder
        for index, after in answer.get("after", []):
            if index < _len(args) and _type(args[index]) is _list:
                args[index][:] = _build_value(after, helpers)  # the canonical changed its list argument
        out = answer["out"]
        if out[0] == "x":
            raise exceptions.get(out[1], RuntimeError)(out[2])
        if out[0] == "u":
            report_miss(None, str(out[1]))
            raise TypeError("the canonical solution's output cannot be sent back")
        return _build_value(out, helpers)

    return type(cls_name, (), {method: call})


def probe_main(payload: dict[str, Any], channel: Any) -> int:
    """Sandbox driver: the completion's run_tests against a stub (C) and the recording proxy (D)."""
    send, _, _ = sealed_channel(_nonce(payload, channel))
    cls_name, method = payload["cls"], payload["method"]
    try:
        namespace, _ = _setup(payload)
    except Exception as exc:
        send({"t": "setup_error", "err": describe(exc)})
        return 125
    helpers = {name: namespace.get(name) for name in ("list_node", "TreeNode")}
    table = payload.get("table") or {}
    block_signals()
    install_guard(lambda why: send({"t": "tamper", "why": why}))
    for which in payload.get("probes", ("C", "D")):
        if which == "C":
            target = type(cls_name, (), {method: lambda self, *args, **kwargs: 0})
        else:
            def miss(key: str | None, why: str | None) -> None:
                send({"t": "miss", "which": "D", "k": key, "why": why})

            target = _proxy(cls_name, method, table, helpers, miss)
        send({"t": "begin", "which": which})
        returned, error = _probe_once(payload["code"], cls_name, _module_namespace(namespace), target)
        send({"t": "end", "which": which, "returned": returned, "err": error})
    return 0


def _probe_once(code: str, cls_name: str, namespace: dict[str, Any], target: Any, _exec: Any = exec,
                _compile: Any = compile, _base: Any = BaseException,
                _builtins: dict[str, Any] = builtins.__dict__) -> tuple[bool | None, str | None]:
    """Load the completion, swap in `target` as its Solution, call its own run_tests once."""
    try:
        _exec(_compile(code, "solution.py", "exec"), namespace)
    except _base as exc:  # a module-level exit still leaves its run_tests to probe
        load_error: str | None = describe(exc)
    else:
        load_error = None
    func = namespace.get(TEST_FUNC)
    if func is None:
        func = _builtins.get(TEST_FUNC)
    method = class_attr(namespace.get(cls_name), TEST_FUNC) if func is None else None
    if func is None and method is None:
        return None, f"no run_tests after loading ({load_error or 'loaded'})"
    if needs_arguments(func) if func is not None else needs_arguments(method, True):
        return None, "run_tests takes arguments: an unrelated helper, not what the grader calls"
    namespace[cls_name] = target
    try:
        if func is not None:
            func()
        else:
            getter = class_attr(type(method), "__get__")
            (getter(method, target(), target) if getter is not None else method)()
    except _base as exc:  # any exit or exception means the call did not return
        return False, describe(exc)
    return True, None


# ── the canonical's side (its own sandbox: no completion code ever ran in its fork server) ────────────────
def canonical_main(payload: dict[str, Any], channel: Any) -> int:
    """Sandbox driver: the canonical solution's outputs for the calls a probe recorded, one frame per call."""
    namespace = _module_namespace()
    exec(compile(payload.get("setup") or "", "<setup>", "exec"), namespace)
    exec(compile(payload["canonical"], "canonical.py", "exec"), namespace)
    cls = namespace.get(payload["cls"])
    helpers = {name: namespace.get(name) for name in ("list_node", "TreeNode")}
    for key in payload.get("calls", []):
        channel.send({"k": key, **_answer(cls, payload["method"], key, helpers)})
    return 0


def _answer(cls: Any, method: str, key: str, helpers: dict[str, Any]) -> dict[str, Any]:
    try:
        args_enc, kwargs_enc = loads(key)
        args = [build_value(item, helpers) for item in args_enc]
        kwargs = {name: build_value(item, helpers) for name, item in kwargs_enc}
    except (Untransferable, ValueError, TypeError, IndexError) as exc:
        return {"out": ["u", f"call not rebuilt: {exc}"[:200]]}
    before = [encode_value(a) if type(a) is list else None for a in args]
    try:
        out = getattr(cls(), method)(*args, **kwargs)
    except Exception as exc:
        return {"out": ["x", type(exc).__name__, str(exc)[:200]]}
    after = [[i, encode_value(a)] for i, a in enumerate(args) if before[i] is not None
             and encode_value(a) != before[i]]
    try:
        return {"out": encode_value(out), "after": after}
    except Untransferable as exc:
        return {"out": ["u", str(exc)[:200]], "after": after}
