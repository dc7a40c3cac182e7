"""The probe driver's call loop: one planned call of the submission, observed and described (see `driver.py`).

Split from `driver.py` for size only; it is part of the trusted driver. Everything here runs after the submission
is imported, so the module and `CallLoop` are in the driver's seal (`driver.SEALED_MODULES`, `_Run.make_seal`):
rebinding any of their functions from submission code stops the run with PRB406.
"""

from __future__ import annotations

import re
import sys
import weakref
from typing import Any

from referee.submissions.probes.integrity import thread_snapshot

#: exception types raised by a machine that lacks a compiler, a module or a device (torch.compile's backends)
ENVIRONMENT_ERRORS = {"InvalidCxxCompiler", "CppCompileError", "CUDACompileError", "ModuleNotFoundError"}
#: wrappers whose message says whether the machine or the code is at fault
ENVIRONMENT_WRAPPERS = {"BackendCompilerFailed", "InductorError"}
#: a torch.compile backend failure is the machine's when it is about files, compilers or missing tools
ENVIRONMENT_MESSAGE = re.compile(r"Permission denied|Read-only file system|No space left|InvalidCxxCompiler|"
                                 r"CppCompileError|No module named|command not found|cannot find|not installed")
#: what torch says when the code asks for CUDA on a machine (or a CPU port of a distributed task) without it
CUDA_MISSING = re.compile(r"Torch not compiled with CUDA|no NVIDIA driver|No CUDA GPUs are available|"
                          r"has no attribute '_cuda_\w+'|CUDA driver (?:initialization failed|version is insufficient)")


