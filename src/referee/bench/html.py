"""Self-contained HTML report: per-metric strip plots of every leg's repeats (median tick, noise band around the
reference median) with the findings beside them. Inline SVG and CSS only, so the file can be attached anywhere.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from referee.bench.audit import AuditResult
from referee.bench.model import HIGHER_IS_BETTER, Leg
from referee.report import Verdict

MAX_POINTS = 2000
WIDTH, ROW, PAD_L, PAD_R, PAD_T = 560, 46, 70, 20, 22
COLORS = {"ref": "#4063d8", "cand": "#d8703f"}
VERDICT_COLORS = {Verdict.PASS: "#2e7d32", Verdict.FLAG: "#b58900", Verdict.FAIL: "#c62828",
                  Verdict.DEGRADED: "#8e24aa"}


def _sample(values: np.ndarray, seed: int = 0) -> np.ndarray:
    if values.size <= MAX_POINTS:
        return values
    rng = np.random.default_rng(seed)
    keep = rng.choice(values.size, MAX_POINTS - 2, replace=False)
    return np.concatenate([values[keep], [values.min(), values.max()]])


def strip_plot(legs: list[Leg], values: dict[str, np.ndarray], metric: str, band_pct: float | None) -> Markup:
    """One SVG: a row per leg, a dot per repeat, a median tick, and the noise band around the reference median."""
    present = [leg for leg in legs if values.get(leg.role) is not None and values[leg.role].size]
    if not present:
        return Markup("")
    allv = np.concatenate([values[leg.role] for leg in present])
    ref_values = values.get("ref")
    ref_med = float(np.median(ref_values)) if ref_values is not None and ref_values.size else None
    lo, hi = float(allv.min()), float(allv.max())
    if band_pct is not None and ref_med is not None:
        lo, hi = min(lo, ref_med * (1 - band_pct / 100)), max(hi, ref_med * (1 + band_pct / 100))
    span = hi - lo or max(abs(hi), 1.0) * 0.01
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    height = PAD_T + ROW * len(present) + 28

    def x(v: float) -> float:
        return PAD_L + (v - lo) / (hi - lo) * (WIDTH - PAD_L - PAD_R)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" '
             f'aria-label="strip plot of {escape(metric)}">',
             f'<text x="{PAD_L}" y="14" class="t">{escape(metric)} '
             f'({"higher" if HIGHER_IS_BETTER.get(metric, True) else "lower"} is better)</text>']
    if band_pct is not None and ref_med is not None:
        a, b = x(ref_med * (1 - band_pct / 100)), x(ref_med * (1 + band_pct / 100))
        parts.append(f'<rect x="{a:.1f}" y="{PAD_T}" width="{max(b - a, 1):.1f}" height="{ROW * len(present)}" '
                     f'fill="#999" fill-opacity="0.18"><title>noise band ±{band_pct}% of the ref median</title></rect>')
    for row, leg in enumerate(present):
        vals = values[leg.role]
        y0 = PAD_T + row * ROW
        color = COLORS.get(leg.role, "#555")
        parts.append(f'<text x="4" y="{y0 + ROW / 2 + 4:.1f}" class="l">{escape(leg.role)} (n={vals.size})</text>')
        for i, v in enumerate(_sample(vals)):
            jitter = ((i * 0.618034) % 1.0) * (ROW - 16) + 8
            parts.append(f'<circle cx="{x(float(v)):.1f}" cy="{y0 + jitter:.1f}" r="3" fill="{color}" '
                         f'fill-opacity="0.7"><title>{float(v):.6g}</title></circle>')
        med = float(np.median(vals))
        parts.append(f'<line x1="{x(med):.1f}" x2="{x(med):.1f}" y1="{y0 + 2}" y2="{y0 + ROW - 2}" stroke="#111" '
                     f'stroke-width="2"><title>median {med:.6g}</title></line>')
    axis_y = PAD_T + ROW * len(present) + 4
    parts.append(f'<line x1="{PAD_L}" x2="{WIDTH - PAD_R}" y1="{axis_y}" y2="{axis_y}" stroke="#777"/>')
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        parts.append(f'<text x="{x(v):.1f}" y="{axis_y + 16}" class="a" text-anchor="middle">{v:.5g}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if not math.isfinite(value) else f"{value:.6g}"
    return "n/a" if value is None else str(value)


def render_html(result: AuditResult) -> str:
    report, ctx = result.report, result.ctx
    legs = ctx.legs()
    plots = []
    for metric in (ctx.metric, "ttft_ms", "tpot_ms"):
        values = {leg.role: ctx.values(leg, metric)[0] for leg in legs}
        if any(v.size for v in values.values()):
            plots.append(strip_plot(legs, values, metric, ctx.band if metric == ctx.metric else None))
    env = Environment(loader=PackageLoader("referee.bench", "templates"), autoescape=select_autoescape(["html", "j2"]))
    template = env.get_template("report.html.j2")
    findings = sorted(report.findings, key=lambda f: (-f.verdict.rank, f.rule))
    return template.render(report=report, plots=plots, findings=findings, colors=VERDICT_COLORS, fmt=_fmt,
                           legs=report.metrics.get("legs", {}), comparison=report.metrics.get("comparison"),
                           metric=ctx.metric, band=ctx.band)
