"""`run_static`: parse once, run every rule in isolation, scan hidden code too, never raise.

Policy decisions that apply to every rule live here, not in the rules:
- Code under a strict `if __name__ == "__main__":` guard cannot run when the harness imports the submission, so
  hits there are dropped (honest submissions keep self-tests that call the reference there).
- Python decoded from blobs or handed to `exec`/`eval`/`compile` as a constant string is scanned with the same
  rules (up to `MAX_DEPTH` levels); its findings point at the outer line that carries the payload.
- A rule that crashes becomes an `ENG001` finding (FLAG) and the other rules still run.
- Nothing in the scanned text can disable a rule: there is no suppression syntax to honour.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from referee.records import EvidenceRecord as Evidence
from referee.records import FindingRecord
from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.analysis.contract import Contract
from referee.submissions.analysis.source import AnalysisTimeout, Budget, expired
from referee.submissions.rules.registry import Hit, Rule, all_rules, get_rule

if TYPE_CHECKING:
    from referee.report import Finding

MAX_SOURCE = 4 << 20  # characters; bigger files are reported, not parsed
MAX_DEPTH = 3  # nesting of decoded payloads scanned
MAX_EMBEDDED = 32  # decoded payloads scanned per call, all depths together
MAX_SECONDS = 10.0  # CPU-second budget of one run_static call (the slowest real entries take ~0.1 s)


def run_static(code: str, filename: str = "submission.py", contract: Contract | None = None) -> list[Finding]:
    """Run every static rule over `code`; always returns findings (possibly empty), never raises.

    `contract` (from `analysis.contract.task_contract(reference_source)`) names the members of `data` the task
    itself treats as outputs or state; without it (`--api-mode`) writing into a member and returning it is the
    output-buffer shape, not a finding by itself."""
    return [record.to_model() for record in scan_records(code, filename, contract)]


def scan_records(code: str, filename: str = "submission.py", contract: Contract | None = None) -> list[FindingRecord]:
    """`run_static` as plain records (`referee.records`, no pydantic): the `--api-mode` hot path."""
    try:
        return _scan(code, filename, 0, budget=[MAX_EMBEDDED], deadline=Budget(MAX_SECONDS),
                     contract=contract)
    except Exception as exc:  # a last line of defence: the engine itself must not take the audit down
        return [_engine_error("engine", exc, filename)]


def analyse(code: str, filename: str = "submission.py") -> Submission | None:
    """The parsed model of `code` (None when it does not parse), for callers that want the facts too."""
    try:
        return Submission(_as_text(code), filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def _as_text(code: Any) -> str:
    if isinstance(code, (bytes, bytearray)):
        code = bytes(code).decode("utf-8", "replace")
    elif not isinstance(code, str):
        code = str(code)
    return code.removeprefix("\ufeff")


def _scan(code: Any, filename: str, depth: int, origin: str | None = None, *, budget: list[int],
          deadline: Budget, contract: Contract | None = None) -> list[FindingRecord]:
    code = _as_text(code)
    if len(code) > MAX_SOURCE:
        message = f"Submission is {len(code):,} characters; static analysis stops at {MAX_SOURCE:,}, so the " \
                  "file is filtered unchecked."
        return [_make(get_rule("SYN002"), Hit(None, message, line=1), None, filename)]
    try:
        tree = ast.parse(code, filename)
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        hit = Hit(None, f"Submission does not parse: {exc.msg}{where}.", detail=(exc.text or "").strip() or None,
                  line=exc.lineno or 1)
        return [_make(get_rule("SYN001"), hit, None, filename)]
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        hit = Hit(None, f"Submission does not parse: {type(exc).__name__}: {exc}.", line=1)
        return [_make(get_rule("SYN001"), hit, None, filename)]
    sub = Submission(code, filename, tree=tree, origin=origin, depth=depth, deadline=deadline)
    sub.contract = contract
    findings: list[FindingRecord] = []
    skipped: list[str] = []
    for index, item in enumerate(all_rules()):
        if item.check is None:
            continue
        if skipped or (index & 7 == 0 and expired(deadline)):  # rules tick() too; this catches the quick ones
            skipped.append(item.id)
            continue
        try:
            hits = list(item.check(sub))
        except AnalysisTimeout:
            skipped.append(item.id)
            continue
        except Exception as exc:  # one broken rule must not hide the others' findings
            findings.append(_engine_error(item.id, exc, filename))
            continue
        for hit in hits:
            if hit.node is not None and sub.main_guarded(hit.node):
                continue
            findings.append(_make(item, hit, sub, filename))
    if skipped:
        findings.append(_make(get_rule("ENG002"), Hit(None, (
            f"Static analysis used its CPU budget of {MAX_SECONDS:.0f} s (time limit) with {len(skipped)} rule(s) "
            f"not run ({', '.join(skipped[:8])}{'...' if len(skipped) > 8 else ''}); the file is filtered "
            "unchecked."), line=1), None, filename))
    elif depth < MAX_DEPTH:
        findings.extend(_scan_embedded(sub, filename, depth, budget, deadline))
    return _tidy(findings)


def _scan_embedded(sub: Submission, filename: str, depth: int, budget: list[int],
                   deadline: Budget) -> list[FindingRecord]:
    try:
        embedded = sub.embedded
    except Exception as exc:
        return [_engine_error("embedded-code", exc, filename)]
    out = []
    for item in embedded:
        if sub.main_guarded(item.node):
            continue
        if budget[0] <= 0:
            out.append(_make(get_rule("ENG001"), Hit(item.node, f"More than {MAX_EMBEDDED} hidden payloads; the rest "
                                                                "were not scanned."), sub, filename))
            break
        budget[0] -= 1
        outer_line = getattr(item.node, "lineno", 1)
        for inner in _scan(item.text, filename, depth + 1, item.description, budget=budget, deadline=deadline):
            if inner.rule in ("SYN001", "SYN002"):
                continue
            first = inner.evidence[0] if inner.evidence else Evidence()
            detail = f"{item.description}; decoded line {first.line}: {first.snippet or ''}".strip()
            evidence = [Evidence(file=filename, line=outer_line, end_line=getattr(item.node, "end_lineno", None),
                                 snippet=sub.snippet(item.node), detail=detail)]
            data = dict(inner.data)
            data["embedded"] = item.description
            out.append(inner.model_copy(update={"message": f"In {item.description}: {inner.message}",
                                                "evidence": evidence, "data": data}))
    return out


def _make(item: Rule, hit: Hit, sub: Submission | None, filename: str) -> FindingRecord:
    evidence = []
    if hit.node is not None and sub is not None:
        evidence.append(Evidence(file=filename, line=getattr(hit.node, "lineno", None),
                                 end_line=getattr(hit.node, "end_lineno", None), snippet=sub.snippet(hit.node),
                                 detail=hit.detail))
    else:
        evidence.append(Evidence(file=filename, line=hit.line, detail=hit.detail))
    for node, note in hit.related:
        if sub is not None:
            evidence.append(Evidence(file=filename, line=getattr(node, "lineno", None),
                                     end_line=getattr(node, "end_lineno", None), snippet=sub.snippet(node),
                                     detail=note))
    data: dict[str, Any] = {"family": item.family, "kernelguard": list(item.kernelguard)}
    return FindingRecord(rule=item.id, verdict=item.verdict, message=hit.message, action=item.action,
                         title=item.title, evidence=evidence, data=data)


def _engine_error(where: str, exc: BaseException, filename: str) -> FindingRecord:
    item = get_rule("ENG001")
    message = f"Static rule `{where}` could not finish ({type(exc).__name__}: {str(exc)[:200]}); the audit is " \
              "incomplete for that rule."
    return FindingRecord(rule=item.id, verdict=item.verdict, message=message, action=item.action, title=item.title,
                         evidence=[Evidence(file=filename)], data={"family": item.family, "kernelguard": [],
                                                                    "internal_error": True, "rule": where})


def _tidy(findings: list[FindingRecord]) -> list[FindingRecord]:
    """One finding per (rule, line, message); ordered by line, then worst verdict first, then rule id."""
    seen: set[tuple[str, int | None, str]] = set()
    out = []
    for finding in findings:
        key = (finding.rule, finding.line, finding.message)
        if key in seen:
            continue
        seen.add(key)
        out.append(finding)
    out.sort(key=lambda f: (f.line or 0, -f.verdict.rank, f.rule))
    return out


def verdict_of(findings: list[Finding] | list[FindingRecord]) -> Verdict:
    """Worst verdict among static findings (PASS when there are none)."""
    return Verdict.worst(f.verdict for f in findings)
