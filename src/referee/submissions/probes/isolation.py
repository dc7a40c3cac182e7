"""Keeping the submission away from the probe driver it shares a process with: isolated calls and a seal.

The driver's verdict-bearing work (copying, hashing and encoding outputs, sending frames) runs in the same
interpreter as the submission, so two things keep the submission from rewriting what the probes report:

- `isolated_call(fn, arg)` runs the submission's import and every `custom_kernel` call at the top of a fresh
  thread, started through C-level callables only (`list.extend` over `itertools` and `map`), so no driver frame is
  on the submission's stack: walking a traceback or `sys._getframe().f_back` from inside the kernel ends at the
  submission's own frames. The main thread, holding the driver's frames, waits for a lock the thread releases last.
- `seal(...)` records, before the submission is imported, the identity of every value in the driver's modules and
  classes, in the instances the call loop uses, and in the standard modules the channel encodes with; `check()`
  (a closure reachable from no module, class or frame the submission can see) lists what changed. The driver runs
  it after the import and after every call, before it describes the output, and stops with a `seal` frame (a FAIL
  of its own) when anything moved. So replacing `_Run._describe_output`, an instance's method, `Toolkit`'s bound
  torch functions, or `json.dumps` is caught before it can forge a single frame.

What stays possible (documented in docs/submissions.md): code that writes the driver's memory through ctypes at
`id()`-derived addresses. The heap walks that find the driver's objects (`gc.get_objects`, `gc.get_referrers`,
`sys._current_frames`) are refused by the recorder's audit hook while the submission runs.
"""

from __future__ import annotations

import _thread
import itertools
import os
import struct
import sys
import types
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

#: values that legitimately change while a run goes on (the recorder's buffers, the run's bookkeeping)
MUTABLE_STATE = frozenset({"events", "call_sites", "counts", "calls", "active", "_busy", "guarded", "missing",
                           "worker_idents"})
_POLL_S = 0.05
SEALED_STDLIB = ("json", "json.encoder", "struct", "_thread", "itertools", "hashlib", "base64", "weakref")


