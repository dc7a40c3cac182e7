"""The rulebook: one registry for every part, one id scheme with old ids as aliases, and what is built from it
(docs/rules.md, `referee rules`, the SARIF rule table)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from referee import rulebook
from referee.bench.rules import RULES
from referee.cli import app
from referee.loopholes.summary import grade_report
from referee.report import Evidence, Finding, Report, Verdict, reports_to_sarif
from referee.rulebook_docs import main as docs_main
from referee.rulebook_docs import render_markdown
from referee.ruleids import ID_PATTERN, canonical_id, legacy_bench_id
from referee.submissions.probes.rules import PROBE_RULES, probe_finding
from referee.submissions.rules import all_rules, run_static

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "rules.md"
runner = CliRunner()


def test_every_part_registers_every_rule_once():
    by_part = {part: {s.id for s in rulebook.specs(part)} for part in rulebook.PARTS}
    assert {r.id for r in all_rules()} <= by_part["submissions"]
    assert {"AUD001", "LLM001"} <= by_part["submissions"]
    assert set(PROBE_RULES) == by_part["probes"]
    assert set(RULES) == by_part["bench"] and len(RULES) >= 40
    assert by_part["loopholes"] == {"LHG001", "LHG002", "LHG003", "LHS001", *(f"LHX00{i}" for i in range(1, 7))}
    every = [s.id for s in rulebook.specs()]
    assert len(every) == len(set(every))
    assert all(ID_PATTERN.match(i) and rulebook.PREFIXES[i[:3]] == s.part for i, s in
               ((s.id, s) for s in rulebook.specs()))


@pytest.mark.parametrize(("old", "new"), [("PA-01", "BPA010"), ("pa-01b", "BPA012"), ("HA-07", "BHA070"),
                                          ("EV-01", "BEV010"), ("LH-INPUT", "LHG001"), ("lh-exploit-eq", "LHX002"),
                                          ("LH-SELFCHECK", "LHS001"), ("rpl001", "RPL001")])
def test_old_ids_resolve_to_the_same_rule(old, new):
    assert canonical_id(old) == new
    assert rulebook.resolve(old) is rulebook.resolve(new) is not None
    if new.startswith("B"):
        assert RULES[old] is RULES[new] and old in RULES


def test_unknown_ids_are_not_invented():
    assert rulebook.resolve("NOPE01") is None and rulebook.resolve("XX-99") is None
    assert canonical_id("TST001") == "TST001" and canonical_id("engine") == "engine"
    assert legacy_bench_id("ZZ-01") is None
    with pytest.raises(KeyError, match="QQQ999"):
        rulebook.get("QQQ999")


def _spec(**changes):
    fields = dict(id="LHG900", part="loopholes", title="t", verdict=Verdict.FLAG, action="a", what="w", why="y")
    fields.update(changes)
    return rulebook.RuleSpec(**fields)


@pytest.mark.parametrize(("changes", "message"), [
    ({"id": "LH-900"}, "does not match"),
    ({"id": "LHG001"}, "registered twice"),
    ({"aliases": ("LH-INPUT",)}, "registered twice"),
    ({"id": "RPL900"}, "belongs to part submissions"),
    ({"part": "nowhere"}, "unknown part"),
    ({"why": " "}, "empty why"),
    ({"verdict": Verdict.PASS}, "verdict must be"),
    ({"aliases": ("PA-01",)}, "does not map to LHG900"),
])
def test_register_refuses_malformed_specs(changes, message):
    with pytest.raises(rulebook.RulebookError, match=message):
        rulebook.register(_spec(**changes))
    assert rulebook.resolve("LHG900") is None


def test_a_well_formed_spec_registers_and_a_new_prefix_is_claimed_by_its_part():
    try:
        rulebook.register(_spec())
        rulebook.register(_spec(id="QQZ001", part="bench"))
        assert rulebook.get("lhg900").title == "t"
        with pytest.raises(rulebook.RulebookError, match="belongs to part bench"):
            rulebook.register(_spec(id="QQZ002", part="probes"))
    finally:
        rulebook.unregister("LHG900")
        rulebook.unregister("QQZ001")


def test_findings_carry_rulebook_ids_fresh_and_read_back():
    assert Finding(rule="PA-01", verdict=Verdict.FAIL, message="m").rule == "BPA010"
    stored = {"subject": "s", "kind": "loopholes-grade",
              "findings": [{"rule": "LH-INPUT", "verdict": "DEGRADED", "message": "m"},
                           {"rule": "TST001", "verdict": "FLAG", "message": "m"}]}
    assert [f.rule for f in Report.model_validate(stored).findings] == ["LHG001", "TST001"]


def test_every_part_reports_only_rules_of_the_rulebook(tmp_path):
    static = run_static("import torch\n_cache = {}\ndef custom_kernel(data):\n    key = id(data)\n"
                        "    if key in _cache:\n        return _cache[key]\n    out = data + 1\n"
                        "    _cache[key] = out\n    return out\n")
    probe = probe_finding("PRB102", "stale")
    records = [{"line": 1, "status": "invalid_input", "error": "bad"},
               {"line": 2, "mode": "eq_override", "exploited": True, "problem_id": "p"},
               {"line": 3, "mode": "run_tests", "details": {"tampered": ["gc"]}}]
    graded = grade_report("c.jsonl", records, {}, 0.1).findings
    from bench.conftest import EXAMPLES, run

    bench = run("bundle", EXAMPLES / "bundle_fail_p1/validation/base",
                EXAMPLES / "bundle_fail_p1/validation/final").report.findings
    findings = [*static, probe, *graded, *bench]
    assert {f.rule for f in graded} == {"LHG001", "LHX002", "LHG003"} and "RPL001" in {f.rule for f in static}
    assert bench and all(f.rule.startswith("B") for f in bench)
    assert [f.rule for f in findings if rulebook.resolve(f.rule) is None] == []


def test_rules_page_is_generated_and_in_sync(tmp_path, capsys):
    assert DOC.read_text(encoding="utf-8") == render_markdown(), "regenerate: python -m referee.rulebook_docs " \
                                                                  "docs/rules.md"
    text = DOC.read_text(encoding="utf-8")
    for spec in rulebook.specs():
        section = text.split(f"### {spec.id}\n", 1)[1].split("\n### ", 1)[0]
        assert "#### What it does" in section and "#### Why is this bad?" in section, spec.id
        for alias in spec.aliases:
            assert f"| `{alias}` | [{spec.id}]" in text
    page = tmp_path / "rules.md"
    assert docs_main([str(page)]) == 0 and docs_main(["--check", str(page)]) == 0
    page.write_text("stale", encoding="utf-8")
    assert docs_main(["--check", str(page)]) == 1 and "out of date" in capsys.readouterr().err


def test_static_rules_keep_their_cheat_and_honest_fixtures_in_the_book():
    for rule in all_rules():
        spec = rulebook.get(rule.id)
        assert spec.example == rule.example and spec.honest == rule.use_instead
        if rule.check is not None:
            assert rule.id in {f.rule for f in run_static(spec.example)}
            assert rule.id not in {f.rule for f in run_static(spec.honest)}


def test_sarif_rule_table_comes_from_the_rulebook(tmp_path):
    inside = tmp_path / "legs" / "cand" / "bench_runs.jsonl"
    report = Report(subject="patch", kind="bench", findings=[
        Finding(rule="PA-01", verdict=Verdict.FAIL, message="no win", evidence=[Evidence(file=str(inside), line=3)]),
        Finding(rule="PRB102", verdict=Verdict.FAIL, message="stale", evidence=[Evidence(file="sub.py", line=9)]),
        Finding(rule="TST001", verdict=Verdict.FLAG, message="ad hoc", evidence=[Evidence(file="/elsewhere/x.py")]),
    ])
    run = reports_to_sarif([report], root=tmp_path, base=tmp_path / "subs")["runs"][0]
    table = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert table["BPA010"]["deprecatedIds"] == ["PA-01"]
    assert table["BPA010"]["fullDescription"]["text"] == rulebook.get("BPA010").why
    assert table["PRB102"]["shortDescription"]["text"] == PROBE_RULES["PRB102"].title
    assert "TST001" in table  # an id outside the book is still listed so its ruleIndex resolves
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert locations[0] == {"uri": "legs/cand/bench_runs.jsonl", "uriBaseId": "SRCROOT"}
    assert locations[1] == {"uri": "subs/sub.py", "uriBaseId": "SRCROOT"}
    assert locations[2] == {"uri": "file:///elsewhere/x.py"}
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == tmp_path.resolve().as_uri() + "/"
    assert all(run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])


def test_referee_rules_lists_explains_and_filters():
    listing = runner.invoke(app, ["rules", "--json"])
    assert listing.exit_code == 0 and len(json.loads(listing.output)) == len(rulebook.specs())
    bench = json.loads(runner.invoke(app, ["rules", "--part", "bench", "--json"]).output)
    assert bench and {s["part"] for s in bench} == {"bench"}
    by_alias = json.loads(runner.invoke(app, ["rules", "PA-01", "--json"]).output)
    assert by_alias == json.loads(runner.invoke(app, ["rules", "BPA010", "--json"]).output)
    assert by_alias["aliases"] == ["PA-01"] and by_alias["extra"]["scopes"]
    shown = runner.invoke(app, ["rules", "RPL001"])
    assert shown.exit_code == 0 and "Why is this bad?" in shown.output and "Honest look-alike" in shown.output
    assert runner.invoke(app, ["rules", "NOPE01"]).exit_code == 4
    assert runner.invoke(app, ["rules", "--part", "nowhere"]).exit_code == 4
    assert runner.invoke(app, ["rules", "RPL001", "--part", "bench"]).exit_code == 4


def test_migration_script_rewrites_old_ids(tmp_path):
    page = tmp_path / "t.py"
    page.write_text('assert worst(r, "PA-01b") and "LH-INPUT" in s  # HA-07, not XPA-01 or PA-011\n')
    script = ROOT / "scripts" / "migrate_rule_ids.py"
    check = subprocess.run([sys.executable, str(script), "--check", str(page)], capture_output=True, text=True)
    assert check.returncode == 1
    subprocess.run([sys.executable, str(script), str(page)], check=True, capture_output=True)
    assert page.read_text() == 'assert worst(r, "BPA012") and "LHG001" in s  # BHA070, not XPA-01 or PA-011\n'
