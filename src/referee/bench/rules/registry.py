"""Rule registry, linter style: each rule is a decorated function with an id, a kebab name, the scopes it
applies to, and a docstring in a fixed template that `referee bench rules` and docs/bench.md render.

A rule yields `Hit`s; the engine turns them into `Finding`s with the rule id, title and the threshold applied.
Registration checks the id format, uniqueness and the doc template, so a rule cannot ship undocumented, and
registers the rule in the shared rulebook (`referee.rulebook`, part `bench`). A rule may be declared with its
research-note id (`PA-01`): it is registered under the rulebook id (`BPA010`, see `referee.ruleids`) with the
old id as an alias, and `RULES` answers to both spellings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from referee import rulebook
from referee.report import Evidence, Verdict
from referee.ruleids import canonical_id, legacy_bench_id

SCOPES = ("baseline", "patch", "bundle", "profile", "harness")
ACTIONS = ("pass", "eject", "downgrade_headline", "replace_headline_with_e2e", "flag", "re_measure", "redo_harness")
#: which action wins when several findings of the same verdict disagree (most drastic first).
ACTION_PRECEDENCE = ("eject", "redo_harness", "re_measure", "replace_headline_with_e2e", "downgrade_headline", "flag",
                     "pass")
DOC_SECTIONS = ("## What it does", "## Why is this bad?", "## Threshold", "## Known problems")
ID_PATTERN = re.compile(r"^(EV|BL|PA|BU|PR|HA)-\d{2}[a-z]?$")  # research-note spelling, kept as the alias
_LEGACY_MENTION = re.compile(r"\b(EV|BL|PA|BU|PR|HA)-\d{2}[a-z]?\b")
RULEBOOK_ID = re.compile(r"^B(EV|BL|PA|BU|PR|HA)\d{3}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass
class Hit:
    """What a rule concluded, before the engine stamps it with the rule's id and title."""

    verdict: Verdict
    message: str
    action: str
    threshold: Any
    evidence: list[Evidence] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")


def ok(message: str, threshold: Any, evidence: Iterable[Evidence] = (), **data: Any) -> Hit:
    return Hit(Verdict.PASS, message, "pass", threshold, list(evidence), data)


def flag(message: str, action: str, threshold: Any, evidence: Iterable[Evidence] = (), **data: Any) -> Hit:
    return Hit(Verdict.FLAG, message, action, threshold, list(evidence), data)


def fail(message: str, action: str, threshold: Any, evidence: Iterable[Evidence] = (), **data: Any) -> Hit:
    return Hit(Verdict.FAIL, message, action, threshold, list(evidence), data)


RuleFunc = Callable[[Any], Iterable[Hit]]


@dataclass(frozen=True)
class RuleSpec:
    id: str
    name: str
    scopes: tuple[str, ...]
    func: RuleFunc
    doc: str

    @property
    def title(self) -> str:
        return self.name

    @property
    def aliases(self) -> tuple[str, ...]:
        """Old spellings of this id (the research-note id such as `PA-01`)."""
        return tuple(a for a in _LEGACY.get(self.id, ()) if a != self.id)

    def rulebook_spec(self) -> rulebook.RuleSpec:
        """This rule as a rulebook entry; bench rules pick verdict and action per finding (see Threshold)."""
        threshold = self._text("Threshold")
        return rulebook.RuleSpec(
            id=self.id, part="bench", title=self.name, verdict=None, action=threshold,
            what=self._text("What it does"), why=self._text("Why is this bad?"),
            known_problems=self._text("Known problems"), family=_GROUPS[self.id[1:3]],
            aliases=self.aliases, extra={"scopes": list(self.scopes), "threshold": threshold})

    def _text(self, heading: str) -> str:
        """A doc section on one line."""
        return " ".join(self.section(heading).split())

    @property
    def doc_text(self) -> str:
        """The doc with other rules named by their rulebook ids (`PA-01` -> `BPA010`), as every listing shows it."""
        return modern_ids(self.doc)

    def section(self, heading: str) -> str:
        """Text under one `## heading` of the rule's doc (rules named by their rulebook ids)."""
        parts = re.split(r"^## ", self.doc_text, flags=re.M)
        for part in parts:
            if part.startswith(heading):
                return part[len(heading):].strip()
        return ""


class _Rules(dict):
    """id -> RuleSpec that also answers to a rule's old spelling (`RULES["PA-01"] is RULES["BPA010"]`)."""

    def __getitem__(self, key: str) -> RuleSpec:
        return super().__getitem__(canonical_id(key))

    def __setitem__(self, key: str, value: RuleSpec) -> None:
        super().__setitem__(canonical_id(key), value)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(canonical_id(key))

    def __contains__(self, key: object) -> bool:
        return super().__contains__(canonical_id(key) if isinstance(key, str) else key)

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(canonical_id(key), default)


RULES: dict[str, RuleSpec] = _Rules()
_LEGACY: dict[str, tuple[str, ...]] = {}
_GROUPS = {"EV": "Evidence", "BL": "Baseline and measurement", "PA": "Patch", "BU": "Bundle", "PR": "Profile",
           "HA": "Harness"}


def rule(rule_id: str, name: str, scopes: Iterable[str]) -> Callable[[RuleFunc], RuleFunc]:
    """Register a rule. Raises at import time on a bad id, a duplicate, an unknown scope or a missing doc section."""

    def register(func: RuleFunc) -> RuleFunc:
        if not (ID_PATTERN.match(rule_id) or RULEBOOK_ID.match(rule_id)):
            raise ValueError(f"bad rule id {rule_id!r}")
        canonical = legacy_bench_id(rule_id) or rule_id
        if not NAME_PATTERN.match(name):
            raise ValueError(f"bad rule name {name!r}")
        if canonical in RULES or any(r.name == name for r in RULES.values()):
            raise ValueError(f"duplicate rule {rule_id} {name}")
        wanted = tuple(scopes)
        if not wanted or any(s not in SCOPES for s in wanted):
            raise ValueError(f"rule {rule_id}: bad scopes {wanted}")
        doc = _dedent(func.__doc__ or "")
        missing = [s for s in DOC_SECTIONS if s not in doc]
        if missing:
            raise ValueError(f"rule {rule_id}: doc lacks {missing}")
        spec = RuleSpec(canonical, name, wanted, func, doc)
        if canonical != rule_id:
            _LEGACY[canonical] = (rule_id,)
        rulebook.register(spec.rulebook_spec())
        RULES[canonical] = spec
        return func

    return register


def modern_ids(text: str) -> str:
    """`PA-01` -> `BPA010` in prose: docstrings written with research-note ids read like the rulebook."""
    return _LEGACY_MENTION.sub(lambda m: legacy_bench_id(m.group(0)) or m.group(0), text)


def _dedent(text: str) -> str:
    import inspect

    return inspect.cleandoc(text)


def for_scope(scope: str) -> list[RuleSpec]:
    return [RULES[k] for k in sorted(RULES) if scope in RULES[k].scopes]
