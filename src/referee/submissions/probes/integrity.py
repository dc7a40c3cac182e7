"""Integrity snapshots: what the harness depends on, fingerprinted before and after the submission runs.

`take_snapshot` runs in the child and maps names (`torch.cuda.Event.elapsed_time`, `time.perf_counter`,
`sys.modules[reference]`, `reference.check_implementation`) to fingerprints: the object's id, plus the id of its code
object for functions (a `__code__` swap keeps the function's id). The snapshot before import is sent before any
submission code exists in the process, so it is trusted; `diff_snapshots` runs in the handler and classifies every
change. Private names are tracked for presence only: torch sets private attributes of its own lazily, but a new
private attribute is still a place to stash a cache.
"""

from __future__ import annotations

import sys
from typing import Any

#: module namespaces whose public attributes are fingerprinted
MODULES = ("torch", "torch.cuda", "torch.testing", "torch.nn.functional", "torch.linalg", "torch.fft", "time",
           "builtins", "os", "sys", "gc", "threading", "math", "numpy", "numpy.testing")
#: classes whose attribute dictionaries are fingerprinted
CLASSES = ("torch.Tensor", "torch._C.TensorBase", "torch.cuda.Event", "torch.cuda.Stream", "threading.Thread")
#: the task's files and the driver: every name, private ones included
HARNESS = ("reference", "utils", "task", "eval", "__main__", "referee.submissions.probes.driver",
           "referee.submissions.probes.tensors", "referee.submissions.probes.hooks", "referee.sandbox.child")
#: names the driver itself changes between calls
_SKIP = {"sys.argv", "sys.last_type", "sys.last_value", "sys.last_traceback", "sys.last_exc", "sys.ps1", "sys.ps2",
         "builtins._", "os.environ"}
#: builtins dunders that matter (import machinery, class creation)
_BUILTIN_DUNDERS = ("__import__", "__build_class__")

CRITICAL_PREFIXES = ("time.", "builtins.", "torch.cuda.", "torch.testing.", "torch.Tensor.", "torch._C.TensorBase.",
                     "reference.", "utils.", "task.", "eval.", "__main__.", "referee.", "numpy.testing.",
                     "os._exit", "os.write", "os.dup", "os.fdopen", "os.kill", "sys.stdout", "sys.stderr",
                     "sys.excepthook", "sys.exit", "sys.settrace", "sys.setprofile", "sys.addaudithook",
                     "gc.get_objects", "threading.", "math.")
#: where adding a name is as bad as replacing one: it shadows an inherited method or a harness function
_ADD_CRITICAL = ("reference.", "utils.", "task.", "eval.", "__main__.", "torch.Tensor.", "torch._C.TensorBase.",
                 "torch.cuda.Event.", "torch.cuda.Stream.", "builtins.", "time.")
SETTINGS = ("torch.settings.allow_tf32", "torch.settings.cudnn_allow_tf32", "torch.settings.matmul_precision",
            "torch.settings.default_dtype", "torch.settings.fp16_reduction", "torch.settings.bf16_reduction")
MODE_STACKS = ("torch.settings.function_modes", "torch.settings.dispatch_modes")


def _fingerprint(value: Any) -> str:
    code = getattr(value, "__code__", None)
    kind = "m" if type(value).__name__ == "module" else "o"
    if code is not None and type(code).__name__ == "code":
        return f"{kind}{id(value)}:{id(code)}"
    return f"{kind}{id(value)}"


def _namespace(prefix: str, namespace: dict[str, Any], everything: bool, out: dict[str, str]) -> None:
    for name, value in list(namespace.items()):
        key = f"{prefix}.{name}"
        if key in _SKIP or name == "__warningregistry__":  # warnings' own bookkeeping, kept where warn() points
            continue
        dunder = name.startswith("__") and name.endswith("__")
        if everything or dunder or not name.startswith("_") or (prefix == "builtins" and name in _BUILTIN_DUNDERS):
            out[key] = _fingerprint(value)
        else:
            out[key] = "pm" if type(value).__name__ == "module" else "p"


def _torch_settings(out: dict[str, str]) -> None:
    torch = sys.modules.get("torch")
    if torch is None:
        return
    probes = {
        "allow_tf32": lambda: torch.backends.cuda.matmul.allow_tf32,
        "cudnn_allow_tf32": lambda: torch.backends.cudnn.allow_tf32,
        "matmul_precision": torch.get_float32_matmul_precision,
        "default_dtype": torch.get_default_dtype,
        "fp16_reduction": lambda: torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction,
        "bf16_reduction": lambda: torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction,
        "function_modes": torch._C._len_torch_function_stack,
        "dispatch_modes": torch._C._len_torch_dispatch_stack,
    }
    for name, read in probes.items():
        try:
            out[f"torch.settings.{name}"] = f"v{read()!r}"
        except Exception as exc:
            out[f"torch.settings.{name}"] = f"e{type(exc).__name__}"


