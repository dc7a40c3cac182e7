"""The catalogue of dynamic findings: what each probe result means, how bad it is, what to do about it.

Dynamic rule ids start with PRB (probe) so they never collide with the static rules. The verdict is part of the rule:
FAIL where the run itself is the evidence (a wrong answer for a reused input, a replaced timer), FLAG where an
honest kernel could plausibly do the same thing (a leftover thread pool, a file write, a slow run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from referee import rulebook
from referee.records import EvidenceRecord, FindingRecord
from referee.report import Verdict

if TYPE_CHECKING:
    from referee.report import Finding


@dataclass(frozen=True)
class ProbeRule:
    id: str
    title: str
    why: str
    action: str
    verdict: Verdict
    family: str


_RULES = [
    ProbeRule("PRB101", "Wrong result on published inputs",
              "custom_kernel's output differs from ref_kernel on the task's own test inputs.",
              "reject: the kernel is incorrect", Verdict.FAIL, "correctness"),
    ProbeRule("PRB102", "Stale output for a reused input object",
              "Called again on the same tensor object after its values changed (or interleaved with other inputs), "
              "the kernel returned an answer computed for earlier values: an output replay cache.",
              "reject and mark as hacked: output replay", Verdict.FAIL, "output-replay"),
    ProbeRule("PRB103", "Correct only for the published seeds",
              "Inputs of a published shape drawn with an unseen seed get wrong answers while the published seeds pass: "
              "answers precomputed from the public seeds, or a shortcut keyed on them.",
              "reject and mark as hacked: seed reproduction / hard-coded answers", Verdict.FAIL, "seed-replay"),
    ProbeRule("PRB104", "Wrong result on sizes outside the published lists",
              "Sizes next to the published ones get wrong answers: either a shortcut keyed on benchmark shapes or "
              "a kernel that only supports some sizes.",
              "review: check whether the kernel special-cases benchmark shapes", Verdict.FLAG, "shape-shortcut"),
    ProbeRule("PRB105", "Behaviour changes after the first calls",
              "The same input content is answered correctly on an early call and wrongly on a later one: warm-up "
              "detection, call counting or replay.",
              "reject and mark as hacked: call-count dependent results", Verdict.FAIL, "output-replay"),
    ProbeRule("PRB106", "Results depend on the evaluation mode",
              "The same input gets a correct answer in test mode and a wrong one under benchmark/leaderboard "
              "mode (sys.argv sniffing).",
              "reject and mark as hacked: evaluator-mode branching", Verdict.FAIL, "mode-sniffing"),
    ProbeRule("PRB107", "Repeated inputs answered far faster than new ones",
              "Calls on content the kernel has seen before finish many times faster than calls on new content of the "
              "same shape, and returned outputs stay alive inside the submission: result memoization.",
              "review: look for a content-keyed output cache", Verdict.FLAG, "output-replay"),
    ProbeRule("PRB108", "Right on the generator's inputs, wrong on inputs that defeat approximations",
              "Inputs of the published shapes and dtypes whose values have outliers or a shifted, non-Gaussian range "
              "get wrong answers while the task's own inputs pass: a subsample (of a KV cache, of a reduction), a "
              "fixed quantisation scale or another approximation that only holds for i.i.d. Gaussian inputs.",
              "review: the task's tolerance defines correctness; check whether the approximation is allowed",
              Verdict.FLAG, "approximation"),
    ProbeRule("PRB201", "Inputs modified by the call",
              "custom_kernel changed its input tensors. Harnesses that recompute the reference from the same objects "
              "then compare against corrupted inputs.",
              "reject: kernels must not write into their inputs", Verdict.FAIL, "input-mutation"),
    ProbeRule("PRB202", "Output aliases an input buffer",
              "The returned tensor shares storage with an input, so a checker that reads the inputs afterwards sees "
              "the output instead.",
              "review: return a fresh tensor", Verdict.FLAG, "input-mutation"),
    ProbeRule("PRB203", "Output is not a plain torch.Tensor",
              "The result is a tensor subclass or another type: lazy outputs defer the work into the untimed checker "
              "through __torch_function__ / __torch_dispatch__ or overridden methods.",
              "reject and mark as hacked: lazy / deferred output", Verdict.FAIL, "lazy-output"),
    ProbeRule("PRB204", "Output changed after the call returned",
              "The returned tensor's values changed while no code of the harness touched it: work finished by a "
              "background thread or an unsynchronised stream, outside the timed region.",
              "reject and mark as hacked: work hidden from the timer", Verdict.FAIL, "async-work"),
    ProbeRule("PRB205", "Threads still running after return",
              "custom_kernel left threads alive after returning; work done there is not timed.",
              "review: join every thread before returning", Verdict.FLAG, "async-work"),
    ProbeRule("PRB301", "Harness, timer or library functions replaced",
              "Functions the harness relies on (timers, CUDA events, synchronize, comparison functions, builtins, "
              "the reference/checker, torch functions or Tensor methods) were replaced while the submission ran.",
              "reject and mark as hacked: harness monkeypatching", Verdict.FAIL, "harness-patching"),
    ProbeRule("PRB302", "Global numeric settings changed",
              "TF32, reduced-precision matmul or the default dtype were switched globally, which lowers the precision "
              "of everything timed afterwards, the reference included.",
              "review: precision settings must stay local to the kernel", Verdict.FLAG, "precision"),
    ProbeRule("PRB303", "sys.modules entries replaced or removed",
              "Modules already imported by the harness were swapped or removed, so later imports get the "
              "submission's objects.",
              "reject and mark as hacked: module shadowing", Verdict.FAIL, "harness-patching"),
    ProbeRule("PRB304", "A torch function or dispatch mode left active",
              "A global TorchFunctionMode/TorchDispatchMode intercepts every later torch call, the checker's included.",
              "reject and mark as hacked: global torch interception", Verdict.FAIL, "harness-patching"),
    ProbeRule("PRB305", "State added to library modules or the import system",
              "New attributes on torch/time/builtins, import hooks or sys.path entries: places to stash caches or "
              "to intercept later imports.",
              "review: keep state inside the submission module", Verdict.FLAG, "harness-patching"),
    ProbeRule("PRB401", "Probe channel forged or corrupted",
              "Frames on the referee's private channel arrived out of order, duplicated or malformed: the submission "
              "wrote into the result channel.",
              "reject and mark as hacked: result-channel forgery", Verdict.FAIL, "channel-forgery"),
    ProbeRule("PRB402", "Printed harness result lines",
              "The submission printed lines in the leaderboard's result format (check: pass, benchmark.N.mean: ...).",
              "reject and mark as hacked: fake result lines", Verdict.FAIL, "channel-forgery"),
    ProbeRule("PRB403", "Ended the process early",
              "The process ended before the probes finished (os._exit, sys.exit, a signal to itself) or the channel "
              "stopped: the harness would never run its checks.",
              "reject and mark as hacked: early exit", Verdict.FAIL, "channel-forgery"),
    ProbeRule("PRB404", "Probe run corrupted by the submission",
              "After the submission was loaded, the referee's probe driver in the same process failed: the "
              "submission's code or state broke the run, so no later result could be trusted.",
              "review: the submission interfered with the process it runs in", Verdict.FLAG, "channel-forgery"),
    ProbeRule("PRB406", "Probe driver rewritten",
              "Functions, methods or objects of the referee's probe driver (or the encoders it reports through) were "
              "replaced by submission code: an attempt to rewrite what the probes report.",
              "reject and mark as hacked: verdict forgery", Verdict.FAIL, "channel-forgery"),
    ProbeRule("PRB407", "Sandbox broken during the run",
              "The sandbox's own supervision failed while the submission ran: its fork server died, or the job left "
              "files or processes the sandbox could not remove. A fresh sandbox runs a trivial job fine, so the "
              "environment is sound and the run is the submission's; no result of it could be judged.",
              "review: the submission attacked the process that runs it; rerun it alone before ranking",
              Verdict.FLAG, "sandbox-escape"),
    ProbeRule("PRB501", "Calls the reference implementation or harness functions",
              "ref_kernel, generate_input or check_implementation were called from submission code.",
              "reject: the submission must compute the result itself", Verdict.FAIL, "reference-reuse"),
    ProbeRule("PRB502", "Inspects interpreter state at run time",
              "gc.get_objects / sys._getframe style calls from submission code: the route to harness locals, "
              "expected outputs and checker state.",
              "review: kernels have no reason to walk frames or the heap", Verdict.FLAG, "introspection"),
    ProbeRule("PRB503", "Runs dynamically built code",
              "exec/eval/compile was called from submission code; what runs is not what was reviewed.",
              "review: decode and inspect what was executed", Verdict.FLAG, "obfuscation"),
    ProbeRule("PRB504", "Starts processes or loads native code",
              "subprocess/os.system/fork or ctypes loading was attempted from submission code.",
              "review: native code can patch timers below Python", Verdict.FLAG, "sandbox-escape"),
    ProbeRule("PRB505", "Network or file access",
              "The submission opened sockets or wrote files (replay through /dev/shm or a cache file).",
              "review: kernels should not touch files or the network", Verdict.FLAG, "sandbox-escape"),
    ProbeRule("PRB601", "Submission does not import",
              "Importing the submission raised an exception, so no harness could run it.",
              "reject: fix the submission", Verdict.FAIL, "broken"),
    ProbeRule("PRB602", "No callable custom_kernel",
              "The submission imported but defines no callable custom_kernel.",
              "reject: fix the submission", Verdict.FAIL, "broken"),
    ProbeRule("PRB604", "Probes exceeded a resource limit",
              "The probe run hit its time, CPU or memory limit; results after that point are unknown.",
              "review: rerun with higher limits, or inspect for sleeps, spins and memory bombs", Verdict.FLAG,
              "resources"),
    ProbeRule("PRB605", "Process crashed",
              "The probe process died from a signal (segfault, abort) while running submission code.",
              "review: native code or memory corruption", Verdict.FLAG, "sandbox-escape"),
    ProbeRule("PRB701", "Precision well below the output dtype",
              "Outputs pass the checker but their error against the reference is far larger than an implementation "
              "in the output dtype produces: computed in lower precision and cast back.",
              "review: check whether reduced precision is allowed by the task", Verdict.FLAG, "precision"),
]

PROBE_RULES: dict[str, ProbeRule] = {rule.id: rule for rule in _RULES}

def _what(title: str) -> str:
    return f"Runs the submission in the sandbox beside the task's reference and reports: {title[0].lower()}{title[1:]}."


for _probe in _RULES:  # the shared rulebook lists, documents and exports (SARIF) every probe rule
    rulebook.register(rulebook.RuleSpec(id=_probe.id, part="probes", title=_probe.title, verdict=_probe.verdict,
                                        action=_probe.action, what=_what(_probe.title), why=_probe.why,
                                        family=_probe.family))


def probe_finding(rule_id: str, message: str, *, file: str | None = None, line: int | None = None,
                  detail: str | None = None, snippet: str | None = None, data: dict[str, Any] | None = None,
                  verdict: Verdict | None = None) -> Finding:
    """A Finding for a dynamic rule, carrying the rule's title, action and verdict."""
    return probe_record(rule_id, message, file=file, line=line, detail=detail, snippet=snippet, data=data,
                        verdict=verdict).to_model()


def probe_record(rule_id: str, message: str, *, file: str | None = None, line: int | None = None,
                 detail: str | None = None, snippet: str | None = None, data: dict[str, Any] | None = None,
                 verdict: Verdict | None = None) -> FindingRecord:
    """`probe_finding` as a plain record (no pydantic), for the `--api-mode` path."""
    rule = PROBE_RULES[rule_id]
    evidence = [EvidenceRecord(file=file, line=line, detail=detail, snippet=snippet)] if (file or detail) else []
    return FindingRecord(rule=rule.id, verdict=verdict or rule.verdict, message=message, action=rule.action,
                         title=rule.title, evidence=evidence, data={"family": rule.family, "source": "dynamic",
                                                                    **(data or {})})


def sarif_catalog() -> dict[str, dict[str, str]]:
    """Rule table for SARIF export (kept for callers; `referee.rulebook.sarif_catalog` covers every part)."""
    return {r.id: {"title": r.title, "why": r.why, "action": r.action} for r in _RULES}
