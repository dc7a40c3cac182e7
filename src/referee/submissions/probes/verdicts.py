"""From what the handler collected to findings: one place that says what each probe result means.

Runs in the handler (`ProbeSupervisor.finish`) and returns a plain dict (findings as JSON dicts) so the outcome
crosses the fork-server boundary without custom classes. Infrastructure failures (the task's own reference breaks,
the driver crashes, the sandbox dies) make the outcome `degraded`, never a finding against the submission.
"""

from __future__ import annotations

import re
from statistics import median
from typing import Any

from referee.report import Finding
from referee.submissions.probes.handler import SNAP_ORDER, Collected
from referee.submissions.probes.integrity import diff_snapshots
from referee.submissions.probes.rules import probe_finding

#: the popcorn result format (`check: pass`, `benchmark.0.mean: 12.5`, `test-count: 3`); a debug print such as
#: "check: shapes ok" does not match
RESULT_LINE = re.compile(r"^[ \t]*(?:check[ \t]*:[ \t]*(?:pass|fail)"
                         r"|benchmark\.\d+\.(?:mean|std|err|best|worst|runs)[ \t]*:[ \t]*[-+0-9.eE]+"
                         r"|(?:test|benchmark)\.\d+\.status[ \t]*:[ \t]*(?:pass|fail)"
                         r"|(?:benchmark|test)-count[ \t]*:[ \t]*\d+)[ \t]*$", re.MULTILINE)
REPLAY_PROBES = {"replay", "mutated", "tail", "restored", "interleave", "soak"}
EVENT_RULES = {"introspection": "PRB502", "code": "PRB503", "process": "PRB504", "native": "PRB504",
               "network": "PRB505", "file": "PRB505", "patch": "PRB301"}
INTEGRITY_RULES = {"critical": "PRB301", "modules": "PRB303", "modes": "PRB304", "settings": "PRB302",
                   "minor": "PRB305"}
LIMIT_STATUSES = {"timeout", "cpu_limit", "memory", "output_limit"}


class _Out:
    def __init__(self, plan: dict[str, Any]) -> None:
        self.file = plan.get("filename", "submission.py")
        self.findings: list[Finding] = []
        self.notes: list[str] = []
        self.degraded = False

    def add(self, rule: str, message: str, line: int | None = None, detail: str | None = None,
            **data: Any) -> None:
        self.findings.append(probe_finding(rule, message, file=self.file if (line or detail) else None, line=line,
                                           detail=detail, data=data))


def _steps_text(records: list[dict[str, Any]], limit: int = 3) -> str:
    parts = []
    for r in records[:limit]:
        text = f"call {r['i']} ({r['probe']}, input {r['case']}, mode {r['mode']})"
        if r.get("replayed_from"):
            text += f" returned the answer for earlier input {r['replayed_from']}"
        elif r.get("reason"):
            text += f": {r['reason']}"
        parts.append(text)
    more = f" and {len(records) - limit} more" if len(records) > limit else ""
    return "; ".join(parts) + more


def _environment(out: _Out, records: list[dict[str, Any]]) -> None:
    """Calls that failed because the machine lacks a module or compiler: DEGRADED when nothing else was judged."""
    env = [r for r in records if r["status"] == "environment"]
    if not env:
        return
    note = f"{len(env)} call(s) failed for lack of something in the audit environment: {env[0].get('reason')}"
    out.notes.append(note)
    if not any(r["status"] in {"ok", "wrong", "error"} for r in records):
        out.degraded = True


def _outlier_only(record: dict[str, Any]) -> bool:
    """Wrong on an input with reshaped values (the adversarial cases, the +100 tail) and not a replayed answer."""
    return record["status"] in {"wrong", "error"} and not record.get("replayed_from") and (
        record["probe"] == "adversarial" or record["case"].endswith("t"))


def _adversarial(out: _Out, records: list[dict[str, Any]]) -> None:
    """Wrong only on the adversarial inputs, right on the task's own: a FLAG with both errors as evidence."""
    bad = [r for r in records if _outlier_only(r)]
    plain = [r for r in records if r["probe"] in {"first_call", "public", "fresh_seed"}]
    if not bad or not plain or any(r["status"] != "ok" for r in plain):
        return
    on_task = max((r.get("rel_error") or 0.0) for r in plain)
    out.add("PRB108", f"Every call on the task's own inputs passes (relative error up to {on_task:.2g}) but inputs "
            f"of the same shapes with reshaped values fail: {_steps_text(bad, 2)}.", detail=_steps_text(bad, 4),
            task_rel_error=on_task, adversarial=[{"case": r["case"], "rel_error": r.get("rel_error"),
                                                   "reason": r.get("reason")} for r in bad])


