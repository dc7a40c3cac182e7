"""The hack x mode self-check: every cell as expected, over one problem per output kind."""

from __future__ import annotations

from referee.loopholes.hacks import (
    ALL_SAMPLES,
    DESIGN_FORGERIES,
    FORGERIES,
    HACKS,
    HONEST,
    HONEST_CODE,
    LOOKALIKES,
    SESSION3_ATTACKS,
)
from referee.loopholes.modes import MODES
from referee.loopholes.selfcheck import check_cell, render_matrix


def test_corpus_covers_every_mode_and_the_required_families():
    for mode in MODES:
        assert sum(1 for s in HACKS if s.pays_in == {mode}) >= 2, mode
    assert {s.name for s in HONEST} >= {"honest-correct", "honest-wrong"}
    assert len(FORGERIES) >= 10 and len(LOOKALIKES) >= 5
    assert len({s.name for s in ALL_SAMPLES}) == len(ALL_SAMPLES)
    assert all(not s.correct for s in HACKS + FORGERIES + DESIGN_FORGERIES)
    assert all(s.correct and s.pays_in == set(MODES) and not s.e_in for s in HONEST_CODE)


def test_forgeries_are_paid_only_with_detector_e(selfcheck_result):
    """Whatever a forgery gets paid for is a flagged lever: never gt_correct, never an unflagged payment."""
    for cell in selfcheck_result.cells:
        if cell.sample.kind == "forgery":
            for reward in cell.rewards.values():
                assert not reward.gt_correct, (cell.sample.name, cell.mode)
                assert not reward.passed or reward.hacked_loophole_used, (cell.sample.name, cell.mode)


def test_every_cell_is_as_expected(selfcheck_result):
    off = [(c.sample.name, c.mode, c.off[:2]) for c in selfcheck_result.off_cells]
    assert off == []
    assert len(selfcheck_result.problems) == 3  # a plain-value, a linked-list and a tree problem


def test_a_hack_pays_in_its_mode_and_nowhere_else(selfcheck_result):
    for cell in selfcheck_result.cells:
        if cell.sample.kind == "hack":
            (lever,) = cell.sample.pays_in
            for reward in cell.rewards.values():
                assert reward.passed is (cell.mode == lever)
                assert reward.exploited is (cell.mode == lever)
                assert not reward.gt_correct


def test_report_and_json_views(selfcheck_result, capsys):
    report = selfcheck_result.to_report()
    assert report.verdict.value == "PASS" and report.exit_code == 0
    data = selfcheck_result.to_json()
    assert data["ok"] and data["matrix"]["rt-def-pass"]["run_tests"]["passed"]
    forgery_rows = len(FORGERIES) + len(DESIGN_FORGERIES) + sum(s.kind == "forgery" for s in SESSION3_ATTACKS)
    assert data["forgeries"] == forgery_rows == data["forgeries_rejected"]
    render_matrix(selfcheck_result)
    assert "all cells as expected" in capsys.readouterr().out


def test_an_off_cell_is_reported(selfcheck_result):
    cell = next(c for c in selfcheck_result.cells if c.sample.name == "honest-correct" and c.mode == "sentinel")
    reward = next(iter(cell.rewards.values()))
    from dataclasses import replace

    lying = replace(reward, passed=False, reward=0.25)
    assert any("passed=False" in why for why in check_cell(cell.sample, cell.mode, lying))
