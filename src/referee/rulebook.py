"""The rulebook: one registry of every rule referee can report, whichever part reports it.

Each part keeps its own thin `@rule` decorator and check signature (static rules take a parsed `Submission`,
bench rules an audit context, probes and loophole findings are raised by their engines) and registers a `RuleSpec`
here. Everything a user reads about a rule comes from this one place: `referee rules`, `docs/rules.md`, the SARIF
rule table of every command, the review page. The id scheme is in `referee.ruleids`.

Evidence is shared (`report.Evidence`, carried by every `Finding`); the parts' `Hit` classes are not merged on
purpose: a static `Hit` holds an AST node the engine turns into file:line and a snippet (its verdict is the
rule's), a bench `Hit` carries its own verdict, action and threshold (bench rules grade PASS..FAIL). One class
for both would change the positional signatures dozens of rule modules call, for no gain past `Finding`.

Registration refuses a malformed spec (bad id, an id or alias already taken, a prefix owned by another part, an
empty doc section, an unknown part): a broken rulebook fails at import time, never silently in production.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from referee.report import Verdict
from referee.ruleids import ID_PATTERN, canonical_id

#: the parts that own rules, in the order listings show them.
PARTS = {
    "submissions": "Kernel submissions: static rules and audit findings",
    "probes": "Kernel submissions: dynamic probes",
    "bench": "Benchmark claims",
    "loopholes": "Loophole environment and reward grader",
}

#: which part owns which id prefix; a prefix never moves between parts (ids must stay meaningful).
PREFIXES = {
    **{p: "submissions" for p in ("RPL", "REF", "PAT", "TAM", "INT", "INP", "HCA", "SHP", "STR", "LAZ", "UNI",
                                  "PRC", "CHN", "SNF", "NAT", "DYN", "SYN", "ENG", "AUD", "LLM")},
    "PRB": "probes",
    **{p: "bench" for p in ("BEV", "BBL", "BPA", "BBU", "BPR", "BHA")},
    **{p: "loopholes" for p in ("LHG", "LHX", "LHS")},
}

#: verdicts a spec may declare; None means the check chooses per finding (bench rules grade PASS..FAIL).
SPEC_VERDICTS = (Verdict.FLAG, Verdict.FAIL, Verdict.DEGRADED, None)


@dataclass(frozen=True, eq=False)
class RuleSpec:
    """One rule and its documentation, in the ruff rule-docs layout.

    `example` is code (or input) that triggers the rule and `honest` the look-alike that must not: they are the
    rule's fixtures, shown in the docs and run by the tests (static rules carry both; bench, probe and loophole
    rules are exercised by their parts' test suites on real inputs). `extra` keeps part-specific facts (scopes,
    KernelGuard names, threshold text).
    """

    id: str
    part: str
    title: str
    verdict: Verdict | None
    action: str
    what: str
    why: str
    example: str = ""
    honest: str = ""
    fix: str = ""
    known_problems: str = ""
    family: str = ""
    aliases: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict_text(self) -> str:
        return self.verdict.value if self.verdict is not None else "PASS/FLAG/FAIL (per finding)"

    def catalog_entry(self) -> dict[str, Any]:
        """The record the SARIF rule table wants."""
        return {"title": self.title, "why": self.why, "action": self.action, "aliases": list(self.aliases),
                "what": self.what}

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "part": self.part, "title": self.title,
                "verdict": self.verdict.value if self.verdict is not None else None, "action": self.action,
                "what": self.what, "why": self.why, "example": self.example, "honest": self.honest, "fix": self.fix,
                "known_problems": self.known_problems, "family": self.family, "aliases": list(self.aliases),
                **({"extra": self.extra} if self.extra else {})}


_SPECS: dict[str, RuleSpec] = {}
_ALIASES: dict[str, str] = {}
_OWNERS: dict[str, str] = dict(PREFIXES)


class RulebookError(ValueError):
    """A spec that cannot be registered (raised at import time of the part that declares it)."""


def register(spec: RuleSpec) -> RuleSpec:
    """Add `spec` to the rulebook; raises RulebookError on any of the problems listed in the module docstring."""
    problems = []
    if not ID_PATTERN.match(spec.id):
        problems.append(f"id {spec.id!r} does not match {ID_PATTERN.pattern}")
    if spec.part not in PARTS:
        problems.append(f"unknown part {spec.part!r}")
    owner = _OWNERS.get(spec.id[:3], spec.part)  # a new prefix is claimed by the first part that uses it
    if owner != spec.part:
        problems.append(f"prefix {spec.id[:3]} belongs to part {owner}, not {spec.part}")
    for name in (spec.id, *spec.aliases):
        if name in _SPECS or name in _ALIASES:
            problems.append(f"id {name} registered twice")
    for alias in spec.aliases:
        if canonical_id(alias) != spec.id:
            problems.append(f"alias {alias} does not map to {spec.id} under referee.ruleids")
    if spec.verdict not in SPEC_VERDICTS:
        problems.append(f"verdict must be one of FLAG, FAIL, DEGRADED or per-finding, not {spec.verdict}")
    for name in ("title", "what", "why", "action"):
        if not str(getattr(spec, name)).strip():
            problems.append(f"empty {name}")
    if problems:
        raise RulebookError(f"rule {spec.id}: " + "; ".join(problems))
    _SPECS[spec.id] = spec
    _OWNERS.setdefault(spec.id[:3], spec.part)
    for alias in spec.aliases:
        _ALIASES[alias] = spec.id
    return spec


def unregister(rule_id: str) -> None:
    """Remove a spec (tests that register throw-away rules clean up with this)."""
    spec = _SPECS.pop(rule_id, None)
    for alias in spec.aliases if spec is not None else ():
        _ALIASES.pop(alias, None)


def load() -> None:
    """Import every part's catalogue so the rulebook is complete (each import registers its specs once)."""
    import referee.bench.rules
    import referee.loopholes.findings
    import referee.submissions.catalog
    import referee.submissions.probes.rules
    import referee.submissions.rules  # noqa: F401


def resolve(rule_id: str) -> RuleSpec | None:
    """The spec for an id or any alias of it (case-insensitive), or None."""
    load()
    key = canonical_id(rule_id)
    return _SPECS.get(key) or _SPECS.get(_ALIASES.get(rule_id, ""))


def get(rule_id: str) -> RuleSpec:
    spec = resolve(rule_id)
    if spec is None:
        raise KeyError(f"unknown rule {rule_id!r}")
    return spec


def specs(part: str | None = None) -> list[RuleSpec]:
    """Every spec (of one part), ordered by part, then family order of registration, then id."""
    load()
    order = list(PARTS)
    chosen = [s for s in _SPECS.values() if part is None or s.part == part]
    return sorted(chosen, key=lambda s: (order.index(s.part), s.id))


def sarif_catalog(rule_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """id -> SARIF rule record, for the given ids (default: every rule). Unknown ids are left to the caller."""
    load()
    wanted = None if rule_ids is None else {canonical_id(r) for r in rule_ids}
    return {s.id: s.catalog_entry() for s in _SPECS.values() if wanted is None or s.id in wanted}