def _correctness(out: _Out, records: list[dict[str, Any]], settings: dict[str, Any]) -> None:
    judged = [r for r in records if r["status"] in {"ok", "wrong", "error"} and r["probe"] != "adversarial"]
    if not judged:
        return
    if any(r["status"] == "ok" for r in judged):  # wrong only where values were reshaped: _adversarial's to judge
        judged = [r for r in judged if not _outlier_only(r)]
    bad = [r for r in judged if r["status"] != "ok"]
    line = next((r.get("line") for r in bad if r.get("line")), None)
    if len(bad) == len(judged):
        out.add("PRB101", f"custom_kernel is wrong on every probe call ({len(bad)} of {len(judged)}): "
                f"{_steps_text(bad, 2)}.", line=line, detail=_steps_text(bad, 5), calls=len(bad))
        return
    # a wrong answer that equals an earlier input's answer is replay, whichever probe exposed it (a data_ptr cache
    # also fires on fresh objects once the allocator hands the same address back); so is a wrong answer for a reused
    # object whose content is answered right elsewhere
    content_ok = {r["case"] for r in judged if r["status"] == "ok"}
    replay_bad = [r for r in bad if (r.get("replayed_from") and r["probe"] != "fresh_seed")
                  or (r["probe"] in REPLAY_PROBES and r["case"] in content_ok)]
    replay_ids = {r["i"] for r in replay_bad}
    plain_bad = [r for r in bad if r["i"] not in replay_ids]
    by = {name: [r for r in plain_bad if r["probe"] == name] for name in {r["probe"] for r in plain_bad}}
    first_ok = any(r["probe"] == "first_call" and r["status"] == "ok" for r in judged)
    public_bad = [r for r in plain_bad if r["probe"] in {"first_call", "public"} | REPLAY_PROBES
                  and not r["case"].endswith("f")]
    if public_bad:
        out.add("PRB101", f"Wrong result on published test inputs: {_steps_text(public_bad)}.", line=line,
                detail=_steps_text(public_bad, 6))
    if replay_bad:
        replayed = [r for r in replay_bad if r.get("replayed_from")]
        lead = "returned answers computed for earlier inputs" if replayed else "went wrong when reused"
        out.add("PRB102", f"The same input object, called again after its values changed or interleaved with "
                f"another input, {lead}: {_steps_text(replayed or replay_bad)}.", line=line,
                detail=_steps_text(replay_bad, 8), calls=len(replay_bad))
    fresh_bad = by.get("fresh_seed", []) + [r for r in plain_bad if r["probe"] in REPLAY_PROBES | {"late_write"}
                                            and r["case"].endswith("f")]
    if fresh_bad and not public_bad:
        out.add("PRB103", f"Published seeds pass but unseen seeds of the same shapes fail: {_steps_text(fresh_bad)}.",
                line=line, detail=_steps_text(fresh_bad, 6))
    perturbed_bad = by.get("perturbed", [])
    if perturbed_bad and not public_bad:
        out.add("PRB104", f"Sizes next to the published ones fail: {_steps_text(perturbed_bad)}.", line=line)
    if first_ok and by.get("last_call"):
        out.add("PRB105", f"The first input was right on the first call and wrong when repeated at the end: "
                f"{_steps_text(by['last_call'])}.", line=line)
    if first_ok and by.get("mode"):
        out.add("PRB106", f"The first input was right in test mode and wrong under other mode labels: "
                f"{_steps_text(by['mode'])}.", line=line)


