"""Claim files: kind detection, flat and nested GEAK layouts, line lookup, broken files."""

from __future__ import annotations

import json
from pathlib import Path

from referee.bench.io.claims import load_claim


def test_nested_integrate_fields_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "whatever.json"
    path.write_text(json.dumps({"short_name": "x", "gate": "accepted",
                                "e2e": {"ref_median_tok_s": 1000.0, "delta_pct": 8.0}}, indent=2))
    claim = load_claim(path)
    assert claim.kind == "integrate"
    assert claim.lookup("ref_median") == (1000.0, "e2e.ref_median_tok_s")
    assert claim.line_of("e2e.delta_pct") == 6
    ev = claim.evidence("e2e.delta_pct", "claimed")
    assert ev.line == 6 and ev.snippet == '"delta_pct": 8.0'


def test_flat_integrate_and_present_nulls(tmp_path: Path) -> None:
    path = tmp_path / "integrate_result.json"
    path.write_text(json.dumps({"ref_med": None, "cand_med": 1100, "e2e_delta_pct": None}))
    claim = load_claim(path)
    assert claim.lookup("cand_median") == (1100, "cand_med")
    assert claim.lookup("ref_median") == (None, None) and claim.present("ref_median") == "ref_med"


def test_forced_kind_and_content_detection(tmp_path: Path) -> None:
    path = tmp_path / "top.json"
    path.write_text(json.dumps([{"name": "k", "gpu_time_us": 3}]))
    assert load_claim(path).kind == "profile"
    assert load_claim(f"opbench={path}").kind == "opbench"
    other = tmp_path / "x.json"
    other.write_text(json.dumps({"director_verified_throughput_tok_s": 1}))
    assert load_claim(other).kind == "director_validation"


def test_broken_claims_carry_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "integrate_result.json"
    bad.write_text("{not json")
    assert load_claim(bad).error is not None
    assert load_claim(tmp_path / "missing.json").error is not None
