"""The real-format regression set: every clean win PASSes, every trap keeps its FAIL/FLAG for the right reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from referee.bench.realformat.catalog import CLEAN, SCENARIOS, TRAPS
from referee.bench.realformat.scenarios import PASS, run


def test_catalogue_has_clean_wins_and_traps_for_every_release_line() -> None:
    releases = {leg.release for sc in SCENARIOS for leg in (sc.ref, sc.cand) if leg is not None}
    assert releases == {"sglang-v0.4.6.post5", "sglang-v0.5.2", "sglang-v0.5.23", "vllm-serve", "vllm-bench-0.9",
                        "vllm-legacy"}
    assert all(sc.expect == {PASS} for sc in CLEAN) and all(PASS not in sc.expect for sc in TRAPS)
    assert all(sc.because for sc in TRAPS if "DEGRADED" not in sc.expect), "a trap names the rule behind it"
    assert len({sc.name for sc in SCENARIOS}) == len(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda sc: sc.name)
def test_scenario_gets_the_auditors_verdict(scenario, tmp_path: Path) -> None:
    [(sc, verdict, why, right)] = run([scenario], tmp_path)
    assert verdict in sc.expect, f"{sc.name} ({sc.root_cause}): got {verdict}: {why}"
    assert right, f"{sc.name}: {verdict} but not from {sc.because}: {why}"