def _call_facts(out: _Out, records: list[dict[str, Any]], settings: dict[str, Any]) -> None:
    changed = [r for r in records if r.get("input_changed")]
    if changed and not settings.get("inputs_writable"):
        out.add("PRB201", f"custom_kernel modified its inputs on {len(changed)} call(s), e.g. call {changed[0]['i']} "
                f"({changed[0]['probe']}).", line=changed[0].get("line"), calls=len(changed))
    aliased = [r for r in records if r.get("alias")]
    if aliased and not settings.get("output_may_alias_input"):
        out.add("PRB202", f"The output shares storage with an input on {len(aliased)} call(s).", calls=len(aliased))
    odd = sorted({c for r in records for c in r.get("classes", []) if c != "torch.Tensor"})
    if odd:
        out.add("PRB203", f"custom_kernel returned {', '.join(odd[:3])} instead of a plain torch.Tensor.",
                classes=odd)
    late = [r for r in records if r.get("late_changed")]
    if late:
        out.add("PRB204", "The returned tensor changed after custom_kernel returned (work finished in the "
                "background, outside any timer).")
    threads = sorted({name for r in records for name in r.get("threads", [])})
    if threads:
        out.add("PRB205", f"Threads still alive after return: {', '.join(threads[:5])}.", threads=threads[:10])
    limit = settings.get("precision_rel_error")
    errors = [r["rel_error"] for r in records if r["status"] == "ok" and r.get("rel_error") is not None
              and r["probe"] != "adversarial"
              and r.get("float_dtype") in {"float32", "float64", "complex64", "complex128"}]
    if limit is not None and errors and max(errors) > float(limit):
        out.add("PRB701", f"Outputs pass but their relative error against the reference reaches {max(errors):.2g}; "
                f"a {records[0].get('float_dtype') or 'float32'} implementation stays below {float(limit):g}.",
                max_rel_error=max(errors))
    _memoization(out, records)


def _memoization(out: _Out, records: list[dict[str, Any]]) -> None:
    """Repeated content answered >20x faster than new content of the same shape, with outputs kept alive."""
    seen: set[str] = set()
    new, repeat = [], []
    for r in records:
        if r["status"] != "ok" or r["case"] not in {"B0", "B0f", "B0t"} or r.get("seconds") is None:
            continue
        if r["case"] in seen:
            repeat.append(r["seconds"])
        elif r["case"] != "B0":
            new.append(r["seconds"])
        seen.add(r["case"])
    retained = any(r.get("retained") for r in records)
    # fastest against fastest: a loaded host preempts some calls (and delays each thread's start by milliseconds),
    # which only ever adds time, so the minimum of each side is what the kernel itself took
    if new and repeat and retained and min(new) >= 2e-4 and min(repeat) * 20 < min(new):
        out.add("PRB107", f"New inputs took at least {min(new) * 1e3:.2f} ms per call, repeated inputs "
                f"{min(repeat) * 1e3:.3f} ms, and returned outputs stay referenced by the submission.",
                new_ms=min(new) * 1e3, repeat_ms=min(repeat) * 1e3)


def _events(out: _Out, got: Collected) -> None:
    grouped: dict[str, list[list[Any]]] = {}
    for event in got.events:
        rule = EVENT_RULES.get(str(event[1]))
        if rule:
            grouped.setdefault(rule, []).append(event)
    for rule, events in grouped.items():
        names = sorted({str(e[0]) for e in events})
        first = events[0]
        out.add(rule, f"Submission code called {', '.join(names[:4])} at run time ({len(events)} event(s)); first: "
                f"{first[0]} {str(first[2])[:120]}.", line=first[3] if isinstance(first[3], int) else None,
                detail=f"{first[0]}: {str(first[2])[:200]}", events=[[str(x) for x in e] for e in events[:10]])
    if got.ref_calls:
        calls = ", ".join(f"{name} x{count}" for name, count in sorted(got.ref_calls.items()))
        line = next((s[1] for s in got.call_sites if len(s) > 1 and isinstance(s[1], int)), None)
        out.add("PRB501", f"Submission code called the task's reference functions: {calls}.", line=line,
                detail=calls, calls=dict(got.ref_calls))


def _integrity(out: _Out, got: Collected) -> None:
    pre = got.snaps.get("pre")
    if not pre:
        return
    changes: dict[str, dict[str, str]] = {}
    for phase in SNAP_ORDER:
        if phase in got.snaps:
            for change in diff_snapshots(pre, got.snaps[phase]):
                changes.setdefault(change["key"], {**change, "phase": phase})
    grouped: dict[str, list[dict[str, str]]] = {}
    for change in changes.values():
        grouped.setdefault(INTEGRITY_RULES[change["category"]], []).append(change)
    for rule, items in grouped.items():
        listed = ", ".join(f"{c['key']} ({c['change']}, {c['phase'].replace('_', ' ')})" for c in items[:6])
        more = f" and {len(items) - 6} more" if len(items) > 6 else ""
        out.add(rule, f"Changed while the submission ran: {listed}{more}.", changes=items[:30])


