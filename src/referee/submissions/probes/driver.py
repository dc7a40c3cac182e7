"""The probe driver: the trusted function the sandbox runs in the child to exercise one submission.

Order is the security argument:
1. Before any submission code exists in the process: move the channel to a random descriptor (naive writes to fd 3
   hit nothing), install the audit hook, import the task's reference, generate every input of the plan, compute
   the reference outputs and send them, then send an integrity snapshot. These frames are trusted.
2. `import_begin`; from here on every frame carries a nonce and the handler checks their order, because the
   submission could write frames of its own.
3. Import the submission, run the planned calls, send each output as it was at return (plain copy), the input
   hashes, thread and aliasing facts, the task checker's opinion, and the snapshots after import / first call /
   all calls.
The handler (`probes.handler`), not this code, decides what is right: outputs are compared there against the
reference frames of step 1.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import sys
import threading
import time
import traceback
import types
import weakref
from typing import Any

from referee.sandbox.child import CHANNEL_FD, Channel
from referee.submissions.probes.hooks import Recorder
from referee.submissions.probes.integrity import take_snapshot
from referee.submissions.probes.tensors import Toolkit

REQUIRED = ("generate_input", "ref_kernel", "check_implementation")
HARNESS_NAMES = ("_clone_data", "clear_l2_cache", "time_kernel", "calculate_stats", "run_single_benchmark",
                 "_run_single_benchmark", "_run_single_test", "run_testing", "run_benchmarking", "main")


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


def _private_channel(channel: Channel) -> Channel:
    """Move the channel off fd 3 to a random descriptor, so blind writes to 'the result fd' hit nothing."""
    target = 100 + int.from_bytes(os.urandom(2), "little") % 140
    try:
        os.dup2(CHANNEL_FD, target)
        os.close(CHANNEL_FD)
        return Channel(target)
    except OSError:
        return channel


def _harness_stand_in(reference: types.ModuleType) -> types.ModuleType:
    """An `eval`/`__main__` module shaped like the leaderboard harness: a honeypot for harness patching."""
    stand_in = types.ModuleType("eval")
    stand_in.__file__ = "eval.py"

    def _noop(*args: Any, **kwargs: Any) -> None:
        return None

    for name in HARNESS_NAMES:
        fn = types.FunctionType(_noop.__code__.replace(co_name=name), {}, name)
        setattr(stand_in, name, fn)
    for name in REQUIRED:
        setattr(stand_in, name, getattr(reference, name))
    sys.modules["eval"] = stand_in
    sys.modules["__main__"] = stand_in
    return stand_in


def _poison_empty(torch: Any) -> None:
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


class _Run:
    """State of one probe run inside the child."""

    def __init__(self, payload: dict[str, Any], channel: Channel) -> None:
        import torch

        self.torch = torch
        self.payload = payload
        self.kit = Toolkit()
        self.channel = _private_channel(channel)
        self.nonce = os.urandom(8).hex()
        self.r = int.from_bytes(os.urandom(4), "little")
        self.cuda = bool(payload.get("needs_cuda"))
        self.sync = torch.cuda.synchronize if self.cuda else (lambda: None)
        self.perf = time.perf_counter_ns
        self.sleep = time.sleep
        self.enumerate = threading.enumerate
        self.path = os.path.join(os.getcwd(), "submission.py")
        self.recorder = Recorder(self.path)
        self.cases: dict[str, Any] = {}
        self.slots: dict[str, Any] = {}
        self.fns: dict[str, Any] = {}

    def send(self, frame: dict[str, Any]) -> None:
        if frame["k"] not in {"hello", "ref", "snap-pre", "task_error", "no_cuda", "import_begin"}:
            frame["nonce"] = self.nonce
        self.channel.send(frame)

    # -- phase 1: trusted ------------------------------------------------------------------------------------
    def prepare(self) -> bool:
        torch = self.torch
        self.send({"k": "hello", "nonce": self.nonce, "torch": torch.__version__, "python": sys.version.split()[0],
                   "cuda_available": bool(torch.cuda.is_available()) if self.cuda else False})
        if self.cuda and not torch.cuda.is_available():
            self.send({"k": "no_cuda"})
            return False
        sys.path.insert(0, os.getcwd())
        sys.argv = ["eval.py", "test"]
        # what the leaderboard's runner exports; a submission that behaves only when they are absent is caught
        os.environ.update({"POPCORN_FD": "1", "POPCORN_GPUS": "1"})
        sys.addaudithook(self.recorder.hook)
        try:
            reference = importlib.import_module("reference")
            self.fns = {name: getattr(reference, name) for name in REQUIRED}
        except BaseException as exc:
            self.send({"k": "task_error", "where": "importing reference.py", "error": _safe(exc)})
            return False
        for name, fn in self.fns.items():
            setattr(reference, name, self.recorder.counted(name, fn))
        _harness_stand_in(reference)
        for case in self.payload["cases"]:
            if not self._reference_case(case):
                return False
        _poison_empty(torch)
        gc.collect()
        self.send({"k": "snap-pre", "snap": take_snapshot()})
        return True

    def _reference_case(self, case: dict[str, Any]) -> bool:
        kit = self.kit
        try:
            data = self.fns["generate_input"](**case["args"])
            if case.get("tweak") == "tail":
                kit.tweak_tail(data)
            ref = self.fns["ref_kernel"](kit.deep_clone(data))
            self.sync()
            check = _normalize_check(self.fns["check_implementation"](kit.deep_clone(data), kit.deep_clone(ref)))
        except BaseException as exc:
            if case["role"] in {"perturbed", "public-tweaked"}:
                self.send({"k": "ref", "case": case["id"], "skip": _safe(exc)})
                return True
            self.send({"k": "task_error", "where": f"reference on {case['args']}", "error": _safe(exc)})
            return False
        self.send({"k": "ref", "case": case["id"], "out": kit.encode(ref, self.r), "in_hash": kit.digest(data),
                   "self_check": check})
        self.cases[case["id"]] = data
        return True

    # -- phase 2/3: untrusted --------------------------------------------------------------------------------
    def import_submission(self) -> Any:
        self.send({"k": "import_begin"})
        start = self.perf()
        frame: dict[str, Any] = {"k": "import_end", "ok": True}
        module = None
        self.recorder.active = True
        try:
            spec = importlib.util.spec_from_file_location("submission", self.path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["submission"] = module
            spec.loader.exec_module(module)
        except BaseException as exc:
            frame.update(ok=False, error=_safe(exc), exit=isinstance(exc, SystemExit),
                         line=_submission_line(exc, self.path))
            module = None
        finally:
            self.recorder.active = False
        frame["seconds"] = (self.perf() - start) / 1e9
        self.send(frame)
        self.send({"k": "events", **self.recorder.drain()})
        if module is None:
            return None
        kernel = getattr(module, "custom_kernel", None)
        if not callable(kernel):
            self.send({"k": "no_entry", "found": type(kernel).__name__})
            return None
        self.send({"k": "snap", "phase": "post_import", "snap": take_snapshot()})
        return kernel

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

    def call(self, kernel: Any, step: dict[str, Any], baseline: set[int]) -> dict[str, Any]:
        kit = self.kit
        frame: dict[str, Any] = {"k": "call", "i": step["i"]}
        if step["case"] not in self.cases:
            frame["skipped"] = True
            return frame
        obj = self._object_for(step)
        frame["in_hash_before"] = kit.digest(obj)
        sys.argv = ["eval.py", step["mode"]]
        out = None
        self.recorder.active = True
        start = self.perf()
        try:
            out = kernel(obj)
            self.sync()
        except BaseException as exc:
            frame.update(error=_safe(exc), line=_submission_line(exc, self.path))
        frame["seconds"] = (self.perf() - start) / 1e9
        try:
            if "error" not in frame:
                self._describe_output(out, obj, step, frame)
        except Exception as exc:  # a hostile output object: unreadable is wrong, not a driver crash
            frame["out"] = {"t": "other", "cls": "unreadable", "error": _safe(exc)}
        finally:
            self.recorder.active = False
        frame["in_hash_after"] = kit.digest(obj)
        live = [t for t in self.enumerate() if t.ident not in baseline and t.is_alive()]
        frame["threads"] = [t.name[:60] for t in live[:10]]
        if "error" not in frame:
            # soak calls are many and cheap: the trusted comparison of a sample judges them, not the task's checker
            frame["check"] = None if step["probe"] == "soak" else self._check(step, out)
            try:
                refs = self._weakrefs(out, obj)
            except Exception:
                refs = []
            del out
            frame["retained"] = any(r() is not None for r in refs)
        return frame

    def _describe_output(self, out: Any, obj: Any, step: dict[str, Any], frame: dict[str, Any]) -> None:
        kit = self.kit
        level = 2 if step["probe"] == "soak" else 1
        frame["out"] = kit.encode(out, self.r, level)
        frame["alias"] = bool(kit.storage_ptrs(out) & kit.storage_ptrs(obj))
        if step.get("late"):
            digest = kit.digest(out)
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

    def run(self) -> int:
        if not self.prepare():
            return 0
        baseline = {t.ident for t in self.enumerate()}  # before import: threads started at import count too
        kernel = self.import_submission()
        if kernel is not None:
            for step in self.payload["steps"]:
                self.send(self.call(kernel, step, baseline))
                drained = self.recorder.drain()
                if drained["events"] or drained["call_sites"]:
                    self.send({"k": "events", **drained})
                if step["i"] == 0:
                    self.send({"k": "snap", "phase": "post_first_call", "snap": take_snapshot()})
            self.send({"k": "snap", "phase": "post_calls", "snap": take_snapshot()})
        self.send({"k": "done"})
        return 0


def child_main(payload: dict[str, Any], channel: Channel) -> int:
    """Sandbox driver entry point (see module docstring)."""
    import torch

    torch.set_num_threads(1)
    run = _Run(payload, channel)
    try:
        return run.run()
    except BaseException as exc:  # a driver bug must read as such, never as the submission's fault
        try:
            run.send({"k": "driver_error", "error": _safe(exc), "trace": traceback.format_exc()[-2000:]})
        except BaseException:
            pass
        return 0
