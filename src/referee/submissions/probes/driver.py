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
from typing import Any

from referee.sandbox.child import CHANNEL_FD, Channel
from referee.submissions.probes.calls import CallLoop, _merged, _normalize_check, _ptr, _safe
from referee.submissions.probes.environment import prewarm, private_dirs
from referee.submissions.probes.harness import EmptyLog, harness_stand_in, poison_empty
from referee.submissions.probes.hooks import Recorder
from referee.submissions.probes.integrity import take_snapshot, thread_snapshot
from referee.submissions.probes.isolation import make_isolated_call, seal, sealed_send
from referee.submissions.probes.ranks_child import end_rank, fork_ranks, join_ranks
from referee.submissions.probes.tensors import Toolkit

REQUIRED = ("generate_input", "ref_kernel", "check_implementation")
#: the modules whose code the call loop runs after the submission is imported (their values are sealed)
SEALED_MODULES = ("referee.submissions.probes.calls", "referee.submissions.probes.tensors",
                  "referee.submissions.probes.codec", "referee.submissions.probes.hooks",
                  "referee.submissions.probes.integrity", "referee.submissions.probes.isolation",
                  "referee.submissions.probes.ranks_child", "referee.sandbox.child")
HARNESS_NAMES = ("_clone_data", "clear_l2_cache", "time_kernel", "calculate_stats", "run_single_benchmark",
                 "_run_single_benchmark", "_run_single_test", "run_testing", "run_benchmarking", "main")


def _private_channel(channel: Channel) -> Channel:
    """Move the channel off fd 3 to a random descriptor, so blind writes to 'the result fd' hit nothing."""
    target = 100 + int.from_bytes(os.urandom(2), "little") % 140
    try:
        os.dup2(CHANNEL_FD, target)
        os.close(CHANNEL_FD)
        return Channel(target)
    except OSError:
        return channel