def _entries(namespace: dict[str, Any], skip: frozenset[str]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for key, value in list(namespace.items()):
        if key in skip or (key.startswith("__") and key not in ("__call__", "__init__", "__getattr__")):
            continue
        code = getattr(value, "__code__", None) if isinstance(value, types.FunctionType) else None
        out.append((key, id(value), id(code) if code is not None else 0))
    return tuple(out)


def seal(modules: list[types.ModuleType], classes: list[type], instances: list[Any]) -> Callable[[], list[str]]:
    """A check bound now: which driver functions, classes, instance attributes or channel modules changed."""
    targets: list[tuple[str, dict[str, Any], frozenset[str]]] = []
    for module in modules + [sys.modules[name] for name in SEALED_STDLIB if name in sys.modules]:
        targets.append((module.__name__, module.__dict__, frozenset()))
    for cls in classes:
        targets.append((f"{cls.__module__}.{cls.__qualname__}", cls.__dict__, frozenset()))  # type: ignore[arg-type]
    for obj in instances:
        targets.append((f"{type(obj).__qualname__} instance", obj.__dict__, MUTABLE_STATE))
    baseline = tuple((name, namespace, skip, _entries(namespace, skip)) for name, namespace, skip in targets)

    def check(_entries: Any = _entries, _len: Any = len, _dict: Any = dict) -> list[str]:
        changes: list[str] = []
        for name, namespace, skip, before in baseline:
            now = _entries(namespace, skip)
            if now == before:
                continue
            old, new = _dict((k, (i, c)) for k, i, c in before), _dict((k, (i, c)) for k, i, c in now)
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    what = "added" if key not in old else "removed" if key not in new else (
                        "code replaced" if old[key][0] == new[key][0] else "replaced")
                    changes.append(f"{name}.{key} ({what})")
            if _len(changes) >= 20:
                break
        return changes[:20]

    return check


def _not_json(value: Any) -> Any:
    raise TypeError(f"not JSON: {type(value).__name__}")


def sealed_send(fd: int, _write: Any = os.write, _pack: Any = struct.pack, _len: Any = len,
                _memoryview: Any = memoryview) -> Callable[[dict[str, Any]], None]:
    """The channel's send, bound now to the C JSON encoder and `os.write` (same framing as `Channel.send`).

    Patching `json`, `struct`, `os` or the `Channel` class later, even from a thread racing the seal check,
    changes nothing about what this function writes.
    """
    encoder = c_make_encoder(None, _not_json, encode_basestring_ascii, None, ":", ",", False, False, True)
    join = "".join

    def send(frame: dict[str, Any]) -> None:
        data = join(encoder(frame, 0)).encode()
        view = _memoryview(_pack(">I", _len(data)) + data)
        while view:
            view = view[_write(fd, view):]

    return send


def _nothing() -> None:
    return None


class CallResult:
    """What one isolated call produced: a value, the exception it raised, or neither (SystemExit, a lost report)."""

    __slots__ = ("after", "error", "ident", "returned", "value")

    def __init__(self) -> None:
        self.after: Any = None
        self.value: Any = None
        self.error: BaseException | None = None
        self.returned = False
        self.ident = 0


#: a lock the new thread's state holds until the thread is gone (CPython 3.11/3.12; None later: thread count)
_SENTINEL = getattr(_thread, "_set_sentinel", None)


def make_isolated_call(_start: Any = _thread.start_new_thread, _chain: Any = itertools.chain,
                       _starmap: Any = itertools.starmap, _count: Any = _thread._count,
                       _sys: Any = sys, _len: Any = len, _map: Any = map, _allocate: Any = _thread.allocate_lock,
                       _result: Any = CallResult, _sentinel: Any = _SENTINEL, _acquire: Any = _thread.LockType.acquire,
                       _islice: Any = itertools.islice) -> Callable[[Any, Any], CallResult]:
    """`isolated_call(fn, arg, after)` bound now (see module docstring): fn(arg) at the top of a new thread.

    `after()` runs in the same thread once fn returned (thread-local state such as torch's mode stack is read
    there). The thread's stack holds only C frames and fn's.
    """

    def isolated_call(fn: Any, arg: Any, after: Any = _nothing) -> CallResult:
        box: list[Any] = []
        result = _result()
        caught: list[BaseException] = []
        done = _allocate()
        done.acquire()

        def unraisable(info: Any) -> None:  # _thread reports the call's exception here (SystemExit: silently)
            caught.append(info.exc_value)
            done.release()

        previous = _sys.unraisablehook
        _sys.unraisablehook = unraisable
        # the thread runs: box.append(sentinel()); box.append(box[0].acquire()); box.append(fn(arg));
        # box.append(after()); done.release(), all from C. The sentinel lock is held while this very thread
        # exists: "ended without a result" is read from it, not from the thread count, which a previous call's
        # thread still exiting (or any other thread ending) would make lie.
        first = _chain(_starmap(_sentinel, [()]), _map(_acquire, _islice(iter(box), 1))) \
            if _sentinel is not None else ()
        try:
            work = _chain(first, _map(fn, (arg,)), _starmap(after, [()]), _starmap(done.release, [()]))
            running = _count()
            result.ident = _start(box.extend, (work,))
            while not done.acquire(True, _POLL_S):
                if (not box[0].locked()) if (_sentinel is not None and box) else (
                        _sentinel is None and _count() <= running):
                    break  # it ended without a result or a report: SystemExit (cleared silently)
        finally:
            _sys.unraisablehook = previous
        skip = 2 if _sentinel is not None else 0
        if _len(box) > 1 + skip:
            result.value, result.returned, result.after = box[skip], True, box[skip + 1]
        elif caught:
            result.error = caught[0]
        return result

    return isolated_call
