"""The trusted side of a probe run: a sandbox handler that checks the frame protocol and judges every output.

It runs in the fork server, outside the child. Frames before `import_begin` are trusted (no submission code existed
yet): the reference outputs, the input hashes, the first integrity snapshot. Later frames are evidence from a process
the submission controls, so each must carry the run's nonce and arrive in the planned order; anything else --
a duplicate, a skipped step, a trusted frame kind after import, an undecodable frame -- is recorded as a channel
violation. Outputs are compared against the trusted reference frames as they arrive, so a submission cannot make a
wrong output right by patching the checker inside its own process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from referee.submissions.probes.codec import Comparison, compare, same_signature, tensor_classes

TRUSTED_KINDS = {"hello", "ref", "snap-pre", "task_error", "no_cuda", "import_begin"}
SNAP_ORDER = ("post_import", "post_first_call", "post_calls")
#: a task without ref_kernel (a checker only): structure and values are the checker's to judge
_CHECKER_ONLY = Comparison(True)


@dataclass
class Collected:
    """Everything the handler accepted from one run."""

    hello: dict[str, Any] | None = None
    refs: dict[str, dict[str, Any]] = field(default_factory=dict)
    ref_skips: dict[str, str] = field(default_factory=dict)
    task_error: dict[str, Any] | None = None
    no_cuda: bool = False
    snaps: dict[str, dict[str, str]] = field(default_factory=dict)
    import_begun: bool = False
    import_end: dict[str, Any] | None = None
    no_entry: dict[str, Any] | None = None
    events: list[list[Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    ref_calls: dict[str, int] = field(default_factory=dict)
    call_sites: list[list[Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    driver_error: dict[str, Any] | None = None
    violations: list[str] = field(default_factory=list)
    #: what the submission rewrote in the driver (the seal check), from the first call that broke it
    seal: list[str] = field(default_factory=list)
    seal_at: int | None = None


class ProbeSupervisor:
    """Sandbox handler (`Job.handler`): `on_message` per frame, `finish` turns the run into an outcome dict."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.plan = payload
        self.steps: list[dict[str, Any]] = payload["steps"]
        self.settings: dict[str, Any] = payload["settings"]
        self.got = Collected()
        self.nonce: str | None = None
        self.next_step = 0
        self.seen_cases: list[str] = []

    def _violation(self, text: str) -> None:
        if len(self.got.violations) < 20:
            self.got.violations.append(text)

    def on_message(self, msg: Any) -> None:
        try:
            self._on_message(msg)
        except Exception as exc:  # a malformed frame must never break the handler
            self._violation(f"unusable frame ({type(exc).__name__}: {str(exc)[:100]})")
        return None

    def _on_message(self, msg: Any) -> None:
        got = self.got
        if not isinstance(msg, dict) or "__invalid__" in msg:
            self._violation("a frame that is not a JSON object")
            return
        kind = msg.get("k")
        if got.done:
            self._violation(f"frame {kind!r} after the driver finished")
            return
        if kind == "driver_error" and (not got.import_begun or msg.get("nonce") == self.nonce):
            got.driver_error = msg
            return
        if not got.import_begun:
            self._trusted(kind, msg)
            return
        if kind in TRUSTED_KINDS:
            self._violation(f"trusted frame kind {kind!r} sent after the submission was loaded")
            return
        if self.nonce is None or msg.get("nonce") != self.nonce:
            self._violation(f"frame {kind!r} without the run's nonce")
            return
        if kind == "import_end" and got.import_end is None:
            got.import_end = msg
        elif kind == "events":
            self._events(msg)
        elif kind == "no_entry" and got.import_end is not None and got.no_entry is None:
            got.no_entry = msg
        elif kind == "snap" and self._snap_in_order(msg.get("phase")):
            got.snaps[msg["phase"]] = dict(msg["snap"])
        elif kind == "call":
            self._call(msg)
        elif kind == "seal" and not got.seal:
            got.seal = [str(c)[:200] for c in list(msg.get("changes") or [])[:20]] or ["(unnamed change)"]
            got.seal_at = self.next_step
        elif kind == "done" and (self._may_finish() or got.seal):
            got.done = True
        else:
            self._violation(f"unexpected frame {kind!r} (duplicate or out of order)")

    def _trusted(self, kind: Any, msg: dict[str, Any]) -> None:
        got = self.got
        if got.hello is None:
            if kind != "hello" or not isinstance(msg.get("nonce"), str):
                self._violation("the run did not start with the driver's hello")
                return
            got.hello = msg
            self.nonce = msg["nonce"]
            return
        if kind == "ref":
            if "skip" in msg:
                got.ref_skips[str(msg["case"])] = str(msg["skip"])
            else:
                got.refs[str(msg["case"])] = msg
        elif kind == "snap-pre":
            got.snaps["pre"] = dict(msg["snap"])
        elif kind == "task_error":
            got.task_error = msg
        elif kind == "no_cuda":
            got.no_cuda = True
        elif kind == "import_begin":
            got.import_begun = True
        else:
            self._violation(f"unexpected frame {kind!r} before import")

    def _may_finish(self) -> bool:
        """`done` is only believed once every planned call arrived (or the submission never got to run)."""
        got = self.got
        if got.import_end is None:
            return False
        if not got.import_end.get("ok") or got.no_entry is not None:
            return True
        return self.next_step == len(self.steps) and "post_calls" in got.snaps

    def _snap_in_order(self, phase: Any) -> bool:
        if phase not in SNAP_ORDER or phase in self.got.snaps or self.got.import_end is None:
            return False
        if phase == "post_first_call":
            return self.next_step >= 1
        if phase == "post_calls":
            return self.next_step == len(self.steps)
        return True

    def _events(self, msg: dict[str, Any]) -> None:
        got = self.got
        for event in list(msg.get("events") or [])[:200]:
            if isinstance(event, list) and len(event) == 4 and len(got.events) < 200:
                got.events.append(event)
        got.counts.update({str(k): int(v) for k, v in list(dict(msg.get("counts") or {}).items())[:50]})
        got.ref_calls.update({str(k): int(v) for k, v in list(dict(msg.get("calls") or {}).items())[:10]})
        for site in list(msg.get("call_sites") or [])[:20]:
            if len(got.call_sites) < 20:
                got.call_sites.append(list(site))

    def _call(self, msg: dict[str, Any]) -> None:
        index = msg.get("i")
        if index != self.next_step or index >= len(self.steps) or self.got.import_end is None:
            self._violation(f"call frame {index!r} where step {self.next_step} was due")
            return
        self.next_step += 1
        step = self.steps[index]
        self.got.records.append(self._judge(step, msg))
        self.seen_cases.append(step["case"])

    def _judge(self, step: dict[str, Any], msg: dict[str, Any]) -> dict[str, Any]:
        """One call's verdict, computed here from the trusted reference frame of its case."""
        record: dict[str, Any] = {"i": step["i"], "probe": step["probe"], "case": step["case"], "mode": step["mode"],
                                  "seconds": _num(msg.get("seconds")), "threads": list(msg.get("threads") or [])[:10]}
        ref = self.got.refs.get(step["case"])
        if msg.get("skipped") or ref is None:
            record["status"] = "skipped"
            return record
        contract = ref.get("contract") if isinstance(ref.get("contract"), dict) else {}
        if self.settings.get("inputs_writable"):
            writable: set[Any] = set(range(int(contract.get("leaves") or 0) + 64))
        else:
            # confirmed by the run (written, allocated empty) plus the slots the reference never reads at all
            static = self.plan.get("static_contract") or {}
            writable = {*contract.get("written", []), *contract.get("buffers", []), *static.get("unused", [])}
        valid, changed = _input_facts(ref, msg, writable)
        record["input_changed"] = bool(set(changed) - writable)
        record["changed_members"] = changed[:8]
        if not valid:
            record["status"] = "invalid-input"
            return record
        if msg.get("error"):
            status = "environment" if msg.get("environment") else "error"
            record.update(status=status, reason=str(msg["error"])[:300], line=msg.get("line"))
            return record
        out = msg.get("out")
        if not isinstance(out, dict):
            record.update(status="wrong", reason="no output payload")
            return record
        level = 2 if step["probe"] == "soak" else 1
        values = self.settings.get("compare") == "elementwise" and ref.get("out") is not None
        result = compare(ref["out"], out, float(self.settings["max_rel_error"]), values, level) \
            if ref.get("out") is not None else _CHECKER_ONLY
        check = msg.get("check")
        if check is None and step["probe"] == "soak":
            check = [True, ""]
        elif not isinstance(check, list):
            check = [False, "no checker result"]
        checker_ok = bool(check[0]) if check else False
        alias_leaves = msg.get("alias_leaves")
        may_alias = writable | set(contract.get("returns", []))
        alias = bool(set(alias_leaves) - may_alias) if isinstance(alias_leaves, list) else bool(msg.get("alias"))
        record.update(rel_error=result.rel_error, float_dtype=result.float_dtype, alias=alias,
                      late_changed=bool(msg.get("late_changed")), retained=bool(msg.get("retained")),
                      classes=tensor_classes(out), checker=[checker_ok, str(check[1] if len(check) > 1 else "")[:300]])
        if result.ok and checker_ok:
            record["status"] = "ok"
            return record
        record["status"] = "wrong"
        record["reason"] = result.reason or f"the task's checker rejected it: {record['checker'][1]}"
        record["checker_only"] = result.ok
        if not result.ok and values:
            record["replayed_from"] = self._replayed_from(step["case"], out, level)
        return record

    def _replayed_from(self, case: str, out: dict[str, Any], level: int) -> str | None:
        """The earlier input whose reference answer this wrong output equals, if any (replay evidence)."""
        tol = float(self.settings["max_rel_error"])
        for earlier in reversed(dict.fromkeys(self.seen_cases)):
            ref = self.got.refs.get(earlier)
            if earlier == case or ref is None or not same_signature(ref["out"], out):
                continue
            if compare(ref["out"], out, tol, True, level).ok:
                return earlier
        return None

    def finish(self, result: Any) -> dict[str, Any]:
        from referee.submissions.probes.verdicts import assess, unjudged

        try:
            return assess(self.got, self.plan, result)
        except Exception as exc:
            if not self.got.import_begun:  # no submission code had run: the referee's own bug, DEGRADED upstream
                raise
            return unjudged(self.got, self.plan, result, exc)


def _input_facts(ref: dict[str, Any], msg: dict[str, Any], writable: set[Any]) -> tuple[bool, list[Any]]:
    """(the call got the planned input, the members it changed), judged per member against the task's contract.

    Members the reference itself writes (output buffers, KV caches) may differ from the generated values when a
    reused object comes back; every other member must match the trusted generation exactly.
    """
    planned, before, after = ref.get("in_leaves"), msg.get("leaves_before"), msg.get("leaves_after")
    if not (isinstance(planned, list) and isinstance(before, list) and isinstance(after, list)):
        changed: list[Any] = [] if msg.get("in_hash_before") == msg.get("in_hash_after") else ["input"]
        return msg.get("in_hash_before") == ref.get("in_hash"), changed
    changed = [i for i, (b, a) in enumerate(zip(before, after, strict=False)) if b != a]
    if len(before) != len(after):
        changed.append("structure")
    if msg.get("in_hash_before") != msg.get("in_hash_after") and not changed:
        changed.append("structure")  # a scalar member or the container itself changed
    valid = len(before) == len(planned) and all(b == p for i, (b, p) in enumerate(zip(before, planned, strict=False))
                                                if i not in writable)
    return valid, changed


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