def thread_snapshot() -> dict[str, str]:
    """The thread-local part (torch's function/dispatch mode stacks), read in the thread the submission ran in."""
    out: dict[str, str] = {}
    _torch_settings(out)
    return out


def take_snapshot() -> dict[str, str]:
    """Fingerprints of everything the harness trusts (runs in the child; about 5 ms)."""
    out: dict[str, str] = {}
    modules = sys.modules
    for name in MODULES:
        module = modules.get(name)
        if module is not None:
            _namespace(name, vars(module), False, out)
    for name in HARNESS:
        module = modules.get(name)
        if module is not None:
            _namespace(name, vars(module), True, out)
    for dotted in CLASSES:
        owner, _, attr = dotted.rpartition(".")
        cls = getattr(modules.get(owner), attr, None) if owner in modules else None
        if cls is None and owner == "torch._C":
            torch = modules.get("torch")
            cls = getattr(getattr(torch, "_C", None), attr, None)
        if isinstance(cls, type):
            _namespace(dotted, dict(vars(cls)), False, out)
    for name, module in list(modules.items()):
        out[f"sys.modules[{name}]"] = _fingerprint(module)
    out["sys.path"] = "v" + "\x00".join(str(p) for p in sys.path)[:4000]
    out["sys.meta_path"] = "v" + ",".join(str(id(f)) for f in sys.meta_path)
    out["sys.path_hooks"] = "v" + ",".join(str(id(f)) for f in sys.path_hooks)
    _torch_settings(out)
    return out


def _critical(key: str) -> bool:
    if key.startswith("sys.modules["):
        return False
    if key.startswith("torch.") and not key.startswith(("torch.settings.", "torch.cuda.")) and key.count(".") == 1:
        return True  # top-level torch functions (torch.allclose, torch.matmul, ...)
    return key.startswith(CRITICAL_PREFIXES)


def diff_snapshots(before: dict[str, str], after: dict[str, str]) -> list[dict[str, str]]:
    """Classified changes between two snapshots (handler side; both are plain dicts of strings).

    Each change has `key`, `change` (replaced, removed, added) and `category`: `critical` (PRB301), `modules`
    (PRB303), `modes` (PRB304), `settings` (PRB302) or `minor` (PRB305).
    """
    changes: list[dict[str, str]] = []
    for key, old in before.items():
        new = after.get(key)
        if new == old:
            continue
        if key.startswith("sys.modules["):
            changes.append({"key": key, "change": "removed" if new is None else "replaced", "category": "modules"})
            continue
        if key in MODE_STACKS:
            if _stack_depth(new) > _stack_depth(old):
                changes.append({"key": key, "change": f"{old[1:]} -> {(new or '')[1:]}", "category": "modes"})
            continue
        if key in SETTINGS:
            changes.append({"key": key, "change": f"{old[1:]} -> {(new or 'v?')[1:]}", "category": "settings"})
            continue
        if key.startswith("torch.settings."):
            continue
        if key == "sys.path" and new is not None and _kept_in_order(old[1:].split("\x00"), new[1:].split("\x00")):
            continue  # entries added (torch's cpp_extension does that for its build folder); none removed
        if key in {"sys.path", "sys.meta_path", "sys.path_hooks"}:
            changes.append({"key": key, "change": "changed", "category": "minor"})
            continue
        if old in {"p", "pm"}:
            continue  # private attribute that torch updates itself: presence only
        if new is None:
            changes.append({"key": key, "change": "removed", "category": "critical" if _critical(key) else "minor"})
        elif old.startswith("m") and new.startswith("m"):
            continue  # a submodule attribute re-bound to another module object (lazy import)
        else:
            changes.append({"key": key, "change": "replaced", "category": "critical" if _critical(key) else "minor"})
    for key, new in after.items():
        if key in before or key.startswith("sys.modules["):
            if key.startswith("sys.modules[") and key not in before and not new.startswith("m"):
                changes.append({"key": key, "change": "added a non-module", "category": "modules"})
            continue
        if new.startswith("m") or new == "pm" or key.startswith(("torch.settings.", "referee.")):
            continue
        critical = key.startswith(_ADD_CRITICAL) and new != "p"
        changes.append({"key": key, "change": "added", "category": "critical" if critical else "minor"})
    return changes


def _kept_in_order(old: list[str], new: list[str]) -> bool:
    """Are all old entries still there, in the same order (new ones may sit anywhere)?"""
    remaining = iter(new)
    return all(any(entry == candidate for candidate in remaining) for entry in old)


def _stack_depth(value: str | None) -> int:
    try:
        return int((value or "v0")[1:])
    except ValueError:
        return 0