def _run_end(out: _Out, got: Collected, plan: dict[str, Any], result: Any) -> None:
    """Import failures, early exits, limits and crashes."""
    status = getattr(result, "status", "crashed")
    ie = got.import_end
    where = "while the submission was being imported"
    if got.seal:
        return
    if ie is not None and ie.get("ok") and got.no_entry is None:
        if got.done:
            return
        steps = plan["steps"]
        index = len(got.records)
        where = (f"during call {index} ({steps[index]['probe']})" if index < len(steps) else "after the last call")
    elif ie is not None:
        if not ie.get("ok"):
            if ie.get("missing_module"):
                out.degraded = True
                out.notes.append(f"dynamic probes could not run the submission: it imports {ie['missing_module']}, "
                                 "which is not installed in the audit environment")
            elif ie.get("exit"):
                out.add("PRB403", f"The submission raised SystemExit during import ({ie.get('error')}).",
                        line=ie.get("line"))
            elif str(ie.get("error", "")).startswith("MemoryError"):
                out.add("PRB604", f"Importing the submission ran out of memory ({ie.get('error')}).",
                        line=ie.get("line"), status="memory")
            else:
                out.add("PRB601", f"Importing the submission failed: {ie.get('error')}.", line=ie.get("line"),
                        detail=str(ie.get("error")))
        elif got.no_entry is not None:
            out.add("PRB602", f"custom_kernel is missing or not callable (found {got.no_entry.get('found')}).")
        return
    if got.driver_error:
        return
    if status in LIMIT_STATUSES:
        out.add("PRB604", f"The probe run hit a limit {where}: {result.summary()}.", status=status)
    elif status == "signal":
        out.add("PRB605", f"The probe process was killed by signal {result.signal} {where}.")
    else:
        out.add("PRB403", f"The process ended {where} ({result.summary()}); the probes never finished.")


def _contract_metrics(got: Collected, plan: dict[str, Any], out: _Out) -> dict[str, Any] | None:
    """The task's contract as the run showed it, next to the static reading; a disagreement is noted."""
    first = next((ref.get("contract") for ref in got.refs.values() if isinstance(ref.get("contract"), dict)), None)
    static = plan.get("static_contract")
    if first is None:
        return None
    seen = sorted({*first.get("written", []), *first.get("returns", []), *first.get("buffers", [])})
    if isinstance(static, dict) and static.get("entry") and static.get("names") \
            and len(static["names"]) == first.get("leaves"):
        read = sorted(static.get("outputs", []))
        if read != seen:
            out.notes.append(f"task contract: reading reference.py says members {read} of data are outputs or "
                             f"state, running it shows {seen}; the run decides")
    return {"dynamic": first, "static": static, "outputs": seen}


