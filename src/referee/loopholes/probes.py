"""The C/D probe run: the completion's own run_tests against the canonical Solution and a stub one.

Only completions that bind `run_tests` get this second sandboxed run. Each probe loads the completion in a fresh
`solution` module, swaps its Solution class for the target (the canonical solution for D, a stub whose method
returns 0 for C) and calls the completion's own run_tests (module level, builtins, or the method form) once.
`begin`/`end` frames say whether the call returned; a run that dies in the middle of a probe leaves a `begin`
without an `end`, which the grader reads as "did not return".
"""

from __future__ import annotations

import builtins
from typing import Any

from referee.loopholes.guard import sealed_channel
from referee.loopholes.harness import _class_attr, _describe, _module_namespace, _nonce, _setup
from referee.loopholes.modes import TEST_FUNC


def probe_main(payload: dict[str, Any], channel: Any) -> int:
    """Sandbox driver for the C/D probes: the completion's run_tests against the canonical and a stub Solution."""
    send, _, _ = sealed_channel(_nonce(payload, channel))
    cls_name, method = payload["cls"], payload["method"]
    try:
        namespace, _ = _setup(payload)
    except Exception as exc:
        send({"t": "setup_error", "err": _describe(exc)})
        return 125
    canonical_ns = _module_namespace(namespace)
    try:
        exec(compile(payload["canonical"], "canonical.py", "exec"), canonical_ns)
        canonical = canonical_ns.get(cls_name)
    except Exception:  # a broken canonical solution is reported as 'no canonical'
        canonical = None
    stub = type(cls_name, (), {method: lambda self, *args, **kwargs: 0})
    for which in payload.get("probes", ("D", "C")):
        send({"t": "begin", "which": which})
        target = canonical if which == "D" else stub
        returned, error = _probe_once(payload["code"], cls_name, _module_namespace(namespace), target)
        send({"t": "end", "which": which, "returned": returned, "err": error})
    return 0


def _probe_once(code: str, cls_name: str, namespace: dict[str, Any], target: Any, _exec: Any = exec,
                _compile: Any = compile, _base: Any = BaseException,
                _builtins: dict[str, Any] = builtins.__dict__) -> tuple[bool | None, str | None]:
    """Load the completion, swap in `target` as its Solution, call its own run_tests once."""
    if target is None:
        return None, "no canonical Solution"
    try:
        _exec(_compile(code, "solution.py", "exec"), namespace)
    except _base as exc:  # a module-level exit still leaves its run_tests to probe
        load_error: str | None = _describe(exc)
    else:
        load_error = None
    func = namespace.get(TEST_FUNC)
    if func is None:
        func = _builtins.get(TEST_FUNC)
    method = _class_attr(namespace.get(cls_name), TEST_FUNC) if func is None else None
    if func is None and method is None:
        return None, f"no run_tests after loading ({load_error or 'loaded'})"
    namespace[cls_name] = target
    try:
        if func is not None:
            func()
        else:
            getter = _class_attr(type(method), "__get__")
            (getter(method, target(), target) if getter is not None else method)()
    except _base as exc:  # any exit or exception means the call did not return
        return False, _describe(exc)
    return True, None

