"""PR rules, each on a profile that should trigger it and on a similar one that should not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from referee.bench.examples import make
from referee.bench.rules.profile import canonical_op
from referee.report import Verdict

from .conftest import run, worst


def _profile(tmp_path: Path, entries: list[dict[str, Any]], **extra: Any) -> Path:
    return make.write_json(tmp_path / "profile_topN.json", {"entries": entries, **extra})


def _fragmented(n: int = 16, each: float = 3.4) -> list[dict[str, Any]]:
    return [{"name": f"_gemm_kernel_BLOCK_M_{16 * (i + 1)}_0d1d2d", "pct": each, "shape": "[64, 7168]"}
            for i in range(n)]


def _audit(path: Path):
    return run("profile", claims=(path,))


@pytest.mark.parametrize("name, op", [
    ("_gemm_a8w8_blockscale_kernel_BLOCK_M_64_BLOCK_N_128_0d1d2d3d4d5d", "_gemm_a8w8_blockscale_kernel"),
    ("void ck_tile::FmhaFwdKernel<ck_tile::Pipe<...>>(ck_tile::Args)", "fmhafwdkernel"),
    ("Cijk_Ailk_Bljk_HHS_BH_MT128x128x32_MI32x32x8x1", "gemm_tensile"),
    ("triton_poi_fused_add_mul_3", "triton_poi_fused_add_mul"),
])
def test_canonical_op(name: str, op: str) -> None:
    assert canonical_op(name) == op


def test_pr01_pr02_fragmented_head(tmp_path: Path) -> None:
    result = _audit(_profile(tmp_path, [*_fragmented(), {"name": "attn", "pct": 30.0, "shape": "[1]"}]))
    assert worst(result, "BPR010") is Verdict.FLAG and worst(result, "BPR020") is Verdict.FLAG
    finding = next(f for f in result.report.findings if f.rule == "BPR010")
    assert finding.data["corrected_share_pct"]["_gemm_kernel"] == pytest.approx(54.4)


def test_pr01_pr02_one_big_entry(tmp_path: Path) -> None:
    entries = [{"name": "_gemm_kernel_BLOCK_M_64_0d1d2d", "pct": 50.0, "shape": "[1]"},
               {"name": "_gemm_kernel_BLOCK_M_128_0d1d2d", "pct": 4.0, "shape": "[1]"},
               {"name": "attn", "pct": 30.0, "shape": "[1]"}]
    result = _audit(_profile(tmp_path, entries))
    assert worst(result, "BPR010") is Verdict.PASS and worst(result, "BPR020") is None


def test_pr03_unattributable(tmp_path: Path) -> None:
    entries = [{"name": "", "pct": 15.0, "shape": ""}, {"name": "unknown", "pct": 10.0, "shape": "[1]"},
               {"name": "attn", "pct": 60.0, "shape": "[1]"}]
    assert worst(_audit(_profile(tmp_path, entries)), "BPR030") is Verdict.FLAG
    entries[0]["pct"] = 5.0
    assert worst(_audit(_profile(tmp_path, entries)), "BPR030") is None


def test_pr04_edit_flag(tmp_path: Path) -> None:
    entries = [{"name": "rmsnorm", "pct": 10.0, "shape": "[1]", "edit": "N", "source": "ops/rmsnorm.py"}]
    assert worst(_audit(_profile(tmp_path, entries)), "BPR040") is Verdict.FLAG
    entries[0]["source"] = "libhipblaslt.so"
    assert worst(_audit(_profile(tmp_path, entries)), "BPR040") is None


def test_pr05_skipped_head(tmp_path: Path) -> None:
    entries = [*_fragmented(), {"name": "attn", "pct": 30.0, "shape": "[1]"}]
    assert worst(_audit(_profile(tmp_path, entries, routed=["attn"])), "BPR050") is Verdict.FAIL
    assert worst(_audit(_profile(tmp_path, entries, skipped=["_gemm_kernel"])), "BPR050") is Verdict.FAIL


def test_pr05_routed_head(tmp_path: Path) -> None:
    entries = [*_fragmented(), {"name": "attn", "pct": 30.0, "shape": "[1]"}]
    routed = ["_gemm_kernel_BLOCK_M_16_0d1d2d", "attn"]  # routed by a raw kernel name: folded the same way
    assert worst(_audit(_profile(tmp_path, entries, routed=routed)), "BPR050") is Verdict.PASS


def test_pr06_window(tmp_path: Path) -> None:
    entries = [{"name": "attn", "pct": 60.0, "shape": "[1]"}]
    assert worst(_audit(_profile(tmp_path, entries, window={"decode_steps": 0, "prefill_steps": 8})),
                 "BPR060") is Verdict.FLAG
    assert worst(_audit(_profile(tmp_path, entries, window={"decode_steps": 64, "warm": True})), "BPR060") is None


def test_profile_without_file_is_degraded(tmp_path: Path) -> None:
    result = run("profile")
    assert result.report.verdict is Verdict.DEGRADED and result.report.exit_code == 3
