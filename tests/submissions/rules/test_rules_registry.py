"""The rule registry: well-formed rules, documented examples that behave, enough test cases per rule, and
KernelGuard names that exist."""

from __future__ import annotations

import importlib

import pytest
from submission_rule_helpers import scan

from referee.report import Report, Verdict, reports_to_sarif
from referee.submissions.rules import FAMILIES, Rule, all_rules, get_rule, run_static
from referee.submissions.rules.registry import ID_PATTERN, register

CASE_MODULES = ["test_rules_replay", "test_rules_patching", "test_rules_tampering", "test_rules_introspection",
                "test_rules_outputs", "test_rules_answers", "test_rules_channel", "test_rules_concurrency",
                "test_rules_native"]
ENGINE_RULES = {"SYN001", "SYN002", "ENG001", "ENG002"}
CHECKED = [r for r in all_rules() if r.check is not None]


def _cases(kind: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in CASE_MODULES:
        for rule_id, _ in getattr(importlib.import_module(name), kind):
            counts[rule_id] = counts.get(rule_id, 0) + 1
    return counts


def test_ids_are_unique_well_formed_and_every_family_has_rules():
    rules = all_rules()
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    assert all(ID_PATTERN.match(i) for i in ids)
    assert {r.family for r in rules} == set(FAMILIES)
    assert all(r.verdict in (Verdict.FLAG, Verdict.FAIL) for r in rules)
    assert {r.id for r in rules if r.check is None} == ENGINE_RULES


def test_get_rule_and_unknown_id():
    rule = get_rule("RPL001")
    assert isinstance(rule, Rule) and rule.verdict is Verdict.FAIL and rule.family == "output-replay"
    assert rule.title and rule.why and rule.action and isinstance(rule.kernelguard, list)
    with pytest.raises(KeyError, match="NOPE01"):
        get_rule("NOPE01")


@pytest.mark.parametrize("field, value, message", [
    ("id", "rpl1", "does not match"),
    ("id", "RPL001", "registered twice"),
    ("verdict", Verdict.PASS, "FLAG or FAIL"),
    ("family", "made-up", "unknown family"),
    ("why", "  ", "empty why"),
])
def test_register_refuses_malformed_rules(field, value, message):
    fields = dict(id="TST900", title="t", family="engine", verdict=Verdict.FLAG, what="w", why="y", action="a",
                  example="x = 1", use_instead="x = 2")
    fields[field] = value
    with pytest.raises(ValueError, match=message):
        register(Rule(**fields))
    with pytest.raises(KeyError):
        get_rule("TST900")


@pytest.mark.parametrize("rule", CHECKED, ids=lambda r: r.id)
def test_documented_example_fires_and_use_instead_does_not(rule):
    assert rule.id in {f.rule for f in run_static(rule.example)}
    assert rule.id not in {f.rule for f in run_static(rule.use_instead)}


@pytest.mark.parametrize("rule", CHECKED, ids=lambda r: r.id)
def test_every_rule_has_two_cheats_and_two_honest_lookalikes(rule):
    assert _cases("CHEATS").get(rule.id, 0) >= 2
    assert _cases("HONEST").get(rule.id, 0) >= 2


def test_kernelguard_names_exist_in_kernelguard():
    kernelguard = pytest.importorskip("kernelguard")
    known = set(kernelguard.BASE_RULE_REGISTRY)
    for rule in all_rules():
        assert set(rule.kernelguard) <= known, (rule.id, set(rule.kernelguard) - known)
    assert sum(bool(r.kernelguard) for r in all_rules()) >= 25


def test_catalog_feeds_sarif():
    findings = scan("""
        import torch
        torch.allclose = lambda *a, **k: True
        def custom_kernel(data):
            return data
    """)
    report = Report(subject="submission.py", kind="submission", findings=findings)
    sarif = reports_to_sarif([report], rules={r.id: r.catalog_entry() for r in all_rules()})
    run = sarif["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "PAT002" in ids and len(ids) == len(all_rules())
    result = next(r for r in run["results"] if r["ruleId"] == "PAT002")
    assert result["level"] == "error" and ids[result["ruleIndex"]] == "PAT002"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