def assess(got: Collected, plan: dict[str, Any], result: Any) -> dict[str, Any]:
    """Findings, notes, metrics and the degraded flag of one probe run."""
    out = _Out(plan)
    status = "ran"
    if got.hello is None:
        out.degraded = True
        out.notes.append(f"dynamic probes could not start: {result.summary()}")
        if getattr(result, "stderr", b""):
            out.notes.append("sandbox stderr: " + result.stderr[-300:].decode("utf-8", "replace"))
        status = "degraded"
    elif got.no_cuda:
        out.degraded = True
        out.notes.append("dynamic probes cannot run: the task needs CUDA and no GPU is present"
                         if not plan.get("gpu_node") else "dynamic probes cannot run: the task needs CUDA; a GPU "
                         "device exists but CUDA is not usable inside the sandbox")
        status = "degraded"
    elif got.task_error is not None:
        out.degraded = True
        out.notes.append(f"dynamic probes could not run: the task's reference failed ({got.task_error.get('where')}: "
                         f"{got.task_error.get('error')})")
        status = "degraded"
    elif not got.import_begun:
        out.degraded = True
        out.notes.append(f"dynamic probes stopped before the submission was loaded: {result.summary()}")
        status = "degraded"
    else:
        if got.driver_error:  # after the submission was loaded: its process, so its evidence, never DEGRADED
            out.add("PRB404", f"The probe driver failed after the submission was loaded: "
                    f"{got.driver_error.get('error')}.", detail=str(got.driver_error.get("trace") or "")[-300:])
        if got.seal:
            out.add("PRB406", f"Submission code rewrote the probe driver before call {got.seal_at}: "
                    f"{', '.join(got.seal[:5])}.", detail="; ".join(got.seal[:10]), changes=got.seal[:20])
        settings = dict(plan["settings"])
        self_check = [c for c, ref in got.refs.items() if not (ref.get("self_check") or [True])[0]]
        if self_check:
            out.notes.append(f"the task's checker rejects its own reference on {', '.join(self_check)}; "
                             "only the trusted comparison decided correctness")
            for record in got.records:
                if record["status"] == "wrong" and record.get("checker_only"):
                    record["status"] = "ok"
        for case, why in got.ref_skips.items():
            out.notes.append(f"perturbed input {case} skipped: the reference itself fails on it ({why[:120]})")
        _run_end(out, got, plan, result)
        if got.violations:
            out.add("PRB401", f"The probe channel received {len(got.violations)} forged or out-of-order frame(s): "
                    f"{'; '.join(got.violations[:3])}.", violations=got.violations[:10])
        _environment(out, got.records)
        _correctness(out, got.records, settings)
        _adversarial(out, got.records)
        _call_facts(out, got.records, settings)
        _events(out, got)
        _integrity(out, got)
        stdout = getattr(result, "stdout", b"").decode("utf-8", "replace")
        forged = [m.group(0).split(":")[0].strip() for m in RESULT_LINE.finditer(stdout)]
        if forged:
            out.add("PRB402", f"The submission printed harness result lines ({', '.join(sorted(set(forged))[:4])}).",
                    detail="stdout: " + ", ".join(sorted(set(forged))[:4]))
    records = got.records
    ok = [r for r in records if r["status"] == "ok"]
    errors = [r["rel_error"] for r in ok if r.get("rel_error") is not None]
    times = [r["seconds"] for r in records if r.get("seconds") is not None]
    metrics = {"status": status, "planned_calls": len(plan["steps"]), "calls": len(records), "ok_calls": len(ok),
               "wrong_calls": sum(r["status"] == "wrong" for r in records),
               "error_calls": sum(r["status"] == "error" for r in records),
               "max_rel_error": max(errors) if errors else None,
               "median_call_ms": median(times) * 1e3 if times else None,
               "import_seconds": (got.import_end or {}).get("seconds"), "probe_seed": plan["seed"],
               "run": result.summary() if hasattr(result, "summary") else str(result),
               "seconds": round(float(getattr(result, "duration_s", 0.0)), 3),
               "torch": (got.hello or {}).get("torch"),
               "retained_outputs": sum(bool(r.get("retained")) for r in records),
               "contract": _contract_metrics(got, plan, out)}
    return {"status": status, "findings": [f.model_dump(mode="json") for f in out.findings], "notes": out.notes,
            "metrics": metrics, "degraded": out.degraded}


def unjudged(got: Collected, plan: dict[str, Any], result: Any, exc: BaseException) -> dict[str, Any]:
    """The outcome when `assess` itself failed on a run whose submission was loaded: PRB404, never DEGRADED.

    Every frame after import comes from a process the submission controls; frames that make the judge fail are
    that process's doing, so the run is flagged with the error as evidence instead of being called the machine's.
    """
    out = _Out(plan)
    out.add("PRB404", f"The referee could not judge the run: what the submission's process sent made the judge fail "
            f"({type(exc).__name__}: {str(exc)[:200]}).", detail=f"{len(got.records)} call record(s) received")
    summary = result.summary() if hasattr(result, "summary") else str(result)
    return {"status": "ran", "findings": [f.model_dump(mode="json") for f in out.findings],
            "notes": [f"dynamic probe results could not be judged: {type(exc).__name__}"],
            "metrics": {"status": "ran", "calls": len(got.records), "run": summary, "judge_error": repr(exc)[:300]},
            "degraded": False}
