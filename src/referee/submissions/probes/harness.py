"""Emulating the leaderboard harness inside the probe child: a honeypot `eval` module, poisoned `torch.empty`,
and a log of the buffers `generate_input` allocates without values (the task's output buffers).
"""

from __future__ import annotations

import sys
import types
from typing import Any

EMPTY_FACTORIES = ("empty", "empty_like", "empty_strided")


class EmptyLog:
    """While active, remembers the storage address of every tensor `torch.empty*` returns (trusted phase only).

    A member of `data` that generate_input allocated with `torch.empty*` is an output buffer by construction
    (pmpp_v2: `y = torch.empty(size)`; `return x, y`), whatever the reference then does with it.
    """

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.ptrs: set[int] = set()
        self.saved: dict[str, Any] = {}

    def _wrap(self, fn: Any) -> Any:
        ptrs = self.ptrs

        def logged(*args: Any, **kwargs: Any) -> Any:
            out = fn(*args, **kwargs)
            try:
                ptrs.add(int(out.data_ptr()))
            except Exception:
                pass
            return out

        return logged

    def __enter__(self) -> EmptyLog:
        torch = self.torch
        for name in EMPTY_FACTORIES:
            self.saved[name] = getattr(torch, name)
            setattr(torch, name, self._wrap(self.saved[name]))
        self.saved["new_empty"] = torch.Tensor.new_empty
        torch.Tensor.new_empty = self._wrap(self.saved["new_empty"])
        return self

    def __exit__(self, *exc: Any) -> None:
        torch = self.torch
        for name in EMPTY_FACTORIES:
            setattr(torch, name, self.saved[name])
        torch.Tensor.new_empty = self.saved["new_empty"]


def harness_stand_in(reference: types.ModuleType, required: tuple[str, ...],
                     harness_names: tuple[str, ...]) -> types.ModuleType:
    """An `eval`/`__main__` module shaped like the leaderboard harness: a honeypot for harness patching."""
    stand_in = types.ModuleType("eval")
    stand_in.__file__ = "eval.py"

    def _noop(*args: Any, **kwargs: Any) -> None:
        return None

    for name in harness_names:
        fn = types.FunctionType(_noop.__code__.replace(co_name=name), {}, name)
        setattr(stand_in, name, fn)
    for name in required:
        if getattr(reference, name, None) is not None:
            setattr(stand_in, name, getattr(reference, name))
    sys.modules["eval"] = stand_in
    sys.modules["__main__"] = stand_in
    return stand_in


def poison_empty(torch: Any) -> None:
    """Uninitialised allocations come back full of NaN (or the dtype's max): stale-memory outputs show up."""

    def poisoned(fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            out = fn(*args, **kwargs)
            try:
                with torch._C.DisableTorchFunctionSubclass():
                    if out.dtype.is_floating_point or out.dtype.is_complex:
                        out.fill_(float("nan"))
                    elif out.dtype == torch.bool:
                        out.fill_(True)
                    else:
                        out.fill_(torch.iinfo(out.dtype).max)
            except Exception:
                pass
            return out

        wrapper.__name__ = getattr(fn, "__name__", "empty")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper

    for name in ("empty", "empty_like", "empty_strided"):
        setattr(torch, name, poisoned(getattr(torch, name)))
    torch.Tensor.new_empty = poisoned(torch.Tensor.new_empty)
