"""Helpers shared by the static-rule tests: run the engine on a snippet and assert on rule ids."""

from __future__ import annotations

import textwrap

from referee.report import Finding, Verdict
from referee.submissions.rules import get_rule, run_static


def scan(code: str) -> list[Finding]:
    return run_static(textwrap.dedent(code))


def assert_fires(rule_id: str, code: str) -> list[Finding]:
    """The rule reports the snippet, with its own verdict, action, and evidence pointing at a line."""
    findings = scan(code)
    hits = [f for f in findings if f.rule == rule_id]
    assert hits, f"{rule_id} did not fire; got {[(f.rule, f.message) for f in findings]}"
    rule = get_rule(rule_id)
    for hit in hits:
        assert hit.verdict is rule.verdict
        assert hit.action == rule.action
        assert hit.title == rule.title
        assert hit.line is not None and hit.line >= 1
        assert hit.evidence[0].file == "submission.py"
        assert hit.message
    assert not [f for f in findings if f.rule == "ENG001"], [f.message for f in findings if f.rule == "ENG001"]
    return hits


def assert_silent(rule_id: str, code: str) -> list[Finding]:
    """Honest look-alike: the rule stays quiet and nothing at all says FAIL."""
    findings = scan(code)
    assert rule_id not in [f.rule for f in findings], [(f.rule, f.message) for f in findings if f.rule == rule_id]
    fails = [(f.rule, f.message) for f in findings if f.verdict is Verdict.FAIL]
    assert not fails, fails
    assert not [f for f in findings if f.rule == "ENG001"], [f.message for f in findings if f.rule == "ENG001"]
    return findings


def case_id(case: tuple[str, str]) -> str:
    rule_id, code = case
    first = next((line.strip() for line in textwrap.dedent(code).splitlines() if line.strip().startswith("#")), "")
    return f"{rule_id}-{first.lstrip('# ')[:40]}" if first else rule_id
