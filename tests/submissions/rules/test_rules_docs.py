"""docs/submission-rules.md is generated from the registry and must stay in sync with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from referee.submissions.rules import all_rules
from referee.submissions.rules.docs import main, render_markdown

DOC = Path(__file__).resolve().parents[3] / "docs" / "submission-rules.md"


def test_doc_is_in_sync_with_registry():
    assert DOC.exists(), "run: python -m referee.submissions.rules.docs docs/submission-rules.md"
    assert DOC.read_text(encoding="utf-8") == render_markdown(), \
        "docs/submission-rules.md is stale: python -m referee.submissions.rules.docs docs/submission-rules.md"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_every_rule_has_the_ruff_doc_sections(rule):
    text = render_markdown()
    section = text.split(f"### {rule.id}\n", 1)[1].split("\n### ", 1)[0]
    for heading in ("#### What it does", "#### Why is this bad?", "#### Example", "Use instead:", "#### Action"):
        assert heading in section, (rule.id, heading)
    assert f"[{rule.id}](#{rule.id.lower()})" in text


def test_check_mode_reports_stale_page(tmp_path, capsys):
    page = tmp_path / "rules.md"
    assert main([str(page)]) == 0
    assert main(["--check", str(page)]) == 0
    page.write_text("stale", encoding="utf-8")
    assert main(["--check", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