class _Run(CallLoop):
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
        self.ranks, self.rank = int(payload.get("ranks") or 1), int(payload.get("rank") or 0)
        self.sync = torch.cuda.synchronize if self.cuda else (lambda: None)
        self.perf = time.perf_counter_ns
        self.sleep = time.sleep
        self.enumerate = threading.enumerate
        self.isolated = make_isolated_call()
        self.path = os.path.join(os.getcwd(), "submission.py")
        self.recorder = Recorder(self.path)
        self.cases: dict[str, Any] = {}
        self.contracts: dict[str, dict[str, Any]] = {}
        self.slots: dict[str, Any] = {}
        self.fns: dict[str, Any] = {}
        self.missing: list[str] = []
        self.worker_idents: set[int] = set()
        self.write = sealed_send(self.channel._fd)

    def send(self, frame: dict[str, Any]) -> None:
        if frame["k"] not in {"hello", "ref", "snap-pre", "task_error", "no_cuda", "import_begin"}:
            frame["nonce"] = self.nonce
        self.write(frame)

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
        private_dirs(os.getcwd())
        if self.ranks > 1:  # before the reference is imported: it asks torch.distributed for the world size
            join_ranks(self.payload, self.rank, self.ranks)
        sys.addaudithook(self.recorder.hook)
        self.recorder.watch_threads()
        try:
            reference = importlib.import_module("reference")
            self.fns = {name: getattr(reference, name, None) for name in REQUIRED}
            missing = [n for n in ("generate_input", "check_implementation") if not callable(self.fns[n])]
            if missing:
                raise AttributeError(f"reference.py defines no callable {', '.join(missing)}")
        except BaseException as exc:
            self.send({"k": "task_error", "where": "importing reference.py", "error": _safe(exc)})
            return False
        for name, fn in self.fns.items():
            if fn is not None:
                setattr(reference, name, self.recorder.counted(name, fn))
        harness_stand_in(reference, REQUIRED, HARNESS_NAMES)
        self.missing = prewarm(self.path)
        for case in self.payload["cases"]:
            if not self._reference_case(case):
                return False
        poison_empty(torch)
        gc.collect()
        self.send({"k": "snap-pre", "snap": take_snapshot()})
        return True

    def _contract(self, data: Any, empties: set[int]) -> dict[str, Any]:
        """Which members of `data` the reference writes or returns (its output buffers and in-place state)."""
        kit = self.kit
        probe = kit.deep_clone(data)
        before = kit.leaf_digests(probe)
        out = self.fns["ref_kernel"](probe) if self.fns["ref_kernel"] is not None else None
        self.sync()
        after = kit.leaf_digests(probe)
        written = [i for i, (b, a) in enumerate(zip(before, after, strict=False)) if b != a]
        return {"leaves": len(before), "written": written, "returns": kit.alias_leaves(out, probe) if out is not None
                else [], "buffers": [i for i, leaf in enumerate(kit.leaves(data)) if _ptr(leaf) in empties]}

    def _reference_case(self, case: dict[str, Any]) -> bool:
        kit = self.kit
        try:
            with EmptyLog(self.torch) as empties:
                data = self.fns["generate_input"](**case["args"], **({"rank": self.rank} if self.ranks > 1 else {}))
            contract = self._contract(data, empties.ptrs)
            tweak = case.get("tweak")
            if tweak == "tail":
                kit.tweak_tail(data)
            elif tweak in {"outliers", "range"}:
                skip = {*contract["written"], *contract["returns"], *contract["buffers"]}
                if not kit.adversarial(data, tweak, skip, int(case["args"].get("seed", 0) or 0)):
                    raise ValueError("no floating input to reshape")
            ref = None
            if self.fns["ref_kernel"] is not None:
                ref = self.fns["ref_kernel"](kit.deep_clone(data))
                self.sync()
                check = _normalize_check(self.fns["check_implementation"](kit.deep_clone(data), kit.deep_clone(ref)))
            else:
                check = [True, "no ref_kernel: the task's checker alone decides"]
        except BaseException as exc:
            if case["role"] in {"perturbed", "public-tweaked", "adversarial"}:
                self.send({"k": "ref", "case": case["id"], "skip": _safe(exc)})
                return True
            self.send({"k": "task_error", "where": f"reference on {case['args']}", "error": _safe(exc)})
            return False
        self.send({"k": "ref", "case": case["id"], "out": kit.encode(ref, self.r) if ref is not None else None,
                   "in_hash": kit.digest(data), "in_leaves": kit.leaf_digests(data), "contract": contract,
                   "self_check": check})
        self.cases[case["id"]] = data
        return True

    # -- phase 2/3: untrusted --------------------------------------------------------------------------------
    def make_seal(self) -> Any:
        return seal([sys.modules[__name__], *(sys.modules[m] for m in SEALED_MODULES if m in sys.modules)],
                    [_Run, CallLoop, Toolkit, Recorder, Channel, type(self.channel)],
                    [self, self.kit, self.recorder, self.channel])

    def import_submission(self, check: Any) -> Any:
        """Import in an isolated thread; None when it failed, defines no entry, or broke the seal (`check`)."""
        self.send({"k": "import_begin"})
        start = self.perf()
        frame: dict[str, Any] = {"k": "import_end", "ok": True}
        self.recorder.active = True
        spec = importlib.util.spec_from_file_location("submission", self.path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["submission"] = module
        try:
            result = self.isolated(spec.loader.exec_module, module, thread_snapshot)
        finally:
            self.recorder.active = False
        self.worker_idents.add(result.ident)
        frame["seconds"] = (self.perf() - start) / 1e9
        if check():  # `check` is a local bound before import: the lookups below are trusted only after it
            return None
        if not result.returned:
            exc = result.error
            self.recorder.active = self.recorder.guarded = True  # the exception's __str__ is submission code
            try:
                frame.update(ok=False, exit=exc is None or isinstance(exc, SystemExit), line=self._line(exc),
                             error=_safe(exc) if exc is not None else "SystemExit (or the error was hidden)")
            finally:
                self.recorder.active = self.recorder.guarded = False
            name = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
            if name and str(name).split(".")[0] in {m.split(".")[0] for m in self.missing}:
                frame["missing_module"] = str(name)
            module = None
        self.send(frame)
        self.send({"k": "events", **self.recorder.drain()})
        if module is None:
            return None
        kernel = getattr(module, "custom_kernel", None)
        if not callable(kernel):
            self.send({"k": "no_entry", "found": type(kernel).__name__})
            return None
        self.send({"k": "snap", "phase": "post_import", "snap": _merged(take_snapshot(), result.after)})
        return kernel

    def run(self) -> int:
        if not self.prepare():
            return 0
        baseline = {t.ident for t in self.enumerate()}  # before import: threads started at import count too
        # bound before the submission exists: rebinding _Run's methods later cannot change this loop, and the seal
        # check runs before anything the submission could have rewritten is used
        call, send, drain, steps = self.call, self.send, self.recorder.drain, self.payload["steps"]
        check = self.make_seal()
        write, nonce = self.write, self.nonce
        kernel = self.import_submission(check)
        if check():
            write({"k": "seal", "changes": check(), "nonce": nonce})
            kernel = None
        if kernel is not None:
            for step in steps:
                frame = call(kernel, step, baseline, check)
                changes = check()
                if frame is None or changes:
                    write({"k": "seal", "changes": changes or ["(changed and restored)"], "nonce": nonce})
                    break
                thread_snap = frame.pop("_snap", None)
                send(frame)
                drained = drain()
                if drained["events"] or drained["call_sites"]:
                    send({"k": "events", **drained})
                if step["i"] == 0:
                    send({"k": "snap", "phase": "post_first_call", "snap": _merged(take_snapshot(), thread_snap)})
            else:
                send({"k": "snap", "phase": "post_calls", "snap": _merged(take_snapshot(), thread_snap)})
        send({"k": "done"})
        return 0


def child_main(payload: dict[str, Any], channel: Channel) -> int:
    """Sandbox driver entry point (see module docstring)."""
    import torch

    torch.set_num_threads(1)
    payload, peers = fork_ranks(payload)  # one process per rank of a distributed task; only rank 0 reports
    run = _Run(payload, channel)
    try:
        status = run.run()
        return end_rank(peers, status)
    except BaseException as exc:  # a driver bug must read as such, never as the submission's fault
        if peers is None:  # a peer rank: it reports nothing
            os._exit(1)
        run.recorder.active = run.recorder.guarded = False  # the traceback below reads frames
        try:
            run.send({"k": "driver_error", "error": _safe(exc), "trace": traceback.format_exc()[-2000:]})
        except BaseException:
            pass
        return 0