def _safe(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {exc}"[:500]
    except Exception:
        return type(exc).__name__


def _submission_line(exc: BaseException, path: str) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _normalize_check(result: Any) -> list[Any]:
    """check_implementation returns (ok, msg), a bool, or an error string/list (empty = pass)."""
    if isinstance(result, tuple | list) and len(result) == 2 and isinstance(result[0], bool):
        return [bool(result[0]), str(result[1])[:500]]
    if isinstance(result, bool):
        return [result, ""]
    if isinstance(result, str):
        return [not result, result[:500]]
    if isinstance(result, list):
        return [not result, "; ".join(str(x) for x in result)[:500]]
    return [bool(result), ""]


def _no_snapshot() -> None:
    return None


def _merged(main: dict[str, str], thread: Any) -> dict[str, str]:
    """The main thread's snapshot with the submission thread's view on top (torch's mode stack is thread-local)."""
    return {**main, **thread} if isinstance(thread, dict) else main


def _ptr(leaf: Any) -> int:
    try:
        return int(leaf.data_ptr())
    except Exception:
        return 0


def _environment_error(exc: BaseException | None) -> bool:
    """An exception that says the machine lacks something (a module, a compiler), not that the code is wrong."""
    if exc is None:
        return False
    name = type(exc).__name__
    if name in ENVIRONMENT_ERRORS or isinstance(exc, ModuleNotFoundError):
        return True
    if CUDA_MISSING.search(_safe(exc)):
        return True
    return name in ENVIRONMENT_WRAPPERS and bool(ENVIRONMENT_MESSAGE.search(_safe(exc)))



class CallLoop:
    """The call-loop methods of the driver's `_Run` (a mixin: the state lives in `_Run.__init__`)."""

    kit: Any
    cases: dict[str, Any]
    slots: dict[str, Any]
    payload: dict[str, Any]
    recorder: Any
    fns: dict[str, Any]
    path: str
    r: int

    def _object_for(self, step: dict[str, Any]) -> Any:
        case = self.cases[step["case"]]
        if step["obj"] == "fresh":
            return self.kit.deep_clone(case)
        obj = self.slots.get(step["obj"])
        if obj is not None and step["refill"]:
            try:
                self.kit.refill(obj, case)
            except Exception:  # the submission broke the object (resized, freed): start over with a fresh one
                obj = None
        if obj is None:
            obj = self.slots[step["obj"]] = self.kit.deep_clone(case)
        return obj

    def call(self, kernel: Any, step: dict[str, Any], baseline: set[int], check: Any) -> dict[str, Any] | None:
        """One planned call; None when the submission broke the seal (the run stops there)."""
        kit = self.kit
        frame: dict[str, Any] = {"k": "call", "i": step["i"]}
        if step["case"] not in self.cases:
            frame["skipped"] = True
            return frame
        obj = self._object_for(step)
        frame["in_hash_before"] = kit.digest(obj)
        frame["leaves_before"] = kit.leaf_digests(obj)
        sys.argv = ["eval.py", step["mode"]]
        self.recorder.active = True
        start = self.perf()
        try:
            last = step["i"] in (0, self.payload["steps"][-1]["i"])
            result = self.isolated(kernel, obj, thread_snapshot if last else _no_snapshot)
            self.sync()
        except BaseException as exc:  # CUDA errors surface at synchronize
            result = None
            frame.update(error=_safe(exc))
        frame["seconds"] = (self.perf() - start) / 1e9
        if result is not None:
            self.worker_idents.add(result.ident)
            frame["_snap"] = result.after
        # from here on, submission code runs only as callbacks on the driver's stack (an exception's __str__,
        # is_alive, output methods): it gets no frames
        self.recorder.guarded = True
        if result is not None and not result.returned:
            exc = result.error
            frame.update(error=_safe(exc) if exc is not None else "SystemExit (or the error was hidden)",
                         line=self._line(exc))
            if _environment_error(exc):
                frame["environment"] = True
        # threads at the moment of return, before the seal check and the output's description take their time
        library = self.recorder.library_threads
        live = [t for t in self.enumerate() if t.ident not in baseline and t.ident not in self.worker_idents
                and t.is_alive() and t not in library]
        frame["threads"] = [t.name[:60] for t in live[:10]]
        early = kit.digest(result.value) if step.get("late") and result is not None and result.returned else None
        if check():
            self.recorder.active = self.recorder.guarded = False
            return None
        out = result.value if result is not None else None
        if result is not None:
            result.value = None  # the driver's own reference must not count as the submission keeping the output
        try:
            if "error" not in frame:
                self._describe_output(out, obj, step, frame, early)
        except Exception as exc:  # a hostile output object: unreadable is wrong, not a driver crash
            frame["out"] = {"t": "other", "cls": "unreadable", "error": _safe(exc)}
        finally:
            self.recorder.active = False  # the task's checker below calls the reference; that is not the submission
        frame["in_hash_after"] = kit.digest(obj)
        frame["leaves_after"] = kit.leaf_digests(obj)
        if "error" not in frame:
            # soak calls are many and cheap: the trusted comparison of a sample judges them, not the task's checker
            frame["check"] = None if step["probe"] == "soak" else self._check(step, out)
            try:
                refs = self._weakrefs(out, obj)
            except Exception:
                refs = []
            del out
            frame["retained"] = any(r() is not None for r in refs)
        self.recorder.guarded = False
        return frame

    def _line(self, exc: BaseException | None) -> int | None:
        """The submission's line in a traceback: real traceback objects only, read by the driver itself."""
        if exc is None:
            return None
        recorder = self.recorder
        recorder._busy = True  # the driver's own frame reads, not the submission's
        try:
            return _submission_line(exc, self.path)
        except Exception:
            return None
        finally:
            recorder._busy = False

    def _describe_output(self, out: Any, obj: Any, step: dict[str, Any], frame: dict[str, Any],
                         early: str | None = None) -> None:
        kit = self.kit
        level = 2 if step["probe"] == "soak" else 1
        frame["out"] = kit.encode(out, self.r, level)
        frame["alias"] = bool(kit.storage_ptrs(out) & kit.storage_ptrs(obj))
        frame["alias_leaves"] = kit.alias_leaves(out, obj)
        if step.get("late"):  # the first digest was taken the moment the call returned (before the seal check)
            digest = early if early is not None else kit.digest(out)
            self.sleep(0.05)
            frame["late_changed"] = kit.digest(out) != digest

    def _check(self, step: dict[str, Any], out: Any) -> list[Any]:
        kit = self.kit
        try:
            plain = kit.deep_clone(out) if not kit.is_tensor(out) else kit.plain(out)
            return _normalize_check(self.fns["check_implementation"](kit.deep_clone(self.cases[step["case"]]),
                                                                     plain))
        except BaseException as exc:
            return [False, f"checker raised {_safe(exc)}"]

    def _weakrefs(self, out: Any, obj: Any) -> list[Any]:
        """Weak references to the returned tensors (not the inputs): alive after the driver lets go = retained."""
        inputs = {id(x) for x in self.kit.leaves(obj)}
        refs = []
        for leaf in self.kit.leaves(out):
            if id(leaf) not in inputs:
                try:
                    refs.append(weakref.ref(leaf))
                except TypeError:
                    continue
        return refs
