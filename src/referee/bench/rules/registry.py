"""Rule registry, linter style: each rule is a decorated function with an id, a kebab name, the scopes it
applies to, and a docstring in a fixed template that `referee bench rules` and docs/bench.md render.

A rule yields `Hit`s; the engine turns them into `Finding`s with the rule id, title and the threshold applied.
Registration checks the id format, uniqueness and the doc template, so a rule cannot ship undocumented.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from referee.report import Evidence, Verdict

SCOPES = ("baseline", "patch", "bundle", "profile", "harness")
ACTIONS = ("pass", "eject", "downgrade_headline", "replace_headline_with_e2e", "flag", "re_measure", "redo_harness")
#: which action wins when several findings of the same verdict disagree (most drastic first).
ACTION_PRECEDENCE = ("eject", "redo_harness", "re_measure", "replace_headline_with_e2e", "downgrade_headline", "flag",
                     "pass")
DOC_SECTIONS = ("## What it does", "## Why is this bad?", "## Threshold", "## Known problems")
ID_PATTERN = re.compile(r"^(EV|BL|PA|BU|PR|HA)-\d{2}[a-z]?$")
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

    def section(self, heading: str) -> str:
        """Text under one `## heading` of the rule's doc."""
        parts = re.split(r"^## ", self.doc, flags=re.M)
        for part in parts:
            if part.startswith(heading):
                return part[len(heading):].strip()
        return ""


RULES: dict[str, RuleSpec] = {}


def rule(rule_id: str, name: str, scopes: Iterable[str]) -> Callable[[RuleFunc], RuleFunc]:
    """Register a rule. Raises at import time on a bad id, a duplicate, an unknown scope or a missing doc section."""

    def register(func: RuleFunc) -> RuleFunc:
        if not ID_PATTERN.match(rule_id):
            raise ValueError(f"bad rule id {rule_id!r}")
        if not NAME_PATTERN.match(name):
            raise ValueError(f"bad rule name {name!r}")
        if rule_id in RULES or any(r.name == name for r in RULES.values()):
            raise ValueError(f"duplicate rule {rule_id} {name}")
        wanted = tuple(scopes)
        if not wanted or any(s not in SCOPES for s in wanted):
            raise ValueError(f"rule {rule_id}: bad scopes {wanted}")
        doc = _dedent(func.__doc__ or "")
        missing = [s for s in DOC_SECTIONS if s not in doc]
        if missing:
            raise ValueError(f"rule {rule_id}: doc lacks {missing}")
        RULES[rule_id] = RuleSpec(rule_id, name, wanted, func, doc)
        return func

    return register


def _dedent(text: str) -> str:
    import inspect

    return inspect.cleandoc(text)


def for_scope(scope: str) -> list[RuleSpec]:
    return [RULES[k] for k in sorted(RULES) if scope in RULES[k].scopes]
