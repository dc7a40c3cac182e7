"""The rule registry: one `Rule` record per check, registered by the `@rule` decorator at import time.

A rule's documentation lives next to its code (what it does, why it is cheating, an example, the honest way,
known problems, the action), so the docs page, `referee` output and SARIF rule table all come from one place.
The decorator refuses malformed rules (bad id, duplicate id, missing text, a verdict other than FLAG/FAIL):
a broken registry fails at import, not silently in production. Every rule is also registered in the shared
rulebook (`referee.rulebook`, part `submissions`), which adds the checks common to all parts (id scheme, prefix
owner, ids unique across parts); this module keeps what only static rules have (family, KernelGuard names, check).
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from referee import rulebook
from referee.report import Verdict
from referee.ruleids import ID_PATTERN

if TYPE_CHECKING:
    from referee.submissions.analysis import Submission

FAMILIES = {
    "output-replay": "Output replay caches",
    "reference": "Returning or calling the reference",
    "harness-patching": "Timer, checker and harness monkeypatching",
    "torch-tampering": "Global torch tampering",
    "introspection": "Reaching harness state (gc, frames, modules)",
    "input-mutation": "Input mutation",
    "hard-coding": "Seed reproduction and hard-coded answers",
    "shortcuts": "Benchmark-shape and input-probe shortcuts",
    "concurrency": "Side streams and background threads",
    "lazy-output": "Lazy outputs and tensor subclasses",
    "uninitialised": "Uninitialised outputs",
    "precision": "Precision downgrade",
    "result-channel": "Result-channel forgery",
    "sniffing": "Mode, environment and call-count sniffing",
    "native": "Native code, processes and files",
    "dynamic-code": "Dynamic code and encoded payloads",
    "engine": "Audit engine",
}


@dataclass
class Hit:
    """What a check saw: the node (for file:line and snippet), a message, and optional extra evidence."""

    node: ast.AST | None
    message: str
    detail: str | None = None
    related: list[tuple[ast.AST, str]] = field(default_factory=list)
    line: int | None = None


Check = Callable[["Submission"], Iterable[Hit]]


@dataclass(frozen=True, eq=False)
class Rule:
    """One static rule and its documentation."""

    id: str
    title: str
    family: str
    verdict: Verdict
    what: str
    why: str
    action: str
    example: str
    use_instead: str
    known_problems: str = ""
    kernelguard: list[str] = field(default_factory=list)
    check: Check | None = None

    @property
    def family_title(self) -> str:
        return FAMILIES.get(self.family, self.family)

    def spec(self) -> rulebook.RuleSpec:
        """This rule as a rulebook entry (the shared record every listing, doc page and SARIF table reads)."""
        return rulebook.RuleSpec(
            id=self.id, part="submissions", title=self.title, verdict=self.verdict, action=self.action,
            what=self.what, why=self.why, example=self.example, honest=self.use_instead,
            known_problems=self.known_problems, family=self.family_title,
            extra={"kernelguard": list(self.kernelguard), "static": True})

    def catalog_entry(self) -> dict[str, str]:
        """The {title, why, action} record `reports_to_sarif` wants for its rule table."""
        return {"title": self.title, "why": self.why, "action": self.action}


_REGISTRY: dict[str, Rule] = {}


def register(item: Rule) -> Rule:
    problems = []
    if not ID_PATTERN.match(item.id):
        problems.append(f"id {item.id!r} does not match {ID_PATTERN.pattern}")
    if item.id in _REGISTRY:
        problems.append(f"id {item.id} registered twice")
    if item.verdict not in (Verdict.FLAG, Verdict.FAIL):
        problems.append(f"verdict must be FLAG or FAIL, not {item.verdict}")
    if item.family not in FAMILIES:
        problems.append(f"unknown family {item.family!r}")
    for name in ("title", "what", "why", "action", "example", "use_instead"):
        if not getattr(item, name).strip():
            problems.append(f"empty {name}")
    if problems:
        raise ValueError(f"rule {item.id}: " + "; ".join(problems))
    rulebook.register(item.spec())
    _REGISTRY[item.id] = item
    return item


def rule(id: str, title: str, family: str, verdict: Verdict, *, what: str, why: str, action: str, example: str,
         use_instead: str, known_problems: str = "", kernelguard: Iterable[str] = ()) -> Callable[[Check], Check]:
    """Register the decorated check function as rule `id`."""

    def wrap(check: Check) -> Check:
        register(Rule(id=id, title=title, family=family, verdict=verdict, what=_clean(what), why=_clean(why),
                      action=_clean(action), example=_code(example), use_instead=_code(use_instead),
                      known_problems=_clean(known_problems), kernelguard=list(kernelguard), check=check))
        return check

    return wrap


_ORDERED: list[Rule] = []  # all_rules() memo, rebuilt when a rule is registered (run_static asks once per file)


def all_rules() -> list[Rule]:
    """Every registered rule, ordered by family then id (a fresh list: callers may extend it)."""
    _load()
    if len(_ORDERED) != len(_REGISTRY):
        order = list(FAMILIES)
        _ORDERED[:] = sorted(_REGISTRY.values(), key=lambda r: (order.index(r.family), r.id))
    return list(_ORDERED)


def get_rule(rule_id: str) -> Rule:
    """The rule with this id; KeyError names the unknown id."""
    _load()
    try:
        return _REGISTRY[rule_id]
    except KeyError:
        raise KeyError(f"unknown static rule {rule_id!r}") from None


def _load() -> None:
    import referee.submissions.rules  # noqa: F401  (importing the package registers every family module)


def _clean(text: str) -> str:
    return " ".join(textwrap.dedent(text).split())


def _code(text: str) -> str:
    return textwrap.dedent(text).strip("\n")
